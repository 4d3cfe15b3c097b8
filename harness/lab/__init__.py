"""The lab network: namespaces, bridge, taps, lab hosts and services."""

from .lab import Lab, LabHost
from .netns import privileged_lab_available

__all__ = ["Lab", "LabHost", "privileged_lab_available"]
