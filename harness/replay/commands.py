"""CLI subcommands for reproducing device issues (wired into ``harness`` by
``harness.cli`` calling ``add_subcommands(subparsers)``):

    harness record [--board B] [--image ELF] [--lab [--transport mqtts]] [--duration S] [--out DIR] [--archive] [CMD ...]
    harness replay BUNDLE [--gdb [unix|tcp|PORT]] [--workdir DIR] [--json]
    harness bundle DIR [--archive] [--out FILE]
    harness gdb [--board B] [--image ELF] [--tcp [PORT]]

Exit codes follow harness.cli: 0 ok, 1 failure (e.g. a replay that is not
identical), 2 bad input, 3 infrastructure.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

from ..errors import DeviceFailure, InputError

EXIT_OK, EXIT_FAIL = 0, 1


def _print_console(dev, seen: int) -> int:
    lines = dev.console.output_since(seen)
    for line in lines:
        print(f"  [{dev.name}] {line}")
    return seen + len(lines)


def cmd_record(args) -> int:
    """Boot a device with recording on (optionally in a lab), run commands, wait, save the bundle."""
    from ..device import Device
    from ..targets import DEFAULT_BOARD

    board = args.board or DEFAULT_BOARD
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path(args.artifacts) / f"bundle-{args.name}-{stamp}"
    art = Path(args.artifacts) / f"record-{args.name}-{stamp}"
    lab = None
    failed = True
    dev = None
    if args.transport and not args.lab:
        raise InputError("--transport needs --lab (a device without a lab has no hub to dial)")
    try:
        if args.lab:
            from ..lab import Lab
            from ..device import recording_default
            lab = Lab(f"rec-{args.name}"[:12], artifacts_dir=art / "lab",
                      privileged=None if args.lab == "auto" else args.lab == "privileged")
            lab.start()
            with recording_default(out):
                transport = args.transport or "mqtt"
                dev = lab.start_device(args.name, board=board, image=args.image, profile=args.profile,
                                       artifacts_dir=art / args.name, icount_shift=args.shift,
                                       transport=transport, auth="sas" if transport == "mqtts" else "none")
        else:
            dev = Device(board, args.image, name=args.name, profile=args.profile, artifacts_dir=art / args.name,
                         record=out, icount_shift=args.shift)
            dev.start()
        print(f"recording {args.name} on {dev.target.name} (icount shift {dev.icount_shift}) into {out}")
        dev.wait_for_prompt(dev.target.timeouts.boot)
        seen = _print_console(dev, 0)
        for command in args.commands:
            try:
                dev.run_command(command)
            except DeviceFailure as exc:  # e.g. the fault command: the recording is what we want
                print(f"  {exc}".splitlines()[0])
                break
            finally:
                seen = _print_console(dev, seen)
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline and dev.running:
            time.sleep(0.1)
            seen = _print_console(dev, seen)
        failed = False
    finally:
        if dev is not None:
            if lab is not None:
                lab.stop_device(dev.name, failed=failed)
            else:
                dev.stop(failed=failed)
        if lab is not None:
            lab.stop(failed=failed)
    if dev is None or dev.bundle_path is None:
        print("no bundle was written (see the messages above)", file=sys.stderr)
        return EXIT_FAIL
    from .bundle import archive_bundle, load_bundle
    print(load_bundle(out).summary())
    if args.archive:
        print(f"archive: {archive_bundle(out)}")
    return EXIT_OK


def cmd_replay(args) -> int:
    """Replay a bundle (directory or .tar.gz); check the console; show the security messages and any fault."""
    from .bundle import load_bundle
    from .replay import compare_with_hub, replay_bundle

    bundle = load_bundle(args.bundle)
    try:
        print(bundle.summary())

        def started(dev):
            if args.gdb is not None:
                print("QEMU is stopped at reset, replaying; attach the debugger with:\n  "
                      + shlex.join(dev.gdb_command()))
                print("  e.g. `break *0xPC` (the fault PC), `continue`, `bt`; `detach` lets the replay finish")
                sys.stdout.flush()

        result = replay_bundle(bundle, workdir=args.workdir, gdb=args.gdb, timeout=args.timeout,
                               log=lambda m: "failing string" in m or print(m, file=sys.stderr),
                               on_started=started)
        if args.json:
            print(json.dumps(result.to_dict(), indent=2))
        else:
            print(result.summary())
            if bundle.part("hub") is not None:
                problems = compare_with_hub(result)
                print("security messages: " + ("same as the hub recorded" if not problems else "; ".join(problems)))
        return EXIT_OK if result.identical else EXIT_FAIL
    finally:
        bundle.cleanup()


def cmd_bundle(args) -> int:
    """Validate a bundle directory; with --archive also pack it as one .tar.gz."""
    from .bundle import archive_bundle, load_bundle

    bundle = load_bundle(args.dir)
    try:
        print(bundle.summary())
        if args.archive:
            print(f"archive: {archive_bundle(bundle.root, args.out)}")
        elif args.out:
            raise InputError("--out only goes with --archive")
    finally:
        bundle.cleanup()
    return EXIT_OK


def cmd_gdb(args) -> int:
    """Start a device stopped at reset with the gdb stub, print the gdb-multiarch command, show the
    console until QEMU exits (or Ctrl-C)."""
    from ..device import Device
    from ..targets import DEFAULT_BOARD

    gdb = "unix" if args.tcp is None else (f"tcp:{args.tcp}" if args.tcp else "tcp")
    dev = Device(args.board or DEFAULT_BOARD, args.image, name=args.name, profile=args.profile,
                 artifacts_dir=Path(args.artifacts) / f"gdb-{args.name}", keep="always", gdb=gdb,
                 record=args.record or None)
    dev.start()
    try:
        print(f"{dev.name} is stopped at reset with the gdb stub at {dev.gdb_endpoint}. Debug it with:\n  "
              + shlex.join(dev.gdb_command()))
        print("(`continue` starts the CPU; its console is shown here; Ctrl-C stops QEMU)")
        sys.stdout.flush()
        seen = 0
        deadline = time.monotonic() + args.timeout if args.timeout else None
        while dev.running and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
            seen = _print_console(dev, seen)
        _print_console(dev, seen)
    finally:
        dev.stop(failed=False)
    print(f"artifacts: {dev.artifacts_dir}")
    return EXIT_OK


def _device_args(p, profile_default="fast") -> None:
    p.add_argument("--board", help="board (default mps2-an385)")
    p.add_argument("--image", help="firmware ELF (default: the reference firmware of --profile)")
    p.add_argument("--profile", default=profile_default, choices=["real", "fast", "nosecmod"])
    p.add_argument("--name", default="dev")


def _gdb_arg(value: str):
    return value


def add_subcommands(subparsers) -> None:
    """Register record, replay, bundle and gdb on the ``harness`` command's subparsers."""
    from ..device import RECORD_SHIFT

    rec = subparsers.add_parser("record", help="boot a device with record/replay on and save its bundle")
    _device_args(rec)
    rec.add_argument("--lab", nargs="?", const="auto", choices=["auto", "privileged", "unprivileged"],
                     help="attach the device to a lab (hub, DHCP/DNS, SNTP): privileged when available")
    rec.add_argument("--transport", choices=["mqtt", "mqtts"],
                     help="with --lab: plain MQTT on 1883 (default) or TLS on 8883 with a SAS token")
    rec.add_argument("--duration", type=float, default=0, help="keep recording this many seconds after the commands")
    rec.add_argument("--shift", type=int, default=RECORD_SHIFT, help=f"icount shift (default {RECORD_SHIFT})")
    rec.add_argument("--out", help="bundle directory (default <artifacts>/bundle-<name>-<time>)")
    rec.add_argument("--archive", action="store_true", help="also write <out>.tar.gz")
    rec.add_argument("commands", nargs="*", help="shell commands to run on the device")
    rec.set_defaults(func=cmd_record)

    rep = subparsers.add_parser("replay", help="replay a bundle without lab, broker or traffic and check it")
    rep.add_argument("bundle", help="bundle directory or .tar.gz")
    rep.add_argument("--gdb", nargs="?", const="unix", type=_gdb_arg,
                     help="start the replay stopped at reset with the gdb stub: unix (default), tcp or a port")
    rep.add_argument("--workdir", help="where the replay's artifacts go (default: a new temporary directory)")
    rep.add_argument("--timeout", type=float, help="seconds (default: 30 + 3 x the recorded duration; none with --gdb)")
    rep.add_argument("--json", action="store_true", help="print the result as JSON")
    rep.set_defaults(func=cmd_replay)

    bun = subparsers.add_parser("bundle", help="validate a replay bundle; --archive packs it as one .tar.gz")
    bun.add_argument("dir", help="bundle directory (or archive, to validate it)")
    bun.add_argument("--archive", action="store_true")
    bun.add_argument("--out", help="archive path (default <dir>.tar.gz)")
    bun.set_defaults(func=cmd_bundle)

    gdb = subparsers.add_parser("gdb", help="start a device stopped at reset with the gdb stub; print the gdb command")
    _device_args(gdb)
    gdb.add_argument("--tcp", nargs="?", const=0, type=int,
                     help="stub on 127.0.0.1 (a free port, or this one) instead of a Unix socket")
    gdb.add_argument("--record", action="store_true", help="record the run too")
    gdb.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (default: never)")
    gdb.set_defaults(func=cmd_gdb)


def main(argv=None) -> int:
    """``python -m harness.replay.commands SUBCOMMAND ...``: the same as ``harness SUBCOMMAND``."""
    from ..cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
