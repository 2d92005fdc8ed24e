"""Clocks the test moves by hand (time is injected everywhere: nothing sleeps to wait for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NOW = datetime(2025, 6, 3, 12, 30, tzinfo=UTC)  # 14:30 in Paris (summer time), the widgets' reference time


def ago(*, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    """The time that long before `NOW`: `ago(minutes=5)` is when a fresh post was written."""
    return NOW - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class SteppedClock:
    """A wall clock (aware UTC datetimes) that returns `now` until the test moves it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move the clock forward by `seconds` (or `minutes=`, `hours=`, `days=`); returns the new time."""
        self.now += timedelta(seconds=seconds, **delta)
        return self.now


@dataclass
class MonotonicClock:
    """A monotonic clock (seconds as a float, like `time.monotonic`) that the test steps by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeper:
    """An injected `asyncio.sleep`: remembers each wait and steps `clock` by it instead of waiting."""

    clock: MonotonicClock
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds
