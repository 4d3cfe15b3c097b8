"""Run traffic steps inside the lab namespace: ``python -m harness.traffic.run STEPS.json``.
Prints one JSON result per step (one per line); exit 1 with a JSON error on failure."""

from __future__ import annotations

import json
import sys
import traceback

from .generators import StepError, run_step


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    steps = json.loads(open(argv[0]).read() if argv[0] != "-" else sys.stdin.read())
    for step in steps:
        try:
            result = run_step(step)
        except (StepError, OSError, KeyError, ValueError) as exc:
            print(json.dumps({"kind": step.get("kind"), "error": f"{exc.__class__.__name__}: {exc}"}), flush=True)
            return 1
        except Exception:
            print(json.dumps({"kind": step.get("kind"), "error": traceback.format_exc()}), flush=True)
            return 1
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
