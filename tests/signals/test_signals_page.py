"""The page's "Signaux" section in real headless Chromium (Debian's, driven by Playwright): after an
alert, comms see crisis mode, the week's volume chart (SVG drawn by the server) and the alert with
its evidence, and end crisis mode with one button; axe-core finds nothing on the page, light or dark."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer

from tests.wall.test_web import TOKEN
from tests.wall.test_web_browser import Tab, browser  # noqa: F401  (the fixture)
from tests.wall.test_web_browser_page import audit, axe_script  # noqa: F401  (the fixture)
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.shell.desk import WallDesk
from wall.shell.windows import build_windows
from wall.web.server import ModerationPage
from widgets.hub import Hub

NOW = datetime.now(UTC).replace(microsecond=0)


ITEMS = [
    ("calm", "Belle inauguration à Lille", NOW - timedelta(minutes=20)),
    ("recall", "Rappel massif des freins", NOW - timedelta(minutes=2)),
]
# One bar per clock hour with posts: one, or two when the test runs in the first 20 minutes of an hour.
HOURS_WITH_POSTS = len({at.replace(minute=0, second=0) for _guid, _title, at in ITEMS})


def feed() -> str:
    """Two articles; one names a watch word, so an alert at once."""
    items = ITEMS
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>'
        + "".join(
            f'<item><guid isPermaLink="false">{guid}</guid><link>https://news.example/{guid}</link>'
            f"<title>{title}</title><pubDate>{format_datetime(at)}</pubDate></item>"
            for guid, title, at in items
        )
        + "</channel></rss>"
    )


@dataclass
class SignalsWall:
    engine: Engine
    hub: Hub
    server: TestServer


@asynccontextmanager
async def signals_wall(tmp_path: Path, feed_url: str) -> AsyncIterator[SignalsWall]:
    """A wall whose alerts switch pre-moderation on, with its page on a test server, after one poll."""
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [{"name": "presse", "type": "rss", "url": feed_url}],
            "panels": [{"type": "mentions", "duration": 30}],
            "web": {"enabled": True},
            "signals": {"enabled": True, "watch_words": ["rappel"], "on_alert": "pre_moderation"},
        },
        env={"WALL_WEB__TOKEN": TOKEN},
    )
    store, hub = open_store(config), Hub()
    async with make_client(config) as client:
        engine = Engine(config, store, hub, client)
        engine.fill_screen_from_store()
        (window,) = build_windows(config, hub)
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(1920, 1080)
        window.show()
        desk = WallDesk(store, lambda: engine, lambda: [window])
        server = TestServer(ModerationPage(config.web, config.wall, desk).app(), host="127.0.0.1")
        await server.start_server()
        try:
            await engine.poller.poll_once(engine.sources[0])
            yield SignalsWall(engine, hub, server)
        finally:
            hub.flush()
            await server.close()
            window.close()
            desk.close()
            await engine.stop()
    store.close()


async def test_comms_see_the_alert_and_end_crisis_mode_from_the_page(
    tmp_path: Path,
    httpserver: HTTPServer,
    qapp: QApplication,
    browser: Browser,  # noqa: F811
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    async with signals_wall(tmp_path, httpserver.url_for("/feed")) as wall:
        assert wall.engine.crisis.mode == "pre_moderation" and wall.hub.posts("mention") == []
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(5000)
        tab = Tab(page, str(wall.server.make_url("/")))
        await tab.login()

        section = page.locator("section#signaux")
        await section.get_by_text("Mode crise ACTIF").wait_for()
        assert "Alerte mur : mot surveillé « rappel »" in await section.locator(".crisis-active").inner_text()
        chart = section.get_by_role("img", name="Mentions par heure, 7 derniers jours : 2 en tout")
        assert await chart.locator("rect.bar").count() == HOURS_WITH_POSTS
        alert = section.locator("li.signal-alert")
        assert "mot surveillé" in await alert.inner_text()
        assert await alert.get_by_role("link", name="https://news.example/recall").count() == 1

        await section.get_by_role("button", name="Terminer le mode crise").click()
        await section.get_by_text(
            "En cas d'alerte : les mentions publiques attendent une approbation."
        ).wait_for()
        assert wall.engine.crisis.mode == ""
        assert [p.id for p in wall.hub.posts("mention")] == ["recall", "calm"]
        first = page.locator("section.audit tbody tr").first
        assert "crisis off" in await first.inner_text() and "Alice" in await first.inner_text()
        await context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_axe_finds_nothing_in_the_signals_section(
    tmp_path: Path,
    httpserver: HTTPServer,
    qapp: QApplication,
    browser: Browser,  # noqa: F811
    axe_script: Path,  # noqa: F811
    scheme: Literal["light", "dark"],
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(), content_type="application/rss+xml")
    async with signals_wall(tmp_path, httpserver.url_for("/feed")) as wall:
        # axe arrives as an inline script, which the page's CSP refuses: this context alone lets it in.
        context = await browser.new_context(color_scheme=scheme, bypass_csp=True)
        page = await context.new_page()
        page.set_default_timeout(5000)
        await Tab(page, str(wall.server.make_url("/"))).login()
        await page.locator("section#signaux .crisis-active").wait_for()

        assert await audit(page, axe_script) == []
        await context.close()
