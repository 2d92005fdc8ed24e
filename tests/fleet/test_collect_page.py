"""`wall collect` with `[web] enabled` serves the fleet's moderation page from the real headless
process (still without ever importing Qt): comms log in and find the fleet's scope and screens."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import httpx

from tests.fleet.conftest import Feeds, collector_env, collector_toml, start_collect
from tests.servers.nats import NatsFleet
from tests.servers.snac2 import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "collector-page-token-0123456789"
WEB_TOML = """
[web]
enabled = true
host = "127.0.0.1"
port = {port}
"""


async def test_wall_collect_serves_the_fleets_moderation_page(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds
) -> None:
    feeds.add("news", "n1", "Publié par le collecteur")
    port = free_port()
    config = collector_toml(broker, tmp_path, feed=feeds.serve("news"), before=WEB_TOML.format(port=port))
    env = collector_env(broker, refuse_qt_in=tmp_path / "no-qt") | {"WALL_WEB__TOKEN": TOKEN}
    log = tmp_path / "collector.log"
    process = start_collect(config, env, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def answers() -> bool:
                try:
                    return (await http.get("/login")).status_code == 200
                except httpx.TransportError:
                    return False

            deadline = asyncio.get_running_loop().time() + 30  # a bound for a hung test, not a measure
            while not await answers():
                assert process.poll() is None, log.read_text()
                assert asyncio.get_running_loop().time() < deadline, "the page never answered"
                await asyncio.sleep(0.1)
            form = await http.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            login = await http.post("/login", data={"csrf": csrf.group(1), "who": "Alice", "token": TOKEN})
            assert login.status_code == 303
            main = await http.get("/")
            assert "Écrans de la flotte" in main.text and '<option value="lyon">' in main.text
            assert (await http.get("/fleet")).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output and "imported" not in output
    assert TOKEN not in output and broker.credential("collector") not in output
