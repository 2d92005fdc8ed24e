"""`wall run` with [fleet] is a kiosk: it polls nothing, receives its site's posts into its SQLite
store (what it shows after a reboot without the broker), and stops cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, collector_config, poll_all, run_hq_kiosk
from tests.servers.nats import NatsFleet
from wall.engine.fleet.layout import kiosk_user
from wall.engine.store import Store


async def test_wall_run_with_a_fleet_table_stores_what_its_site_receives(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("rse-hq", "i1", "Pot de départ vendredi")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    done = run_hq_kiosk(broker, tmp_path, 4)
    assert broker.credential(kiosk_user("hq", "hall-1")) not in done.stdout + done.stderr
    store = Store(tmp_path / "kiosk" / "wall.sqlite3", read_only=True)
    try:
        assert [p.id for p in store.recent_posts("internal")] == ["i1"]
    finally:
        store.close()
