"""Tumbling time windows for the count rules.

Alignment: windows are aligned to the **epoch** in record time: a window of
size W covers ``[k*W, (k+1)*W)`` for integer k, where record time is the hub
record's ``t`` (the host time of receipt). Epoch alignment makes the windows
the same for every device and every replay of a recording, independent of
when a device first appeared.

Evaluation: the back end keeps a clock = the largest record ``t`` seen so far
(any record, any device). When the clock reaches a window's end, the window is
closed and evaluated; windows in which a tracked device had no event close with
a count of 0 (long gaps are capped at :data:`MAX_EMPTY_WINDOWS` evaluated
windows, the most recent ones). :meth:`WindowTracker.flush` (end of a replay,
SIGTERM) closes the windows still open.

Completeness: the **maximum** is checked on every closed window. The
**minimum** is checked only on *complete* windows: the device was already
known at the window's start (its first record is not inside the window), and
the window ran to its end (not cut short by a flush). A device that boots in
the middle of a window, or a replay that ends mid-window, cannot be blamed
for too few events there.

A record whose ``t`` is earlier than the current window's start (out of
order) is counted in the current window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

MAX_EMPTY_WINDOWS = 1000


@dataclass
class ClosedWindow:
    device_id: str
    metric: str            # the ruleType whose data this counts
    size: float
    start: float
    end: float
    count: int
    complete: bool         # the minimum may be checked


@dataclass
class _State:
    size: float
    start: float
    first_seen: float
    distinct: bool
    count: int = 0
    keys: set = field(default_factory=set)

    @property
    def end(self) -> float:
        return self.start + self.size

    def value(self) -> int:
        return len(self.keys) if self.distinct else self.count


def window_start(t: float, size: float) -> float:
    return math.floor(t / size) * size


class WindowTracker:
    """Counts per (device, metric, window size).

    ``windows_for(device_id) -> iterable of (metric, size, distinct)`` says which
    windows to keep for a device (from its group's enabled time-window rules);
    ``distinct`` metrics count distinct keys instead of events.
    """

    def __init__(self, windows_for: Callable[[str], Iterable[tuple[str, float, bool]]]):
        self._windows_for = windows_for
        self._states: dict[str, dict[tuple[str, float], _State]] = {}
        self._first_seen: dict[str, float] = {}
        self.clock: float | None = None
        self._next_deadline = math.inf

    def device_seen(self, device_id: str, t: float) -> None:
        if device_id in self._states:
            return
        self._first_seen[device_id] = t
        states = {}
        for metric, size, distinct in self._windows_for(device_id):
            st = _State(size, window_start(t, size), t, distinct)
            states[(metric, size)] = st
            self._next_deadline = min(self._next_deadline, st.end)
        self._states[device_id] = states

    def reconfigure(self) -> None:
        """The rules changed (groups or registry reloaded): give every known device the windows its
        group now asks for. Windows still wanted keep their counts; new ones start with the current
        window and count as started now, so their minimum is not checked on a partial window."""
        now = self.clock
        for device_id, states in self._states.items():
            wanted = {(m, size): distinct for m, size, distinct in self._windows_for(device_id)}
            for key in list(states):
                if key not in wanted:
                    del states[key]
            for (metric, size), distinct in wanted.items():
                if (metric, size) not in states:
                    t = now if now is not None else self._first_seen[device_id]
                    st = _State(size, window_start(t, size), t, distinct)
                    states[(metric, size)] = st
                    self._next_deadline = min(self._next_deadline, st.end)

    def add(self, device_id: str, metric: str, t: float, key=None) -> None:
        """Count one event (or one distinct ``key``) for every window of ``metric``."""
        self.device_seen(device_id, t)
        for (m, _), st in self._states[device_id].items():
            if m != metric:
                continue
            if st.distinct:
                st.keys.add(key)
            else:
                st.count += 1

    def _close(self, device_id, metric, st: _State, now: float, out: list, cut: bool) -> None:
        """Close windows of ``st`` that ended by ``now`` (and the open one when ``cut``)."""
        while st.end <= now:
            out.append(ClosedWindow(device_id, metric, st.size, st.start, st.end, st.value(),
                                    complete=st.first_seen <= st.start))
            st.count, st.keys = 0, set()
            nxt = st.end
            empty = math.floor((now - nxt) / st.size)     # whole empty windows before now
            if empty > MAX_EMPTY_WINDOWS:
                nxt += (empty - MAX_EMPTY_WINDOWS) * st.size
            st.start = nxt
        if cut and (st.start < now or st.value()):
            out.append(ClosedWindow(device_id, metric, st.size, st.start, st.end, st.value(),
                                    complete=False))
            st.count, st.keys = 0, set()

    def advance(self, now: float) -> list[ClosedWindow]:
        """Move the clock to ``now`` (never backwards); return the windows that closed."""
        if self.clock is None or now > self.clock:
            self.clock = now
        now = self.clock
        if now < self._next_deadline:
            return []
        out: list[ClosedWindow] = []
        deadline = math.inf
        for dev, states in self._states.items():
            for (metric, _), st in states.items():
                if st.end <= now:
                    self._close(dev, metric, st, now, out, cut=False)
                deadline = min(deadline, st.end)
        self._next_deadline = deadline
        out.sort(key=lambda w: (w.end, w.device_id, w.metric, w.size))
        return out

    def flush(self, now: float | None = None) -> list[ClosedWindow]:
        """Close everything: windows ended by ``now`` (default: the clock) as usual,
        and the open ones as incomplete (maximum checked only)."""
        if now is not None:
            out = self.advance(now)
        else:
            out = []
        now = self.clock
        if now is None:
            return out
        for dev, states in self._states.items():
            for (metric, _), st in states.items():
                self._close(dev, metric, st, now, out, cut=True)
        self._next_deadline = min((st.end for s in self._states.values() for st in s.values()),
                                  default=math.inf)
        out.sort(key=lambda w: (w.end, w.device_id, w.metric, w.size))
        return out

    def first_seen(self, device_id: str) -> float | None:
        return self._first_seen.get(device_id)
