"""The fleet's tests: real nats-server processes (tests/servers/nats.py), a real collector engine
polling feeds served on loopback, and kiosks' real receive path writing into real SQLite stores."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.servers.nats import NatsFleet, make_fleet
from tests.support.screen import RecordingScreen
from wall.engine.config import WallConfig, parse_config
from wall.engine.engine import Engine
from wall.engine.fleet.collector import Collector, start_collector
from wall.engine.fleet.layout import kiosk_user
from wall.engine.fleet.receiver import KioskReceiver
from wall.engine.services import make_client, open_store
from wall.engine.store import Store

SCREENS = ("hq/hall-1", "lyon/hall-1")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[NatsFleet]:
    """One nats-server node with `wall fleet init`'s TLS files and users, stopped after the test."""
    fleet = make_fleet(tmp_path, SCREENS)
    fleet.start()
    yield fleet
    fleet.stop()


def credentials_env(broker: NatsFleet, user: str) -> dict[str, str]:
    """What systemd gives a service with `LoadCredential=fleet.credential:...`."""
    return {"CREDENTIALS_DIRECTORY": str(broker.files.credentials[user].parent)}


def kiosk_config(broker: NatsFleet, site: str, state: Path, screen: str = "hall-1") -> WallConfig:
    """A kiosk's wall.toml: nothing but [fleet] and where its store lives."""
    data = {
        "storage": {"state_dir": str(state)},
        "fleet": {"servers": broker.servers, "site": site, "screen": screen, "ca_file": str(broker.files.ca)},
    }
    return parse_config(data, "kiosk.toml", credentials_env(broker, kiosk_user(site, screen)))


@dataclass
class Feeds:
    """JSON Feeds served on loopback; tests add items, the collector polls them."""

    server: HTTPServer
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def serve(self, name: str) -> str:
        self.items.setdefault(name, [])

        def answer(_request: Request) -> Response:
            feed = {"version": "https://jsonfeed.org/version/1.1", "title": name, "items": self.items[name]}
            return Response(json.dumps(feed), content_type="application/feed+json")

        self.server.expect_request(f"/{name}.json").respond_with_handler(answer)
        return self.server.url_for(f"/{name}.json")

    def add(self, name: str, item_id: str, text: str, *, image: str = "") -> None:
        item: dict[str, Any] = {
            "id": item_id,
            "content_text": text,
            "date_published": f"2026-12-0{len(self.items.setdefault(name, [])) + 1}T08:00:00Z",
        }
        if image:
            item["image"] = image
        self.items[name].append(item)


def collector_config(broker: NatsFleet, state: Path, feeds: Feeds, *, replicas: int = 1) -> WallConfig:
    """A collector with a public feed for every site and an internal feed for hq only."""
    data = {
        "storage": {"state_dir": str(state)},
        "fleet": {
            "servers": broker.servers,
            "sites": ["hq", "lyon"],
            "ca_file": str(broker.files.ca),
            "replicas": replicas,
        },
        "sources": [
            {"name": "news", "type": "rss", "url": feeds.serve("news"), "kind": "mention"},
            {
                "name": "rse-hq",
                "type": "rss",
                "url": feeds.serve("rse-hq"),
                "kind": "internal",
                "require_tag": False,
                "sites": ["hq"],
            },
        ],
    }
    return parse_config(data, "collector.toml", credentials_env(broker, "collector"))


HANG_S = 90  # under pytest-timeout's 120 s: a test still running then prints where its tasks wait


@pytest.fixture(autouse=True)
async def _tell_where_a_hang_is() -> AsyncIterator[None]:
    """A fleet test that hangs (a stop, a wait on the broker) prints every task's stack before the
    timeout kills it, so the failure says which await never ended."""

    async def watch() -> None:
        await asyncio.sleep(HANG_S)
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        print(f"tests/fleet: still running after {HANG_S} s; the tasks:", stacks.getvalue(), file=sys.stderr)

    watching = asyncio.create_task(watch())
    yield
    watching.cancel()


@pytest.fixture
def feeds(httpserver: HTTPServer) -> Feeds:
    """Feeds on a pytest-httpserver on 127.0.0.1."""
    return Feeds(httpserver)


@dataclass
class Kiosk:
    """A kiosk as `wall run` builds it, without Qt: store, engine (boot from the store), receiver."""

    config: WallConfig
    store: Store
    screen: RecordingScreen
    receiver: KioskReceiver
    engine: Engine

    async def stop(self) -> None:
        await self.receiver.stop()
        await self.engine.stop()
        self.store.close()


