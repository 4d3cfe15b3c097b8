"""Lab and hub keywords: isolated networks, devices on them, lab hosts, the hub."""

from __future__ import annotations

import json
import re

from robot.api import logger
from robot.api.deco import keyword

from ..device import recording_default
from ..errors import DeviceFailure, InputError
from ..lab import Lab
from ..lab.netns import privileged_lab_available
from ..targets import DEFAULT_BOARD
from . import context
from .retry import with_infra_retries
from .devices import record_setting


def _bool(value) -> bool:
    return str(value).lower() not in ("false", "0", "no", "none", "")


class LabKeywords:
    def __init__(self):
        self.labs: dict[str, Lab] = {}
        self.current_lab: str | None = None
        self._test_labs: list[str] = []

    def _stop_labs(self, names, failed: bool) -> None:
        for name in names:
            lab = self.labs.pop(name, None)
            if lab is None:
                continue
            self._stop_backend(name)
            for dev_id in list(lab.devices):
                self.devices.pop(dev_id, None)
                self._test_devices = [d for d in self._test_devices if d != dev_id]
            lab.stop(failed=failed)
            if self.current_lab == name:
                self.current_lab = next(iter(self.labs), None)

    def _lab(self, name: str | None = None) -> Lab:
        name = name or self.current_lab
        if name is None or name not in self.labs:
            raise InputError(f"no lab named {name!r} (started labs: {', '.join(self.labs) or 'none'})")
        return self.labs[name]

    def _lab_of(self, device_id: str | None) -> tuple[Lab, str]:
        dev = self._device(device_id)
        for lab in self.labs.values():
            if dev.name in lab.devices:
                return lab, dev.name
        raise InputError(f"device {dev.name!r} is not on a lab network")

    @keyword
    def privileged_lab_should_be_available(self) -> None:
        """Skip the test (with the reason) when the privileged lab cannot be built here."""
        ok, why = privileged_lab_available()
        if not ok:
            from robot.api import SkipExecution
            raise SkipExecution(f"privileged lab not available: {why}")

    @keyword
    def start_lab(self, name: str = "lab", privileged=None, hub_host: str = "hub.lab",
                  transport: str | None = None) -> str:
        """Start an isolated lab network with DHCP/DNS/RA, SNTP and the local IoT Hub.

        ``privileged``: True (network namespace, bridge, taps; needs root), False (QEMU user
        networking with restrict=on), or unset to use the privileged lab when available.
        ``transport``: how devices reach the hub unless told otherwise: ``mqtt`` (plain 1883) or
        ``mqtts`` (TLS on 8883 with SAS tokens); default ``${HUB_TRANSPORT}``, else ``mqtt``.
        """
        transport = transport or context.variable("${HUB_TRANSPORT}") or "mqtt"
        if name in self.labs:
            raise InputError(f"a lab named {name!r} is already running")
        priv = None if privileged in (None, "", "None") else _bool(privileged)

        def attempt():
            lab = Lab(name, index=context.worker_index(), artifacts_dir=context.artifacts_dir(f"lab-{name}"),
                      privileged=priv, hub_host=hub_host, log=logger.info, transport=transport)
            self.labs[name] = lab
            lab.start()
            return lab

        def undo():
            lab = self.labs.pop(name, None)
            if lab is not None:
                lab.stop(failed=True)

        lab = with_infra_retries(f"starting lab {name}", attempt, undo)
        if self._in_test:
            self._test_labs.append(name)
        self.current_lab = name
        mode = f"namespace {lab.ns.name}" if lab.privileged else "QEMU user networking (restrict=on)"
        logger.info(f"lab {name}: {mode}; hub {lab.registry.hub_host}; recording "
                    + context.link(lab.hub.recording_path, "hub.jsonl"), html=True)
        return name

    @keyword
    def lab_artifacts_directory(self, lab: str | None = None) -> str:
        return str(self._lab(lab).artifacts_dir)

    @keyword
    def stop_lab(self, name: str | None = None) -> None:
        self._stop_labs([self._lab(name).name], failed=False)

    @keyword
    def start_device_in_lab(self, device_id: str, board: str | None = None, image: str | None = None,
                            profile: str = "fast", lab: str | None = None, static=False, ipv6: str = "slaac",
                            auth: str | None = None, security_group: str | None = None, wait_for_prompt=True,
                            record=None, transport: str | None = None, impairable=False, **config) -> str:
        """Boot a device attached to a lab: its own tap (or restricted user network), MAC,
        device id and registry entry. Extra ``name=value`` arguments set device config fields.
        ``transport``: the lab's unless given; ``auth``: ``${HUB_AUTH}``, else ``sas`` over TLS
        and ``none`` over plain MQTT. ``impairable``: the link goes through the link emulator
        (Impair Device Link, Cut Device Link).
        ``record``: record the run for replay (default ``${RECORD}``; docs/reproduce.md)."""
        the_lab = self._lab(lab)
        if device_id in self.devices:
            raise InputError(f"a device named {device_id!r} is already running")
        board = board or context.variable("${BOARD}") or DEFAULT_BOARD
        image = image or context.variable("${IMAGE}") or None
        tags = {"SecurityGroup": security_group} if security_group else None
        transport = transport or the_lab.transport
        auth = auth or context.variable("${HUB_AUTH}") or ("sas" if transport == "mqtts" else "none")
        with recording_default(record_setting(record, device_id)):  # Lab.start_device builds the Device
            dev = with_infra_retries(
                f"starting {device_id}",
                lambda: the_lab.start_device(device_id, board=board, image=image, profile=profile,
                                             artifacts_dir=context.artifacts_dir(device_id), log=logger.info,
                                             static=_bool(static), ipv6=ipv6, auth=auth, tags=tags,
                                             transport=transport, impairable=_bool(impairable), **config),
                lambda: the_lab.stop_device(device_id, failed=True))
        self.devices[device_id] = dev
        if self._in_test:
            self._test_devices.append(device_id)
        self.current = device_id
        logger.info(f"{device_id} on lab {the_lab.name}: mac {dev.config.mac}; artifacts "
                    + ", ".join(context.link(p, p.name) for p in (dev.console_log, dev.pcap,
                                                                     dev.artifacts_dir / "qemu.cmdline")), html=True)
        if _bool(wait_for_prompt):
            dev.wait_for_prompt(dev.target.timeouts.boot)
        return device_id

    @keyword
    def wait_for_device_network(self, device: str | None = None, ipv4=True, ipv6=True, timeout=None) -> dict:
        """Wait until the device reports its IPv4 lease/static address and its global IPv6
        address on the console (since its latest boot); returns ``{ipv4: ..., ipv6: ...}``."""
        dev = self._device(device)
        t = float(timeout) if timeout else dev.target.timeouts.network
        patterns = {}
        if _bool(ipv4):
            patterns["ipv4"] = r"net: ipv4 (dhcp bound|static) (\S+)"
        if _bool(ipv6):
            patterns["ipv6"] = r"net: ipv6 (slaac|static) (\S+)"
        # addresses reported since the latest boot count, even if an earlier wait read past them
        boot = dev.console.last_line_index("refdev boot:") or 0
        matches = dev.console.wait_for_all(list(patterns.values()), t, since=boot)
        found = {k: m.groups[1].lower() for k, m in zip(patterns, matches)}
        logger.info(f"{dev.name} addresses: {found}")
        return found

    @keyword
    def device_ipv4_address(self, device: str | None = None) -> str:
        lab, dev_id = self._lab_of(device)
        return lab.wait_for_ipv4(dev_id)

    @keyword
    def device_ipv6_address(self, device: str | None = None) -> str:
        lab, dev_id = self._lab_of(device)
        return lab.device_ipv6(dev_id)

    @keyword
    def ping_device_from_lab(self, device: str | None = None, ipv6=False, count: int = 3,
                             source: str | None = None) -> str:
        """Ping the device from the lab (the hub's address, or a lab host's with ``source``)."""
        lab, dev_id = self._lab_of(device)
        v6 = _bool(ipv6)
        addr = lab.device_ipv6(dev_id) if v6 else lab.wait_for_ipv4(dev_id)
        argv = ["ping", "-6" if v6 else "-4", "-c", str(count), "-i", "0.2", "-W", "2", addr]
        if source:
            host = lab.host(source)
            argv[1:1] = ["-I", host.ipv6 if v6 else host.ipv4]
        out = lab.run(argv, check=False, timeout=30)
        text = out.stdout.decode(errors="replace")
        logger.info(text)
        m = re.search(r"(\d+) received", text)
        if out.returncode != 0 or not m or int(m.group(1)) == 0:
            raise DeviceFailure(f"{dev_id} did not answer ping{'6' if v6 else ''} to {addr}:\n{text}")
        return text

    @keyword
    def ping_from_device(self, address: str, count: int = 3, device: str | None = None, timeout: float = 15) -> int:
        """The device pings ``address`` (ping or ping6 by address family); returns replies seen."""
        dev = self._device(device)
        cmd = "ping6" if ":" in address else "ping"
        dev.run_command(f"{cmd} {address} {count}")
        for seq in range(1, int(count) + 1):
            dev.console.wait_for_line(f"ping: reply from {address.upper() if ':' in address else address} seq={seq}",
                                      float(timeout))
        return int(count)

    @keyword
    def run_on_lab_host(self, *command: str, lab: str | None = None, timeout: float = 30,
                        expect_rc: int | None = 0) -> str:
        """Run a command on the lab network (inside the lab's namespace); returns its output."""
        out = self._lab(lab).run(list(command), timeout=float(timeout), check=False)
        text = out.stdout.decode(errors="replace") + out.stderr.decode(errors="replace")
        logger.info(f"$ {' '.join(command)}\n{text}")
        if expect_rc not in (None, "None") and out.returncode != int(expect_rc):
            raise DeviceFailure(f"{' '.join(command)} exited {out.returncode} (expected {expect_rc}):\n{text}")
        return text

    @keyword
    def add_lab_host(self, name: str, role: str = "benign", lab: str | None = None) -> dict:
        """A lab host with an IPv4 and IPv6 address in its role's documentation range."""
        host = self._lab(lab).add_host(name, role)
        return {"name": host.name, "role": host.role, "ipv4": host.ipv4, "ipv6": host.ipv6}

    @keyword
    def lab_host_address(self, name: str, ipv6=False, lab: str | None = None) -> str:
        host = self._lab(lab).host(name)
        return host.ipv6 if _bool(ipv6) else host.ipv4

    # -- hub ---------------------------------------------------------------
    def _recorder(self, lab: str | None = None):
        return self._lab(lab).hub.recorder

    @keyword
    def hub_mark(self, lab: str | None = None) -> int:
        """Position in the hub recording: later waits can start from here."""
        return self._recorder(lab).mark()

    @keyword
    def wait_for_hub_message(self, kind: str | None = "d2c", device: str | None = None, topic: str | None = None,
                             properties: dict | None = None, timeout=15, since: int = 0, security=None,
                             event: str | None = None, count: int = 1, lab: str | None = None) -> dict:
        """Wait for a recorded hub message matching kind/device/topic regex/properties;
        returns the (last matching) record as a dictionary."""
        sec = None if security in (None, "", "None") else _bool(security)
        found = self._recorder(lab).wait_for(float(timeout), since=int(since), count=int(count), kind=kind,
                                             device_id=device, topic=topic, properties=properties or None,
                                             security=sec, event=event)
        rec = found[-1]
        logger.info(f"hub message #{rec.seq}: {rec.kind} {rec.topic} properties {rec.properties} "
                    f"({rec.payload_len} bytes)")
        return json.loads(rec.to_json())

    @keyword
    def hub_messages(self, kind: str | None = None, device: str | None = None, topic: str | None = None,
                     since: int = 0, security=None, event: str | None = None, lab: str | None = None) -> list:
        sec = None if security in (None, "", "None") else _bool(security)
        return [json.loads(r.to_json()) for r in self._recorder(lab).find(since=int(since), kind=kind,
                                                                            device_id=device, topic=topic,
                                                                            security=sec, event=event)]

    @keyword
    def should_not_receive_hub_message(self, kind: str | None = "d2c", device: str | None = None,
                                       topic: str | None = None, within=5, since: int = 0, security=None,
                                       event: str | None = None, lab: str | None = None) -> None:
        """Fail if a matching hub message arrives (after ``since``) within the given seconds."""
        from ..errors import WaitTimeout
        sec = None if security in (None, "", "None") else _bool(security)
        try:
            found = self._recorder(lab).wait_for(float(within), since=int(since), kind=kind, device_id=device,
                                                 topic=topic, security=sec, event=event)
        except WaitTimeout:
            return
        raise DeviceFailure(f"unexpected hub message #{found[0].seq}: {found[0].kind} {found[0].topic}")

    @keyword
    def stop_broker(self, lab: str | None = None) -> None:
        """Stop mosquitto (the gateway stays up and refuses devices with 'server unavailable')."""
        self._lab(lab).hub.stop_broker()

    @keyword
    def start_broker(self, lab: str | None = None) -> None:
        self._lab(lab).hub.start_broker()
