"""Audience counters over time: change since the start of the day, a 7-day line, milestones (pure).

Days are the wall's local days (`[wall] timezone`): "today" for a lobby in Paris starts at midnight
in Paris. A counter's value for a day is the last one observed that day; `None` observations (an
API that hid the number) are skipped, so a hidden count never reads as a loss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from wall.core.model import Count, as_utc

SPARK_DAYS = 7
HISTORY_WINDOW = timedelta(days=SPARK_DAYS + 1)  # what the hub keeps: a week, plus yesterday's close


@dataclass(frozen=True, slots=True)
class Trend:
    """What a fans tile shows for one counter."""

    value: int | None  # the latest known value (None: never known in the window)
    today: int | None  # change since the end of yesterday (None: no value from before today)
    daily: tuple[int, ...]  # one value per day that has one, oldest first, today's last (at most 7)
    milestone: int | None  # a configured milestone crossed today, the highest one


def daily_values(history: Iterable[Count], zone: ZoneInfo) -> dict[date, int]:
    """The last known value of each local day."""
    days: dict[date, tuple[datetime, int]] = {}
    for count in history:
        if count.value is None:
            continue
        day = as_utc(count.observed_at).astimezone(zone).date()
        seen = days.get(day)
        if seen is None or count.observed_at >= seen[0]:
            days[day] = (count.observed_at, count.value)
    return {day: value for day, (_, value) in sorted(days.items())}


def trend(
    latest: Count,
    history: Sequence[Count],
    *,
    now: datetime,
    zone: ZoneInfo,
    milestones: Sequence[int] = (),
) -> Trend:
    """The trend of one counter from its recent observations (any order, `latest` included or not)."""
    days = daily_values([*history, latest], zone)
    today = as_utc(now).astimezone(zone).date()
    first_day = today - timedelta(days=SPARK_DAYS - 1)
    value = latest.value if latest.value is not None else (days[max(days)] if days else None)
    before = [day for day in days if day < today]
    baseline = days[max(before)] if before else None
    change = value - baseline if value is not None and baseline is not None else None
    crossed = [m for m in milestones if value is not None and baseline is not None and baseline < m <= value]
    return Trend(
        value=value,
        today=change,
        daily=tuple(v for day, v in days.items() if first_day <= day <= today),
        milestone=max(crossed) if crossed else None,
    )


def daily_history(history: dict[str, list[Count]], zone: ZoneInfo) -> dict[str, list[Count]]:
    """Each counter's history reduced to the last known observation of each local day (what the
    trends need), so the hub holds a handful of values per counter instead of a week of polls."""
    reduced: dict[str, list[Count]] = {}
    for key, counts in history.items():
        last: dict[date, Count] = {}
        for count in counts:
            if count.value is None:
                continue
            day = as_utc(count.observed_at).astimezone(zone).date()
            if day not in last or count.observed_at >= last[day].observed_at:
                last[day] = count
        reduced[key] = [last[day] for day in sorted(last)]
    return reduced
