"""Device keywords, in the vocabulary the embedded world knows (Renode)."""

from __future__ import annotations

from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword

from ..device import PROMPT, Device
from ..errors import InputError
from ..targets import DEFAULT_BOARD
from . import context
from .retry import with_infra_retries


def record_setting(record, name: str):
    """``record=`` of a keyword, else ``${RECORD}``: True/False, or a directory under which every
    recorded device's bundle is saved (<dir>/<suite>/<test>/<device>)."""
    if record in (None, "", "None"):
        record = context.variable("${RECORD}")
    if record in (None, "", "None"):
        return None
    text = str(record).strip()
    if text.lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        return text.lower() in ("true", "yes", "on", "1")
    bundles = context.artifacts_dir(name)  # <root>/<suite>/<test>/<device>
    return Path(text) / bundles.parent.parent.name / bundles.parent.name / bundles.name


class DeviceKeywords:
    def __init__(self):
        self.devices: dict[str, Device] = {}
        self.current: str | None = None
        self._test_devices: list[str] = []
        self._in_test = False

    # the library's listener calls these
    def _stop_devices(self, names, failed: bool) -> None:
        for name in names:
            dev = self.devices.pop(name, None)
            if dev is None:
                continue
            lab = next((lab for lab in getattr(self, "labs", {}).values() if name in lab.devices), None)
            if lab is not None:
                self._save_device_evidence(lab, dev)
                lab.stop_device(name, failed=failed)  # also saves its slice of the hub recording
            else:
                dev.stop(failed=failed)
                if self.current == name:
                    self.current = next(iter(self.devices), None)

    def _save_device_evidence(self, lab, dev: Device) -> None:
        """Decoded security messages and the back end's alerts go to the device's artifacts."""
        import json
        if not dev.artifacts_dir.exists() or lab.hub is None or lab.hub.recorder is None:
            return
        from ..secmsg import DecodeError, decode, is_security_message
        messages = []
        for rec in lab.hub.recorder.find(kind="d2c", device_id=dev.config.device_id):
            if is_security_message(rec.properties):
                try:
                    messages.append({"seq": rec.seq, "received": rec.t, **decode(rec.payload).to_dict()})
                except DecodeError as exc:
                    messages.append({"seq": rec.seq, "received": rec.t, "decode_error": str(exc)})
        (dev.artifacts_dir / "security-messages.json").write_text(json.dumps(messages, indent=1, default=str))
        backend = getattr(self, "backends", {}).get(lab.name)
        if backend is not None and backend.db.exists():
            from ..backend import api
            alerts = api.list_alerts(backend.db, device=dev.config.device_id)
            (dev.artifacts_dir / "alerts.json").write_text(json.dumps(alerts, indent=1, default=str))

    def _device(self, name: str | None = None) -> Device:
        name = name or self.current
        if name is None or name not in self.devices:
            known = ", ".join(self.devices) or "none"
            raise InputError(f"no device named {name!r} (started devices: {known})")
        return self.devices[name]

    def _timeout(self, dev: Device, timeout, kind: str) -> float:
        if timeout in (None, "", "None"):
            return getattr(dev.target.timeouts, kind)
        return float(timeout)

    @keyword
    def start_device(self, name: str = "dev", board: str | None = None, image: str | None = None,
                     profile: str = "fast", wait_for_prompt: bool = True, network=None, config=None, record=None):
        """Boot a device in QEMU and attach its console; returns the device name.

        ``board`` defaults to ``${BOARD}`` (then mps2-an385); ``image`` to the reference
        firmware of ``profile`` (``${IMAGE}`` overrides it for every device, so a suite
        runs against a user's own image). Waits for the boot prompt unless told not to.
        ``record``: record the run for replay (default ``${RECORD}``; docs/reproduce.md).
        """
        if name in self.devices:
            raise InputError(f"a device named {name!r} is already running")
        board = board or context.variable("${BOARD}") or DEFAULT_BOARD
        image = image or context.variable("${IMAGE}") or None

        def attempt():
            dev = Device(board, image, name=name, profile=profile, artifacts_dir=context.artifacts_dir(name),
                         network=network, config=config, log=logger.info, record=record_setting(record, name))
            self.devices[name] = dev
            return dev.start()

        def undo():
            dev = self.devices.pop(name, None)
            if dev is not None:
                dev.stop(failed=True)

        dev = with_infra_retries(f"starting device {name}", attempt, undo)
        if self._in_test:
            self._test_devices.append(name)
        self.current = name
        logger.info(f"started {name} on {dev.target.name}: image {dev.image.path} "
                    f"(sha256 {dev.image.sha256[:16]}…, {dev.image.size} bytes); artifacts: "
                    + ", ".join(context.link(p, p.name) for p in (dev.console_log, dev.artifacts_dir / "qemu.cmdline",
                                                                     dev.artifacts_dir / "provenance.json")),
                    html=True)
        if str(wait_for_prompt).lower() not in ("false", "0", "no"):
            dev.wait_for_prompt(dev.target.timeouts.boot)
        return name

    @keyword
    def wait_for_line_on_uart(self, pattern: str, timeout=None, treat_as_regex: bool = False,
                              device: str | None = None) -> str:
        """Wait for a console line containing ``pattern``; returns the line."""
        dev = self._device(device)
        return dev.console.wait_for_line(pattern, self._timeout(dev, timeout, "command"), regex=treat_as_regex).line

    @keyword
    def wait_for_prompt_on_uart(self, prompt: str = PROMPT, timeout=None, device: str | None = None) -> None:
        dev = self._device(device)
        dev.console.wait_for_prompt(prompt, self._timeout(dev, timeout, "prompt"))

    @keyword
    def write_line_to_uart(self, line: str, wait_for_echo: bool = True, device: str | None = None) -> None:
        dev = self._device(device)
        dev.console.write_line(line, wait_for_echo=wait_for_echo, timeout=dev.target.timeouts.command)

    @keyword
    def execute_command_on_device(self, command: str, timeout=None, device: str | None = None) -> str:
        """Type a shell command and wait for the next prompt; returns the output."""
        dev = self._device(device)
        out = "\n".join(dev.run_command(command, self._timeout(dev, timeout, "command")))
        logger.info(f"{dev.name}> {command}\n{out}")
        return out

    @keyword
    def should_not_be_on_uart(self, pattern: str, timeout=2.0, treat_as_regex: bool = False,
                              device: str | None = None) -> None:
        self._device(device).console.should_not_appear(pattern, float(timeout), regex=treat_as_regex)

    @keyword
    def register_failing_uart_string(self, pattern: str, treat_as_regex: bool = False,
                                     device: str | None = None) -> None:
        """A "death string": any later wait on this device fails as soon as it appears."""
        self._device(device).console.register_failing(pattern, regex=treat_as_regex)

    @keyword
    def unregister_failing_uart_string(self, pattern: str, device: str | None = None) -> None:
        self._device(device).console.unregister_failing(pattern)

    @keyword
    def reset_device(self, device: str | None = None) -> None:
        """Reset via QMP system_reset (the image and config block are reloaded)."""
        self._device(device).reset()

    @keyword
    def set_device_link(self, state: str, device: str | None = None) -> None:
        """Take the device's NIC link ``down`` or ``up`` (QMP set_link)."""
        if state.lower() not in ("up", "down"):
            raise InputError(f"link state must be up or down, not {state!r}")
        self._device(device).set_link(state.lower() == "up")

    @keyword
    def stop_device(self, device: str | None = None) -> None:
        dev = self._device(device)
        self._stop_devices([dev.name], failed=False)

    @keyword
    def wait_for_device_exit(self, timeout=10.0, device: str | None = None) -> int:
        """Wait until QEMU ends by itself (semihosting exit); returns its exit code."""
        return self._device(device).wait_for_exit(float(timeout))

    @keyword
    def device_artifacts_directory(self, device: str | None = None) -> str:
        return str(self._device(device).artifacts_dir)
