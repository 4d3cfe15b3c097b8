"""Drive traffic steps in a lab from Python, Robot or the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .. import procs
from ..errors import InfrastructureError, InputError
from .generators import GENERATORS


@dataclass
class TrafficResult:
    steps: list[dict]
    results: list[dict] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def flows(self) -> list[list]:
        return [f for r in self.results for f in r.get("flows", [])]


class TrafficDriver:
    def __init__(self, lab):
        if not lab.privileged:
            raise InputError("traffic from lab hosts needs the privileged lab (network namespace)")
        self.lab = lab
        self.log_path = lab.artifacts_dir / "traffic.jsonl"

    def resolve(self, step: dict) -> dict:
        """Fill lab names in: src/dst may be a lab host name, 'hub', or a device id (+ 'ipv6': true)."""
        step = dict(step)
        if step.get("kind") not in GENERATORS:
            raise InputError(f"unknown traffic kind {step.get('kind')!r} (known: {', '.join(sorted(GENERATORS))})")
        v6 = bool(step.pop("ipv6", False))
        for key in ("src", "dst"):
            value = step.get(key)
            if value is None:
                continue
            if value in self.lab.hosts:
                host = self.lab.hosts[value]
                step[key] = host.ipv6 if v6 else host.ipv4
            elif value in self.lab.devices:
                step[key] = self.lab.device_ipv6(value) if v6 else self.lab.wait_for_ipv4(value)
                if key == "dst":
                    step.setdefault("dst_mac", self.lab.devices[value].config.mac)
            elif value == "hub":
                from ..lab import addressing as A
                step[key] = str(A.HUB_V6 if v6 else A.HUB_V4)
        for key in ("src", "dst"):
            if key in step and step["kind"] != "icmp_sweep":
                from ..lab.addressing import require_documentation
                require_documentation(step[key])
        return step

    def run(self, steps: list[dict], timeout: float = 120.0) -> TrafficResult:
        """Run steps in order: ``device`` steps on the device's shell, the rest on the lab network."""
        result = TrafficResult([], started=time.time())
        batch: list[dict] = []
        for step in steps:
            if step.get("kind") == "device":
                if batch:
                    self._run_lab(batch, timeout, result)
                    batch = []
                result.steps.append(step)
                result.results.append(self._run_device(step))
            else:
                batch.append(step)
        if batch:
            self._run_lab(batch, timeout, result)
        result.ended = time.time()
        return result

    def _run_device(self, step: dict) -> dict:
        dev = self.lab.devices.get(step.get("device"))
        if dev is None:
            raise InputError(f"device step names no device of the lab: {step}")
        out = dev.run_command(step["command"])
        res = {"kind": "device", "command": step["command"], "output": out, "flows": []}
        with open(self.log_path, "a") as log:
            log.write(json.dumps({"t": time.time(), "step": step, "result": res}) + "\n")
        return res

    def _run_lab(self, steps: list[dict], timeout: float, result: TrafficResult) -> None:
        resolved = [self.resolve(s) for s in steps]
        spec = self.lab.runtime / f"traffic-{time.monotonic_ns()}.json"
        spec.write_text(json.dumps(resolved))
        started = time.time()
        first = len(result.results)
        result.steps.extend(resolved)
        try:
            out = procs.run([sys.executable, "-m", "harness.traffic.run", str(spec)], netns=self.lab.ns.name,
                            timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise InfrastructureError(f"traffic steps did not finish within {timeout:.0f} s: {resolved}") from None
        finally:
            spec.unlink(missing_ok=True)
        for line in out.stdout.decode(errors="replace").splitlines():
            if line.strip():
                result.results.append(json.loads(line))
        with open(self.log_path, "a") as log:
            for step, res in zip(resolved, result.results[first:]):
                log.write(json.dumps({"t": started, "step": step, "result": res}) + "\n")
        errors = [r for r in result.results[first:] if "error" in r]
        if errors or out.returncode != 0:
            detail = errors[0]["error"] if errors else out.stderr.decode(errors="replace")[-800:]
            raise InfrastructureError(f"traffic step failed: {detail}")
