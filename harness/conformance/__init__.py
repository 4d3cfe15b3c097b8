"""Conformance checks of a device's security messages against the real module's
behaviour (shared/spec/security-module.md): the wire (pcap) as the oracle for
network activity, and structural rules every message must follow."""
