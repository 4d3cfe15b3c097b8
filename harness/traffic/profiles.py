"""Traffic profiles: YAML data files that sequence traffic steps.

    name: malicious-inbound
    description: ...
    steps:
      - {kind: ping, src: attacker1, dst: "${device}", count: 3}
      - {kind: device, device: "${device}", command: "tcp connect ${c2} 4444"}

``${name}`` is replaced by the variables given when the profile runs (``device`` at least).
A ``device`` step runs a shell command on the device (outbound traffic from a compromised
device); every other kind runs on the lab network (see generators.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ..errors import InputError
from .generators import GENERATORS

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
_VAR = re.compile(r"\$\{(\w+)\}")


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def _substitute(value, variables: dict, where: str):
    if isinstance(value, str):
        def repl(m):
            if m.group(1) not in variables:
                raise InputError(f"{where}: variable ${{{m.group(1)}}} is not given")
            return str(variables[m.group(1)])
        out = _VAR.sub(repl, value)
        return int(out) if out.isdigit() and _VAR.fullmatch(value) else out
    if isinstance(value, list):
        return [_substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, where) for k, v in value.items()}
    return value


def load_profile(profile: str, variables: dict | None = None) -> list[dict]:
    path = Path(profile)
    if not path.suffix:
        path = PROFILES_DIR / f"{profile}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError:
        raise InputError(f"traffic profile {profile!r} not found (known: {', '.join(list_profiles())})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"traffic profile {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list) or not data["steps"]:
        raise InputError(f"traffic profile {path}: needs a non-empty 'steps' list")
    steps = []
    for i, step in enumerate(data["steps"]):
        where = f"traffic profile {path}: steps[{i}]"
        if not isinstance(step, dict) or "kind" not in step:
            raise InputError(f"{where} must be a mapping with a kind")
        if step["kind"] != "device" and step["kind"] not in GENERATORS:
            raise InputError(f"{where}: unknown kind {step['kind']!r}")
        steps.append(_substitute(step, variables or {}, where))
    return steps