async def boot_kiosk(config: WallConfig, pictures: Path) -> Kiosk:
    """What `WallRuntime._main` does for a fleet's kiosk, with a recording screen for the hub."""
    store, screen = open_store(config), RecordingScreen()
    engine = Engine(config, store, screen, make_client(config))
    engine.fill_screen_from_store()
    assert config.fleet is not None
    receiver = KioskReceiver(config.fleet, store, screen, pictures=pictures)
    receiver.start()
    engine.start()
    return Kiosk(config, store, screen, receiver, engine)


@pytest.fixture
async def collector_for(tmp_path: Path) -> AsyncIterator[Callable[[WallConfig], Any]]:
    """Start collectors in-process (the `wall collect` code path); all stopped after the test."""
    started: list[Collector] = []

    async def start(config: WallConfig) -> Collector:
        collector = await start_collector(config)
        started.append(collector)
        return collector

    yield start
    for collector in started:
        await stop_or_tell_where_it_hangs(collector.stop())


async def stop_or_tell_where_it_hangs(stopping: Coroutine[Any, Any, None], seconds: float = 30) -> None:
    """Await a stop; one that hangs fails the test with every task's stack, not a bare timeout."""
    try:
        await asyncio.wait_for(stopping, seconds)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        pytest.fail(f"the stop hung for {seconds:g} s; the tasks:\n{stacks.getvalue()}")


async def poll_all(collector: Collector) -> None:
    """Poll every source now (instead of waiting for their interval) and publish the result."""
    for source in collector.engine.sources:
        await collector.engine.poller.poll_once(source)


async def until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Wait until `check()` holds (a bound for a hung test, not a measure of speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


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


def hq_kiosk(broker: NatsFleet, folder: Path) -> tuple[Path, dict[str, str]]:
    """The wall.toml of a real `wall run` kiosk, hq/hall-1 (its store in `folder`/kiosk), and the
    environment it runs with: no WALL_ setting of the test's, its credential as systemd gives it."""
    config = folder / "kiosk.toml"
    config.write_text(
        KIOSK_TOML.format(state=folder / "kiosk", servers=json.dumps(broker.servers), ca=broker.files.ca),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
    return config, env | credentials_env(broker, kiosk_user("hq", "hall-1"))


def run_hq_kiosk(broker: NatsFleet, folder: Path, seconds: int) -> subprocess.CompletedProcess[str]:
    """`wall run` as the hq/hall-1 kiosk, offscreen, for `seconds`; it must end cleanly."""
    config, env = hq_kiosk(broker, folder)
    command = [sys.executable, "-m", "wall.cli", "run", "--config", str(config), "--windowed"]
    done = subprocess.run(
        [*command, "--exit-after", str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    return done


COLLECTOR_TOML = """
[storage]
state_dir = "{state}"

[fleet]
servers = {servers}
sites = ["hq", "lyon"]
ca_file = "{ca}"
"""
SOURCE_TOML = """
[[sources]]
name = "news"
type = "rss"
url = "{feed}"
"""


def collector_toml(
    broker: NatsFleet, folder: Path, *, feed: str = "", before: str = "", source: str = ""
) -> Path:
    """`folder`/collector.toml as comms write it: sites hq and lyon on `broker`, the store in
    `folder`/c, and the public feed `feed` as source "news" when given (`source`: more of its keys);
    `before`: tables put first (e.g. [web])."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "collector.toml"
    text = before + COLLECTOR_TOML.format(
        state=folder / "c", servers=json.dumps(broker.servers), ca=broker.files.ca
    )
    if feed:
        text += SOURCE_TOML.format(feed=feed) + source
    config.write_text(text, encoding="utf-8")
    return config


def collector_env(broker: NatsFleet, refuse_qt_in: Path | None = None) -> dict[str, str]:
    """The environment systemd gives `wall collect`: no WALL_ setting of the test's, the collector's
    credential. With `refuse_qt_in`: no display either, and PySide6, qasync and shiboken6 there
    refuse to be imported (a collector must never load Qt)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
    if refuse_qt_in is not None:
        env = {k: v for k, v in env.items() if not k.startswith(("QT_", "DISPLAY", "WAYLAND"))}
        for name in ("PySide6", "qasync", "shiboken6"):
            (refuse_qt_in / name).mkdir(parents=True)
            (refuse_qt_in / name / "__init__.py").write_text(
                f"raise ImportError('the collector imported {name}')\n"
            )
        env["PYTHONPATH"] = os.pathsep.join([str(refuse_qt_in), str(ROOT)])
    return env | credentials_env(broker, "collector")


def start_collect(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`wall collect --config CONFIG` as systemd runs it, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "collect", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
