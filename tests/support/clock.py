"""A clock the test moves by hand (time is injected everywhere: nothing sleeps to wait for it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class SteppedClock:
    """Returns `now` until the test moves it (`advance`, or `now = ...`)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move the clock forward by `seconds` (or `minutes=`, `hours=`, `days=`); returns the new time."""
        self.now += timedelta(seconds=seconds, **delta)
        return self.now
