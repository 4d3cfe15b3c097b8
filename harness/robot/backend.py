"""Back-end keywords: threat feeds, security groups, alerts and recommendations."""

from __future__ import annotations

import json

from robot.api import logger
from robot.api.deco import keyword

from ..backend import api
from ..backend.feedgen import generate_entries_excluding, write_feed
from ..backend.process import BackendService
from ..errors import InputError
from ..lab.addressing import require_documentation


def _list(value) -> list:
    if value in (None, "", "None"):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


class BackendKeywords:
    def __init__(self):
        self.backends: dict[str, BackendService] = {}

    def _stop_backend(self, lab_name: str) -> None:
        svc = self.backends.pop(lab_name, None)
        if svc is not None:
            svc.stop()

    def _backend(self, lab: str | None = None) -> BackendService:
        the_lab = self._lab(lab)
        if the_lab.name not in self.backends:
            raise InputError(f"no back end runs for lab {the_lab.name!r} (use Start Back End)")
        return self.backends[the_lab.name]

    @keyword
    def start_back_end(self, indicators=None, feeds=None, groups: str | None = None, lab: str | None = None,
                       dedup_window=None, silent_after=None, service_ports: str | None = None) -> str:
        """Start the Defender-like back end for a lab: it follows the lab's hub recording live,
        matches every remote address against the threat intelligence (the lab feed holds
        ``indicators``, documentation addresses or CIDRs; ``feeds`` adds feed files), applies the
        security ``groups`` (YAML text or a file path) and publishes alerts on lab/alerts/{device}.
        Returns the path of its store."""
        the_lab = self._lab(lab)
        if the_lab.name in self.backends:
            raise InputError(f"a back end already runs for lab {the_lab.name!r}")
        inds = _list(indicators)
        for ind in inds:
            require_documentation(ind.split("/")[0])
        svc = BackendService(the_lab, log=logger.info)
        groups_text = None
        if groups:
            groups_text = open(groups).read() if "\n" not in groups and groups.endswith((".yaml", ".yml", ".json")) \
                else groups
        self.backends[the_lab.name] = svc
        svc.start(indicators=inds, feeds=_list(feeds), groups_text=groups_text,
                  dedup_window=api.seconds(dedup_window) if dedup_window else None,
                  silent_after=api.seconds(silent_after) if silent_after else None, service_ports=service_ports)
        return str(svc.db)

    @keyword
    def set_threat_feed(self, *indicators, lab: str | None = None) -> None:
        """Replace the lab threat feed (the back end reloads it within about 2 s)."""
        for ind in indicators:
            require_documentation(str(ind).split("/")[0])
        self._backend(lab).set_indicators(indicators)

    @keyword
    def define_security_groups(self, groups: str, lab: str | None = None) -> None:
        """Replace the security groups (YAML text mirroring deviceSecurityGroups, or a file path)."""
        text = open(groups).read() if "\n" not in groups and groups.endswith((".yaml", ".yml", ".json")) else groups
        from ..backend.groups import SecurityGroups
        import yaml
        SecurityGroups.from_dict(yaml.safe_load(text) or {})  # validate before the service sees it
        self._backend(lab).set_groups(text)

    @keyword
    def replay_recording_through_back_end(self, recording: str, db: str, indicators=None, feeds=None,
                                          groups: str | None = None, registry: str | None = None) -> str:
        """Run the back end over a saved hub recording (no lab, no device): the same code as the
        live service, deterministic. Returns the store path for the Store keywords."""
        from pathlib import Path
        from ..backend.service import Backend, BackendConfig
        for suffix in ("", "-wal", "-shm"):  # a fresh store: replays must not accumulate
            Path(db + suffix).unlink(missing_ok=True)
        feed_files = _list(feeds)
        inds = _list(indicators)
        if inds:
            path = Path(db).with_name("replay-feed.txt")
            path.write_text("\n".join(inds) + "\n")
            feed_files.append(str(path))
        groups_arg = groups
        if groups and "\n" in groups:
            import yaml
            groups_arg = yaml.safe_load(groups)
        cfg = BackendConfig(db=db, feed_files=feed_files, groups=groups_arg, registry=registry)
        with Backend(cfg) as backend:
            stats = backend.replay(recording)
        logger.info(f"back end over {recording}: {stats}")
        return db

    @keyword
    def alerts_in_store(self, db: str, type: str | None = None, device: str | None = None,
                        peer: str | None = None) -> list:
        alerts = api.list_alerts(db, type=type, device=device, peer=peer)
        logger.info(api.alerts_table(alerts, format="html"), html=True)
        return alerts

    @keyword
    def findings_in_store(self, db: str, kind: str | None = None) -> list:
        return api.list_findings(db, kind=kind)

    @keyword
    def generate_threat_feed(self, path: str, entries: int = 1000, include=None, format: str = "list",
                             exclude=None) -> str:
        """Write a synthetic feed of documentation addresses and networks with ``include`` in it,
        leaving out every entry that covers an ``exclude`` network (the lab's benign side)."""
        entries = generate_entries_excluding(int(entries), exclude=_list(exclude), include=_list(include))
        write_feed(path, entries, fmt=format)
        logger.info(f"threat feed {path}: {len(entries)} entries")
        return path

    @keyword
    def wait_for_alert(self, type: str | None = None, device: str | None = None, peer: str | None = None,
                       timeout=30, lab: str | None = None) -> dict:
        """Wait until the back end raised an alert matching type/device/peer; returns it."""
        svc = self._backend(lab)
        alert = api.wait_for_alert(svc.db, type=type, device=device, peer=peer, timeout=timeout)
        logger.info("alert raised:" + api.alerts_table([alert], format="html"), html=True)
        return alert

    @keyword
    def no_alert_should_be_raised(self, type: str | None = None, device: str | None = None, peer: str | None = None,
                                  period=0, lab: str | None = None) -> None:
        """Fail if an alert matching type/device/peer exists or appears within ``period``."""
        api.assert_no_alert(self._backend(lab).db, type=type, device=device, peer=peer, period=period)

    @keyword
    def no_alert_should_name_a_peer_in(self, networks, type: str | None = None, lab: str | None = None) -> None:
        """False positives are failures: no alert (of ``type``) has a peer inside ``networks``."""
        import ipaddress
        nets = [ipaddress.ip_network(n, strict=False) for n in _list(networks)]
        bad = []
        for alert in api.list_alerts(self._backend(lab).db, type=type):
            if not alert.get("peer"):
                continue
            peer = ipaddress.ip_address(alert["peer"])
            if any(peer.version == n.version and peer in n for n in nets):
                bad.append(f"{alert['type']} for {alert['device_id']} naming {alert['peer']}")
        if bad:
            from ..errors import DeviceFailure
            raise DeviceFailure("false positive alert(s):\n" + "\n".join(bad))

    @keyword
    def alerts(self, type: str | None = None, device: str | None = None, peer: str | None = None,
               lab: str | None = None) -> list:
        return api.list_alerts(self._backend(lab).db, type=type, device=device, peer=peer)

    @keyword
    def log_alerts(self, device: str | None = None, lab: str | None = None) -> str:
        """Log every alert (optionally of one device) as a table; returns the text table."""
        db = self._backend(lab).db
        logger.info(api.alerts_table(db, format="html", device=device), html=True)
        return api.alerts_table(db, format="text", device=device)

    @keyword
    def wait_for_recommendation(self, type: str | None = None, device: str | None = None, timeout=30,
                                lab: str | None = None) -> dict:
        rec = api.wait_for_recommendation(self._backend(lab).db, type=type, device=device, timeout=timeout)
        logger.info(f"recommendation: {json.dumps(rec, default=str)}")
        return rec

    @keyword
    def recommendations(self, device: str | None = None, type: str | None = None, lab: str | None = None) -> list:
        db = self._backend(lab).db
        logger.info(api.recommendations_table(db, format="html", device=device, type=type), html=True)
        return api.list_recommendations(db, device=device, type=type)

    @keyword
    def no_recommendation_should_exist(self, type: str, device: str | None = None, lab: str | None = None) -> None:
        found = api.list_recommendations(self._backend(lab).db, device=device, type=type)
        if found:
            from ..errors import DeviceFailure
            raise DeviceFailure(f"unexpected recommendation {type} for {device or 'any device'}: {found[0]}")
