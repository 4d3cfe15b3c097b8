"""``harness`` subcommands for the hub (wired in harness/cli.py with
:func:`add_subcommands`), and what a lab tells someone building their own image
(:func:`lab_info`, :func:`print_lab_info`).

    harness lab-info [--device-id ID] [--hub-host NAME] [--board BOARD] [--json]
    harness hub c2d DEVICE TEXT [--property k=v ...] [--ttl S] [--lab NAME]
    harness hub method DEVICE METHOD [--payload JSON] [--timeout S] [--lab NAME]
    harness hub desired DEVICE JSON [--lab NAME]
    harness hub twin DEVICE [--lab NAME]

The ``hub`` commands reach a running lab's hub (started by a test, a Robot
suite or a Python session in another process) through the broker's service
socket; ``--lab`` picks the lab by name when several run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from ..errors import InputError
from ..lab import addressing as A


def lab_info(lab, device_id: str | None = None, board: str | None = None) -> dict:
    """The exact values a device needs for this lab — what a user builds into their own image
    (docs/bring-your-own-image.md). ``lab`` need not be started. With ``device_id``, the
    device's identity (registered as a SAS device with the lab's derived key if it is new)."""
    from ..lab.lab import MQTT_PORT, MQTTS_PORT
    from .tls import NETX_CIPHER, NETX_GROUP

    pki = lab.pki.ensure()
    ca = pki.ca_cert
    info = {
        "lab": lab.name,
        "hub_host": lab.registry.hub_host,
        "broker": {"ipv4": str(A.HUB_V4), "ipv6": str(A.HUB_V6)},
        "ports": {"mqtts": MQTTS_PORT, "mqtt": MQTT_PORT},
        "default_transport": lab.transport,
        "network": {"dhcp": f"{A.DHCP_FIRST}-{A.DHCP_LAST}", "gateway": str(A.HUB_V4), "dns": str(A.HUB_V4),
                    "sntp": str(A.HUB_V4), "ipv6_prefix": str(A.SEGMENT_V6), "ipv6_router": str(A.HUB_V6)},
        "tls": {"versions": ["TLSv1.2", "TLSv1.3"], "server_key": "RSA 2048",
                "netx_duo_suite": NETX_CIPHER, "netx_duo_group": NETX_GROUP,
                "server_name": lab.registry.hub_host},
        "ca": {"pem": str(pki.ca_pem), "der": str(pki.ca_der), "c_array": str(pki.ca_c), "c_header": str(pki.ca_h),
               "subject": ca.subject.rfc4514_string(), "sha256": pki.ca_fingerprint(),
               "not_after": ca.not_valid_after_utc.isoformat()},
        "pki_dir": str(pki.dir),
    }
    if device_id:
        identity = lab.registry.get(device_id) or lab.register_device(device_id, auth="sas")
        dev = {"id": identity.id, "auth": identity.auth,
               "username": f"{lab.registry.hub_host}/{identity.id}/?api-version=2021-04-12",
               "sas_resource": f"{lab.registry.hub_host}/devices/{identity.id}"}
        if identity.key:
            dev["key"] = identity.key
            dev["connection_string"] = (f"HostName={lab.registry.hub_host};DeviceId={identity.id};"
                                        f"SharedAccessKey={identity.key}")
        if identity.auth == "x509":
            cert = lab.device_certificate(identity.id)
            dev.update(thumbprint=identity.thumbprint, cert_pem=str(cert.cert_pem), key_pem=str(cert.key_pem))
        info["device"] = dev
    if board:
        from ..targets import load_target

        t = load_target(board)
        info["board"] = {"name": t.name, "machine": t.machine, "cpu": t.qemu_cpu, "nic": t.nic_model,
                         "nic_base": f"0x{t.nic_base:08X}", "nic_irq": t.nic_irq,
                         "uart0_base": f"0x{t.uart0_base:08X}",
                         "code": f"0x{t.code_base:08X}+0x{t.code_size:X}", "ram": f"0x{t.ram_base:08X}+0x{t.ram_size:X}",
                         "config_block": f"0x{t.config_block:08X}+0x{t.config_block_size:X}",
                         "ca_block": f"0x{t.ca_block:08X}+0x{t.ca_block_size:X}" if t.ca_block_size else None}
    return info


def print_lab_info(info: dict, file=None) -> None:
    """The values of :func:`lab_info`, for people."""
    out = file or sys.stdout

    def line(label: str, value) -> None:
        print(f"  {label:<22} {value}", file=out)

    print(f"lab {info['lab']}", file=out)
    line("hub host name", f"{info['hub_host']}   (resolves in the lab DNS only)")
    line("broker address", f"{info['broker']['ipv4']}, {info['broker']['ipv6']}")
    line("ports", f"{info['ports']['mqtts']} (MQTT over TLS), {info['ports']['mqtt']} (plain MQTT, test option)")
    net = info["network"]
    line("DHCP / DNS / SNTP", f"{net['dhcp']} / {net['dns']} / {net['sntp']}")
    line("IPv6", f"SLAAC in {net['ipv6_prefix']}, router {net['ipv6_router']}")
    tls = info["tls"]
    line("TLS", f"{', '.join(tls['versions'])}; server key {tls['server_key']}; NetX Duo's "
                f"{tls['netx_duo_suite']} with {tls['netx_duo_group']} works")
    ca = info["ca"]
    line("CA to trust (PEM)", ca["pem"])
    line("CA (DER)", ca["der"])
    line("CA (C array)", f"{ca['c_array']}  ({ca['c_header']})")
    line("CA subject", ca["subject"])
    line("CA SHA-256", ca["sha256"])
    dev = info.get("device")
    if dev:
        line("device id", dev["id"])
        line("authentication", dev["auth"])
        if dev.get("key"):
            line("device key", dev["key"])
            line("connection string", dev["connection_string"])
        if dev.get("thumbprint"):
            line("certificate", f"{dev['cert_pem']} (key {dev['key_pem']}), thumbprint {dev['thumbprint']}")
        line("MQTT username", dev["username"])
    board = info.get("board")
    if board:
        line("board", f"{board['name']} ({board['machine']}, {board['cpu']})")
        line("NIC", f"{board['nic']} at {board['nic_base']}, IRQ {board['nic_irq']}")
        line("UART0", board["uart0_base"])
        line("memory", f"code {board['code']}, RAM {board['ram']}")
        line("config block", board["config_block"])
        if board.get("ca_block"):
            line("CA block", board["ca_block"])


# -- finding a running lab's hub ------------------------------------------------
def running_labs() -> list[dict]:
    """hub.json of every lab of a live harness process on this machine."""
    from .. import reaper

    labs = []
    for path in sorted(reaper.RUNTIME_ROOT.glob(f"{reaper.PREFIX}*/hub.json")):
        try:
            info = json.loads(path.read_text())
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError):
            continue
        if Path(info.get("service_socket", "")).exists():
            labs.append(info)
    return labs


def find_hub(lab: str | None = None) -> dict:
    labs = [i for i in running_labs() if lab is None or i["lab"] == lab]
    if not labs:
        raise InputError(f"no running lab{' named ' + repr(lab) if lab else ''} on this machine "
                         "(start one with a test, a suite or a Python session)")
    if len(labs) > 1:
        names = ", ".join(f"{i['lab']} (pid {i['pid']})" for i in labs)
        raise InputError(f"several labs are running ({names}): choose one with --lab")
    return labs[0]


# -- subcommands ------------------------------------------------------------------
def cmd_lab_info(args) -> int:
    from ..lab.lab import Lab

    lab = Lab(args.lab, hub_host=args.hub_host, pki_dir=args.pki_dir, privileged=False)
    info = lab_info(lab, args.device_id, args.board)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print_lab_info(info)
    return 0


def _print(result) -> None:
    print(json.dumps(result, indent=2) if not isinstance(result, str) else result)


def cmd_hub(args) -> int:
    from .service import request

    hub = find_hub(args.lab)
    sock = hub["service_socket"]
    if args.hub_command == "c2d":
        props = {}
        for item in args.property or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"--property {item!r}: use name=value")
            props[key] = value
        _print(request(sock, "c2d", device_id=args.device, payload=args.text, properties=props, ttl=args.ttl))
    elif args.hub_command == "method":
        try:
            payload = json.loads(args.payload) if args.payload is not None else None
        except ValueError as exc:
            raise InputError(f"--payload is not JSON: {exc}") from None
        result = request(sock, "method", timeout=args.timeout + 10, device_id=args.device, method=args.method,
                         payload=payload, **{"timeout": args.timeout})
        _print(result)
        return 0 if 200 <= int(result.get("status", 0)) < 300 else 1
    elif args.hub_command == "desired":
        try:
            patch = json.loads(args.patch)
        except ValueError as exc:
            raise InputError(f"desired patch is not JSON: {exc}") from None
        _print(request(sock, "desired", device_id=args.device, patch=patch))
    elif args.hub_command == "twin":
        _print(request(sock, "twin", device_id=args.device))
    return 0


def add_subcommands(sub) -> None:
    """Add ``lab-info`` and ``hub`` to the harness CLI's subparsers (``add_subparsers()`` result);
    each sets ``func`` (returns an exit code)."""
    info = sub.add_parser("lab-info", help="what a device needs for a lab: hub host, device id and key, CA, "
                                           "broker address, ports")
    info.add_argument("--lab", default="lab", help="lab name (default: lab)")
    info.add_argument("--device-id", help="the device to build into an image (its key is printed)")
    info.add_argument("--hub-host", default=A.HUB_HOST, help=f"hub host name (default: {A.HUB_HOST})")
    info.add_argument("--board", help="also print the board's facts (NIC, memory map)")
    info.add_argument("--pki-dir", help="lab PKI directory (default: build/lab-pki or $HARNESS_PKI_DIR)")
    info.add_argument("--json", action="store_true", help="JSON instead of text")
    info.set_defaults(func=cmd_lab_info)

    hub = sub.add_parser("hub", help="talk to a running lab's hub as the service side: C2D, methods, twins")
    hsub = hub.add_subparsers(dest="hub_command", required=True)
    c2d = hsub.add_parser("c2d", help="send a cloud-to-device message")
    c2d.add_argument("device")
    c2d.add_argument("text")
    c2d.add_argument("--property", action="append", help="application property name=value (repeatable)")
    c2d.add_argument("--ttl", type=float, default=3600.0,
                     help="seconds the message waits in the device's queue while it is offline (default 3600)")
    method = hsub.add_parser("method", help="invoke a direct method and print the device's answer")
    method.add_argument("device")
    method.add_argument("method")
    method.add_argument("--payload", help="JSON payload")
    method.add_argument("--timeout", type=float, default=30.0)
    desired = hsub.add_parser("desired", help="patch the twin's desired properties")
    desired.add_argument("device")
    desired.add_argument("patch", help="JSON object")
    twin = hsub.add_parser("twin", help="print the device twin")
    twin.add_argument("device")
    for p in (c2d, method, desired, twin):
        p.add_argument("--lab", help="lab name when several are running")
    hub.set_defaults(func=cmd_hub)
