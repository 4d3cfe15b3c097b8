"""Feed parsers against the real files in shared/data (parse only) and their broken variants."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.backend.errors import FeedError
from harness.backend.threatintel import FeedConfig, ThreatIntel, load_feed_config
from harness.backend.threatintel import parsers
from harness.errors import InputError

DATA = Path(os.environ.get("SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
if not DATA.is_dir():
    DATA = Path("/work/shared/data")

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="shared/data not available")


def load(name, **kw) -> ThreatIntel:
    return ThreatIntel([FeedConfig.for_path(DATA / name, **kw)])


# ---- STIX -------------------------------------------------------------------------------
def test_stix_apt1_four_cidr_networks_rest_skipped():
    ti = load("stix21-apt1.json")
    assert ti.index.stats()["unique"] == 4
    assert ti.index.v4.entries == 4 and ti.index.v6.entries == 0
    data = parsers.parse_stix(str(DATA / "stix21-apt1.json"), 50)
    assert data.skipped == 72          # 8 non-IP indicators + 64 other objects
    for net in ("223.166.0.0/15", "58.246.0.0/15", "112.64.0.0/15", "139.226.0.0/15"):
        first = net.split("/")[0]
        m = ti.lookup(first)
        assert m.indicator == net and m.prefixlen == 15
        assert m.ref.startswith("indicator--")
    # a network, not a host: the last address of 223.166.0.0/15 matches too
    assert ti.lookup("223.167.255.255").indicator == "223.166.0.0/15"
    assert ti.lookup("223.168.0.0") is None
    assert ti.index.covered_addresses(4) == 4 * 2 ** 17


def test_stix_poisonivy_or_compound_18_distinct():
    ti = load("stix21-poisonivy.json")
    assert ti.index.unique == 18
    assert len(ti) == 40                           # repeats across indicators
    for ip in ("219.76.208.163", "113.10.246.30", "98.126.148.114", "60.10.1.115", "60.1.1.114",
               "123.183.210.28", "60.2.148.167"):
        assert ti.lookup(ip) is not None, ip
    assert ti.lookup("60.10.1.116") is None


def test_stix_c2_coa_single_ip_private_network_address_kept():
    ti = load("stix21-indicators-c2-coa.json")
    assert len(ti) == 1
    m = ti.lookup("10.0.0.0")
    assert m.indicator == "10.0.0.0" and m.prefixlen == 32     # a host, as written
    assert ti.lookup("10.0.0.1") is None


def test_stix_bare_array_rejected_as_bundle_accepted_as_observables():
    with pytest.raises(FeedError, match="top-level JSON array, not a STIX bundle") as ei:
        load("stix21-sco-examples-array.json")
    assert ei.value.path.endswith("stix21-sco-examples-array.json")
    ti = load("stix21-sco-examples-array.json", format="stix-observables")
    assert ti.index.unique == 15 and len(ti) == 24
    assert ti.lookup("2001:db8:85a3::8a2e:370:7334").indicator == "2001:db8:85a3::8a2e:370:7334"
    assert ti.lookup("2001:db8::ffff:1").indicator == "2001:db8::/96"
    assert ti.lookup("198.51.100.77").indicator == "198.51.100.0/24"
    assert ti.lookup("198.51.100.3").indicator == "198.51.100.3"      # the more specific wins


def test_stix_indicator_confidence_used(tmp_path):
    p = tmp_path / "b.json"
    p.write_text('{"type": "bundle", "id": "bundle--0b4fcd5a-6e55-4f2a-9a37-3f1a8d1c1a11", "objects": ['
                 '{"type": "indicator", "spec_version": "2.1",'
                 ' "id": "indicator--7c9e4c1e-2b4f-4c1b-8d7e-4f0a7a1e2b11",'
                 ' "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",'
                 ' "pattern": "[ipv6-addr:value = \'2001:db8::/48\' OR ipv4-addr:value IN (\'192.0.2.1\', \'192.0.2.2\')]",'
                 ' "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "confidence": 85},'
                 '{"type": "indicator", "spec_version": "2.1",'
                 ' "id": "indicator--7c9e4c1e-2b4f-4c1b-8d7e-4f0a7a1e2b12",'
                 ' "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",'
                 ' "pattern": "[ipv4-addr:value = \'198.51.100.1\' AND ipv4-addr:x_note = \'x\']",'
                 ' "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},'
                 '{"type": "indicator", "spec_version": "2.1",'
                 ' "id": "indicator--7c9e4c1e-2b4f-4c1b-8d7e-4f0a7a1e2b13",'
                 ' "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",'
                 ' "pattern": "[ipv4-addr:value != \'198.51.100.2\']",'
                 ' "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}]}')
    ti = ThreatIntel([FeedConfig(str(p), "stix", confidence=40)])
    assert ti.lookup("2001:db8:0:1::1").confidence == 85
    assert ti.lookup("192.0.2.2").confidence == 85
    assert ti.lookup("198.51.100.1") is None      # under AND: not an indicator alone
    assert ti.lookup("198.51.100.2") is None      # negated


# ---- plain lists ---------------------------------------------------------------------------
def test_firehol_feodo_235_hosts():
    ti = load("firehol-feodo.ipset")
    assert len(ti) == 235 and ti.index.unique == 235
    assert ti.lookup("2.50.11.28").indicator == "2.50.11.28"
    assert ti.lookup("5.39.222.172") is not None
    assert ti.index.covered_addresses(4) == 235


def test_firehol_spamhaus_drop_683_networks_22583552_addresses():
    ti = load("firehol-spamhaus-drop.netset")
    assert len(ti) == 683
    assert ti.index.covered_addresses(4) == 22_583_552
    m = ti.lookup("116.128.0.1")
    assert m.indicator == "116.128.0.0/10"
    assert ti.lookup("116.191.255.255").indicator == "116.128.0.0/10"   # last address
    assert ti.lookup("116.192.0.0") is None or ti.lookup("116.192.0.0").indicator != "116.128.0.0/10"


def test_spamhaus_dropv6_78_networks_with_eol_comments():
    ti = load("spamhaus-dropv6.txt")
    assert len(ti) == 78 and ti.index.v6.entries == 78
    assert ti.lookup("2001:678:6c4::1").indicator == "2001:678:6c4::/48"
    assert ti.lookup("2001:678:6c4:ffff:ffff:ffff:ffff:ffff").indicator == "2001:678:6c4::/48"
    assert ti.lookup("2001:678:6c5::") is None
    assert ti.lookup("2c0f:6cf:ffff::1").indicator == "2c0f:6c0::/28"


def test_v4_and_v6_lists_together():
    ti = ThreatIntel.from_paths(DATA / "firehol-spamhaus-drop.netset", DATA / "spamhaus-dropv6.txt",
                                DATA / "firehol-feodo.ipset")
    assert len(ti) == 683 + 78 + 235
    assert ti.lookup("2001:678:6c4::1").source == "spamhaus-dropv6.txt"
    assert ti.lookup("116.128.0.1").source == "firehol-spamhaus-drop.netset"


# ---- CSV --------------------------------------------------------------------------------------
@pytest.mark.parametrize("column", ["dst_ip", 1, "1", None])
def test_feodo_csv_28(column):
    ti = load("feodotracker-ipblocklist.csv", column=column)
    assert len(ti) == 28
    assert ti.lookup("192.9.135.73") is not None
    assert ti.lookup("172.233.221.61") is not None       # last row, no final newline


def test_feodo_csv_where_filter():
    ti = load("feodotracker-ipblocklist.csv", column="dst_ip", where={"c2_status": "online"})
    assert len(ti) == 4
    assert ti.lookup("192.9.135.73") is not None          # online
    assert ti.lookup("85.239.243.155") is None            # offline


# ---- broken variants: FeedError with file:line ---------------------------------------------------
def _broken(tmp_path, name, lineno, bad, newline=True) -> tuple[Path, int]:
    lines = (DATA / name).read_text().split("\n")
    lines[lineno - 1] = bad
    p = tmp_path / name
    p.write_text("\n".join(lines))
    return p, lineno


@pytest.mark.parametrize("name,lineno,bad,fmt,kw", [
    ("firehol-feodo.ipset", 40, "5.100.249.300", "list", {}),
    ("firehol-feodo.ipset", 35, "5.63.159.90 extra", "list", {}),
    ("firehol-spamhaus-drop.netset", 40, "1.10.16.1/20", "list", {}),       # host bits set
    ("firehol-spamhaus-drop.netset", 41, "1.19.0.0/33", "list", {}),
    ("spamhaus-dropv6.txt", 7, "2001:678:6c4:::/48 ; SBL1", "list", {}),
    ("feodotracker-ipblocklist.csv", 12, '"2024-02-08 19:50:53","37.60.242.x","9785","offline","2024-03-04","Pikabot"', "csv", {"column": "dst_ip"}),
    ("feodotracker-ipblocklist.csv", 13, '"2024-02-09 06:56:00"', "csv", {"column": "dst_ip"}),
])
def test_bad_line_names_file_and_line(tmp_path, name, lineno, bad, fmt, kw):
    p, n = _broken(tmp_path, name, lineno, bad)
    with pytest.raises(FeedError) as ei:
        ThreatIntel([FeedConfig(str(p), fmt, **kw)])
    assert isinstance(ei.value, InputError)
    assert ei.value.line == n
    assert str(ei.value).startswith(f"{p}:{n}: ")


def test_stix_errors_name_file_and_line(tmp_path):
    text = (DATA / "stix21-apt1.json").read_text()
    bad = tmp_path / "apt1.json"
    bad.write_text(text.replace("[ipv4-addr:value = '58.246.0.0/15']",
                                "[ipv4-addr:value = '58.246.0.0/155']"))
    with pytest.raises(FeedError, match="bad prefix length|too long") as ei:
        ThreatIntel([FeedConfig(str(bad), "stix")])
    assert ei.value.line is not None and ei.value.line > 1
    bad.write_text(text.replace("[ipv4-addr:value = '58.246.0.0/15']", "[ipv4-addr:value = ]"))
    with pytest.raises(FeedError, match="invalid STIX"):
        ThreatIntel([FeedConfig(str(bad), "stix")])
    bad.write_text(text[:2000])
    with pytest.raises(FeedError, match="invalid JSON") as ei:
        ThreatIntel([FeedConfig(str(bad), "stix")])
    assert ei.value.line is not None


def test_unreadable_inputs(tmp_path):
    with pytest.raises(FeedError, match="does not exist"):
        ThreatIntel([FeedConfig(str(tmp_path / "nope.txt"))])
    p = tmp_path / "latin1.txt"
    p.write_bytes(b"192.0.2.1\n# caf\xe9\n")
    with pytest.raises(FeedError, match="UTF-8") as ei:
        ThreatIntel([FeedConfig(str(p))])
    assert ei.value.line == 2


def test_list_details(tmp_path):
    p = tmp_path / "l.txt"
    p.write_bytes(b"# header\r\n;\r\n192.0.2.1 # trailing comment\r\n  2001:db8::/32 ; SBL1\r\n"
                  b"\r\n198.51.100.0/24;x\r\n203.0.113.7")       # CRLF, no final newline
    ti = ThreatIntel([FeedConfig(str(p))])
    assert len(ti) == 4
    assert ti.lookup("203.0.113.7") and ti.lookup("2001:db8:1::1") and ti.lookup("198.51.100.9")


def test_csv_details(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text('# banner\n"ip";"score"\n"192.0.2.1";"90"\n"198.51.100.0/24";"10"\n# END')
    ti = ThreatIntel([FeedConfig(str(p), "csv", column="ip", delimiter=";", confidence_column="score")])
    assert ti.lookup("192.0.2.1").confidence == 90
    assert ti.lookup("198.51.100.5").confidence == 10
    p.write_text("192.0.2.1,foo\n198.51.100.1,bar\n")                     # no header
    assert len(ThreatIntel([FeedConfig(str(p), "csv")])) == 2
    p.write_text('"a","b"\n"192.0.2.1","x\n')                             # unterminated quote
    with pytest.raises(FeedError, match="CSV"):
        ThreatIntel([FeedConfig(str(p), "csv", column="a")])
    p.write_text('"a","b"\n"192.0.2.1","x"\n')
    with pytest.raises(FeedError, match="column 'dst_ip' not in header"):
        ThreatIntel([FeedConfig(str(p), "csv", column="dst_ip")])


def test_feed_config_file(tmp_path):
    (tmp_path / "feeds").mkdir()
    cfg = tmp_path / "feeds" / "feeds.yaml"
    cfg.write_text(f"""
feeds:
  - path: {DATA / 'feodotracker-ipblocklist.csv'}
    format: csv
    column: dst_ip
    source: feodo
    confidence: 70
  - path: {DATA / 'spamhaus-dropv6.txt'}
  - path: local.txt
""")
    (tmp_path / "feeds" / "local.txt").write_text("192.0.2.66\n")
    cfgs = load_feed_config(cfg)
    assert [c.source for c in cfgs] == ["feodo", "spamhaus-dropv6.txt", "local.txt"]
    ti = ThreatIntel(cfgs)
    assert ti.lookup("192.9.135.73").source == "feodo"
    assert ti.lookup("192.9.135.73").confidence == 70
    assert ti.lookup("192.0.2.66").source == "local.txt"
    cfg.write_text("feeds:\n  - path: x.txt\n    colour: red\n")
    with pytest.raises(FeedError, match="unknown keys"):
        load_feed_config(cfg)
    cfg.write_text("feeds:\n  - path: x.txt\n    format: xml\n")
    with pytest.raises(FeedError, match="unknown feed format"):
        load_feed_config(cfg)
    cfg.write_text("feeds:\n  - path: x.txt\n    confidence: 101\n")
    with pytest.raises(FeedError, match="confidence"):
        load_feed_config(cfg)
