"""The lab network: clean-up on every path, and proof that nothing leaves the lab."""

import ipaddress
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.lab import Lab
from harness.lab.addressing import is_allowed

from .conftest import (REPO, namespaces_of_this_run, qemu_pids_of_this_run, require_image, require_lab,
                       runtime_dirs_of_this_run)

pytestmark = [pytest.mark.qemu, pytest.mark.lab]


def addresses_in_pcap(path: Path) -> set[str]:
    from scapy.all import IP, IPv6, ARP, PcapReader
    found = set()
    with PcapReader(str(path)) as reader:
        for pkt in reader:
            if IP in pkt:
                found |= {pkt[IP].src, pkt[IP].dst}
            if IPv6 in pkt:
                found |= {pkt[IPv6].src, pkt[IPv6].dst}
            if ARP in pkt:
                found |= {pkt[ARP].psrc, pkt[ARP].pdst}
    return found


def test_lab_stop_removes_namespace_processes_and_dirs(tmp_path):
    require_lab()
    require_image(profile="nosecmod")
    lab = Lab("clean", artifacts_dir=tmp_path / "lab")
    lab.start()
    dev = lab.start_device("dev-1", profile="nosecmod")
    dev.console.wait_for_line("hub: connected", 30)
    ns, runtime = lab.ns.name, lab.runtime
    assert ns in namespaces_of_this_run()
    lab.stop(failed=True)
    assert ns not in namespaces_of_this_run()
    assert not runtime.exists()
    assert not qemu_pids_of_this_run()
    # kept because we said it failed: the device's pcap, console log and hub slice are there
    assert (tmp_path / "lab" / "hub.jsonl").exists()
    assert (tmp_path / "lab" / "dev-1" / "device.pcap").stat().st_size > 0
    assert (tmp_path / "lab" / "dev-1" / "hub.jsonl").read_text().count('"device_id": "dev-1"') >= 1


LAB_SCRIPT = textwrap.dedent("""
    import sys, time
    from harness import reaper
    from harness.lab import Lab
    reaper.install_signal_handlers()
    lab = Lab("sig", artifacts_dir=sys.argv[1])
    lab.start()
    dev = lab.start_device("dev-1", profile="nosecmod")
    dev.console.wait_for_line("hub: connected", 30)
    print("ready", flush=True)
    time.sleep(120)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_the_harness_tears_the_lab_down(tmp_path, sig):
    require_lab()
    require_image(profile="nosecmod")
    proc = subprocess.Popen([sys.executable, "-c", LAB_SCRIPT, str(tmp_path / "art")], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert namespaces_of_this_run(proc.pid) and qemu_pids_of_this_run(proc.pid)
        proc.send_signal(sig)
        proc.wait(30)
        deadline = time.monotonic() + 5
        while qemu_pids_of_this_run(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not qemu_pids_of_this_run(proc.pid), "QEMU, mosquitto or a lab service survived"
        assert not namespaces_of_this_run(proc.pid), "lab namespace left behind"
        assert not runtime_dirs_of_this_run(proc.pid), "runtime dir left behind"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_nothing_leaves_the_lab(tmp_path):
    """Capture on the host side (root namespace, every interface) and inside the lab during a
    full run: DHCP, SLAAC, DNS, SNTP, MQTT, pings both ways. Inside the lab every address is a
    documentation, loopback or link-scope one; outside, no lab address appears at all."""
    require_lab()
    require_image(profile="nosecmod")
    host_pcap = tmp_path / "host.pcap"
    host_cap = subprocess.Popen(["tcpdump", "-i", "any", "-n", "-U", "-w", str(host_pcap)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lab = Lab("leak", artifacts_dir=tmp_path / "lab")
    try:
        lab.start()
        lab_pcap = tmp_path / "lab.pcap"
        from harness import procs
        inside = procs.spawn(["tcpdump", "-i", "any", "-n", "-U", "-w", str(lab_pcap)], netns=lab.ns.name,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        dev = lab.start_device("dev-1", profile="nosecmod")
        dev.console.wait_for_line("hub: connected", 30)
        dev.console.wait_for_line("net: ipv6 slaac", 30)
        lab.hub.recorder.wait_for(15, kind="d2c", device_id="dev-1")
        v4 = lab.wait_for_ipv4("dev-1")
        lab.run(["ping", "-c", "2", "-i", "0.2", v4])
        lab.run(["ping", "-6", "-c", "2", "-i", "0.2", lab.device_ipv6("dev-1")])
        dev.run_command("ping 198.51.100.10 2")
        dev.console.wait_for_line("ping: reply from 198.51.100.10 seq=2", 10)
        time.sleep(0.5)
        procs.stop_process(inside)
    finally:
        lab.stop(failed=True)
        host_cap.send_signal(signal.SIGINT)
        host_cap.wait(10)
    inside_addrs = addresses_in_pcap(lab_pcap) | addresses_in_pcap(tmp_path / "lab" / "dev-1" / "device.pcap")
    assert len(inside_addrs) > 5, "the capture inside the lab saw (almost) nothing"
    bad = sorted(a for a in inside_addrs if not is_allowed(a))
    assert not bad, f"lab traffic used addresses outside documentation/loopback/link-scope ranges: {bad}"
    lab_only = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                                  "2001:db8::/32")]
    leaked = sorted(a for a in addresses_in_pcap(host_pcap)
                    if any(ipaddress.ip_address(a) in n for n in lab_only if ipaddress.ip_address(a).version == n.version))
    assert not leaked, f"lab addresses seen outside the lab namespace: {leaked}"


def test_unprivileged_lab_reaches_the_hub_and_writes_a_pcap(tmp_path):
    require_image(profile="nosecmod")
    lab = Lab("user", artifacts_dir=tmp_path / "lab", privileged=False)
    try:
        lab.start()
        dev = lab.start_device("dev-u", profile="nosecmod")
        cmdline = (dev.artifacts_dir / "qemu.cmdline").read_text()
        assert "user,id=n0,restrict=on" in cmdline and "-nic none" not in cmdline
        lab.hub.recorder.wait_for(30, kind="d2c", device_id="dev-u")
        dev.run_command("version")
    finally:
        lab.stop(failed=True)
    addrs = addresses_in_pcap(tmp_path / "lab" / "dev-u" / "device.pcap")
    assert "192.0.2.1" in addrs
    assert all(is_allowed(a) for a in addrs), sorted(addrs)
