"""QEMU testbed for RTOS IoT security modules.

The pieces, in the order a test meets them: a target (board facts), a device
(QEMU + its console), a lab (isolated network), a hub (MQTT broker speaking
IoT Hub's dialect, plus a recorder), the security-message decoder, the
Defender-like back end, traffic generators, and Robot Framework keywords.
"""

__version__ = "0.1.0"
