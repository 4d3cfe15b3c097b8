"""Test-vector builder, canonical vectors, and the text format for the C encoder helper."""

import subprocess
import sys

import pytest

from harness.secmsg import SpecError, decode, vectors

FULL_CYCLE_TEXT = """\
message id="defender-iot-micro-agent" version=3.5.4
event uuid=1f2e3d4c5b6a79800a1b2c3d4e5f6071 time=1767225660 interval=10 type=network
v4 local=10.0.0.2 remote=10.0.0.1 lport=49152 rport=8883 in=4210 out=1893 proto=tcp
v4 local=10.0.0.2 remote=10.0.0.53 lport=50123 rport=53 in=96 out=41 proto=udp
v4 local=10.0.0.2 remote=10.0.0.1 lport=0 rport=0 in=64 out=64 proto=icmp
v6 local=2001:db8::2 remote=2001:db8::1 lport=49153 rport=8883 in=3020 out=1210 proto=tcp
v6 local=2001:db8::2 remote=2001:db8:0:1::35 lport=50200 rport=53 in=120 out=52 proto=udp
v6 local=fe80::2 remote=ff02::1:ff00:1 lport=0 rport=0 in=0 out=32 proto=icmp
event uuid=1f2e3d4c5b6a79810a1b2c3d4e5f6072 time=1767225660 interval=60 type=sysinfo os="Azure RTOS 6.2"
event uuid=1f2e3d4c5b6a79820a1b2c3d4e5f6073 time=1767225660 interval=60 type=heartbeat
"""


def test_canonical_names():
    assert set(vectors.CANONICAL) == {"heartbeat_only", "sysinfo_heartbeat", "network_v4",
                                      "network_v6", "full_cycle", "capacity_64_64",
                                      "zero_bytes_in"}


def test_full_cycle_text_exact():
    assert vectors.to_text(vectors.CANONICAL["full_cycle"]) == FULL_CYCLE_TEXT


@pytest.mark.parametrize("name", sorted(vectors.CANONICAL))
def test_text_round_trip(name):
    spec = vectors.CANONICAL[name]
    text = vectors.to_text(spec)
    assert vectors.to_message(vectors.parse_text(text)) == vectors.to_message(spec)
    assert vectors.to_text(vectors.parse_text(text)) == text


def test_text_line_counts():
    text = vectors.to_text(vectors.CANONICAL["capacity_64_64"])
    lines = text.splitlines()
    assert len(lines) == 2 + 128
    assert sum(line.startswith("v4 ") for line in lines) == 64
    assert text.endswith("\n") and "\n\n" not in text


def test_canonical_is_json_data():
    import json
    for name, spec in vectors.CANONICAL.items():
        assert json.loads(json.dumps(spec)) == spec, name


def test_canonical_returns_copy():
    spec = vectors.canonical("heartbeat_only")
    spec["events"].clear()
    assert vectors.CANONICAL["heartbeat_only"]["events"]
    with pytest.raises(KeyError, match="known: heartbeat_only"):
        vectors.canonical("nope")


def test_build_accepts_security_message(canonical_buffers):
    msg = decode(canonical_buffers["full_cycle"])
    assert decode(vectors.build(msg)) == msg


def test_cli_writes_txt_and_bin(tmp_path):
    out = tmp_path / "vec"
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "harness.secmsg.vectors",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for name in vectors.CANONICAL:
        assert (out / f"{name}.txt").read_text() == vectors.to_text(vectors.CANONICAL[name])
        assert decode((out / f"{name}.bin").read_bytes()) == vectors.to_message(
            vectors.CANONICAL[name])


