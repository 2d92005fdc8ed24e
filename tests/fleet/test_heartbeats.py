"""Seeing a kiosk from the collector (issue 16): a real `wall run` kiosk sends heartbeats (its last
painted frame, what it shows, version, uptime, memory) and a JPEG of its screen, which the collector
keeps (the list across its own restart) and its page serves; `wall status` on the kiosk says
whether the fleet link is up or down, and since when."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fleet.conftest import Feeds, collector_config, hq_kiosk, poll_all, until
from tests.fleet.page_client import collector_page, with_page
from tests.servers.nats import NatsFleet
from wall import __version__
from wall.core.model import utcnow
from wall.engine.fleet.layout import kiosk_user

ROOT = Path(__file__).resolve().parents[2]


def wall_status(config: Path, env: dict[str, str]) -> str:
    """What `wall status` prints on the kiosk."""
    done = subprocess.run(
        [sys.executable, "-m", "wall.cli", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_running_kiosk_is_seen_on_the_collectors_page_and_says_when_its_link_is_down(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("news", "n1", "Bienvenue au siège")
    config = with_page(collector_config(broker, tmp_path / "c", feeds))
    collector = await collector_for(config)
    await poll_all(collector)
    kiosk_toml, env = hq_kiosk(broker, tmp_path)
    log = tmp_path / "kiosk.log"
    with log.open("wb") as out:
        kiosk = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "run", "--config", str(kiosk_toml), "--windowed"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:

        def seen() -> bool:
            return any(
                s.name == "hq/hall-1" and s.screenshot_at is not None for s in collector.watch.screens()
            )

        await until(lambda: seen() or kiosk.poll() is not None, "a heartbeat and a screenshot", 60)
        assert kiosk.poll() is None, log.read_text()
        (screen,) = collector.watch.screens()
        now = utcnow()
        assert screen.state(now) == "ok"
        assert screen.beat.last_frame is not None and (now - screen.beat.last_frame).total_seconds() < 60
        assert screen.beat.version == __version__ and screen.beat.memory_mb > 0
        assert screen.beat.panel not in ("", "nothing")
        async with collector_page(collector, config) as page:
            shown = await page.read("/fleet")
            assert "hq/hall-1" in shown and "En service" in shown and "ALERTE" not in shown
            picture = await page.http.get("/fleet/screens/hq/hall-1.jpg")
            assert picture.status_code == 200 and picture.content.startswith(b"\xff\xd8\xff")
            before = screen.screenshot_at
            await page.post("/fleet/screenshot", site="hq", screen="hall-1")
            newer = lambda: collector.watch.screens()[0].screenshot_at != before  # noqa: E731
            await until(newer, "a new screenshot when the page asks")

        await until(lambda: "fleet link: up since" in wall_status(kiosk_toml, env), "status says up", 30)
        # Its sources are the collector's: listed with the health the kiosk received.
        assert re.search(r"^news +collector +ok ", wall_status(kiosk_toml, env), re.MULTILINE)

        # The collector restarts: the screens it heard from are still listed (its store).
        await collector.stop()
        collector = await collector_for(config)
        assert [s.name for s in collector.watch.screens()] == ["hq/hall-1"]

        broker.stop()
        await until(lambda: "fleet link: DOWN" in wall_status(kiosk_toml, env), "status says down", 30)
        assert kiosk.poll() is None, log.read_text()
        broker.start()
        await until(lambda: "fleet link: up since" in wall_status(kiosk_toml, env), "up again", 30)
        # Heard from again: the collector's link works before it stops (nats-py's close in the
        # middle of a reconnection can hang: wall.engine.fleet.link.close).
        back = utcnow()
        while collector.watch.screens()[0].received_at < back:
            await collector.watch.ask_screenshot("hq", "hall-1")
            await until(lambda: collector.watch.screens()[0].received_at >= back, "heard again", 30)
    finally:
        kiosk.send_signal(signal.SIGTERM)
        code = kiosk.wait(timeout=30)
    output = log.read_text()
    assert code == 0, output
    assert broker.credential(kiosk_user("hq", "hall-1")) not in output
