"""Opening hours, holidays and time-of-day playlists (pure, Qt-free; the runtime applies them).

`[schedule]` in the config (see `ScheduleSettings`):
- `monday` ... `sunday`: the hours the wall is on, as "HH:MM-HH:MM" ranges. When no weekday is
  given the wall is always on; when some are, a day not given is closed. `[]` closes that day.
- `holidays`: dates ("2026-12-25") the wall stays off all day.
- `playlists`: panels shown at some hours (e.g. the internal news at lunch time), per screen.
Outside opening hours the wall shows black (or the clock), stops polling, and may run a command
that turns the display off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wall.core.model import as_utc

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_RANGE = re.compile(r"^\s*([0-2]?\d):([0-5]\d)\s*-\s*([0-2]?\d):([0-5]\d)\s*$")
MAX_WAIT = timedelta(minutes=1)  # the schedule is looked at again at least this often (clock changes)

Span = tuple[time, time | None]  # None: until midnight ("24:00")


def parse_range(text: str) -> Span:
    """'07:30-19:30' -> (07:30, 19:30); '18:00-24:00' ends at midnight; ValueError with the fix."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time range: write it like '07:30-19:30'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r} has an hour out of range: use 00:00 to 24:00")
    start = time(h1, m1)
    end = None if h2 == 24 else time(h2, m2)
    if end is not None and end <= start:
        raise ValueError(
            f"{text!r} ends before it starts: a range must end the same day "
            "(split a night into '20:00-24:00' and '00:00-02:00')"
        )
    return start, end


class PlaylistSettings(BaseModel):
    """One `[[schedule.playlists]]` entry: panels shown at some hours instead of the usual ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: str = Field(description="When, e.g. '11:30-14:00'")
    days: list[Weekday] = Field(default_factory=list, description="Which weekdays; empty means every day")
    panels: list[int] = Field(min_length=1, description="Indexes into [[panels]] shown during those hours")
    screens: list[int] = Field(
        default_factory=list, description="Indexes into [[screens]] concerned; empty means every screen"
    )

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        parse_range(value)
        return value


class ScheduleSettings(BaseModel):
    """The `[schedule]` table: when the wall is on, and what it shows when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monday: list[str] | None = Field(None, description="Opening hours on Mondays, e.g. ['07:30-19:30']")
    tuesday: list[str] | None = None
    wednesday: list[str] | None = None
    thursday: list[str] | None = None
    friday: list[str] | None = None
    saturday: list[str] | None = None
    sunday: list[str] | None = None
    holidays: list[date] = Field(default_factory=list, description="Days off, e.g. ['2026-12-25']")
    outside_hours: Literal["black", "clock"] = Field(
        "black", description="What the screens show when closed: black, or a calm clock"
    )
    display_off: list[str] = Field(
        default_factory=list,
        description="Command run when the wall closes, e.g. ['wlr-randr', '--output', 'HDMI-A-1', '--off']",
    )
    display_on: list[str] = Field(
        default_factory=list, description="Command run when the wall opens again (the same, with '--on')"
    )
    playlists: list[PlaylistSettings] = Field(default_factory=list)

    @field_validator("holidays", mode="before")
    @classmethod
    def _check_holidays(cls, values: object) -> object:
        if not isinstance(values, list):
            return values
        days: list[object] = []
        for value in values:
            if isinstance(value, str):
                try:
                    value = date.fromisoformat(value.strip())
                except ValueError:
                    raise ValueError(f"{value!r} is not a date: write it like '2026-12-25'") from None
            days.append(value)
        return days

    @field_validator(*WEEKDAYS)
    @classmethod
    def _check_ranges(cls, value: list[str] | None) -> list[str] | None:
        for text in value or []:
            parse_range(text)
        return value

    def hours_of(self, weekday: int) -> list[str] | None:
        """The configured ranges of a weekday (0 = Monday), None when not given."""
        hours: list[str] | None = getattr(self, WEEKDAYS[weekday])
        return hours


@dataclass(frozen=True, slots=True)
class Playlist:
    """A resolved `[[schedule.playlists]]` entry."""

    span: Span
    days: frozenset[int]  # empty: every day
    panels: tuple[int, ...]
    screens: frozenset[int]  # empty: every screen


def _within(span: Span, moment: time) -> bool:
    start, end = span
    return start <= moment and (end is None or moment < end)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the wall is on and which panels each screen shows, in the wall's time zone."""

    zone: ZoneInfo
    days: Mapping[int, tuple[Span, ...]] | None = None  # None: always on
    holidays: frozenset[date] = frozenset()
    playlists: tuple[Playlist, ...] = ()

    @classmethod
    def from_settings(cls, settings: ScheduleSettings | None, zone: ZoneInfo) -> Schedule:
        """The schedule `[schedule]` describes (always on when absent)."""
        if settings is None:
            return cls(zone)
        given = {day: settings.hours_of(day) for day in range(7)}
        days = None
        if any(hours is not None for hours in given.values()):
            days = {day: tuple(parse_range(t) for t in hours or []) for day, hours in given.items()}
        playlists = tuple(
            Playlist(
                span=parse_range(p.hours),
                days=frozenset(WEEKDAYS.index(d) for d in p.days),
                panels=tuple(p.panels),
                screens=frozenset(p.screens),
            )
            for p in settings.playlists
        )
        return cls(zone, days, frozenset(settings.holidays), playlists)

    def local(self, now: datetime) -> datetime:
        """`now` in the wall's time zone."""
        return as_utc(now).astimezone(self.zone)

    def is_open(self, now: datetime) -> bool:
        """True while the wall should be on."""
        moment = self.local(now)
        if moment.date() in self.holidays:
            return False
        if self.days is None:
            return True
        return any(_within(span, moment.time()) for span in self.days.get(moment.weekday(), ()))

    def playlist(self, now: datetime, screen: int) -> tuple[int, ...] | None:
        """The panels `screen` shows now when a playlist applies (the first that matches), else None."""
        moment = self.local(now)
        for entry in self.playlists:
            if entry.screens and screen not in entry.screens:
                continue
            if entry.days and moment.weekday() not in entry.days:
                continue
            if _within(entry.span, moment.time()):
                return entry.panels
        return None

    def next_check(self, now: datetime) -> datetime:
        """When to look again: the next range boundary today, midnight, or at most MAX_WAIT away."""
        moment = self.local(now)
        boundaries: list[time] = []
        spans: Sequence[Span] = [
            *(s for spans in (self.days or {}).values() for s in spans),
            *(p.span for p in self.playlists),
        ]
        for start, end in spans:
            boundaries.append(start)
            if end is not None:
                boundaries.append(end)
        later = [b for b in boundaries if b > moment.time()]
        if later:
            target = datetime.combine(moment.date(), min(later), tzinfo=self.zone)
        else:
            target = datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=self.zone)
        return min(as_utc(target), as_utc(now) + MAX_WAIT)
