"""Counters over time: today's change in the wall's time zone, the week's line, milestones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from wall.core.model import Batch, Count
from wall.engine.counts import Trend, daily_history, trend
from wall.engine.store import Store

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 16:00 in Paris


def seen(value: int | None, at: datetime) -> Count:
    return Count(source="ig", network="instagram", account="brand", value=value, observed_at=at)


def days_ago(days: int, hour: int = 12) -> datetime:
    return (NOW - timedelta(days=days)).replace(hour=hour)


def test_change_today_counts_from_the_end_of_yesterday_in_the_walls_time_zone() -> None:
    history = [
        seen(199_000, days_ago(1, 10)),
        seen(
            199_100,
            days_ago(
                1,
                22,
            )
            - timedelta(minutes=30),
        ),  # 22:30 UTC = 23:30 in Paris: yesterday
        seen(199_150, days_ago(0, 0) - timedelta(minutes=30)),  # 23:30 UTC = 00:30 in Paris: today
    ]
    result = trend(seen(200_304, NOW), history, now=NOW, zone=PARIS)
    assert result.value == 200_304
    assert result.today == 200_304 - 199_100
    # In UTC the 00:30 observation would still be "yesterday": the change would read differently.
    assert trend(seen(200_304, NOW), history, now=NOW, zone=ZoneInfo("UTC")).today == 200_304 - 199_150


def test_the_week_line_has_one_value_per_day_and_skips_hidden_counts() -> None:
    history = [seen(100 + d, days_ago(9 - d)) for d in range(10)]  # ten days, oldest first
    history.append(seen(None, days_ago(2, 18)))  # the API hid the number that evening
    result = trend(seen(200, NOW), history, now=NOW, zone=PARIS)
    assert result.daily == (103, 104, 105, 106, 107, 108, 200)  # the last 7 days, today's value last


def test_a_hidden_count_shows_the_last_known_value_and_no_change() -> None:
    history = [seen(5_000, days_ago(1)), seen(5_020, days_ago(0, 9))]
    result = trend(seen(None, NOW), history, now=NOW, zone=PARIS)
    assert result == Trend(value=5_020, today=20, daily=(5_000, 5_020), milestone=None)
    assert trend(seen(None, NOW), [], now=NOW, zone=PARIS) == Trend(None, None, (), None)


def test_no_change_is_claimed_without_a_value_from_before_today() -> None:
    result = trend(seen(1_000, NOW), [seen(900, days_ago(0, 8))], now=NOW, zone=PARIS)
    assert result.today is None


def test_a_milestone_is_celebrated_the_day_it_is_crossed() -> None:
    yesterday = [seen(199_950, days_ago(1))]
    crossed = trend(seen(200_010, NOW), yesterday, now=NOW, zone=PARIS, milestones=[100_000, 200_000])
    assert crossed.milestone == 200_000
    not_yet = trend(seen(199_990, NOW), yesterday, now=NOW, zone=PARIS, milestones=[200_000])
    assert not_yet.milestone is None
    old_news = [seen(200_100, days_ago(1))]
    assert trend(seen(200_200, NOW), old_news, now=NOW, zone=PARIS, milestones=[200_000]).milestone is None
    # Crossing two at once celebrates the higher one.
    jump = trend(seen(310_000, NOW), yesterday, now=NOW, zone=PARIS, milestones=[250_000, 300_000])
    assert jump.milestone == 300_000


def test_daily_history_keeps_the_last_known_value_of_each_day() -> None:
    polls = [seen(100 + i, days_ago(1, 0) + timedelta(minutes=10 * i)) for i in range(100)]
    polls += [seen(None, days_ago(0, 9)), seen(500, days_ago(0, 8))]
    reduced = daily_history({"k": polls}, PARIS)
    assert [(c.value, c.observed_at) for c in reduced["k"]] == [
        (199, polls[99].observed_at),
        (500, days_ago(0, 8)),
    ]


def test_store_records_a_sudden_zero_as_unknown(tmp_path: Path) -> None:
    store = Store(tmp_path / "wall.sqlite3")
    store.apply("ig", Batch(counts=(seen(0, days_ago(3)),)), now=NOW)
    assert store.latest_counts()[0].value == 0  # a new account may really have no follower
    store.apply("ig", Batch(counts=(seen(180_000, days_ago(2)),)), now=NOW)
    store.apply("ig", Batch(counts=(seen(0, days_ago(1)),)), now=NOW)
    assert store.latest_counts()[0].value is None
    store.apply("ig", Batch(counts=(seen(180_020, NOW),)), now=NOW)
    values = [c.value for c in store.count_history(NOW - timedelta(days=8))["ig:instagram:brand:followers"]]
    assert values == [0, 180_000, None, 180_020]
    store.close()


def test_store_reduces_the_history_to_days_as_daily_history_does(tmp_path: Path) -> None:
    store = Store(tmp_path / "wall.sqlite3")
    start = NOW - timedelta(days=9, hours=3)
    for step in range(9 * 24 * 3):  # every 20 minutes, across local midnights, some hidden values
        at = start + timedelta(minutes=20 * step, seconds=0.25)
        counts = (
            seen(None if step % 7 == 3 else 1_000 + step, at),
            Count("yt", "youtube", "chan", None, at, metric="subscribers"),  # never known
        )
        store.apply("ig", Batch(counts=counts), now=NOW)
    since = NOW - timedelta(days=8)
    expected = daily_history(store.count_history(since), PARIS)
    reduced = store.daily_count_history(since, PARIS)
    assert reduced == expected
    assert list(reduced) == list(expected) and reduced["yt:youtube:chan:subscribers"] == []
    assert len(reduced["ig:instagram:brand:followers"]) == 9
    store.close()
