"""The local IoT Hub: mosquitto (the broker), the IoT Hub-dialect gateway in
front of it, the device registry, the recorder, and the hub service (twins,
direct methods, cloud-to-device messages: harness/hub/service.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .. import procs
from ..errors import InfrastructureError
from .broker import Broker
from .c2dqueue import DEFAULT_TTL
from .recorder import Recorder
from .registry import Registry
from .service import HubService


class Hub:
    """``listeners``: (host, port, tls config or None) the gateway listens on."""

    def __init__(self, runtime: Path, artifacts: Path, registry: Registry, listeners: list[tuple],
                 netns: str | None = None, log=None):
        self.runtime, self.artifacts, self.netns = runtime, artifacts, netns
        self.registry = registry
        self.listeners = listeners
        self.broker = Broker(runtime, artifacts, netns)
        self.gateway_proc: subprocess.Popen | None = None
        self.recorder: Recorder | None = None
        self.service: HubService | None = None
        self._log = log or (lambda msg: None)

    @property
    def hub_host(self) -> str:
        return self.registry.hub_host

    @property
    def recording_path(self) -> Path:
        return self.artifacts / "hub.jsonl"

    def start(self) -> None:
        self.broker.start()
        self.recorder = Recorder(self.broker.svc_socket, self.recording_path, log=self._log)
        self.recorder.start()
        self.service = HubService(self.broker.svc_socket, self.registry, self.artifacts / "hub-events.jsonl",
                                  log=self._log)
        self.service.start()
        self.start_gateway()

    def write_registry(self) -> Path:
        return self.registry.save(self.runtime / "registry.yaml")

    def start_gateway(self) -> None:
        reg_path = self.write_registry()
        ready = self.runtime / "gateway.ready"
        ready.unlink(missing_ok=True)
        config = {
            "registry": str(reg_path), "hub_host": self.hub_host, "upstream": str(self.broker.dev_socket),
            "events_socket": str(self.broker.svc_socket), "events_log": str(self.artifacts / "hub-events.jsonl"),
            "log": str(self.artifacts / "gateway.log"), "ready_file": str(ready),
            "listeners": [{"host": h, "port": p, "tls": tls} for h, p, tls in self.listeners],
        }
        conf = self.runtime / "gateway.json"
        conf.write_text(json.dumps(config, indent=2))
        err = open(self.artifacts / "gateway.stderr.log", "ab")
        try:
            self.gateway_proc = procs.spawn([sys.executable, "-m", "harness.hub.gateway", str(conf)], netns=self.netns,
                                            stdout=err, stderr=err)
        finally:
            err.close()
        if not procs.wait_for_path(ready, 15.0, self.gateway_proc):
            tail = (self.artifacts / "gateway.stderr.log").read_text(errors="replace")[-1500:]
            raise InfrastructureError(f"hub gateway did not start (exit {self.gateway_proc.poll()}): {tail}")

    def restart_gateway(self) -> None:
        """Reload the registry: the gateway is restarted (connected devices reconnect)."""
        if self.gateway_proc is not None:
            procs.stop_process(self.gateway_proc)
        self.start_gateway()

    def stop_broker(self) -> None:
        self.broker.stop()

    def start_broker(self) -> None:
        self.broker.start()

    # -- device-facing behaviour (harness/hub/service.py) ------------------------
    def _service(self) -> HubService:
        if self.service is None:
            raise InfrastructureError("the hub is not running")
        return self.service

    def send_c2d(self, device_id: str, payload, properties: dict | None = None, ttl: float = DEFAULT_TTL) -> str:
        """A cloud-to-device message to ``devices/{id}/messages/devicebound/``; returns its message id.
        Queued while the device is not connected and subscribed, for up to ``ttl`` seconds."""
        return self._service().send_c2d(device_id, payload, properties, ttl)

    def invoke_method(self, device_id: str, method: str, payload=None, timeout: float = 30.0) -> dict:
        """A direct-method call; returns ``{"status", "payload", ...}`` (504 when the device did not answer)."""
        return self._service().invoke_method(device_id, method, payload, timeout)

    def update_desired(self, device_id: str, patch: dict) -> int:
        """Patch the device twin's desired properties (pushed to the device); returns the new $version."""
        return self._service().update_desired(device_id, patch)

    def get_twin(self, device_id: str) -> dict:
        return self._service().get_twin(device_id)

    def stop(self) -> None:
        if self.gateway_proc is not None:
            procs.stop_process(self.gateway_proc)
            self.gateway_proc = None
        if self.service is not None:
            self.service.stop()
            self.service = None
        if self.recorder is not None:
            self.recorder.stop()
        self.broker.stop()
