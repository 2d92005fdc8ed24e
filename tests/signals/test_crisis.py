"""Crisis mode in the engine: an alert takes public mentions off the lobby's screen (pre-moderation,
or no mentions at all) until a person clears it; kept across a restart; audited both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.support.posts import make_post
from tests.support.screen import RecordingScreen
from wall.core.model import Author, Batch
from wall.engine.config import WallConfig, parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.engine.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


def feed() -> str:
    """One article about a recall: a watch word, so an alert at once."""
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title><item>'
        '<guid isPermaLink="false">recall</guid><link>https://news.example/recall</link>'
        f"<title>Rappel massif des freins</title><pubDate>{format_datetime(NOW)}</pubDate></item>"
        "</channel></rss>"
    )


def configured(tmp_path: Path, url: str, on_alert: str) -> WallConfig:
    return parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "panels": [{"type": "mentions", "replay": True}, {"type": "internal"}],
            "sources": [
                {"name": "presse", "type": "rss", "url": url},
                {"name": "rse", "type": "rss", "url": url, "kind": "internal", "enabled": False},
            ],
            "signals": {"enabled": True, "watch_words": ["rappel"], "on_alert": on_alert, "tone": False},
        },
        env={},
    )


def stored(store: Store) -> None:
    """Two ordinary mentions and an internal post, already on the wall."""
    for number, kind in ((1, "mention"), (2, "mention"), (3, "internal")):
        post = make_post(
            str(number),
            text=f"Belle journée au magasin {number}",
            source="presse",
            kind=kind,  # type: ignore[arg-type]
            author=Author(f"Personne {number}", f"@p{number}@social.example"),
            created_at=NOW - timedelta(minutes=30 + number),
        )
        store.apply("presse", Batch(posts=(post,)))


@asynccontextmanager
async def running(config: WallConfig, store: Store) -> AsyncIterator[tuple[Engine, RecordingScreen]]:
    screen = RecordingScreen()
    async with make_client(config) as client:
        engine = Engine(config, store, screen, client, clock=lambda: NOW)
        engine.fill_screen_from_store()
        try:
            yield engine, screen
        finally:
            await engine.stop()


async def test_pre_moderation_until_a_person_clears_it_and_it_survives_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    config = configured(tmp_path, httpserver.url_for("/feed"), "pre_moderation")
    store = open_store(config)
    stored(store)
    async with running(config, store) as (engine, screen):
        assert screen.ids() == ["1", "2"]
        await engine.poller.poll_once(engine.sources[0])

        assert screen.ids() == []  # every mention waits for a person now
        assert screen.ids("internal") == ["3"]
        assert [(a.who, a.action) for a in store.audit_log()][:1] == [
            ("signaux", "crisis on: pre_moderation")
        ]
        assert await engine.act("presse:1", "approve", "Alice")
        assert screen.ids() == ["1"]

    async with running(config, store) as (engine, screen):  # a restart keeps the crisis
        assert screen.ids() == ["1"]
        assert engine.crisis.mode == "pre_moderation"
        assert await engine.clear_crisis("Alice")
        assert screen.ids() == ["recall", "1", "2"]
        assert not await engine.clear_crisis("Alice")  # nothing left to clear
    latest = store.audit_log()[0]
    assert (latest.who, latest.action) == ("Alice", "crisis off")
    store.close()


async def test_hide_mentions_takes_the_mentions_panel_out_until_cleared(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    config = configured(tmp_path, httpserver.url_for("/feed"), "hide_mentions")
    store = open_store(config)
    stored(store)
    async with running(config, store) as (engine, screen):
        assert [p.id for p in screen.replay_pools["mention"]] != []
        await engine.poller.poll_once(engine.sources[0])

        assert screen.ids() == [] and screen.ids("internal") == ["3"]
        assert screen.replay_pools["mention"] == []  # quiet hours replay no mention either
        crisis = store.crisis()
        assert crisis is not None and crisis["detail"] == "Alerte mur : mot surveillé « rappel »"
        assert await engine.clear_crisis("Bob")
        assert screen.ids() == ["recall", "1", "2"]
        assert sorted(p.id for p in screen.replay_pools["mention"]) == ["1", "2", "recall"]
    store.close()


async def test_alerts_leave_the_screen_alone_without_on_alert(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    config = configured(tmp_path, httpserver.url_for("/feed"), "none")
    store = open_store(config)
    stored(store)
    async with running(config, store) as (engine, screen):
        await engine.poller.poll_once(engine.sources[0])
        assert screen.ids() == ["recall", "1", "2"]
        assert engine.signals is not None
        assert [k.alert.detail for k in engine.signals.journal.alerts()] == ["rappel"]
    assert store.crisis() is None
    store.close()
