"""Replay bundles: one self-describing directory (or .tar.gz) per recorded run.

Layout (docs/reproduce.md)::

    manifest.json      format, versions, device, image, QEMU, seed, config, parts + SHA-256
    image.elf          the firmware image the run booted (its SHA-256 is in the manifest)
    <board>.toml       the target file
    config.bin         the device config block QEMU loaded (seed, MAC, hub, ...)
    replay.rr          QEMU's replay log (-icount rr=record)
    console.raw.log    the console bytes exactly as QEMU's chardev logfile wrote them
    console.log        the harness's timestamped console log (optional)
    qemu.cmdline       the recording's QEMU command line
    provenance.json    what the device recorded at start (optional)
    qemu.stderr.log    QEMU's own messages (optional)
    device.pcap        every frame of the device (networked runs)
    hub.jsonl          the device's slice of the hub recording (lab runs)
    alerts.jsonl       the back end's alerts about the device (when there were any)

Loading validates everything: a missing part, a checksum mismatch, a corrupt
manifest or the wrong image raises ``InputError`` naming the part.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..targets import REPO_ROOT, Target, parse_target_file

FORMAT = "harness-replay-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

# role -> (file name in the bundle or None when derived, required)
ROLES = {
    "image": ("image.elf", True),
    "target": (None, True),  # <board>.toml: parse_target_file wants the board's name
    "config": ("config.bin", True),
    "replay_log": ("replay.rr", True),
    "console_raw": ("console.raw.log", True),
    "cmdline": ("qemu.cmdline", True),
    "console": ("console.log", False),
    "provenance": ("provenance.json", False),
    "stderr": ("qemu.stderr.log", False),
    "pcap": ("device.pcap", False),
    "hub": ("hub.jsonl", False),
    "alerts": ("alerts.jsonl", False),
}
# artifacts QEMU writes (outputs): never treated as inputs of the command line
OUTPUTS = {"console.raw.log", "device.pcap", "replay.rr", "console.log", "qemu.stderr.log", "qemu.cmdline",
           "provenance.json", "hub.jsonl", "alerts.jsonl"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
        return (out.stdout.strip() or None) if out.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass
class Bundle:
    """A loaded, validated bundle."""

    root: Path
    manifest: dict
    _tmp: Path | None = None  # extraction dir of an archive (removed by cleanup())

    def part(self, role: str) -> Path | None:
        entry = self.manifest["parts"].get(role)
        return self.root / entry["file"] if entry else None

    def inputs(self) -> dict[str, Path]:
        """Files the recorded QEMU command line read besides config.bin (e.g. a CA block):
        original path -> the copy in the bundle."""
        out = {}
        for orig, role in (self.manifest["qemu"].get("inputs") or {}).items():
            entry = self.manifest["parts"].get(role)
            if entry is None:
                raise InputError(f"bundle {self.root}: part '{role}' ({orig}) is missing from {MANIFEST}")
            out[orig] = self.root / entry["file"]
        return out

    @property
    def name(self) -> str:
        return self.manifest["device"]["name"]

    @property
    def board(self) -> str:
        return self.manifest["device"]["board"]

    @property
    def image(self) -> Path:
        return self.part("image")

    @property
    def target(self) -> Target:
        return parse_target_file(self.part("target"))

    @property
    def config_block(self) -> bytes:
        return self.part("config").read_bytes()

    @property
    def networked(self) -> bool:
        return bool(self.manifest["device"].get("network"))

    @property
    def icount_shift(self) -> int:
        return int(self.manifest["qemu"]["icount_shift"])

    @property
    def console_bytes(self) -> bytes:
        return self.part("console_raw").read_bytes()

    def cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def summary(self) -> str:
        m = self.manifest
        parts = ", ".join(f"{r} ({m['parts'][r]['size']} B)" for r in m["parts"])
        return (f"bundle {self.root}: device {self.name} on {self.board}, image {m['image']['original_path']} "
                f"(sha256 {m['image']['sha256'][:16]}…), QEMU {m['qemu']['version']} icount shift "
                f"{self.icount_shift}, recorded {m['record'].get('duration_s')} s"
                f"{' (failed test)' if m['device'].get('failed') else ''}; parts: {parts}")


# -- writing --------------------------------------------------------------------
def write_bundle(device, dest, failed: bool = False) -> Path:
    """Bundle a stopped recorded device (its artifacts dir) into ``dest``; returns ``dest``."""
    if device.rr_log is None or device.replay_log is not None:
        raise InputError(f"{device.name}: was not recorded (start it with record=True)")
    art = Path(device.artifacts_dir)
    argv = (art / "qemu.cmdline").read_text().strip() if (art / "qemu.cmdline").exists() else ""
    import shlex
    argv_list = shlex.split(argv) if argv else []
    # files the command line reads (config.bin, a CA block loaded with -device loader, ...)
    inputs: dict[str, Path] = {}
    for token in argv_list:
        for item in token.split(","):
            key, _, value = item.partition("=")
            if key != "file" or not value:
                continue
            src = Path(value)
            if src.name in OUTPUTS or src == art / "config.bin" or not src.is_file():
                continue
            inputs[str(src)] = src
    network = None
    if device.network is not None:
        network = type(device.network).__name__
    from ..device import qemu_version, QEMU
    record = {"duration_s": round(time.monotonic() - device.started_at, 3) if device.started_at else None,
              "end_icount": device.record_end_icount,
              "stopped_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return make_bundle(
        dest,
        files={"image": device.image_path, "target": device.target.path, "config": art / "config.bin",
               "replay_log": device.rr_log, "console_raw": art / "console.raw.log",
               "cmdline": art / "qemu.cmdline", "console": art / "console.log",
               "provenance": art / "provenance.json", "stderr": art / "qemu.stderr.log",
               "pcap": art / "device.pcap", "hub": art / "hub.jsonl", "alerts": art / "alerts.jsonl",
               **{f"input:{i}": p for i, p in enumerate(inputs.values())}},
        device={"name": device.name, "board": device.target.name, "mac": device.config.mac, "network": network,
                "failed": bool(failed), "exit_code": device.exit_code, "host_actions": list(device.host_actions)},
        qemu={"version": qemu_version(), "binary": QEMU, "argv": argv_list, "icount_shift": device.icount_shift,
              "extra_args": list(device.extra_qemu_args), "artifacts_dir": str(art),
              "inputs": {orig: f"input:{i}" for i, orig in enumerate(inputs)}},
        config=device.config.to_dict(), record=record,
    )


def make_bundle(dest, files: dict[str, Path], device: dict, qemu: dict, config: dict, record: dict) -> Path:
    """Copy ``files`` (role -> path; optional roles may be missing) into ``dest`` with a manifest."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    parts = {}
    for role, src in files.items():
        if src is None:
            continue
        src = Path(src)
        required = ROLES.get(role, (None, True))[1]
        if not src.is_file():
            if required:
                raise InputError(f"cannot bundle {device.get('name')}: {role} {src} does not exist")
            continue
        if role == "target":
            name = f"{device['board']}.toml"
        elif role.startswith("input:"):
            name = f"input-{role[len('input:'):]}-{src.name}"
        else:
            name = ROLES[role][0]
        if role == "alerts" and src.stat().st_size == 0:
            continue
        shutil.copyfile(src, dest / name)
        parts[role] = {"file": name, "sha256": sha256_file(dest / name), "size": (dest / name).stat().st_size}
    # alerts the back end published about this device are in its hub slice too
    if "alerts" not in parts and "hub" in parts:
        alerts = [line for line in (dest / "hub.jsonl").read_text(encoding="utf-8").splitlines()
                  if line.strip() and json.loads(line).get("kind") == "alert"]
        if alerts:
            (dest / "alerts.jsonl").write_text("\n".join(alerts) + "\n", encoding="utf-8")
            p = dest / "alerts.jsonl"
            parts["alerts"] = {"file": p.name, "sha256": sha256_file(p), "size": p.stat().st_size}
    image = parts["image"]
    from ..image import check_image
    info = check_image(dest / image["file"], parse_target_file(dest / parts["target"]["file"]))
    config_seed = config.get("seed")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_on": {"host": platform.node(), "platform": platform.platform(),
                       "python": platform.python_version()},
        "harness": {"git_revision": _git_revision()},
        "device": device,
        "image": {"file": image["file"], "sha256": image["sha256"], "size": image["size"],
                  "original_path": str(files["image"]), "has_symbols": info.has_symbols,
                  "entry": hex(info.entry)},
        "qemu": qemu,
        "seed": config_seed,
        "config": config,
        "record": dict(record, replay_log_bytes=parts["replay_log"]["size"]),
        "parts": parts,
    }
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, dest / MANIFEST)
    return dest


