"""Security-message keywords: decode what the hub recorded, check it against
the spec's rules and against the wire (the device's pcap)."""

from __future__ import annotations

import time

from robot.api import logger
from robot.api.deco import keyword

from ..conformance.oracle import compare, flows_from_messages, flows_from_pcap
from ..conformance.rules import check_message
from ..errors import DeviceFailure, WaitTimeout
from ..procs import runqueue_wait_seconds
from ..secmsg import decode, render_html
from ..slack import wait_with_slack


class SecmodKeywords:
    def _security_records(self, device, since=0, lab=None):
        lab_obj = self._lab(lab)
        return lab_obj.hub.recorder.find(since=int(since), kind="d2c", device_id=device, security=True)

    def _decoded(self, records):
        out = []
        for rec in records:
            msg = decode(rec.payload)
            out.append((rec, msg))
        return out

    @staticmethod
    def _as_dict(rec, msg) -> dict:
        d = msg.to_dict()
        d.update({"seq": rec.seq, "received": rec.t, "topic": rec.topic, "properties": rec.properties,
                  "qos": rec.qos, "size": rec.payload_len})
        return d

    def _log_message(self, rec, msg) -> None:
        logger.info(f"<b>security message #{rec.seq}</b> ({rec.payload_len} bytes, received "
                    f"{time.strftime('%H:%M:%S', time.localtime(rec.t))}):" + render_html(msg), html=True)

    @keyword
    def wait_for_security_message(self, device: str | None = None, timeout=30, since: int = 0, count: int = 1,
                                  lab: str | None = None) -> dict:
        """Wait for ``count`` security messages (``$.ifid`` set) from the device after hub
        position ``since``; decodes them, logs each as a table, returns the last one."""
        dev = self._device(device)
        recorder = self._lab(lab).hub.recorder
        records = wait_with_slack(
            lambda t: recorder.wait_for(t, since=int(since), count=int(count), kind="d2c",
                                        device_id=dev.config.device_id, security=True,
                                        describe=f"security message from {dev.config.device_id}"),
            float(timeout), (lambda: runqueue_wait_seconds(dev.proc.pid)) if dev.proc else None, logger.warn,
            f"a security message from {dev.config.device_id}")
        decoded = self._decoded(records)
        for rec, msg in decoded:
            self._log_message(rec, msg)
        return self._as_dict(*decoded[-1])

    @keyword
    def security_messages(self, device: str | None = None, since: int = 0, lab: str | None = None) -> list:
        """Every security message the hub recorded from the device after ``since``, decoded."""
        dev = self._device(device)
        return [self._as_dict(r, m) for r, m in self._decoded(self._security_records(dev.config.device_id, since, lab))]

    @keyword
    def log_security_messages(self, device: str | None = None, since: int = 0, lab: str | None = None) -> int:
        """Log every security message the device sent (after ``since``) as readable tables."""
        dev = self._device(device)
        decoded = self._decoded(self._security_records(dev.config.device_id, since, lab))
        for rec, msg in decoded:
            self._log_message(rec, msg)
        if not decoded:
            logger.info(f"no security messages from {dev.config.device_id}")
        return len(decoded)

    @keyword
    def security_messages_should_conform(self, device: str | None = None, since: int = 0, minimum: int = 1,
                                         lab: str | None = None) -> int:
        """Every security message from the device follows the envelope, event and record rules."""
        dev = self._device(device)
        decoded = self._decoded(self._security_records(dev.config.device_id, since, lab))
        if len(decoded) < int(minimum):
            raise DeviceFailure(f"{len(decoded)} security message(s) from {dev.config.device_id}; expected at least {minimum}")
        problems = [f"message #{rec.seq}: {p}" for rec, msg in decoded for p in check_message(msg)]
        for rec, msg in decoded:
            if rec.qos != 1:
                problems.append(f"message #{rec.seq}: published with QoS {rec.qos}, not 1 (§2.1)")
        if problems:
            raise DeviceFailure("security messages break the module's rules:\n" + "\n".join(problems))
        return len(decoded)

    @keyword
    def flows_should_match_the_wire(self, remotes, device: str | None = None, since: int = 0, settle: int = 2,
                                    lab: str | None = None) -> str:
        """The per-flow byte totals in the security messages equal what the device's pcap
        says the module must count, for every flow with one of ``remotes`` (addresses).

        Waits for ``settle`` further security messages first, so every window that saw the
        traffic has been published; totals are summed over windows, so a flow split across a
        window boundary still compares exactly."""
        dev = self._device(device)
        lab_obj = self._lab(lab)
        remotes = [remotes] if isinstance(remotes, str) else list(remotes)
        mark = lab_obj.hub.recorder.mark()
        lab_obj.hub.recorder.wait_for(35.0, since=mark, count=int(settle), kind="d2c",
                                      device_id=dev.config.device_id, security=True,
                                      describe="security messages after the traffic")
        messages = [m for _, m in self._decoded(self._security_records(dev.config.device_id, since, lab))]
        expected = flows_from_pcap(dev.pcap, dev.config.mac)
        observed = flows_from_messages(messages)
        wanted = {str(r) for r in remotes}
        table = "\n".join(f"{k}: wire in {v.bytes_in} out {v.bytes_out}" for k, v in sorted(expected.items(), key=str)
                          if k.remote in wanted)
        logger.info(f"flows on the wire for {sorted(wanted)}:\n{table or '(none)'}")
        problems = compare(expected, observed, set(remotes))
        if problems:
            raise DeviceFailure("security messages disagree with the wire:\n" + "\n".join(problems))
        return table

    @keyword
    def records_for_remote(self, remote: str, device: str | None = None, since: int = 0,
                           lab: str | None = None) -> list:
        """All NetworkActivity records (as dicts, with the message seq) whose remote address is ``remote``."""
        dev = self._device(device)
        import ipaddress
        want = ipaddress.ip_address(remote)
        out = []
        for rec, msg in self._decoded(self._security_records(dev.config.device_id, since, lab)):
            for version, r in msg.records():
                if r.remote_address == want:
                    d = r.to_dict()
                    d["seq"] = rec.seq
                    out.append(d)
        logger.info("\n".join(str(r) for r in out) or "(no records)")
        return out

    @keyword
    def secmod_status(self, device: str | None = None) -> dict:
        """The reference firmware's ``secmod status`` as a dictionary (state, built, sent, ...)."""
        dev = self._device(device)
        out = dev.run_command("secmod status")
        status = {}
        for line in out:
            if line.startswith("secmod: state "):
                status["state"] = line.split()[-1]
            elif line.startswith("secmod: built"):
                words = line.split()[1:]
                for key, value in zip(words[::2], words[1::2]):
                    status[key.replace("-", "_")] = int(value)
        logger.info(f"{dev.name} secmod: {status}")
        return status

    @keyword
    def wait_for_secmod_state(self, state: str, device: str | None = None, timeout=30) -> None:
        dev = self._device(device)
        deadline = time.monotonic() + float(timeout)
        last = None
        while time.monotonic() < deadline:
            last = self.secmod_status(device).get("state")
            if last == state:
                return
            time.sleep(1.0)
        raise WaitTimeout(f"{dev.name}: security module state is {last}, not {state}, after {timeout} s")

    @keyword
    def console_line_time(self, pattern: str, device: str | None = None) -> float:
        """Host unix time when the latest console line containing ``pattern`` arrived."""
        dev = self._device(device)
        idx = dev.console.last_line_index(pattern)
        if idx is None:
            raise DeviceFailure(f"{dev.name}: no console line contains {pattern!r}")
        return dev.console.wall_t0 + dev.console.lines[idx].t
