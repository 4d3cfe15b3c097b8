"""Reproduce device issues: record a run, bundle it, replay it exactly, debug it with gdb.

- ``harness.replay.bundle``: the bundle format (write, load and validate, archive)
- ``harness.replay.replay``: replay a bundle without lab, broker or traffic; compare consoles;
  re-extract the security messages from the replayed device's frames
- ``harness.replay.pcap``: read a pcap, reassemble TCP, parse MQTT PUBLISH packets
- ``harness.replay.commands``: the ``record``, ``replay``, ``bundle`` and ``gdb`` CLI subcommands
See docs/reproduce.md.
"""