def archive_bundle(bundle_dir, out=None) -> Path:
    """``bundle_dir`` as one .tar.gz (validated first); returns the archive's path."""
    bundle = load_bundle(bundle_dir)
    root = bundle.root
    out = Path(out) if out else root.with_name(root.name + ".tar.gz")
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for path in sorted(root.iterdir()):
            tar.add(path, arcname=f"{root.name}/{path.name}", recursive=False)
    os.replace(tmp, out)
    return out


# -- loading --------------------------------------------------------------------
def _extract(archive: Path, into: Path) -> Path:
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"bundle archive {archive} cannot be read: {exc}") from None
    with tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InputError(f"bundle archive {archive} is corrupt: {exc}") from None
        for m in members:
            parts = Path(m.name).parts
            if m.name.startswith("/") or ".." in parts or not (m.isfile() or m.isdir()):
                raise InputError(f"bundle archive {archive}: refusing member {m.name!r} "
                                 "(absolute path, '..' or not a regular file)")
        try:
            tar.extractall(into, members=members)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InputError(f"bundle archive {archive} is corrupt: {exc}") from None
    if (into / MANIFEST).exists():
        return into
    subdirs = [p for p in into.iterdir() if p.is_dir()]
    if len(subdirs) == 1:
        return subdirs[0]
    raise InputError(f"bundle archive {archive}: part '{MANIFEST}' is missing")