@pytest.mark.parametrize("spec, fragment", [
    ({"events": [{"id": "zz", "payload_type": "HEARTBEAT"}]}, "spec.events[0].id"),
    ({"events": [{"id": "00" * 16}]}, "payload_type is required"),
    ({"events": [{"id": "00" * 16, "payload_type": "NOPE"}]}, "is not a PayloadType"),
    ({"events": [{"id": "00" * 16, "payload_type": "NONE"}]}, "cannot be built"),
    ({"events": [{"id": "00" * 16, "payload_type": "NETWORK_ACTIVITY",
                  "payload": {"ipv4": [{"local_address": "1.2.3.4", "remote_address": "::1"}]}}]},
     "spec.events[0].payload.ipv4[0].remote_address: '::1' is not an IPv4 address"),
    ({"events": [{"id": "00" * 16, "payload_type": "NETWORK_ACTIVITY",
                  "payload": {"ipv4": [{"local_address": "1.2.3.4", "remote_address": "1.2.3.5",
                                        "local_port": 70000}]}}]}, "local_port: 70000"),
    ({"events": [{"id": "00" * 16, "payload_type": "NETWORK_ACTIVITY",
                  "payload": {"ipv4": [{"local_address": "1.2.3.4", "remote_address": "1.2.3.5",
                                        "protocol": "SCTP"}]}}]}, "is not a Protocol"),
    ({"timezone": 200, "events": []}, "spec.timezone"),
    ({"version": [3, 5], "events": []}, "spec.version"),
    ({"version": [3, 5, 4], "version_raw": 1, "events": []}, "disagrees"),
    ({"bogus": 1}, "unknown key(s) bogus"),
])
def test_spec_errors(spec, fragment):
    with pytest.raises(SpecError) as info:
        vectors.build(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize("spec, fragment", [
    ({"timezone": 1, "events": []}, "no timezone"),
    ({"events": [{"id": "00" * 16, "payload_type": "LOG"}]}, "has no text form"),
    ({"events": [{"id": "00" * 16, "payload_type": "SYSTEM_INFORMATION",
                  "payload": {"os_info": 'say "hi"'}}]}, "contains a quote"),
    ({"events": [{"id": "00" * 16, "payload_type": "SYSTEM_INFORMATION",
                  "payload": {"hw_info": "x"}}]}, "kernel_info/hw_info"),
])
def test_text_cannot_express(spec, fragment):
    with pytest.raises(SpecError, match=fragment):
        vectors.to_text(spec)


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("event uuid=00 time=1 interval=1 type=heartbeat\n", "line 1"),
    ('message id="x" version=1.2\n', "version '1.2' is not M.m.p"),
    ('message version=1.2.3 id="x"\n', "keys in this order"),
    ('message id="x" version=1.2.3\nevent uuid=' + "0" * 32 + " time=1 interval=1 type=bogus\n",
     "type 'bogus'"),
    ('message id="x" version=1.2.3\nv4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=1 in=1 out=1 proto=tcp\n',
     "outside a type=network event"),
    ('message id="x" version=1.2.3\nevent uuid=' + "0" * 32 + " time=1 interval=1 type=network\n"
     "v4 local=1.2.3.4 remote=1.2.3.5 lport=1 rport=99999 in=1 out=1 proto=tcp\n", "line 3"),
    ('message id="x" version=1.2.3\nevent uuid=' + "0" * 32 + " time=1  interval=1 type=heartbeat\n",
     "one space apart"),
    ('message id="x" version=1.2.3\nevent uuid=' + "0" * 32 + ' time=1 interval=1 type=heartbeat os="x"\n',
     "only allowed on type=sysinfo"),
])
def test_parse_text_errors(text, fragment):
    with pytest.raises(SpecError) as info:
        vectors.parse_text(text)
    assert fragment in str(info.value)


def test_sysinfo_without_os_in_text():
    spec = {"events": [{"id": "ab" * 16, "time": 7, "collection_interval": 60,
                        "payload_type": "SYSTEM_INFORMATION"}]}
    text = vectors.to_text(spec)
    assert text.splitlines()[1] == f"event uuid={'ab' * 16} time=7 interval=60 type=sysinfo"
    assert vectors.to_message(vectors.parse_text(text)) == vectors.to_message(spec)
