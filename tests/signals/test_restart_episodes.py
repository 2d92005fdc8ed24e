"""An episode survives a restart: a wall restarted while a signal is in alert does not alert comms a
second time for it, and still sends its one "over" when the signal falls back, even when the wall
was down for longer than the cooldown. The episodes are read back from the alert journal in the
store (the same SQLite file), as a restarted wall would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.signals.weeks import SHOWN, post
from wall.core.model import Batch
from wall.engine.config import WallConfig, parse_config
from wall.engine.services import open_store
from wall.engine.signals.journal import AlertJournal
from wall.engine.signals.watch import SignalWatch
from wall.engine.store import Store

T0 = datetime(2026, 11, 9, 14, 50, tzinfo=UTC)


async def on_this_thread(func: Callable[..., Any], *args: Any) -> Any:
    """The engine's store thread, played by the test's own thread."""
    return func(*args)


class Clock:
    """The wall's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def config_in(tmp_path: Path) -> WallConfig:
    """A wall watching the word "boycott" (it alerts at once), with the default 60 min cooldown."""
    return parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [{"name": "feed", "type": "rss", "url": "http://127.0.0.1:9/feed"}],
            "signals": {"enabled": True, "watch_words": ["boycott"], "tone": False},
        },
        env={},
    )


async def checks(watch: SignalWatch, clock: Clock, *moments: datetime) -> list[tuple[str, str]]:
    """(state, episode) of every alert and "over" the checks at `moments` send."""
    sent: list[tuple[str, str]] = []
    for moment in moments:
        clock.now = moment
        sent += [(alert.state, alert.episode) for alert in await watch.check()]
    return sent


async def first_run_alerts(store: Store, config: WallConfig, clock: Clock) -> SignalWatch:
    """The wall before its restart: a post with a watch word is stored, and comms are alerted."""
    watch = SignalWatch(config, store, on_this_thread, clock=clock)
    batch = Batch(posts=(post(1, T0 - timedelta(minutes=5), "Boycott du magasin de Lyon"),))
    store.apply("feed", batch)
    watch.observe("feed", batch, {batch.posts[0].key: SHOWN})
    assert await checks(watch, clock, T0) == [("alert", "watch_word:boycott")]
    return watch


def journal(store: Store) -> list[tuple[str, str]]:
    """What the page lists: every kept alert and "over", oldest first."""
    return [(k.alert.state, k.alert.episode) for k in reversed(AlertJournal(store).alerts())]


async def test_a_restart_during_an_episode_neither_alerts_again_nor_loses_its_over(tmp_path: Path) -> None:
    config, clock = config_in(tmp_path), Clock(T0)
    store = open_store(config)
    await (await first_run_alerts(store, config, clock)).stop()

    restarted = SignalWatch(config, store, on_this_thread, clock=clock)
    # The post is still in this clock hour: the episode goes on, and comms hear nothing new.
    still_on = await checks(restarted, clock, T0 + timedelta(minutes=5))
    # The next hours are quiet: after the cooldown, the episode ends with one "over", and only one.
    falls_back = await checks(restarted, clock, *(T0 + timedelta(minutes=15 + 5 * n) for n in range(30)))
    await restarted.stop()

    assert still_on == []
    assert falls_back == [("over", "watch_word:boycott")]
    assert journal(store) == [("alert", "watch_word:boycott"), ("over", "watch_word:boycott")]
    store.close()


async def test_a_wall_down_for_longer_than_the_cooldown_still_sends_the_over_once(tmp_path: Path) -> None:
    config, clock = config_in(tmp_path), Clock(T0)
    store = open_store(config)
    first = await first_run_alerts(store, config, clock)
    # The signal falls back; the wall stops before the cooldown ends, and stays down for 3 hours.
    assert await checks(first, clock, T0 + timedelta(minutes=15)) == []
    await first.stop()

    restarted = SignalWatch(config, store, on_this_thread, clock=clock)
    after = await checks(restarted, clock, *(T0 + timedelta(hours=3, minutes=5 * n) for n in range(30)))
    await restarted.stop()
    # And a second restart after the "over" finds no episode left to end.
    again = SignalWatch(config, store, on_this_thread, clock=clock)
    later = await checks(again, clock, T0 + timedelta(hours=6), T0 + timedelta(hours=8))
    await again.stop()

    assert after == [("over", "watch_word:boycott")]
    assert later == []
    assert journal(store) == [("alert", "watch_word:boycott"), ("over", "watch_word:boycott")]
    store.close()