def load_bundle(path, extract_to=None, check_image_file: bool = True) -> Bundle:
    """Load and validate a bundle directory or archive (.tar.gz)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"bundle {path} does not exist")
    tmp = None
    if path.is_file():
        tmp = Path(extract_to) if extract_to else Path(tempfile.mkdtemp(prefix="bundle-"))
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            root = _extract(path, tmp)
        except BaseException:
            if extract_to is None:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
    else:
        root = path
    try:
        bundle = Bundle(root, _validate(root, check_image_file), tmp if extract_to is None else None)
    except BaseException:
        if tmp is not None and extract_to is None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return bundle


def _validate(root: Path, check_image_file: bool) -> dict:
    where = f"bundle {root}"
    mpath = root / MANIFEST
    if not mpath.is_file():
        raise InputError(f"{where}: part '{MANIFEST}' is missing (not a replay bundle?)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{where}: {MANIFEST} is corrupt: {exc}") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: {MANIFEST} is corrupt: not a JSON object")
    if manifest.get("format") != FORMAT:
        raise InputError(f"{where}: {MANIFEST} is corrupt: format is {manifest.get('format')!r}, not {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{where}: {MANIFEST}: format version {manifest.get('format_version')!r} is not supported "
                         f"(this harness reads version {FORMAT_VERSION})")
    for key, kind in (("parts", dict), ("device", dict), ("image", dict), ("qemu", dict), ("record", dict),
                      ("config", dict)):
        if not isinstance(manifest.get(key), kind):
            raise InputError(f"{where}: {MANIFEST} is corrupt: field {key!r} is missing or not a {kind.__name__}")
    for key in ("name", "board"):
        if not isinstance(manifest["device"].get(key), str):
            raise InputError(f"{where}: {MANIFEST} is corrupt: field 'device.{key}' is missing")
    if not isinstance(manifest["qemu"].get("icount_shift"), int):
        raise InputError(f"{where}: {MANIFEST} is corrupt: field 'qemu.icount_shift' is missing")
    if not isinstance(manifest["image"].get("sha256"), str):
        raise InputError(f"{where}: {MANIFEST} is corrupt: field 'image.sha256' is missing")
    parts = manifest["parts"]
    for role, (_, required) in ROLES.items():
        if required and role not in parts:
            raise InputError(f"{where}: part '{role}' is missing from {MANIFEST}")
    for role, entry in parts.items():
        if not isinstance(entry, dict) or not all(k in entry for k in ("file", "sha256", "size")):
            raise InputError(f"{where}: {MANIFEST} is corrupt: entry of part '{role}' needs file, sha256, size")
        name = entry["file"]
        if not isinstance(name, str) or "/" in name or name in ("", ".", "..") or name == MANIFEST:
            raise InputError(f"{where}: {MANIFEST} is corrupt: part '{role}' has file name {name!r}")
        p = root / name
        if not p.is_file():
            raise InputError(f"{where}: part '{role}' ({name}) is missing")
        size = p.stat().st_size
        digest = sha256_file(p)
        if digest != entry["sha256"] or size != entry["size"]:
            raise InputError(f"{where}: part '{role}' ({name}) is corrupt: SHA-256 {digest[:16]}… ({size} bytes) "
                             f"does not match the manifest's {str(entry['sha256'])[:16]}… ({entry['size']} bytes)")
    if parts["image"]["sha256"] != manifest["image"]["sha256"]:
        raise InputError(f"{where}: part 'image' ({parts['image']['file']}) is the wrong image: SHA-256 "
                         f"{parts['image']['sha256'][:16]}…, but the run was recorded with "
                         f"{manifest['image']['sha256'][:16]}…")
    target_file = root / parts["target"]["file"]
    try:
        target = parse_target_file(target_file)
    except InputError as exc:
        raise InputError(f"{where}: part 'target' ({target_file.name}) is invalid: {exc}") from None
    if target.name != manifest["device"]["board"]:
        raise InputError(f"{where}: part 'target' ({target_file.name}) is for board {target.name!r}, "
                         f"the run was on {manifest['device']['board']!r}")
    if check_image_file:
        from ..image import check_image
        try:
            check_image(root / parts["image"]["file"], target)
        except InputError as exc:
            raise InputError(f"{where}: part 'image' ({parts['image']['file']}) is the wrong image: {exc}") from None
    return manifest
