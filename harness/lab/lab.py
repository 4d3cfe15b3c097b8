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

The hub listens on 8883 (MQTT over TLS, server certificate from the lab PKI,
harness/hub/pki.py) and on 1883 (plain MQTT, a test option), on IPv4 and IPv6.
Devices get the lab CA in their CA block (target file ``memory.ca_block``) and,
for SAS, a device key derived from the PKI's secret — the same in every run, so
``lab_info()`` can tell a user what to build into their own image.
"""

from __future__ import annotations

import ipaddress
import json
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
from ..hub.pki import LabPKI
from ..hub.registry import DeviceIdentity, Registry
from . import addressing as A
from .dnsmasq import dnsmasq_argv
from .netns import Namespace, privileged_lab_available

BRIDGE = "br0"
HOSTS_IF = "lo"  # lab hosts live "behind" the hub: host addresses on the namespace's loopback
MQTT_PORT, MQTTS_PORT = 1883, 8883
TRANSPORTS = ("mqtt", "mqtts")


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

    def __init__(self, mac: str, hub_port: int, hostname: str, tls_port: int | None = None):
        self.mac, self.hub_port, self.hostname, self.tls_port = mac, hub_port, hostname, tls_port

    def netdev_args(self, netdev_id: str) -> list[str]:
        return [f"user,id={netdev_id}", "restrict=on", "ipv4=on", "ipv6=on",
                f"net={A.SEGMENT_V4}", "host=192.0.2.2", f"dhcpstart={A.DHCP_FIRST}", "dns=192.0.2.3",
                f"ipv6-net={A.SEGMENT_V6}", "ipv6-host=2001:db8:1::2", "ipv6-dns=2001:db8:1::3",
                f"hostname={self.hostname}",
                f"guestfwd=tcp:{A.HUB_V4}:{MQTT_PORT}-cmd:nc 127.0.0.1 {self.hub_port}"] + (
                    [f"guestfwd=tcp:{A.HUB_V4}:{MQTTS_PORT}-cmd:nc 127.0.0.1 {self.tls_port}"] if self.tls_port else [])

    def detach(self) -> None:
        pass


def in_namespace(netns: str | None, fn, *args, timeout: float = 30.0):
    """Run ``fn(*args)`` in a short-lived thread that has joined the lab's network namespace
    (setns is per thread): sockets it creates live on the lab network and keep working from any
    thread afterwards. ``netns`` None: run it here."""
    if not netns:
        return fn(*args)
    import ctypes
    import threading

    result: dict = {}

    def run() -> None:
        try:
            fd = os.open(procs.NETNS_DIR / netns, os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:
                    raise OSError(ctypes.get_errno(), "setns into the lab namespace failed")
            finally:
                os.close(fd)
            result["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    th = threading.Thread(target=run, name=f"netns-{netns}", daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise InfrastructureError(f"operation in lab namespace {netns} did not finish within {timeout:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["value"]


def dns_query(server: str, name: str, qtype: str = "A", timeout: float = 2.0) -> list[str]:
    """One DNS query (A or AAAA) to ``server``:53 over UDP; the addresses in the answer."""
    import struct

    qt = {"A": 1, "AAAA": 28}[qtype]
    txid = int.from_bytes(os.urandom(2), "big")
    q = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + b"".join(
        bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split(".")) + b"\0" + struct.pack("!HH", qt, 1)
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        resp = s.recv(2048)
    rid, flags, qd, an = struct.unpack("!HHHH", resp[:8])
    if rid != txid or flags & 0x000F:
        return []
    pos = 12
    for _ in range(qd):  # skip the question
        while resp[pos]:
            pos += resp[pos] + 1
        pos += 5
    out = []
    for _ in range(an):
        if resp[pos] & 0xC0 == 0xC0:
            pos += 2
        else:
            while resp[pos]:
                pos += resp[pos] + 1
            pos += 1
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", resp[pos:pos + 10])
        pos += 10
        if rtype == qt:
            out.append(socket.inet_ntop(socket.AF_INET if qt == 1 else socket.AF_INET6, resp[pos:pos + rdlen]))
        pos += rdlen
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, name: str = "lab", index: int = 0, artifacts_dir: Path | None = None,
                 privileged: bool | None = None, hub_host: str = A.HUB_HOST, log=None,
                 transport: str = "mqtt", pki_dir: Path | str | None = None, ca_block: bool = True):
        """``transport``: what devices use unless told otherwise (``mqtt`` on 1883 or ``mqtts``
        on 8883 — the hub always listens on both). ``pki_dir``: the lab PKI (default: the
        shared, persistent one, harness/hub/pki.py). ``ca_block``: load the lab CA into each
        device's CA block (target file ``memory.ca_block``)."""
        if transport not in TRANSPORTS:
            raise InputError(f"lab transport {transport!r}: use mqtt or mqtts")
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
        self._hub_port = MQTT_PORT
        self._hub_tls_port: int | None = None
        self.transport = transport
        self.pki = LabPKI(pki_dir)
        self.ca_block = ca_block
        self._x509_overrides: dict[str, dict] = {}
        self._stop_callbacks: list = []
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
        tls = self._tls_config([A.HUB_V4, A.HUB_V6])
        self.hub = Hub(self.runtime, self.artifacts_dir, self.registry,
                       [(str(A.HUB_V4), MQTT_PORT, None), (str(A.HUB_V6), MQTT_PORT, None),
                        (str(A.HUB_V4), MQTTS_PORT, tls), (str(A.HUB_V6), MQTTS_PORT, tls)], netns=ns.name,
                       log=self._log)
        self.hub.start()
        self._write_info()

    def _start_user(self) -> None:
        self._hub_port = _free_port()
        self._hub_tls_port = _free_port()
        tls = self._tls_config([A.HUB_V4, "127.0.0.1"])
        self.hub = Hub(self.runtime, self.artifacts_dir, self.registry,
                       [("127.0.0.1", self._hub_port, None), ("127.0.0.1", self._hub_tls_port, tls)], log=self._log)
        self.hub.start()
        self._write_info()

    def _tls_config(self, addresses) -> dict:
        """The 8883 listeners' TLS: the hub's certificate for its host name and addresses, the
        lab CA for optional client certificates (X.509 devices)."""
        cert, key = self.pki.server_cert(self.registry.hub_host, [str(a) for a in addresses])
        return {"cert": str(cert), "key": str(key), "ca": str(self.pki.ca_pem), "client_cert": "optional"}

    def _write_info(self) -> None:
        """hub.json in the runtime dir: how other processes (the harness CLI) reach this lab's hub."""
        info = {"lab": self.name, "pid": os.getpid(), "hub_host": self.registry.hub_host,
                "service_socket": str(self.hub.broker.svc_socket), "artifacts": str(self.artifacts_dir),
                "netns": self.ns.name or None, "privileged": self.privileged}
        (self.runtime / "hub.json").write_text(json.dumps(info, indent=2) + "\n")

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
        listeners = []
        for name, tcp, udp in (("peer1", ["7:echo", "80:banner"], ["7"]), ("c2", ["443:banner", "4444:echo"], ["9999"])):
            h = self.hosts[name]
            for addr in (h.ipv4, f"[{h.ipv6}]"):
                listeners += [a for spec in tcp for a in ("--tcp", f"{addr}:{spec}")]
                listeners += [a for spec in udp for a in ("--udp", f"{addr}:{spec}")]
        ready = self.runtime / "servers.ready"
        servers = self._spawn_service("servers", [sys.executable, "-m", "harness.traffic.servers", *listeners,
                                                  "--log", str(self.artifacts_dir / "lab-hosts.log"),
                                                  "--ready-file", str(ready)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for name, proc in (("dnsmasq", dns), ("sntp", sntp), ("servers", servers)):
                if proc.poll() is not None:
                    log = (self.artifacts_dir / f"{name}.stderr.log").read_text(errors="replace")[-800:]
                    raise InfrastructureError(f"lab service {name} exited at start (code {proc.returncode}): {log}")
            listening = self.ns.run(["ss", "-Hlnu"], check=False).stdout.decode()
            if f"{A.HUB_V4}:53 " in listening and f"{A.HUB_V4}:123 " in listening and ready.exists():
                return
            time.sleep(0.05)
        raise InfrastructureError("lab services (dnsmasq, sntp, lab host servers) did not come up within 10 s")

    def stop(self, failed: bool = False) -> None:
        """Stop devices, hub, services; delete the namespace. Artifacts are kept per policy
        (HARNESS_KEEP_ARTIFACTS: on-failure (default), always, never)."""
        if self._token is not None:
            reaper.unregister(self._token)
            self._token = None
        while self._stop_callbacks:  # clients on the lab network (harness.hub.sample) close first
            try:
                self._stop_callbacks.pop()()
            except Exception as exc:
                self._log(f"lab {self.name}: stop callback failed: {exc}")
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

    def on_stop(self, callback) -> None:
        """Call ``callback()`` when the lab stops (before its devices and hub)."""
        self._stop_callbacks.append(callback)

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
        # same digits in both families: host 66 is 203.0.113.66 and 2001:db8:bad::66
        host = LabHost(name, role, str(net4.network_address + n), str(net6.network_address + int(str(n), 16)))
        self.ns.ip("addr", "add", f"{host.ipv4}/32", "dev", HOSTS_IF)
        self.ns.ip("-6", "addr", "add", f"{host.ipv6}/128", "dev", HOSTS_IF, "nodad")
        self.hosts[name] = host
        return host

    def host(self, name: str) -> LabHost:
        if name not in self.hosts:
            raise InputError(f"no lab host {name!r} (hosts: {', '.join(self.hosts) or 'none'})")
        return self.hosts[name]

    def resolve(self, name: str, ipv6: bool = False) -> str:
        """Resolve a name with the lab's DNS, from the lab network (as a device would). In the
        unprivileged lab (no DNS) the hub's host name is the gateway on host loopback."""
        if not self.privileged:
            if name.lower() != self.registry.hub_host.lower():
                raise InputError(f"the unprivileged lab has no DNS: cannot resolve {name!r}")
            return "127.0.0.1"
        answers = in_namespace(self.ns.name, dns_query, str(A.HUB_V4), name, "AAAA" if ipv6 else "A")
        if not answers:
            raise InfrastructureError(f"lab DNS has no {'AAAA' if ipv6 else 'A'} record for {name!r}")
        return answers[0]

    def connect_tcp(self, address: str, port: int, timeout: float = 10.0) -> socket.socket:
        """A TCP connection from the lab network (the hub's side of the lab) to ``address``:``port``.
        In the unprivileged lab the hub's ports are on host loopback (1883/8883 are mapped)."""
        if not self.privileged:
            mapped = {MQTT_PORT: self._hub_port, MQTTS_PORT: self._hub_tls_port}
            address, port = "127.0.0.1", mapped.get(int(port), int(port))
        return in_namespace(self.ns.name if self.privileged else None, socket.create_connection,
                            (address, int(port)), timeout, timeout=timeout + 5)

    def run(self, argv: list[str], timeout: float = 30.0, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command on the lab network (inside the namespace)."""
        if not self.privileged:
            raise InputError("running commands on lab hosts needs the privileged lab")
        return self.ns.run(argv, timeout=timeout, check=check)

    # -- devices ----------------------------------------------------------
    def register_device(self, device_id: str, auth: str = "sas", tags: dict | None = None) -> DeviceIdentity:
        """The device's registry entry (created once): ``sas`` with the key the PKI derives for
        the id, ``x509`` with the thumbprint of the lab-issued device certificate, or ``none``."""
        identity = self.registry.get(device_id)
        if identity is None:
            if auth == "x509":
                cert = self.pki.device_cert(device_id)
                identity = self.registry.add(DeviceIdentity(device_id, auth="x509", thumbprint=cert.thumbprint,
                                                            tags=dict(tags or {})))
            else:
                key = self.pki.device_key(device_id) if auth == "sas" else None
                identity = self.registry.add_device(device_id, auth=auth, tags=tags, key=key)
            if self.hub is not None and self.hub.gateway_proc is not None:
                self.hub.write_registry()  # the gateway rereads it on the next CONNECT
        return identity

    def device_certificate(self, device_id: str, expired: bool = False, variant: str = ""):
        """A lab-issued X.509 certificate for the device (harness.hub.pki.DeviceCert)."""
        return self.pki.device_cert(device_id, expired=expired, variant=variant)

    def hub_port(self, transport: str | None = None) -> int:
        """The port a device on this lab dials for ``transport`` (inside the lab: 1883 / 8883)."""
        return MQTTS_PORT if (transport or self.transport) == "mqtts" else MQTT_PORT

    def device_config(self, device_id: str, static: bool = False, ipv6: str = "slaac",
                      auth: str = "none", tags: dict | None = None, transport: str | None = None,
                      **overrides) -> DeviceConfig:
        """The device's config block. ``transport``: ``mqtt`` (1883) or ``mqtts`` (8883, TLS with the
        lab CA); default: the lab's. ``auth``: the registry entry if the device is new (``sas``:
        the device gets its key and computes SAS tokens)."""
        transport = transport or self.transport
        if transport not in TRANSPORTS:
            raise InputError(f"transport {transport!r}: use mqtt or mqtts")
        index = self._n_devices
        self._n_devices += 1
        cfg = DeviceConfig(device_id=device_id, mac=A.device_mac(self.index, index))
        identity = self.register_device(device_id, auth=auth, tags=tags)
        if identity.auth == "sas":
            cfg.device_key = identity.key
        cfg.hub_host = self.registry.hub_host
        cfg.transport = transport
        cfg.hub_port = self.hub_port(transport)
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
        return cfg

    def attachment(self, cfg: DeviceConfig, impairable: bool = False):
        """The device's link: a tap on the bridge, or (``impairable``) the same tap behind the
        link emulator so loss, delay, duplication and cuts can be applied (harness/lab/linkem.py)."""
        if not self.privileged:
            if impairable:
                raise InputError("an impairable link needs the privileged lab")
            return UserNetAttachment(cfg.mac, self._hub_port, cfg.device_id, tls_port=self._hub_tls_port)
        tap = f"tap{len(self.devices)}-{cfg.device_id}"[:15]
        self.ns.ip("tuntap", "add", "dev", tap, "mode", "tap")
        self.ns.ip("link", "set", tap, "master", BRIDGE)
        self.ns.ip("link", "set", tap, "up")
        if impairable:
            from .linkem import ImpairableLink
            return ImpairableLink(self, tap, cfg.mac, len(self.devices))
        return TapAttachment(self, tap, cfg.mac)

    def start_device(self, device_id: str, board: str = "mps2-an385", image=None, profile: str = "fast",
                     artifacts_dir: Path | None = None, config: DeviceConfig | None = None, log=None,
                     impairable: bool = False, icount_shift: int | None = None, **config_args) -> Device:
        if device_id in self.devices:
            raise InputError(f"lab {self.name} already has a device {device_id!r}")
        cfg = config or self.device_config(device_id, **config_args)
        dev = Device(board, image, name=device_id, profile=profile, config=cfg,
                     network=self.attachment(cfg, impairable=impairable),
                     artifacts_dir=artifacts_dir or self.artifacts_dir / device_id, log=log or self._log,
                     extra_qemu_args=self.ca_block_args(board, device_id), icount_shift=icount_shift)
        self.devices[device_id] = dev
        try:
            dev.start()
        except BaseException:
            self.devices.pop(device_id, None)
            dev.stop(failed=True)
            raise
        return dev

    def ca_block_args(self, board, device_id: str) -> list[str]:
        """QEMU arguments that load the lab CA into the board's CA block (none if the board has none)."""
        from ..targets import Target, load_target

        target = board if isinstance(board, Target) else load_target(board)
        if not self.ca_block or not target.ca_block_size or self.runtime is None:
            return []
        identity = self.registry.get(device_id)
        if identity is not None and identity.auth == "x509":
            # an X.509 device also gets its certificate and key (the one whose thumbprint is registered,
            # unless a test registered another one)
            cert = self.pki.device_cert(device_id, **self._x509_overrides.get(device_id, {}))
            blob = self.runtime / f"ca-{target.name}-{device_id}.bin"
            blob.write_bytes(self.pki.block(target.ca_block_size, client=cert))
        else:
            blob = self.runtime / f"ca-{target.name}-{self.pki.ca_fingerprint()[:12]}.bin"
            if not blob.exists():
                blob.write_bytes(self.pki.block(target.ca_block_size))
        return ["-device", f"loader,file={blob},addr=0x{target.ca_block:08x},force-raw=on"]

    def use_device_certificate(self, device_id: str, expired: bool = False, variant: str = "",
                               register: bool = False):
        """Give the X.509 device another certificate on its next start: ``register`` also puts its
        thumbprint in the registry (an expired certificate the hub knows), otherwise the hub does
        not know it (a thumbprint mismatch)."""
        self._x509_overrides[device_id] = {"expired": bool(expired), "variant": variant}
        cert = self.pki.device_cert(device_id, expired=expired, variant=variant)
        if register:
            identity = self.registry.get(device_id)
            if identity is None or identity.auth != "x509":
                raise InputError(f"{device_id} is not a registered X.509 device")
            identity.thumbprint = cert.thumbprint
            if self.hub is not None and self.hub.gateway_proc is not None:
                self.hub.write_registry()
        return cert

    def stop_device(self, device_id: str, failed: bool = False) -> None:
        """Stop a device; its slice of the hub recording goes to its artifacts (hub.jsonl)."""
        dev = self.devices.pop(device_id, None)
        if dev is None:
            return
        if self.hub is not None and self.hub.recorder is not None and dev.artifacts_dir.exists():
            # hub events travel gateway → broker → recorder: let the ones in flight land first
            # (until 0.1 s pass without a new record, at most 1 s)
            deadline, last, quiet_since = time.monotonic() + 1.0, self.hub.recorder.mark(), time.monotonic()
            while time.monotonic() < deadline and time.monotonic() - quiet_since < 0.1:
                time.sleep(0.02)
                now_mark = self.hub.recorder.mark()
                if now_mark != last:
                    last, quiet_since = now_mark, time.monotonic()
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
