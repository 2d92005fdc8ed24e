"""`wall run` with [fleet] is a kiosk: it polls nothing, receives its site's posts into its SQLite
store (what it shows after a reboot without the broker), and stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, collector_config, credentials_env, poll_all
from tests.servers.nats import NatsFleet
from wall.engine.fleet.layout import kiosk_user
from wall.engine.store import Store

ROOT = Path(__file__).resolve().parents[2]
KIOSK_TOML = """
[storage]
state_dir = "{state}"

[fleet]
servers = {servers}
site = "hq"
screen = "hall-1"
ca_file = "{ca}"
"""


async def test_wall_run_with_a_fleet_table_stores_what_its_site_receives(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("rse-hq", "i1", "Pot de départ vendredi")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    config = tmp_path / "kiosk.toml"
    servers = "[" + ", ".join(f'"{s}"' for s in broker.servers) + "]"
    config.write_text(KIOSK_TOML.format(state=tmp_path / "kiosk", servers=servers, ca=broker.files.ca))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
    env |= credentials_env(broker, kiosk_user("hq", "hall-1"))
    done = subprocess.run(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config), "--windowed", "--exit-after", "4"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert broker.credential(kiosk_user("hq", "hall-1")) not in done.stdout + done.stderr
    store = Store(tmp_path / "kiosk" / "wall.sqlite3", read_only=True)
    try:
        assert [p.id for p in store.recent_posts("internal")] == ["i1"]
    finally:
        store.close()
