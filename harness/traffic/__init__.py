"""Traffic drivers: benign and malicious traffic from lab hosts, run inside the lab.

Generators (generators.py) run in the lab's network namespace through the
runner (``python -m harness.traffic.run``); every one is bounded in packets
and time. Profiles (profiles.py) are data files that sequence them.
"""

from .driver import TrafficDriver, TrafficResult

__all__ = ["TrafficDriver", "TrafficResult"]
