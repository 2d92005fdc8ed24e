"""`wall collect` is a real headless process: it never imports Qt (a PySide6 that refuses to be
imported stands first on its path), polls its sources and publishes; a kiosk receives; SIGTERM
ends it cleanly."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.fleet.conftest import (
    Feeds,
    boot_kiosk,
    collector_env,
    collector_toml,
    kiosk_config,
    start_collect,
    until,
)
from tests.servers.nats import NatsFleet

ROOT = Path(__file__).resolve().parents[2]


async def test_wall_collect_publishes_headless_without_ever_importing_qt(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds
) -> None:
    feeds.add("news", "n1", "Publié par le collecteur")
    config = collector_toml(broker, tmp_path, feed=feeds.serve("news"))
    env = collector_env(broker, refuse_qt_in=tmp_path / "no-qt")
    log = tmp_path / "collector.log"
    process = start_collect(config, env, log)
    kiosk = await boot_kiosk(kiosk_config(broker, "lyon", tmp_path / "lyon"), tmp_path / "pictures")
    try:
        await until(lambda: kiosk.screen.ids("mention") == ["n1"] or process.poll() is not None, "published")
        assert process.poll() is None, log.read_text()
        assert kiosk.screen.ids("mention") == ["n1"]
    finally:
        await kiosk.stop()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output and "imported" not in output
    assert broker.credential("collector") not in output
