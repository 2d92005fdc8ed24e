"""Pictures of posts awaiting approval (issue 15): with pre-moderation, comms judge a picture on the
moderation page before the post may reach the screen, so the wall prepares it then, and only then
for the page.

A real feed on a loopback server is polled by the real engine; the page runs on aiohttp's test server
in front of it. 127.0.0.2 stands in for the internet (`tests.support.public`); the feed's own server
is on the LAN (127.0.0.1), as an intranet feed would be, and another LAN host must stay out of reach.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer

from tests.support.posts import make_post
from tests.support.public import POLICY
from wall.core.model import Batch, Media
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.shell.desk import WallDesk
from wall.web.queue import picture_digest
from wall.web.server import ModerationPage
from widgets.hub import Hub

TOKEN = "k3y-Of-the-L0bby-Wall-0123456789"
RSS = (
    '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>News</title>{items}</channel></rss>'
)


def item(guid: str, text: str, picture: str, author: str = "Camille Dupont") -> str:
    return (
        f'<item><guid isPermaLink="false">{guid}</guid><title>{text}</title><description>{text}</description>'
        f"<dc:creator>{author}</dc:creator><pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>"
        f'<link>https://news.example/{guid}</link><media:content url="{picture}" medium="image" '
        'width="800" height="600"><media:description>a red car</media:description></media:content></item>'
    )


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for the engine's own tasks (a poll, downloads), a few milliseconds at a time."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        pytest.fail(f"not within {timeout:g} s: {what}")


async def test_a_pending_posts_pictures_are_on_the_page_before_approval_never_on_the_screen(
    tmp_path: Path,
    httpserver: HTTPServer,
    public_server: HTTPServer,
    qapp: QApplication,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wall.engine.images")
    lan = HTTPServer(host="127.0.0.1", port=0)  # another host of the LAN: not the feed's origin
    lan.expect_request("/admin/graph.jpg").respond_with_data(jpeg(), content_type="image/jpeg")
    lan.start()
    public = public_server.url_for("/cdn/car.jpg")
    own = httpserver.url_for("/uploads/team.jpg")  # on the feed's own (LAN) origin: allowed
    inside = lan.url_for("/admin/graph.jpg")
    opted_out = public_server.url_for("/cdn/mallory.jpg")
    public_server.expect_request("/cdn/car.jpg").respond_with_data(jpeg(), content_type="image/jpeg")
    public_server.expect_request("/cdn/mallory.jpg").respond_with_data(jpeg(), content_type="image/jpeg")
    httpserver.expect_request("/uploads/team.jpg").respond_with_data(jpeg(), content_type="image/jpeg")
    items = (
        item("car", "Our new car in Lille", public)
        + item("team", "The team at the show", own)
        + item("lured", "Look at this graph", inside)
        + item("mallory", "Me at the shop", opted_out, author="Mallory Martin")
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        RSS.format(items=items), content_type="application/rss+xml"
    )
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "moderation": {"mode": "pre"},
            "sources": [
                {
                    "name": "news",
                    "type": "rss",
                    "url": httpserver.url_for("/feed.xml"),
                    "opt_out": ["Mallory Martin"],
                }
            ],
            "web": {"enabled": True},
        },
        env={"WALL_WEB__TOKEN": TOKEN},
    )
    store, hub, client = open_store(config), Hub(), make_client(config, policy=POLICY)
    engine = Engine(config, store, hub, client)
    ready: list[str] = []
    hub.image_ready.connect(ready.append)
    desk = WallDesk(store, lambda: engine, lambda: [])
    server = TestServer(ModerationPage(config.web, config.wall, desk).app(), host="127.0.0.1")
    await server.start_server()
    cache = engine.images.cache_dir
    assert cache is not None
    try:
        engine.fill_screen_from_store()
        engine.start()
        await until(lambda: (cache / picture_digest(public)).is_file(), "the public picture is prepared")
        await until(lambda: (cache / picture_digest(own)).is_file(), "the feed's own picture is prepared")
        await until(lambda: f"image skipped: {inside}" in caplog.text, "the LAN picture is refused")

        async with TestClient(server) as http:
            form = await (await http.get("/login")).text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None
            login = {"csrf": csrf[1], "who": "Alice", "token": TOKEN}
            assert (await http.post("/login", data=login, allow_redirects=False)).status == 303
            page = await (await http.get("/?show=awaiting")).text()
            for url in (public, own):
                assert f'src="/pictures/{picture_digest(url)}"' in page
                answer = await http.get(f"/pictures/{picture_digest(url)}")
                assert answer.status == 200 and answer.content_type == "image/jpeg"
                assert Image.open(io.BytesIO(await answer.read())).size == (800, 600)
            refused = await http.get(f"/pictures/{picture_digest(inside)}")
            assert refused.status == web.HTTPNotFound.status_code
            assert page.count("Image pas encore chargée par le mur") == 1  # the LAN picture's place
            assert "Me at the shop" not in page  # an opted-out author's post is not even stored

            # Nothing of it on the screen before a person approves it.
            hub.flush()
            assert hub.posts("mention") == [] and ready == [] and hub.image_bytes() == 0
            assert store.decision("news:car") is None

            csrf_page = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf_page is not None
            approve = {"csrf": csrf_page[1], "key": "news:car", "action": "approve"}
            assert (await http.post("/act", data=approve)).status == 200
        hub.flush()
        assert [p.id for p in hub.posts("mention")] == ["car"]
        assert hub.image(public) is None  # asked for now: from the cache, not downloaded again
        await until(lambda: public in ready, "the approved post's picture reaches the screen")
    finally:
        hub.flush()
        await server.close()
        desk.close()
        await engine.stop()
        await client.aclose()
        store.close()
        lan.stop()
    assert lan.log == []  # never asked, with or without a token
    assert [request.path for request, _ in public_server.log].count("/cdn/car.jpg") == 1
    assert all(request.path != "/cdn/mallory.jpg" for request, _ in public_server.log)


async def test_posts_that_awaited_approval_before_a_restart_get_their_pictures_at_start(
    tmp_path: Path, public_server: HTTPServer, qapp: QApplication
) -> None:
    picture = public_server.url_for("/cdn/van.jpg")
    public_server.expect_request("/cdn/van.jpg").respond_with_data(jpeg(), content_type="image/jpeg")
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "moderation": {"mode": "pre"},
            "sources": [{"name": "news", "type": "rss", "url": "http://127.0.0.1:9/feed.xml"}],
            "web": {"enabled": True},
        },
        env={"WALL_WEB__TOKEN": TOKEN},
    )
    store, hub, client = open_store(config), Hub(), make_client(config, policy=POLICY)
    engine = Engine(config, store, hub, client)
    waiting = make_post("van", text="Our new van", source="news", network="rss", media=(Media(picture),))
    store.apply("news", Batch(posts=(waiting,)), verdicts=engine.moderators["news"].judge_many([waiting]))
    cache = engine.images.cache_dir
    assert cache is not None and not (cache / picture_digest(picture)).exists()
    try:
        engine.fill_screen_from_store()
        engine.start()  # the feed's server is down: only the stored post's picture is fetched
        await until(lambda: (cache / picture_digest(picture)).is_file(), "the waiting post's picture")
        hub.flush()
        assert hub.posts("mention") == [] and hub.image_bytes() == 0
    finally:
        hub.flush()
        await engine.stop()
        await client.aclose()
        store.close()
