"""render_text / render_html show peers, ports and byte counts."""

from harness.secmsg import decode, render_html, render_text, vectors
from harness.secmsg.render import endpoint


def test_text_table(canonical_buffers):
    text = render_text(decode(canonical_buffers["full_cycle"]))
    for needle in ("defender-iot-micro-agent 3.5.4", "event 0: NetworkActivity",
                   "interval 10 s", "2026-01-01T00:01:00Z (1767225660)",
                   "10.0.0.2:49152", "10.0.0.1:8883", "4210", "1893",
                   "10.0.0.53:53", "UDP", "ICMP", "[2001:db8::1]:8883", "[fe80::2]:0",
                   "event 1: SystemInformation", "os_info: Azure RTOS 6.2",
                   "event 2: Heartbeat", "interval 60 s"):
        assert needle in text, needle
    row = next(line for line in text.splitlines() if "10.0.0.1:8883" in line)
    assert row.split() == ["v4", "TCP", "10.0.0.2:49152", "10.0.0.1:8883", "4210", "1893"]


def test_text_capacity_has_all_rows(canonical_buffers):
    text = render_text(decode(canonical_buffers["capacity_64_64"]))
    assert sum(1 for line in text.splitlines() if line.strip().startswith(("v4 ", "v6 "))) == 128


def test_html_table(canonical_buffers):
    html = render_html(decode(canonical_buffers["full_cycle"]))
    assert html.count("<table") == 3 and html.count("</table>") == 3
    for needle in ("<td>10.0.0.1:8883</td>", "<td>[2001:db8::1]:8883</td>", ">4210</td>",
                   ">1893</td>", "<th>bytes in</th>", "os_info: Azure RTOS 6.2"):
        assert needle in html, needle


def test_html_escapes_strings():
    spec = {"security_module_id": "<script>x</script>", "events": [
        {"id": "00" * 16, "time": 0, "collection_interval": 60,
         "payload_type": "SYSTEM_INFORMATION", "payload": {"os_info": "a & b <c>"}}]}
    html = render_html(decode(vectors.build(spec)))
    assert "<script>" not in html and "&lt;script&gt;" in html and "a &amp; b &lt;c&gt;" in html


def test_empty_and_opaque_events():
    spec = {"events": [
        {"id": "00" * 16, "time": 0, "collection_interval": 10, "payload_type": "NETWORK_ACTIVITY"},
        {"id": "01" * 16, "time": 0, "collection_interval": 60, "payload_type": "LOG"}]}
    text = render_text(decode(vectors.build(spec)))
    assert "(no records)" in text and "event 1: Log" in text and "not emitted by the RTOS module" in text


def test_endpoint_format():
    from ipaddress import ip_address
    assert endpoint(ip_address("10.0.0.1"), 80) == "10.0.0.1:80"
    assert endpoint(ip_address("::1"), 80) == "[::1]:80"
