"""Threat intelligence: IP indicator feeds and a longest-prefix-match index.

* :mod:`.addr` — strict, fast address/CIDR parsing to ints.
* :mod:`.index` — the immutable interval-array index (most specific match).
* :mod:`.parsers` — list, CSV, STIX bundle and STIX observable parsers.
* :mod:`.feeds` — feed config, loading, change polling and atomic swaps.
"""

from .feeds import DEFAULT_CONFIDENCE, FeedConfig, ThreatIntel, load_feed_config
from .index import Index, Match
from .parsers import FORMATS, FeedData

__all__ = ["DEFAULT_CONFIDENCE", "FORMATS", "FeedConfig", "FeedData", "Index", "Match",
           "ThreatIntel", "load_feed_config"]
