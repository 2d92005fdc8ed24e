"""The engine runs without Qt: a process that polls a feed, moderates, stores and fills a screen
never loads PySide6 or qasync (what the fleet's headless collector relies on)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, json, sys
from tests.support.screen import RecordingScreen
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store

async def main():
    config = parse_config({"storage": {"state_dir": sys.argv[2]},
                           "sources": [{"name": "news", "type": "rss", "url": sys.argv[1]}]}, env={})
    store, screen = open_store(config), RecordingScreen()
    async with make_client(config) as client:
        engine = Engine(config, store, screen, client)
        engine.fill_screen_from_store()
        await engine.poller.poll_once(engine.sources[0])
        await engine.stop()
    store.close()
    qt = ("PySide6", "qasync", "shiboken6", "widgets")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in qt)
    print(json.dumps({"shown": screen.ids(), "qt": loaded}))

asyncio.run(main())
"""


def test_the_engine_polls_stores_and_shows_without_loading_qt(tmp_path: Path, httpserver: HTTPServer) -> None:
    items = "".join(
        f'<item><guid isPermaLink="false">{n}</guid><title>Bonjour {n}</title>'
        f"<pubDate>Mon, 23 Nov 2026 08:0{n}:00 GMT</pubDate></item>"
        for n in (1, 2)
    )
    httpserver.expect_request("/feed").respond_with_data(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>',
        content_type="application/rss+xml",
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, httpserver.url_for("/feed"), str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"shown": ["2", "1"], "qt": []}
