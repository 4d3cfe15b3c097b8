"""The live back end picks up a changed registry and groups file (the lab adds devices and tests
redefine groups while it runs), including the count windows of the new group."""

import yaml

from harness.backend.service import Backend, BackendConfig


def test_registry_and_groups_reload_reconfigures_windows(tmp_path):
    registry = tmp_path / "registry.yaml"
    groups = tmp_path / "groups.yaml"
    registry.write_text(yaml.safe_dump({"devices": []}))
    groups.write_text("groups: {}\n")
    be = Backend(BackendConfig(db=str(tmp_path / "db.sqlite"), registry=str(registry), groups=str(groups)))
    try:
        t = 1_000_000.0
        d2c = lambda seq, t: {"seq": seq, "t": t, "topic": "devices/d1/messages/events/", "kind": "d2c",
                             "device_id": "d1", "properties": {}, "payload_b64": ""}
        be.process(d2c(1, t))
        assert be.reload_changed_config() == []
        registry.write_text(yaml.safe_dump({"devices": [{"id": "d1", "tags": {"SecurityGroup": "g"}}]}))
        groups.write_text(yaml.safe_dump({"groups": {"g": {"timeWindowRules": [
            {"ruleType": "MqttD2CMessagesNotInAllowedRange", "isEnabled": True, "minThreshold": 0,
             "maxThreshold": 2, "timeWindowSize": "PT10S"}]}}}))
        assert sorted(be.reload_changed_config()) == ["groups", "registry"]
        start = (int(t) // 10 + 1) * 10
        for i in range(4):
            be.process(d2c(2 + i, start + 1 + i))
        be.process(d2c(9, start + 12))  # closes the window
        alerts = be.store.list_alerts(type="IoT_CA_MqttD2CMessagesNotInAllowedRange")
        assert len(alerts) == 1 and alerts[0].evidence["count"] == 4
        groups.write_text("groups: {g: {timeWindowRules: [{ruleType: Bogus}]}}\n")
        assert be.reload_changed_config() == []  # a broken file keeps the previous groups
        assert be.groups.get("g").time_window_rules
    finally:
        be.close()
