"""Generate the Python FlatBuffers accessors for the security-message schema.

``python -m harness.secmsg.generate`` runs ``flatc --python`` on
``security_message.fbs`` into ``harness/secmsg/generated/`` (gitignored).

* Idempotent and quick: a stamp file holds the SHA-256 of the schema (and of this
  generator's post-processing version); when it matches nothing is run.
* Safe against concurrent callers (parallel pytest/pabot workers): generation runs
  under an exclusive lock, into a scratch directory that is swapped into place.
* The generated modules use absolute imports (``from AzureIoTSecurity.Event import
  Event``); they are rewritten to package-relative imports so the code lives at
  ``harness.secmsg.generated.AzureIoTSecurity`` without touching ``sys.path``.

Other modules never import the generated package at import time; they call
:func:`load`, which generates on first use when the stamp is missing or stale, so a
fresh checkout with flatc installed just works.

The flatc binary is ``$FLATC`` if set, else ``flatc`` on PATH.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from pathlib import Path

from .errors import SchemaCompileError

HERE = Path(__file__).resolve().parent
SCHEMA = HERE / "security_message.fbs"
GENERATED_DIR = HERE / "generated"
NAMESPACE = "AzureIoTSecurity"
PACKAGE = f"{__package__}.generated.{NAMESPACE}"
STAMP_NAME = ".stamp"
LOCK_NAME = ".lock"
# Bump when the post-processing below changes, so old output is regenerated.
POSTPROCESS_VERSION = "1"
# The modules the decoder and builder use; all must exist after generation.
MODULES = (
    "Message", "Event", "UUID", "Payload", "Protocol", "NetworkActivity",
    "NetworkActivityV4", "NetworkActivityV6", "NetworkActivityCommon",
    "IPv4Addresses", "IPv6Addresses", "SystemInformation", "Heartbeat",
    "ListeningPorts", "Baseline", "Process", "Log",
)
FLATC_TIMEOUT_S = 60

_ABS_IMPORT = re.compile(rf"\bfrom {NAMESPACE}\.(\w+) import\b")
_load_lock = threading.Lock()
_loaded: types.SimpleNamespace | None = None


def _stamp_text() -> str:
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    return f"schema-sha256={digest} postprocess={POSTPROCESS_VERSION}\n"


def is_up_to_date(out_dir: Path = GENERATED_DIR) -> bool:
    """True when the generated code matches the current schema (no flatc run needed)."""
    try:
        if (out_dir / STAMP_NAME).read_text() != _stamp_text():
            return False
    except OSError:
        return False
    pkg = out_dir / NAMESPACE
    return all((pkg / f"{m}.py").is_file() for m in MODULES)


def find_flatc() -> str:
    """Path of the flatc binary, or SchemaCompileError saying how to get one."""
    configured = os.environ.get("FLATC")
    if configured:
        if shutil.which(configured) is None:
            raise SchemaCompileError(
                f"FLATC={configured!r} is not an executable; unset it or point it at flatc")
        return configured
    found = shutil.which("flatc")
    if found is None:
        raise SchemaCompileError(
            "flatc (the FlatBuffers compiler) is not installed or not on PATH; it is needed "
            f"to generate the Python accessors for {SCHEMA.name}. Install it (Debian/Ubuntu: "
            "apt-get install flatbuffers-compiler) or set FLATC=/path/to/flatc, then run "
            "`make setup` or `python -m harness.secmsg.generate`.")
    return found


def _postprocess(pkg_dir: Path) -> None:
    """Make the generated package importable as a subpackage (relative imports)."""
    for path in pkg_dir.glob("*.py"):
        text = path.read_text()
        new = _ABS_IMPORT.sub(r"from .\1 import", text)
        if re.search(rf"\b(import|from) {NAMESPACE}\b", new):
            raise SchemaCompileError(
                f"flatc output {path.name} imports {NAMESPACE} in a form this generator "
                "does not rewrite; check the flatc version (2.0.x expected)")
        if new != text:
            path.write_text(new)
    missing = [m for m in MODULES if not (pkg_dir / f"{m}.py").is_file()]
    if missing:
        raise SchemaCompileError(
            f"flatc did not produce {', '.join(m + '.py' for m in missing)} "
            f"from {SCHEMA.name}")


def _run_flatc(flatc: str, out_dir: Path) -> None:
    cmd = [flatc, "--python", "-o", str(out_dir), str(SCHEMA)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FLATC_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise SchemaCompileError(f"flatc did not finish within {FLATC_TIMEOUT_S} s: {cmd}") from exc
    except OSError as exc:
        raise SchemaCompileError(f"could not run flatc ({flatc}): {exc}") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise SchemaCompileError(
            f"flatc rejected {SCHEMA} (exit {proc.returncode}): {detail}")


def generate(force: bool = False, out_dir: Path = GENERATED_DIR) -> bool:
    """Generate the accessors into ``out_dir`` if stale (or ``force``); True if flatc ran."""
    out_dir = Path(out_dir)
    if not force and is_up_to_date(out_dir):
        return False
    if not SCHEMA.is_file():
        raise SchemaCompileError(f"schema file {SCHEMA} is missing")
    flatc = find_flatc()
    try:
        out_dir.mkdir(exist_ok=True)
        lock_fd = os.open(out_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SchemaCompileError(f"cannot write the generated code to {out_dir}: {exc}") from exc
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if not force and is_up_to_date(out_dir):  # another process did it while we waited
            return False
        scratch = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir))
        try:
            _run_flatc(flatc, scratch)
            new_pkg = scratch / NAMESPACE
            _postprocess(new_pkg)
            target = out_dir / NAMESPACE
            if target.exists():
                old = scratch / "old"
                os.replace(target, old)
            os.replace(new_pkg, target)
            init = out_dir / "__init__.py"
            if not init.exists():
                init.write_text('"""flatc output for security_message.fbs (generated, not in git)."""\n')
            tmp_stamp = scratch / "stamp"
            tmp_stamp.write_text(_stamp_text())
            os.replace(tmp_stamp, out_dir / STAMP_NAME)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        importlib.invalidate_caches()
        return True
    finally:
        os.close(lock_fd)  # releases the flock


def load() -> types.SimpleNamespace:
    """Import the generated modules (generating them first if needed).

    Returns a namespace whose attributes are the generated modules, e.g.
    ``load().Message.Message.GetRootAs(buf)``. Cached after the first call.
    """
    global _loaded
    if _loaded is not None:
        return _loaded
    with _load_lock:
        if _loaded is None:
            generate()
            importlib.invalidate_caches()  # the directory may have appeared after startup
            try:
                mods = {m: importlib.import_module(f"{PACKAGE}.{m}") for m in MODULES}
            except ImportError as exc:
                raise SchemaCompileError(
                    f"generated FlatBuffers code in {GENERATED_DIR} cannot be imported "
                    f"({exc}); rerun `python -m harness.secmsg.generate --force`") from exc
            _loaded = types.SimpleNamespace(**mods)
    return _loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.secmsg.generate",
        description=f"Generate Python FlatBuffers accessors from {SCHEMA.name} with flatc.")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    parser.add_argument("--check", action="store_true",
                        help="only report; exit 1 if the generated code is stale or missing")
    args = parser.parse_args(argv)
    if args.check:
        ok = is_up_to_date()
        print(f"{GENERATED_DIR}: {'up to date' if ok else 'stale or missing'}")
        return 0 if ok else 1
    try:
        ran = generate(force=args.force)
    except SchemaCompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{GENERATED_DIR}: {'generated' if ran else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
