"""`wall run` with [fleet] is a kiosk: it polls nothing, receives its site's posts into its SQLite
store (what it shows after a reboot without the broker), and stops cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import ROOT, Feeds, collector_config, hq_kiosk, poll_all, run_hq_kiosk
from tests.servers.nats import NatsFleet, make_fleet
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


MODULES = r"""
import json, sys
from PySide6.QtCore import QTimer
from wall.engine.config import load_config
from wall.shell.runtime import WallRuntime

runtime = WallRuntime(load_config(sys.argv[1]), exit_after=4)
seen = {}
QTimer.singleShot(3000, lambda: seen.update(modules=sorted(n for n, m in sys.modules.items() if m)))
runtime.run()
print(json.dumps(seen))
"""


def test_a_kiosk_carries_no_http_stack_and_no_networks_adapter(tmp_path: Path) -> None:
    # A kiosk polls nothing and reaches nothing but the NATS servers: httpx and the sixteen networks'
    # parsers would only weigh on it (issue 16: a kiosk weighs no more than a standalone wall).
    broker = make_fleet(tmp_path, ("hq/hall-1",))  # never started: the kiosk boots with it away
    config, env = hq_kiosk(broker, tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", MODULES, str(config)],
        capture_output=True,
        text=True,
        env=env | {"QT_QPA_PLATFORM": "offscreen"},
        cwd=ROOT,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])["modules"]
    assert "wall.engine.fleet.receiver" in modules  # it ran as a kiosk
    packages = {name.split(".")[0] for name in modules}
    assert {"httpx", "httpcore", "anyio", "h11", "feedparser"} & packages == set()
    assert [m for m in modules if m.startswith("sources.")] == ["sources.contract", "sources.registry"]
