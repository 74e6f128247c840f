"""Time, injected: the engine never reads the wall clock itself.

Deadlines, reminders, escalations and retry back-off are all measured on the clock the
engine is given, so a test or a simulation runs months of process time in
milliseconds with a :class:`ManualClock`, and production passes :class:`SystemClock`.
Times are seconds (POSIX time for the system clock).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> float:
        if when < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = float(when)
        return self._now


__all__ = ["Clock", "ManualClock", "SystemClock"]
