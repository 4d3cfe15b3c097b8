"""Readable tables of alerts, recommendations and findings (text and HTML)."""

from __future__ import annotations

import html
from datetime import datetime, timezone

from .alerts import Alert, Finding, Recommendation


def fmt_time(t) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(float(t), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _alert_details(a: Alert) -> str:
    if a.indicator is not None:
        return f"indicator {a.indicator} ({a.source}, confidence {a.confidence})"
    ev = a.evidence or {}
    if "count" in ev:
        rng = f"[{ev.get('minThreshold')}, {ev.get('maxThreshold')}]"
        win = ev.get("timeWindowSize") or ev.get("scope", "")
        return f"count {ev['count']} not in {rng} {win}".rstrip()
    if ev.get("rule") == "allowlistRules":
        return f"{ev.get('direction', '')} peer not in allowlist".strip()
    if ev.get("rule") == "denylistRules":
        return f"{ev.get('direction', '')} peer in denylist {ev.get('denylistMatch')}".strip()
    rec = ev.get("record") or {}
    if isinstance(rec, dict) and rec.get("reason"):
        return f"connect refused: {rec['reason']}"
    return ""


def _alert_rows(alerts):
    return [[fmt_time(a.time), a.severity, a.type, a.device_id or "-", a.peer or "-",
             str(a.count), _alert_details(a)] for a in alerts]


ALERT_HEADER = ["time (UTC)", "severity", "type", "device", "peer", "count", "details"]
REC_HEADER = ["time (UTC)", "severity", "type", "device", "state", "details"]
FINDING_HEADER = ["id", "time (UTC)", "kind", "device", "record", "error"]


def _rec_details(r: Recommendation) -> str:
    ev = r.evidence or {}
    for key in ("credential_id", "peer", "version", "transport", "note"):
        if key in ev:
            extra = ""
            if key == "credential_id":
                extra = f" shared by {', '.join(ev.get('devices', []))}"
            return f"{key} {ev[key]}{extra}"
    if "rules" in ev:
        return "rules " + ", ".join(f"{x['name']} {x['ipMask']}" for x in ev["rules"])
    if "silent_since" in ev:
        return f"no D2C message since {fmt_time(ev['silent_since'])}"
    return ""


def _rec_rows(recs):
    return [[fmt_time(r.time), r.severity, r.type, r.device_id or "(hub)",
             "active" if r.active else f"resolved {fmt_time(r.resolved_time)}", _rec_details(r)]
            for r in recs]


def _finding_rows(findings):
    return [[str(f.id), fmt_time(f.time), f.kind, f.device_id or "-",
             "" if f.record_seq is None else str(f.record_seq), str(f.detail.get("error", ""))]
            for f in findings]


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out) + "\n"


def html_table(header: list[str], rows: list[list[str]], css_class: str = "alerts") -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>\n"
                   for r in rows)
    return (f'<table class="{css_class}">\n<thead><tr>{h}</tr></thead>\n'
            f"<tbody>\n{body}</tbody>\n</table>\n")


def alerts_text(alerts) -> str:
    return text_table(ALERT_HEADER, _alert_rows(alerts))


def alerts_html(alerts) -> str:
    return html_table(ALERT_HEADER, _alert_rows(alerts), "alerts")


def recommendations_text(recs) -> str:
    return text_table(REC_HEADER, _rec_rows(recs))


def recommendations_html(recs) -> str:
    return html_table(REC_HEADER, _rec_rows(recs), "recommendations")


def findings_text(findings: list[Finding]) -> str:
    return text_table(FINDING_HEADER, _finding_rows(findings))
