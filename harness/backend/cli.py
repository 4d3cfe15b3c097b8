"""``python -m harness.backend`` — serve, query, learn, check.

Commands::

    serve --recording PATH [--follow] --db PATH [--feeds FEEDCFG ...] [--feed FILE ...]
          [--groups GROUPS] [--registry REGISTRY] [--mqtt unix:/path|host:port]
          [--dedup-window S] [--silent-after S] [--service-ports 1883,8883,...]
    alerts          --db PATH [--json] [--device ID] [--type T] [--peer P]
    recommendations --db PATH [--json] [--device ID] [--type T] [--active | --resolved]
    findings        --db PATH [--json] [--kind K] [--device ID]
    learn --recording PATH [--registry REG] --out proposed-groups.yaml
          [--window PT5M] [--margin 0.2] [--v4-prefix 32] [--v6-prefix 128]
    check-feeds  [--feeds FEEDCFG ...] [--feed FILE ...] [--lookup ADDR ...]
    check-groups --groups GROUPS [--registry REGISTRY]

Exit status: 0 success, 2 bad input (file, argument), 3 infrastructure error
(e.g. the database cannot be opened).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from harness.errors import InfrastructureError, InputError

from . import render

EXIT_INPUT = 2
EXIT_INFRA = 3


def _ports(text: str) -> frozenset:
    try:
        return frozenset(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated port list: {text!r}") from None


def _duration(text: str) -> float:
    from .groups import parse_duration
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m harness.backend",
                                 description="Defender-like back end of the testbed.")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="process a hub recording (replay or --follow)")
    s.add_argument("--recording", required=True)
    s.add_argument("--follow", action="store_true", help="tail a live recording until SIGTERM/SIGINT")
    s.add_argument("--db", required=True)
    s.add_argument("--feeds", action="append", default=[], metavar="FEEDCFG",
                   help="feed config file (repeatable)")
    s.add_argument("--feed", action="append", default=[], metavar="FILE",
                   help="bare feed file, format from its extension (repeatable)")
    s.add_argument("--groups")
    s.add_argument("--registry")
    s.add_argument("--mqtt", help="broker for lab/alerts/{device}: unix:/path or host:port")
    s.add_argument("--dedup-window", type=_duration, default=3600.0,
                   help="seconds or ISO-8601 (default 3600)")
    s.add_argument("--silent-after", type=_duration, default=600.0,
                   help="device-silent threshold, seconds or ISO-8601 (default 600)")
    s.add_argument("--service-ports", type=_ports, default=None,
                   help="ports treated as server ports besides those below 1024")

    for name in ("alerts", "recommendations", "findings"):
        q = sub.add_parser(name, help=f"list {name} from the database")
        q.add_argument("--db", required=True)
        q.add_argument("--json", action="store_true", help="JSON array instead of a table")
        q.add_argument("--device")
        if name == "findings":
            q.add_argument("--kind")
        else:
            q.add_argument("--type")
        if name == "alerts":
            q.add_argument("--peer")
            q.add_argument("--html", action="store_true", help="HTML table")
        if name == "recommendations":
            g = q.add_mutually_exclusive_group()
            g.add_argument("--active", action="store_true")
            g.add_argument("--resolved", action="store_true")
            q.add_argument("--html", action="store_true", help="HTML table")

    learn = sub.add_parser("learn", help="propose a groups file from a training recording")
    learn.add_argument("--recording", required=True)
    learn.add_argument("--registry")
    learn.add_argument("--out", required=True)
    learn.add_argument("--window", type=_duration, default=300.0, help="e.g. PT5M (default)")
    learn.add_argument("--margin", type=float, default=0.2)
    learn.add_argument("--v4-prefix", type=int, default=32)
    learn.add_argument("--v6-prefix", type=int, default=128)

    cf = sub.add_parser("check-feeds", help="load feeds and report counts")
    cf.add_argument("--feeds", action="append", default=[], metavar="FEEDCFG")
    cf.add_argument("--feed", action="append", default=[], metavar="FILE")
    cf.add_argument("--lookup", action="append", default=[], metavar="ADDR")

    cg = sub.add_parser("check-groups", help="validate a groups file (and registry)")
    cg.add_argument("--groups", required=True)
    cg.add_argument("--registry")
    return ap


def _cmd_serve(args) -> int:
    from .engine import EngineConfig
    from .service import serve

    eng = EngineConfig(dedup_window=args.dedup_window, silent_after=args.silent_after)
    if args.service_ports is not None:
        eng.service_ports = args.service_ports
    stats = serve(args.recording, args.db, feeds=args.feeds, feed_files=args.feed,
                  groups=args.groups, registry=args.registry, mqtt=args.mqtt,
                  follow=args.follow, engine=eng)
    print(json.dumps({"stopped": True, **stats}), file=sys.stderr)
    return 0


def _cmd_query(args) -> int:
    from .store import SqliteStore

    with SqliteStore(args.db, readonly=True) as store:
        if args.cmd == "alerts":
            items = store.list_alerts(device_id=args.device, type=args.type, peer=args.peer)
            text = (render.alerts_html(items) if args.html else render.alerts_text(items))
        elif args.cmd == "recommendations":
            active = True if args.active else False if args.resolved else None
            items = store.list_recommendations(device_id=args.device, type=args.type, active=active)
            text = (render.recommendations_html(items) if args.html
                    else render.recommendations_text(items))
        else:
            items = store.list_findings(kind=args.kind, device_id=args.device)
            text = render.findings_text(items)
    if args.json:
        print(json.dumps([i.to_dict() for i in items], indent=2, default=str))
    else:
        sys.stdout.write(text)
    return 0


def _cmd_learn(args) -> int:
    from .learn import learn, write_proposed_groups
    from .records import read_jsonl

    import os
    if not os.path.exists(args.recording):
        raise InputError(f"recording {args.recording} does not exist")
    res = learn(read_jsonl(args.recording), args.registry, window=args.window,
                margin=args.margin, v4_prefix=args.v4_prefix, v6_prefix=args.v6_prefix)
    write_proposed_groups(res, args.out)
    print(f"wrote {args.out}: {len(res.groups)} group(s) from {res.records} records")
    return 0


def _cmd_check_feeds(args) -> int:
    from .service import BackendConfig, _load_ti

    ti = _load_ti(BackendConfig(feeds=args.feeds, feed_files=args.feed))
    out = {"feeds": ti.feeds(), "index": ti.index.stats(),
           "lookups": {a: (m.to_dict() if (m := ti.lookup(a)) else None) for a in args.lookup}}
    print(json.dumps(out, indent=2))
    return 0


def _cmd_check_groups(args) -> int:
    from .groups import DeviceRegistry, load_groups

    groups = load_groups(args.groups)
    reg = DeviceRegistry.load(args.registry) if args.registry else None
    out = {"groups": {n: {k: len(v) for k, v in g.to_dict().items()}
                      for n, g in groups.groups.items()}}
    if reg is not None:
        out["devices"] = {d: reg.group_of(d) for d in reg.devices}
        out["groups_without_rules"] = [g for g in reg.groups_in_use() if g not in groups]
    print(json.dumps(out, indent=2))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cmds = {"serve": _cmd_serve, "alerts": _cmd_query, "recommendations": _cmd_query,
            "findings": _cmd_query, "learn": _cmd_learn, "check-feeds": _cmd_check_feeds,
            "check-groups": _cmd_check_groups}
    try:
        return cmds[args.cmd](args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except InfrastructureError as e:
        print(f"infrastructure error: {e}", file=sys.stderr)
        return EXIT_INFRA
    except BrokenPipeError:
        return 0
