"""A lab: an isolated network with lab services and a local IoT Hub, and the
devices attached to it.

Privileged mode (root; the default when available, as in CI): one network
namespace per lab holding a bridge (the device segment), one tap per device,
lab hosts as addresses on the namespace's loopback (benign peers, attackers, C2),
dnsmasq (DHCPv4, DNS, IPv6 RAs), an SNTP server and the hub — and no route
out: the namespace has no link to anything else.

Unprivileged mode: QEMU user networking with ``restrict=on``; the only thing a
device reaches is the hub, through a per-connection ``guestfwd`` to the
gateway on host loopback. No DHCP lease file, no ping into the device, time
from the config block's hint.

Both modes write a pcap of every device's traffic (QEMU filter-dump).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .. import procs, reaper
from ..devconfig import DeviceConfig
from ..device import ARTIFACTS_ROOT, Device
from ..errors import InfrastructureError, InputError
from ..hub.hub import Hub
from ..hub.registry import Registry
from . import addressing as A
from .dnsmasq import dnsmasq_argv
from .netns import Namespace, privileged_lab_available

BRIDGE = "br0"
HOSTS_IF = "lo"  # lab hosts live "behind" the hub: host addresses on the namespace's loopback


@dataclass
class LabHost:
    name: str
    role: str
    ipv4: str
    ipv6: str


class TapAttachment:
    def __init__(self, lab: "Lab", tap: str, mac: str):
        self.lab, self.tap, self.mac = lab, tap, mac
        self.netns = lab.ns.name

    def netdev_args(self, netdev_id: str) -> list[str]:
        return [f"tap,id={netdev_id},ifname={self.tap},script=no,downscript=no"]

    def detach(self) -> None:
        if self.lab.ns.created:
            try:
                self.lab.ns.ip("link", "del", self.tap)
            except InfrastructureError:
                pass


class UserNetAttachment:
    """QEMU user networking, restricted: the device reaches only the hub (guestfwd)."""

    netns = None

    def __init__(self, mac: str, hub_port: int, hostname: str):
        self.mac, self.hub_port, self.hostname = mac, hub_port, hostname

    def netdev_args(self, netdev_id: str) -> list[str]:
        return [f"user,id={netdev_id}", "restrict=on", "ipv4=on", "ipv6=on",
                f"net={A.SEGMENT_V4}", "host=192.0.2.2", f"dhcpstart={A.DHCP_FIRST}", "dns=192.0.2.3",
                f"ipv6-net={A.SEGMENT_V6}", "ipv6-host=2001:db8:1::2", "ipv6-dns=2001:db8:1::3",
                f"hostname={self.hostname}",
                f"guestfwd=tcp:{A.HUB_V4}:1883-cmd:nc 127.0.0.1 {self.hub_port}"]

    def detach(self) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, name: str = "lab", index: int = 0, artifacts_dir: Path | None = None,
                 privileged: bool | None = None, hub_host: str = A.HUB_HOST, log=None):
        ok, why = privileged_lab_available()
        if privileged is None:
            privileged = ok
        elif privileged and not ok:
            raise InfrastructureError(f"privileged lab not available: {why}")
        self.privileged = privileged
        self.name = name
        self.index = index
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else ARTIFACTS_ROOT / "labs" / name
        self.runtime: Path | None = None
        self.ns = Namespace("")
        self.registry = Registry(hub_host=hub_host)
        self.hub: Hub | None = None
        self.hosts: dict[str, LabHost] = {}
        self.devices: dict[str, Device] = {}
        self._services: dict[str, subprocess.Popen] = {}
        self._token: int | None = None
        self._n_devices = 0
        self._hub_port = 1883
        self._log = log or (lambda msg: None)
        self.started = False

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "Lab":
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        self.runtime = reaper.make_runtime_dir(f"lab-{self.name}")
        self._token = reaper.register(f"lab {self.name}", lambda: self.stop(failed=True))
        try:
            if self.privileged:
                self._start_privileged()
            else:
                self._start_user()
        except BaseException:
            self.stop()
            raise
        self.started = True
        return self

    def _start_privileged(self) -> None:
        self.ns = Namespace(f"{reaper.PREFIX}{os.getpid()}-{self.runtime.name.split('-')[2]}-{self.name}"[:60])
        ns = self.ns
        ns.create()
        ns.ip("link", "add", BRIDGE, "type", "bridge")
        ns.ip("link", "set", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state", "0")
        ns.sysctl("net.ipv6.conf.all.forwarding", "0")
        ns.sysctl("net.ipv4.ip_forward", "0")
        ns.ip("addr", "add", f"{A.HUB_V4}/{A.SEGMENT_V4.prefixlen}", "dev", BRIDGE)
        ns.ip("-6", "addr", "add", f"{A.HUB_V6}/{A.SEGMENT_V6.prefixlen}", "dev", BRIDGE, "nodad")
        ns.ip("link", "set", BRIDGE, "up")
        self.add_host("peer1", "benign", 10)
        self.add_host("attacker1", "malicious", 66)
        self.add_host("c2", "malicious", 200)
        self._start_services()
        self.hub = Hub(self.runtime, self.artifacts_dir, self.registry,
                       [(str(A.HUB_V4), 1883, None), (str(A.HUB_V6), 1883, None)], netns=ns.name, log=self._log)
        self.hub.start()

    def _start_user(self) -> None:
        self._hub_port = _free_port()
        self.hub = Hub(self.runtime, self.artifacts_dir, self.registry, [("127.0.0.1", self._hub_port, None)],
                       log=self._log)
        self.hub.start()

    def _spawn_service(self, name: str, argv: list[str]) -> subprocess.Popen:
        err = open(self.artifacts_dir / f"{name}.stderr.log", "ab")
        try:
            proc = procs.spawn(argv, netns=self.ns.name, stdout=err, stderr=err)
        except OSError as exc:
            raise InfrastructureError(f"lab service {name} would not start: {exc}") from exc
        finally:
            err.close()
        self._services[name] = proc
        return proc

    def _start_services(self) -> None:
        hosts = {self.registry.hub_host: [str(A.HUB_V4), str(A.HUB_V6)]}
        for h in self.hosts.values():
            hosts[f"{h.name}.lab"] = [h.ipv4, h.ipv6]
        if not shutil.which("dnsmasq") and not Path("/usr/sbin/dnsmasq").exists():
            raise InfrastructureError("dnsmasq is not installed (make setup)")
        dns = self._spawn_service("dnsmasq", dnsmasq_argv(self.runtime, self.artifacts_dir, BRIDGE, hosts))
        sntp = self._spawn_service("sntp", [sys.executable, "-m", "harness.lab.sntp", "--bind", str(A.HUB_V4),
                                            "--bind", str(A.HUB_V6), "--log", str(self.artifacts_dir / "sntp.log")])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for name, proc in (("dnsmasq", dns), ("sntp", sntp)):
                if proc.poll() is not None:
                    log = (self.artifacts_dir / f"{name}.stderr.log").read_text(errors="replace")[-800:]
                    raise InfrastructureError(f"lab service {name} exited at start (code {proc.returncode}): {log}")
            listening = self.ns.run(["ss", "-Hlnu"], check=False).stdout.decode()
            if f"{A.HUB_V4}:53 " in listening and f"{A.HUB_V4}:123 " in listening:
                return
            time.sleep(0.05)
        raise InfrastructureError("lab services (dnsmasq, sntp) did not come up within 10 s")

    def stop(self, failed: bool = False) -> None:
        """Stop devices, hub, services; delete the namespace. Artifacts are kept per policy
        (HARNESS_KEEP_ARTIFACTS: on-failure (default), always, never)."""
        if self._token is not None:
            reaper.unregister(self._token)
            self._token = None
        for device_id in list(self.devices):
            self.stop_device(device_id, failed=failed)
        if self.hub is not None:
            self.hub.stop()
            self.hub = None
        for proc in self._services.values():
            procs.stop_process(proc)
        self._services.clear()
        if self.runtime is not None and (self.runtime / "dnsmasq.leases").exists():
            shutil.copy(self.runtime / "dnsmasq.leases", self.artifacts_dir / "dnsmasq.leases")
        self.ns.delete()
        if self.runtime is not None:
            reaper.remove_dir(self.runtime)
        self.started = False
        keep = os.environ.get("HARNESS_KEEP_ARTIFACTS", "on-failure")
        if keep == "never" or (keep == "on-failure" and not failed):
            shutil.rmtree(self.artifacts_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- lab hosts --------------------------------------------------------
    def add_host(self, name: str, role: str, host_number: int | None = None) -> LabHost:
        """A lab host: one IPv4 and one IPv6 address in its role's documentation range."""
        if role not in A.ROLES:
            raise InputError(f"lab host role {role!r}: use one of {', '.join(A.ROLES)}")
        if name in self.hosts:
            return self.hosts[name]
        if not self.privileged:
            raise InputError("lab hosts need the privileged lab (network namespace)")
        net4, net6 = A.ROLES[role]
        used = {h.ipv4 for h in self.hosts.values()}
        n = host_number or next(i for i in range(10, 250) if str(net4.network_address + i) not in used)
        host = LabHost(name, role, str(net4.network_address + n), str(net6.network_address + n))
        self.ns.ip("addr", "add", f"{host.ipv4}/32", "dev", HOSTS_IF)
        self.ns.ip("-6", "addr", "add", f"{host.ipv6}/128", "dev", HOSTS_IF, "nodad")
        self.hosts[name] = host
        return host

    def host(self, name: str) -> LabHost:
        if name not in self.hosts:
            raise InputError(f"no lab host {name!r} (hosts: {', '.join(self.hosts) or 'none'})")
        return self.hosts[name]

    def run(self, argv: list[str], timeout: float = 30.0, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command on the lab network (inside the namespace)."""
        if not self.privileged:
            raise InputError("running commands on lab hosts needs the privileged lab")
        return self.ns.run(argv, timeout=timeout, check=check)

    # -- devices ----------------------------------------------------------
    def device_config(self, device_id: str, static: bool = False, ipv6: str = "slaac",
                      auth: str = "none", tags: dict | None = None, **overrides) -> DeviceConfig:
        index = self._n_devices
        self._n_devices += 1
        cfg = DeviceConfig(device_id=device_id, mac=A.device_mac(self.index, index))
        identity = self.registry.get(device_id) or self.registry.add_device(device_id, auth=auth, tags=tags)
        if identity.auth == "sas":
            cfg.device_key = identity.key
        cfg.hub_host = self.registry.hub_host
        if self.privileged:
            cfg.time_hint_ms = 0  # time comes from the lab's SNTP server
            cfg.ipv6 = ipv6
            if static:
                cfg.ipv4, cfg.ipv4_addr, cfg.ipv4_mask = "static", str(A.STATIC_BASE_V4 + index), "255.255.255.0"
                cfg.ipv4_gw, cfg.dns, cfg.ntp = str(A.HUB_V4), str(A.HUB_V4), str(A.HUB_V4)
                if ipv6 == "static":
                    cfg.ipv6_addr = str(A.STATIC_BASE_V6 + index)
        else:
            cfg.hub_addr = str(A.HUB_V4)  # no DNS in the restricted user network
            cfg.ipv6 = "off" if ipv6 == "off" else "slaac"
        for key, value in overrides.items():
            if not hasattr(cfg, key):
                raise InputError(f"unknown device config field {key!r}")
            setattr(cfg, key, value)
        if self.hub is not None and self.hub.gateway_proc is not None:
            self.hub.write_registry()  # the gateway rereads it on the next CONNECT
        return cfg

    def attachment(self, cfg: DeviceConfig):
        if not self.privileged:
            return UserNetAttachment(cfg.mac, self._hub_port, cfg.device_id)
        tap = f"tap{len(self.devices)}-{cfg.device_id}"[:15]
        self.ns.ip("tuntap", "add", "dev", tap, "mode", "tap")
        self.ns.ip("link", "set", tap, "master", BRIDGE)
        self.ns.ip("link", "set", tap, "up")
        return TapAttachment(self, tap, cfg.mac)

    def start_device(self, device_id: str, board: str = "mps2-an385", image=None, profile: str = "fast",
                     artifacts_dir: Path | None = None, config: DeviceConfig | None = None, log=None,
                     **config_args) -> Device:
        if device_id in self.devices:
            raise InputError(f"lab {self.name} already has a device {device_id!r}")
        cfg = config or self.device_config(device_id, **config_args)
        dev = Device(board, image, name=device_id, profile=profile, config=cfg, network=self.attachment(cfg),
                     artifacts_dir=artifacts_dir or self.artifacts_dir / device_id, log=log or self._log)
        self.devices[device_id] = dev
        try:
            dev.start()
        except BaseException:
            self.devices.pop(device_id, None)
            dev.stop(failed=True)
            raise
        return dev

    def stop_device(self, device_id: str, failed: bool = False) -> None:
        """Stop a device; its slice of the hub recording goes to its artifacts (hub.jsonl)."""
        dev = self.devices.pop(device_id, None)
        if dev is None:
            return
        if self.hub is not None and self.hub.recorder is not None and dev.artifacts_dir.exists():
            with open(dev.artifacts_dir / "hub.jsonl", "w", encoding="utf-8") as out:
                for rec in self.hub.recorder.find(device_id=device_id):
                    out.write(rec.to_json() + "\n")
        dev.stop(failed=failed)

    # -- addresses --------------------------------------------------------
    def device_ipv4(self, device_id: str) -> str | None:
        cfg = self.devices[device_id].config
        if cfg.ipv4 == "static":
            return cfg.ipv4_addr
        leases = self.runtime / "dnsmasq.leases" if self.runtime else None
        if leases is None or not leases.exists():
            return None
        for line in leases.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1].lower() == cfg.mac.lower():
                return parts[2]
        return None

    def device_ipv6(self, device_id: str) -> str:
        """The device's SLAAC address (EUI-64 from its MAC) or its static one."""
        cfg = self.devices[device_id].config
        if cfg.ipv6 == "static":
            return cfg.ipv6_addr
        mac = bytes.fromhex(cfg.mac.replace(":", ""))
        eui = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:]
        return str(ipaddress.IPv6Address(A.SEGMENT_V6.network_address.packed[:8] + eui))

    def wait_for_ipv4(self, device_id: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            addr = self.device_ipv4(device_id)
            if addr:
                return addr
            time.sleep(0.1)
        raise InfrastructureError(f"{device_id} got no DHCP lease within {timeout:.0f} s")
