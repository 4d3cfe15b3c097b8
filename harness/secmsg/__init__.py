"""Security messages of the Azure RTOS / NetX Duo security module (schema 2.3).

* :func:`decode` turns a message body into a :class:`SecurityMessage` (verified
  first; hostile input gives :class:`DecodeError`, the pre-6.1 JSON preview gives
  :class:`LegacyJsonPreview`).
* :func:`is_security_message` tells from a hub property bag whether a D2C message
  is one; the wire constants are exported too.
* :func:`render_text` / :func:`render_html` give readable tables.
* ``harness.secmsg.vectors`` builds messages the way the module does, and holds the
  canonical test vectors; ``harness.secmsg.generate`` runs flatc on the schema.

Importing this package does not need flatc; the generated accessors are produced
on first decode/build (or by ``python -m harness.secmsg.generate``).
"""

import importlib

from .decode import decode
from .errors import DecodeError, LegacyJsonPreview, SchemaCompileError, SpecError
from .model import (MODULE_ID, MODULE_VERSION, MTI, SECURITY_INTERFACE_ID,
                    SECURITY_PROPERTY_BAG, ConnectionRecord, Event, Heartbeat,
                    NetworkActivity, OpaquePayload, PayloadType, Protocol, SecurityMessage,
                    SystemInformation, is_security_message, version_raw, version_tuple)
from .render import render_html, render_text

__all__ = [
    "decode", "is_security_message", "render_text", "render_html",
    "DecodeError", "LegacyJsonPreview", "SchemaCompileError", "SpecError",
    "SecurityMessage", "Event", "PayloadType", "NetworkActivity", "ConnectionRecord",
    "Protocol", "SystemInformation", "Heartbeat", "OpaquePayload",
    "version_tuple", "version_raw",
    "SECURITY_INTERFACE_ID", "MTI", "MODULE_ID", "MODULE_VERSION", "SECURITY_PROPERTY_BAG",
]

_LAZY_SUBMODULES = ("vectors", "generate", "verify")


def __getattr__(name):
    # Submodules that are also run with `python -m` are imported on first use only,
    # so runpy does not find them already imported.
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
