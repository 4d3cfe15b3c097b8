"""Hub fidelity keywords: IoT Hub's service side (cloud-to-device messages,
direct methods, device twins), device identities and certificates, what a lab
tells someone building their own image, and a paho-mqtt device that behaves
like an unmodified Azure IoT sample (``Connect Sample Device``).

A mixin for the Testbed library (needs LabKeywords' ``_lab``). Until the
Testbed class includes it, suites import ``harness.robot.hubfidelity.TestbedWithHub``
(the Testbed library with these keywords added)."""

from __future__ import annotations

import json

from robot.api import logger
from robot.api.deco import keyword

from ..errors import DeviceFailure, InputError


def _bool(value) -> bool:
    return str(value).lower() not in ("false", "0", "no", "none", "", "off")


def _json_arg(value):
    """A Robot argument that may be a JSON document (string) or already a value."""
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


class HubKeywords:
    def _samples(self) -> dict:
        if not hasattr(self, "_sample_devices"):
            self._sample_devices = {}
        return self._sample_devices

    def _sample(self, device: str):
        sample = self._samples().get(device)
        if sample is None:
            raise InputError(f"no sample device {device!r} (connect one with Connect Sample Device)")
        return sample

    # -- service side --------------------------------------------------------
    @keyword
    def send_c2d_message(self, device: str, text: str, lab: str | None = None, ttl: float = 3600,
                         **properties) -> str:
        """Send a cloud-to-device message to ``devices/{device}/messages/devicebound/`` with
        application ``properties`` (``name=value``); returns its message id (``$.mid``). A device
        that is not connected and subscribed gets it later (IoT Hub's queue: 50 messages, each
        for ``ttl`` seconds)."""
        mid = self._lab(lab).hub.send_c2d(device, text, {k: str(v) for k, v in properties.items()}, float(ttl))
        logger.info(f"C2D to {device}: {text!r} properties {properties} (message id {mid})")
        return mid

    @keyword
    def invoke_direct_method(self, device: str, method: str, payload=None, timeout=30,
                             expected_status=None, lab: str | None = None) -> dict:
        """Call a direct method; returns ``{status, payload, rid, timed_out}`` (status 504 when the
        device did not answer within ``timeout``). ``payload``: JSON text or a value.
        ``expected_status``: fail unless the device answered with it."""
        result = self._lab(lab).hub.invoke_method(device, method, _json_arg(payload), float(timeout))
        logger.info(f"method {method} on {device}: {result}")
        if expected_status not in (None, "", "None") and int(result["status"]) != int(expected_status):
            raise DeviceFailure(f"method {method} on {device} answered {result['status']} "
                                f"(expected {expected_status}): {result.get('payload')}")
        return result

    @keyword
    def update_desired_properties(self, device: str, patch=None, lab: str | None = None, **properties) -> int:
        """Patch the device twin's desired properties (a dict, JSON text, or ``name=value``
        arguments); the hub pushes the patch to the device. Returns the new ``$version``."""
        body = _json_arg(patch) if patch is not None else {}
        if not isinstance(body, dict):
            raise InputError(f"desired-property patch must be a JSON object, not {patch!r}")
        body.update({k: _json_arg(v) for k, v in properties.items()})
        return self._lab(lab).hub.update_desired(device, body)

    @keyword
    def get_device_twin(self, device: str, lab: str | None = None) -> dict:
        """The device twin as the service sees it: ``{deviceId, tags, properties: {desired, reported}}``."""
        twin = self._lab(lab).hub.get_twin(device)
        logger.info(json.dumps(twin, indent=2))
        return twin

    # -- identities ------------------------------------------------------------
    @keyword
    def register_device(self, device: str, auth: str = "sas", security_group: str | None = None,
                        lab: str | None = None) -> dict:
        """Register a device identity (``sas``: with the lab's derived key; ``x509``: with the
        thumbprint of a lab-issued certificate; ``none``). Returns the identity."""
        tags = {"SecurityGroup": security_group} if security_group else None
        identity = self._lab(lab).register_device(device, auth=auth, tags=tags)
        return identity.to_dict()

    @keyword
    def use_device_certificate(self, device: str, expired=False, variant: str = "", register=False,
                               lab: str | None = None) -> dict:
        """Give an X.509 device another lab-issued certificate from its next start on: an ``expired``
        one, or another ``variant``; ``register=True`` puts its thumbprint in the registry (an expired
        but known certificate), otherwise the hub does not know it (thumbprint mismatch)."""
        cert = self._lab(lab).use_device_certificate(device, expired=_bool(expired), variant=variant,
                                                     register=_bool(register))
        return {"thumbprint": cert.thumbprint, "cert": str(cert.cert_pem), "key": str(cert.key_pem),
                "not_after": cert.not_after.isoformat()}

    @keyword
    def lab_info(self, device: str | None = None, board: str | None = None, lab: str | None = None) -> dict:
        """What a device needs for this lab (hub host name, broker address, ports, CA files, and
        with ``device`` its id and key): harness.hub.commands.lab_info."""
        from ..hub.commands import lab_info, print_lab_info
        import io

        info = lab_info(self._lab(lab), device, board)
        text = io.StringIO()
        print_lab_info(info, text)
        logger.info(text.getvalue())
        return info

    # -- a device like an unmodified Azure IoT sample -------------------------------
    @keyword
    def connect_sample_device(self, device: str, transport: str = "mqtts", expect: str = "accepted",
                              lab: str | None = None, **options) -> int:
        """Connect a paho-mqtt device that behaves like an unmodified Azure IoT sample (DNS, TLS with
        the lab CA, SAS or X.509, MQTT 3.1.1, keep-alive 240 s, the usual subscriptions); returns the
        CONNACK code. ``expect``: ``accepted`` (fail otherwise), ``refused`` (fail if accepted) or
        ``any``. Options: ``key``, ``token``, ``sas_expiry``, ``sas_device_id``, ``sas_hub_host``,
        ``nul_username``, ``keepalive``, ``ipv6``, ``certificate`` (``registered``, ``expired``,
        ``wrong``: a lab-issued certificate for X.509 devices)."""
        from ..hub.sample import SampleDevice

        the_lab = self._lab(lab)
        old = self._samples().pop(device, None)
        if old is not None:
            old.close()
        kwargs = {}
        for name in ("key", "token", "sas_hub_host", "sas_device_id"):
            if options.get(name) not in (None, ""):
                kwargs[name] = str(options[name])
        if options.get("sas_expiry") not in (None, ""):
            kwargs["sas_expiry"] = int(options["sas_expiry"])
        for name in ("nul_username", "ipv6"):
            if name in options:
                kwargs[name] = _bool(options[name])
        if options.get("keepalive") not in (None, ""):
            kwargs["keepalive"] = int(options["keepalive"])
        cert = options.get("certificate")
        if cert:
            choice = {"registered": {}, "expired": {"expired": True}, "wrong": {"variant": "wrong"}}.get(str(cert))
            if choice is None:
                raise InputError(f"certificate {cert!r}: use registered, expired or wrong")
            kwargs["cert"] = the_lab.device_certificate(device, **choice)
        unknown = set(options) - {"key", "token", "sas_hub_host", "sas_device_id", "sas_expiry", "nul_username",
                                  "ipv6", "keepalive", "certificate"}
        if unknown:
            raise InputError(f"Connect Sample Device: unknown option(s) {', '.join(sorted(unknown))}")
        sample = SampleDevice(the_lab, device, transport=transport, **kwargs)
        code = sample.connect(expect_success=False)
        logger.info(f"sample device {device} ({transport}, username {sample.username!r}): CONNACK {code}")
        if code == 0:
            self._samples()[device] = sample
        if expect == "accepted" and code != 0:
            raise DeviceFailure(f"sample device {device} was refused (CONNACK {code})")
        if expect == "refused" and code == 0:
            raise DeviceFailure(f"sample device {device} was accepted but should have been refused")
        return code

    @keyword
    def disconnect_sample_device(self, device: str) -> None:
        sample = self._samples().pop(device, None)
        if sample is not None:
            sample.close()

    @keyword
    def sample_device_twin_get(self, device: str, timeout=10) -> dict:
        """Twin GET from the sample device; returns ``{status, twin}``."""
        status, twin = self._sample(device).twin_get(float(timeout))
        return {"status": status, "twin": twin}

    @keyword
    def sample_device_reports(self, device: str, patch=None, timeout=10, **properties) -> dict:
        """Reported-property PATCH from the sample device (a dict, JSON text or ``name=value``);
        returns ``{status, version}``."""
        body = _json_arg(patch) if patch is not None else {}
        if isinstance(body, dict):
            body.update({k: _json_arg(v) for k, v in properties.items()})
        status, version = self._sample(device).report(body if isinstance(body, dict) else str(body).encode(),
                                                      float(timeout))
        return {"status": status, "version": version}

    @keyword
    def sample_device_should_receive(self, device: str, topic_prefix: str, timeout=10) -> dict:
        """Wait for a message to the sample device on a topic starting with ``topic_prefix``;
        returns ``{topic, payload}`` (payload as text)."""
        msg = self._sample(device).wait_message(topic_prefix, float(timeout))
        return {"topic": msg.topic, "payload": msg.payload.decode("utf-8", errors="replace")}

    @keyword
    def sample_device_topics(self, device: str) -> list:
        """Topics of messages the sample device received and no keyword consumed yet."""
        return self._sample(device).topics_seen()

    @keyword
    def sample_device_answers_methods(self, device: str, status=200) -> None:
        """From now on the sample device answers every direct method with ``status`` and
        ``{"method": name, "payload": request payload}``."""
        code = int(status)
        self._sample(device).serve_methods(lambda name, payload: (code, {"method": name, "payload": payload}))

    @keyword
    def sample_device_sends_telemetry(self, device: str, body="{}") -> None:
        self._sample(device).send_telemetry(_json_arg(body))


def __getattr__(name: str):
    """``TestbedWithHub``: the Testbed library with HubKeywords (Testbed itself once it includes them)."""
    if name == "TestbedWithHub":
        from .library import Testbed

        if issubclass(Testbed, HubKeywords):
            return Testbed
        return type("TestbedWithHub", (Testbed, HubKeywords), {"__doc__": Testbed.__doc__})
    raise AttributeError(name)
