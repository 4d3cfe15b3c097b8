"""The ``harness`` command (also ``python -m harness``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import reaper
from .errors import HarnessError, InfrastructureError, InputError

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INFRA = 0, 1, 2, 3


def _stream_console(dev, stop_after: float | None = None) -> None:
    """Print console lines as they arrive (the person running `make run` sees the device)."""
    seen = 0
    deadline = time.monotonic() + stop_after if stop_after else None
    while deadline is None or time.monotonic() < deadline:
        lines = dev.console.output_since(seen)
        for line in lines:
            print(f"  [{dev.name}] {line}")
        seen += len(lines)
        if deadline is None:
            return
        time.sleep(0.05)


def cmd_boot(args) -> int:
    """Boot one device, show its console, run the given shell commands, stop."""
    from .device import Device

    dev = Device(args.board, args.image, name=args.name, profile=args.profile,
                 artifacts_dir=Path(args.artifacts) / args.name, keep="always")
    print(f"booting {args.name} on {dev.target.name} ({dev.target.description}) from {dev.image_path}")
    failed = True
    try:
        dev.start()
        dev.wait_for_prompt(dev.target.timeouts.boot)
        _stream_console(dev)
        for command in args.commands:
            mark = dev.console.mark()
            dev.run_command(command)
            for line in dev.console.output_since(mark):
                print(f"  [{dev.name}] {line}")
        if args.interactive_seconds:
            _stream_console(dev, stop_after=args.interactive_seconds)
        failed = False
    finally:
        dev.stop(failed=failed)
    print(f"console log: {dev.console_log}")
    print(f"artifacts:   {dev.artifacts_dir}")
    return EXIT_OK


def cmd_run(args) -> int:
    """The main job: a lab, a device, the back end, benign then malicious traffic, alerts, summary."""
    from .mainjob import run
    from .targets import DEFAULT_BOARD

    artifacts = Path(args.artifacts) / time.strftime("run-%Y%m%d-%H%M%S")
    artifacts.mkdir(parents=True, exist_ok=True)
    return run(artifacts.resolve(), args.board or DEFAULT_BOARD, args.image, args.profile)


def cmd_traffic(args) -> int:
    """Run one traffic profile against a fresh lab with a device and the back end."""
    from .mainjob import run_profile
    from .targets import DEFAULT_BOARD

    artifacts = Path(args.artifacts) / time.strftime("traffic-%Y%m%d-%H%M%S")
    artifacts.mkdir(parents=True, exist_ok=True)
    return run_profile(artifacts.resolve(), args.board or DEFAULT_BOARD, args.image, args.profile,
                       args.traffic_profile)


def cmd_clean_lab(args) -> int:
    from .cleanup import clean_stale

    removed = clean_stale(everything=args.all)
    for item in removed:
        print(f"removed {item}")
    if not removed:
        print("nothing to clean")
    return EXIT_OK


def cmd_targets(args) -> int:
    from .targets import list_targets, load_target

    for name in list_targets():
        t = load_target(name)
        print(f"{t.name:<12} {t.qemu_cpu:<10} uart0 0x{t.uart0_base:08x}  {t.nic_model} 0x{t.nic_base:08x} "
              f"irq {t.nic_irq}  {t.description}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="harness", description="QEMU testbed for RTOS IoT security modules")
    p.add_argument("--artifacts", default="artifacts", help="where logs, pcaps and recordings go")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the main job: a lab, a device, the back end, benign then malicious traffic, alerts, report")
    run.add_argument("--board")
    run.add_argument("--image", help="firmware ELF (default: the reference firmware)")
    run.add_argument("--profile", default="fast", choices=["real", "fast", "nosecmod"],
                     help="firmware profile (fast: first security message ~2 s after enable; real: 30-89 s)")
    run.set_defaults(func=cmd_run)

    boot = sub.add_parser("boot", help="boot one device and run shell commands on it")
    boot.add_argument("--board", default="mps2-an385")
    boot.add_argument("--image")
    boot.add_argument("--name", default="dev")
    boot.add_argument("--profile", default="real", choices=["real", "fast", "nosecmod"])
    boot.add_argument("--watch", dest="interactive_seconds", type=float, default=0,
                      help="keep showing the console for this many seconds")
    boot.add_argument("commands", nargs="*")
    boot.set_defaults(func=cmd_boot)

    from .traffic.profiles import list_profiles
    traffic = sub.add_parser("traffic", help="run a traffic profile at a device in a fresh lab and show the alerts")
    traffic.add_argument("traffic_profile", help=f"a profile name ({', '.join(list_profiles())}) or a YAML file")
    traffic.add_argument("--board")
    traffic.add_argument("--image")
    traffic.add_argument("--profile", default="fast", choices=["real", "fast", "nosecmod"])
    traffic.set_defaults(func=cmd_traffic)

    clean = sub.add_parser("clean-lab", help="remove leftovers (processes, namespaces, dirs) of dead runs")
    clean.add_argument("--all", action="store_true", help="also those of runs that are still alive")
    clean.set_defaults(func=cmd_clean_lab)

    targets = sub.add_parser("targets", help="list supported boards")
    targets.set_defaults(func=cmd_targets)

    from .replay.commands import add_subcommands as add_replay_commands
    add_replay_commands(sub)  # record, replay, bundle, gdb (docs/reproduce.md)
    from .hub.commands import add_subcommands as add_hub_commands
    add_hub_commands(sub)  # lab-info, hub c2d|method|desired|twin (docs/bring-your-own-image.md)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reaper.install_signal_handlers()
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except InfrastructureError as exc:
        print(f"infrastructure error: {exc}", file=sys.stderr)
        return EXIT_INFRA
    except HarnessError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        reaper.cleanup_all()


if __name__ == "__main__":
    sys.exit(main())
