"""TLS for the hub's 8883 listeners (and the matching client side for tests).

The server offers TLS 1.2 and 1.3 with an RSA certificate from the lab CA
(harness/hub/pki.py). A real NetX Duo 6.3 client offers exactly one suite and one
group — ECDHE-RSA-AES128-SHA256 with secp384r1 — so that pair must always
negotiate; the cipher list below keeps it (and the RSA key-exchange suites older
NetX Duo builds offer) next to the modern AEAD suites, and OpenSSL's default
group list already contains secp384r1 (``ssl.SSLContext`` cannot narrow groups
before Python 3.13, and must not: other clients offer only X25519/P-256).

X.509 device authentication is IoT Hub's: the client certificate is requested
(optional), checked against the lab CA, and the device is identified by the
certificate's thumbprint in the registry. Certificate *time* is not checked in
the handshake (X509_V_FLAG_NO_CHECK_TIME), so an expired device certificate
reaches the gateway, which refuses it with reason ``x509_expired`` — the
refusal is visible as a hub event (and an alert), not just a failed handshake.

Listener TLS config (JSON in the gateway config)::

    {"cert": "server.pem", "key": "server.key", "ca": "ca.pem", "client_cert": "optional" | "none"}
"""

from __future__ import annotations

import ssl
from pathlib import Path

from ..errors import InputError

# OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults)
SERVER_CIPHERS = ("ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE+AES:"
                  "RSA+AESGCM:RSA+AES:!aNULL:!eNULL:!MD5:!DSS:!PSK:!SRP:!CAMELLIA:!ARIA")
NETX_CIPHER = "ECDHE-RSA-AES128-SHA256"   # what NetX Duo 6.3 offers (TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256)
NETX_GROUP = "secp384r1"
X509_V_FLAG_NO_CHECK_TIME = 0x200000      # OpenSSL: do not check certificate validity dates


def server_context(config: dict) -> ssl.SSLContext:
    """An SSLContext for one gateway listener (config format in the module doc)."""
    for key in ("cert", "key"):
        if not config.get(key) or not Path(config[key]).exists():
            raise InputError(f"hub TLS listener: {key} file {config.get(key)!r} does not exist")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(SERVER_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.load_cert_chain(config["cert"], config["key"])
    mode = config.get("client_cert", "optional" if config.get("ca") else "none")
    if mode not in ("optional", "none"):
        raise InputError(f"hub TLS listener: client_cert must be optional or none, not {mode!r}")
    if mode == "optional":
        if not config.get("ca"):
            raise InputError("hub TLS listener: client_cert optional needs the CA (ca)")
        ctx.load_verify_locations(cafile=config["ca"])
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    return ctx


def client_context(ca: str | Path | None, *, cert: str | Path | None = None, key: str | Path | None = None,
                   netx: bool = False, check_hostname: bool = True) -> ssl.SSLContext:
    """A client context trusting the lab CA. ``netx``: offer only what NetX Duo 6.3 offers
    (TLS 1.2, ECDHE-RSA-AES128-SHA256; the group is narrowed by the caller where possible)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = check_hostname
    if ca:
        ctx.load_verify_locations(cafile=str(ca))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    if netx:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(NETX_CIPHER)
    return ctx
