"""The detector's week of baselines survives a restart even when the store kept only its last 50
posts: the detector keeps its own compact copy (`signals.sqlite3`), so a spike right after a
restart alerts as it would have before."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Any

from tests.signals.weeks import DAYS, SHOWN, burst, office_rate, week
from wall.core.model import Batch
from wall.engine.config import parse_config
from wall.engine.services import open_store
from wall.engine.signals.watch import SignalWatch

NOW = datetime(2026, 11, 9, 14, 50, tzinfo=UTC)


async def on_this_thread(func: Callable[..., Any], *args: Any) -> Any:
    """The engine's store thread, played by the test's own thread."""
    return func(*args)


async def test_a_spike_after_a_restart_alerts_although_the_store_kept_only_50_posts(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state"), "max_posts_per_source": 50},
            "sources": [{"name": "feed", "type": "rss", "url": "http://127.0.0.1:9/feed"}],
            "signals": {"enabled": True, "min_count": 10, "tone": False},
        },
        env={},
    )
    store = open_store(config)
    start = NOW.replace(minute=0) - timedelta(days=DAYS)
    this_hour = NOW.replace(minute=0)
    quiet = [p for p, _ in week(lambda d, h: office_rate(h), start=start) if p.created_at < this_hour]
    first_run = SignalWatch(config, store, on_this_thread, clock=lambda: NOW)
    for _, posts in groupby(quiet, key=lambda p: p.created_at.replace(minute=0, second=0, microsecond=0)):
        batch = Batch(posts=tuple(posts))  # one poll an hour, as the wall stored them
        store.apply("feed", batch)
        first_run.observe("feed", batch, {})
    await first_run.stop()
    assert store.post_count("feed") == 50 < len(quiet)

    restarted = SignalWatch(config, store, on_this_thread, clock=lambda: NOW)
    spike = Batch(posts=tuple(p for p, _ in burst(DAYS, 0, 40, "Rappel des freins", SHOWN, 9000, start)))
    store.apply("feed", spike)
    restarted.observe("feed", spike, {})
    alerts = await restarted.check()
    await restarted.stop()
    store.close()

    assert [(a.signal, a.state, a.at) for a in alerts] == [("volume", "alert", NOW)]
    assert alerts[0].baseline < 10 < alerts[0].threshold < alerts[0].observed
