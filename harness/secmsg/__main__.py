"""python -m harness.secmsg FILE... : decode security-message bodies and print them.

Exit status 0 if every file decoded, 1 if any did not (the error is printed).
"""

import argparse
import json
import sys
from pathlib import Path

from . import DecodeError, decode, render_html, render_text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.secmsg",
                                     description="Decode FlatBuffers security messages.")
    parser.add_argument("files", nargs="+", type=Path, help="raw message bodies (.bin)")
    parser.add_argument("--format", choices=("text", "json", "html"), default="text")
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            msg = decode(path.read_bytes())
        except (OSError, DecodeError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.format == "json":
            print(json.dumps({"file": str(path), "message": msg.to_dict()}))
        else:
            print((render_text if args.format == "text" else render_html)(msg), end="")
    return status


if __name__ == "__main__":
    sys.exit(main())
