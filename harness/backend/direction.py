"""Direction of a NetworkActivity record, and what counts as an active connection.

A record has no direction field: the module merges both directions of a
5-tuple into one record (``bytes_in``/``bytes_out``). The back end infers the
direction with this rule (the spec leaves it open, §7):

TCP and UDP — find the **server** side:

1. A port is a *service port* if it is below 1024 or in the configured
   service-port set (default :data:`DEFAULT_SERVICE_PORTS`: MQTT 1883/8883,
   CoAP 5683/5684, HTTP alternates 8080/8443, AMQP 5671/5672).
2. If exactly one side has a service port, that side is the server.
3. Otherwise (both or neither) the side with the **lower** port is the server
   (ephemeral client ports are high).
4. If the ports are equal (e.g. NTP 123 <-> 123, or both 0) the direction is
   undetermined: ``BOTH``.

Remote side is the server → ``OUTBOUND`` (the device connected out;
ConnectionToIpNotAllowed applies). Local side is the server → ``INBOUND``
(someone connected to the device; ConnectionFromIpNotAllowed applies).

ICMP (ports are 0) — by the byte counters of the merged record:
``bytes_out > 0`` and ``bytes_in == 0`` → ``OUTBOUND``; ``bytes_in > 0`` and
``bytes_out == 0`` → ``INBOUND``; both non-zero (an echo and its reply in the
same 10-s window: either side may have started it) or both zero → ``BOTH``.

``BOTH`` means "cannot tell": the record is checked against the rules of both
directions, so a peer that is allowed in neither list never slips through
unreported; the price is that a peer allowed only in one direction can raise
the other direction's alert for such a record. The recommendation about
accepting inbound connections uses only clear ``INBOUND`` TCP/UDP records.

Active connection: a distinct (protocol, local address, local port, remote
address, remote port) 5-tuple seen in NetworkActivity records during the time
window, whatever its direction and byte counts. The module reports one record
per 5-tuple per 10-s collection, so a long-lived flow counts once per window.
"""

from __future__ import annotations

from enum import Enum

DEFAULT_SERVICE_PORTS = frozenset({1883, 8883, 5683, 5684, 8080, 8443, 5671, 5672})


class Direction(str, Enum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"
    BOTH = "both"

    @property
    def is_outbound(self) -> bool:
        return self in (Direction.OUTBOUND, Direction.BOTH)

    @property
    def is_inbound(self) -> bool:
        return self in (Direction.INBOUND, Direction.BOTH)


def _proto_name(protocol) -> str:
    name = getattr(protocol, "name", None)
    if name:
        return name.upper()
    if isinstance(protocol, int):
        return {0: "TCP", 1: "UDP", 2: "ICMP"}.get(protocol, str(protocol))
    return str(protocol).upper()


def infer_direction(protocol, local_port: int, remote_port: int, bytes_in: int = 0,
                    bytes_out: int = 0, service_ports=DEFAULT_SERVICE_PORTS) -> Direction:
    """Apply the rule in the module docstring."""
    if _proto_name(protocol) == "ICMP":
        if bytes_out > 0 and bytes_in == 0:
            return Direction.OUTBOUND
        if bytes_in > 0 and bytes_out == 0:
            return Direction.INBOUND
        return Direction.BOTH
    if local_port == remote_port:
        return Direction.BOTH
    local_svc = local_port < 1024 or local_port in service_ports
    remote_svc = remote_port < 1024 or remote_port in service_ports
    if remote_svc and not local_svc:
        return Direction.OUTBOUND
    if local_svc and not remote_svc:
        return Direction.INBOUND
    return Direction.OUTBOUND if remote_port < local_port else Direction.INBOUND


def record_direction(rec, service_ports=DEFAULT_SERVICE_PORTS) -> Direction:
    """Direction of a decoded ConnectionRecord (duck-typed)."""
    return infer_direction(rec.protocol, rec.local_port, rec.remote_port,
                           rec.bytes_in, rec.bytes_out, service_ports)


def connection_key(rec) -> tuple:
    """The 5-tuple that identifies an active connection."""
    return (_proto_name(rec.protocol), str(rec.local_address), rec.local_port,
            str(rec.remote_address), rec.remote_port)
