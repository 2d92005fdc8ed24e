"""A streamed post, edit and deletion reach the running wall (`wall run`, offscreen), end to end.

The REST API is pytest-httpserver; the streaming API is the test SSE server, run on a loop of its
own in a thread so the wall, a separate process, talks to both as it would to a Mastodon instance.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.servers.sse import Connection, SseServer
from tests.sources.test_mastodon_stream import instance_v2, status
from wall.engine.config import load_config
from wall.engine.services import open_store

ROOT = Path(__file__).resolve().parents[2]
SCREEN = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"
TOKEN = "e2e-stream-token"


class ThreadedSse:
    """The SSE server on its own asyncio loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = SseServer()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.run(self.server.start())

    def run(self, job: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(job, self.loop).result(timeout)

    def close(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@pytest.fixture
def sse() -> Iterator[ThreadedSse]:
    server = ThreadedSse()
    yield server
    server.close()


def test_a_streamed_post_its_edit_and_its_deletion_reach_the_wall(
    tmp_path: Path, httpserver: HTTPServer, sse: ThreadedSse
) -> None:
    # The streaming server answers on the instance's own host name (another port): the wall reaches
    # it as it reaches the instance. One of another name would have to be on a public address.
    announced = sse.server.ws_url.replace("127.0.0.1", "localhost")
    httpserver.expect_request("/api/v2/instance").respond_with_json(instance_v2(announced))
    httpserver.expect_request("/api/v1/timelines/tag/brand").respond_with_json([])
    config = tmp_path / "wall.toml"
    api = httpserver.url_for("/").rstrip("/")
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "{api}"\n'
        'hashtags = ["brand"]\ninterval = 15\n',
        encoding="utf-8",
    )
    wall = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--exit-after", "12", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": SCREEN, "WALL_SOURCES__MASTO__TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        connection: Connection = sse.run(sse.server.connection(timeout=10))
        assert connection.request.headers["authorization"] == f"Bearer {TOKEN}"

        async def push() -> None:
            await connection.event("update", json.dumps(status("501", "Quel accueil ce matin #brand")))
            await connection.event("update", json.dumps(status("502", "Bravo à l'équipe #brand")))
            await asyncio.sleep(1.0)
            edited = status("502", "Bravo à toute l'équipe #brand", edited_at="2026-11-24T09:00:00.000Z")
            await connection.event("status.update", json.dumps(edited))
            await connection.event("delete", "501")
            await asyncio.sleep(0.5)

        sse.run(push())
        _, stderr = wall.communicate(timeout=60)
    finally:
        if wall.poll() is None:
            wall.kill()
    assert wall.returncode == 0, stderr
    assert TOKEN not in stderr
    store = open_store(load_config(config, env={}))
    try:
        shown = {p.id: p.text for p in store.recent_posts("mention")}
    finally:
        store.close()
    assert shown == {"502": "Bravo à toute l'équipe #brand"}
