"""A spike in a local feed, polled by the engine over a stored quiet week, reaches the SMTP server
and a Matrix room on a real Synapse after that one poll; the alert is kept in the store with each
delivery, and the lobby's screen never receives any of it. The same from a real `wall run` process."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer

from tests.servers.synapse import SynapseError, SynapseServer, free_port, start_synapse
from tests.signals.servers import smtp_server
from tests.signals.weeks import DAYS, office_rate, week
from tests.support.screen import RecordingScreen
from tests.wall.test_app import start_wall, wait_for
from wall.core.model import Batch
from wall.engine.config import load_config, parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.engine.signals.delivery import DeliveryPolicy
from wall.web.queue import QueueView
from wall.web.signals import signals_section

SMTP_PASSWORD = "relay-Pass-2026"


@pytest.fixture(scope="module")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    try:
        server = start_synapse(tmp_path_factory.mktemp("synapse-signals") / "data")
    except SynapseError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def feed(now: datetime, count: int) -> str:
    """An RSS feed of `count` items about a recall, dated in the 40 minutes before `now`."""
    items = "".join(
        f'<item><guid isPermaLink="false">spike-{n}</guid><link>https://news.example/{n}</link>'
        f"<title>Rappel produit {n} : les freins lâchent</title>"
        f"<pubDate>{format_datetime(now - timedelta(seconds=60 * n % 2400 + 5))}</pubDate></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>{items}</channel></rss>'


def room_texts(server: SynapseServer, token: str, room_id: str) -> list[str]:
    answer: dict[str, Any] = server.call(
        "GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=20", token=token
    )
    return [e["content"].get("body", "") for e in answer["chunk"] if e["type"] == "m.room.message"]


async def test_a_spike_polled_by_the_engine_reaches_mail_and_matrix_and_never_the_screen(
    tmp_path: Path, httpserver: HTTPServer, synapse: SynapseServer
) -> None:
    now = datetime.now(UTC).replace(minute=50, second=0, microsecond=0) - timedelta(hours=1)
    httpserver.expect_request("/feed").respond_with_data(feed(now, 40), content_type="application/rss+xml")
    comms = synapse.register("comms")
    bot = synapse.register("wallbot")
    room_id = synapse.create_room(comms, "Alertes mur", alias="alertes", members=(bot,))
    with smtp_server("wall", SMTP_PASSWORD) as (mailbox, smtp_port):
        targets = [
            f"mailto://wall:{SMTP_PASSWORD}@127.0.0.1:{smtp_port}?to=comms@corp.example&from=wall@corp.example",
            f"matrix://wallbot:{bot.password}@127.0.0.1:{synapse.port}/#alertes?image=no",
        ]
        config = parse_config(
            {
                "storage": {"state_dir": str(tmp_path / "state"), "max_posts_per_source": 5000},
                "sources": [{"name": "presse", "type": "rss", "url": httpserver.url_for("/feed")}],
                "signals": {"enabled": True, "min_count": 10, "page_url": "https://wall.corp.example/"},
            },
            env={"WALL_SIGNALS__NOTIFY": json.dumps(targets)},
        )
        store = open_store(config)
        quiet = week(lambda d, h: office_rate(h), start=now - timedelta(days=DAYS))
        # The wall's last week, as the store kept it.
        store.apply("presse", Batch(posts=tuple(replace(post, source="presse") for post, _ in quiet)))
        screen = RecordingScreen()
        async with make_client(config) as client:
            engine = Engine(config, store, screen, client, clock=lambda: now)
            assert engine.signals is not None and engine.signals.notifier is not None
            # A failure shows as "failed" after one short retry, rather than minutes of backoff.
            engine.signals.notifier.policy = DeliveryPolicy(attempts=2, first_wait=0.1)
            await engine.poller.poll_once(engine.sources[0])
            await engine.signals.notifier.drain()
            kept = await engine._in_db(engine.signals.journal.alerts)
            await engine.stop()
        store.close()

    [message] = mailbox.messages
    assert "Alerte mur : volume de mentions" in str(message["Subject"])
    texts = room_texts(synapse, comms.token, room_id)
    assert any(
        "Alerte mur : volume de mentions" in text and "https://news.example/" in text for text in texts
    )
    [(alert, deliveries)] = [(k.alert, k.deliveries) for k in kept]
    assert (alert.signal, alert.state) == ("volume", "alert")
    assert deliveries == {"target 1 (mailto)": "sent", "target 2 (matrix)": "sent"}
    # The lobby's screen shows the recall posts (moderation lets them through) but nothing of the alert.
    shown = json.dumps([p.to_dict() for p in screen.posts["mention"]], ensure_ascii=False)
    assert "Rappel produit" in shown
    assert "Alerte" not in shown and "seuil" not in shown and "wall.corp.example" not in shown


async def test_an_alert_whose_target_is_down_is_kept_and_listed_with_the_failure(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    httpserver.expect_request("/feed").respond_with_data(
        feed(now, 1).replace("Rappel produit 0", "Boycott du magasin de Lyon"),
        content_type="application/rss+xml",
    )
    down = free_port()  # nothing listens there
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [{"name": "presse", "type": "rss", "url": httpserver.url_for("/feed")}],
            "signals": {"enabled": True, "watch_words": ["boycott"], "tone": False},
        },
        env={"WALL_SIGNALS__NOTIFY": json.dumps([f"json://127.0.0.1:{down}/alerts"])},
    )
    store = open_store(config)
    async with make_client(config) as client:
        engine = Engine(config, store, RecordingScreen(), client, clock=lambda: now)
        assert engine.signals is not None and engine.signals.notifier is not None
        engine.signals.notifier.policy = DeliveryPolicy(attempts=3, first_wait=0.01)
        await engine.poller.poll_once(engine.sources[0])  # returns while the target is being tried
        assert [k.deliveries for k in engine.signals.journal.alerts()] == [{"target 1 (json)": "pending"}]
        await engine.signals.notifier.drain()
        view = await engine.signals.view(engine.crisis.state, "none")
        await engine.stop()
    store.close()

    [kept] = view.alerts
    assert (kept.alert.signal, kept.alert.detail) == ("watch_word", "boycott")
    assert kept.deliveries == {"target 1 (json)": "failed: refused or unreachable"}
    html = signals_section(lang="fr", zone=ZoneInfo("Europe/Paris"), csrf="x", view=QueueView(), signals=view)
    assert "target 1 (json) : failed: refused or unreachable" in html and "Boycott du magasin" in html


def spike_feed(now: datetime, count: int) -> str:
    items = "".join(
        f'<item><guid isPermaLink="false">spike-{n}</guid><link>https://news.example/{n}</link>'
        f"<title>Grève surprise au dépôt {n}</title><pubDate>{format_datetime(now)}</pubDate></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>{items}</channel></rss>'


def test_wall_run_warns_mail_and_matrix_at_the_first_poll_of_a_spike(
    tmp_path: Path, httpserver: HTTPServer, synapse: SynapseServer
) -> None:
    """`wall run` itself (a real process, offscreen): a spike in a local feed, over the week the store
    kept, reaches the SMTP server and the Matrix room at the first poll; no password reaches the log."""
    now = datetime.now(UTC)
    if now.minute == 59 and now.second > 30:  # the spike and its poll must fall in one clock hour
        time.sleep(61 - now.second)
        now = datetime.now(UTC)
    httpserver.expect_request("/feed").respond_with_data(
        spike_feed(now, 40), content_type="application/rss+xml"
    )
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\nmax_posts_per_source = 5000\n'
        f'[[sources]]\nname = "presse"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\ninterval = 15\n'
        '[[panels]]\ntype = "mentions"\nduration = 5\n'
        "[signals]\nenabled = true\nmin_count = 10\n",
        encoding="utf-8",
    )
    store = open_store(load_config(path, env={}))
    quiet = week(lambda d, h: office_rate(h), start=now - timedelta(days=DAYS, hours=1))
    store.apply(
        "presse", Batch(posts=tuple(replace(p, source="presse") for p, _ in quiet if p.created_at < now))
    )
    store.close()
    comms = synapse.register("comms-run")
    bot = synapse.register("wallbot-run")
    room_id = synapse.create_room(comms, "Alertes du hall", alias="alertes-run", members=(bot,))

    def in_the_room() -> bool:
        return any("Alerte mur : volume de mentions" in t for t in room_texts(synapse, comms.token, room_id))

    with smtp_server("wall", SMTP_PASSWORD) as (mailbox, port):
        targets = [
            f"mailto://wall:{SMTP_PASSWORD}@127.0.0.1:{port}?to=comms@corp.example&from=wall@corp.example",
            f"matrix://wallbot-run:{bot.password}@127.0.0.1:{synapse.port}/#alertes-run?image=no",
        ]
        wall = start_wall(path, env={"WALL_SIGNALS__NOTIFY": json.dumps(targets)})
        try:
            arrived = wait_for(mailbox.received.is_set, timeout=60) and wait_for(in_the_room, timeout=30)
            wall.send_signal(signal.SIGTERM)
            _, stderr = wall.communicate(timeout=30)
        finally:
            wall.kill()

    assert arrived, stderr[-3000:]
    [message] = mailbox.messages
    assert "Alerte mur : volume de mentions" in str(message["Subject"])
    assert "signals: Alerte mur : volume de mentions" in stderr
    assert SMTP_PASSWORD not in stderr and bot.password not in stderr and "Traceback" not in stderr
