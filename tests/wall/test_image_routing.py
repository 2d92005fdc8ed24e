"""Which picture the wall may load, and with whose token (issue 12).

An internal Matrix server (127.0.0.1, the LAN) serves its media with the bot token. A public feed (on
127.0.0.2, which the test's policy lets stand for the internet) is read by the same wall. A stranger's
feed item pointing its picture at the Matrix server must not be loaded at all, and never with the
token; the Matrix room's own pictures load with it; a picture elsewhere never gets a token.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.posts import make_post
from wall.core.model import Batch, Media, Post, PostKind, utcnow
from wall.core.outbound import AddressPolicy
from wall.engine.config import parse_config
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from widgets.hub import Hub

T0 = utcnow() - timedelta(hours=1)  # internal posts are kept 7 days
TOKEN = "syt_bot_token_0123456789"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def public_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.stop()


def post(source: str, network: str, kind: PostKind, pid: str, picture: str) -> Post:
    """Post `pid` of `source` with one picture, the URL a test routes (its own text: never a duplicate)."""
    media = (Media(picture, "a picture"),)
    return make_post(
        pid, text=f"post {pid}", kind=kind, source=source, network=network, created_at=T0, media=media
    )


async def test_a_post_loads_its_pictures_only_where_and_as_its_own_source_may(
    tmp_path: Path, httpserver: HTTPServer, public_server: HTTPServer, qapp: QApplication
) -> None:
    seen: list[tuple[str, str]] = []  # (server and path, Authorization)

    def picture(name: str) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            seen.append((f"{name}{request.path}", request.headers.get("Authorization", "")))
            return Response(png(), content_type="image/png")

        return answer

    httpserver.expect_request("/_matrix/client/v1/media/download/localhost/own").respond_with_handler(
        picture("matrix")
    )
    httpserver.expect_request("/_matrix/client/v1/media/download/localhost/lured").respond_with_handler(
        picture("matrix")
    )
    public_server.expect_request("/cdn/pic.png").respond_with_handler(picture("public"))
    matrix = httpserver.url_for("/").rstrip("/")
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [
                {"name": "news", "type": "rss", "url": public_server.url_for("/feed.xml")},
                {
                    "name": "rse",
                    "type": "matrix",
                    "base_url": matrix,
                    "rooms": ["!hall:localhost"],
                    "token": TOKEN,
                    "require_tag": False,
                },
            ],
        }
    )
    store, hub = open_store(config), Hub()
    client = make_client(config, policy=AddressPolicy(also_public=["127.0.0.2/32"]))
    own = f"{matrix}/_matrix/client/v1/media/download/localhost/own"
    lured = f"{matrix}/_matrix/client/v1/media/download/localhost/lured"
    public = public_server.url_for("/cdn/pic.png")
    store.apply("news", Batch(posts=(post("news", "rss", "mention", "1", lured),)), now=T0)
    store.apply("news", Batch(posts=(post("news", "rss", "mention", "2", public),)), now=T0)
    store.apply("rse", Batch(posts=(post("rse", "matrix", "internal", "3", own),)), now=T0)
    store.apply("rse", Batch(posts=(post("rse", "matrix", "internal", "4", public),)), now=T0)
    engine = Engine(config, store, hub, client)
    engine.fill_screen_from_store()
    try:
        assert await engine.images.load(lured) is None  # a stranger's post: not loaded at all
        assert await engine.images.load(own) is not None
        assert await engine.images.load(public) is not None
    finally:
        await engine.stop()
        await client.aclose()
        store.close()
    assert ("matrix/_matrix/client/v1/media/download/localhost/own", f"Bearer {TOKEN}") in seen
    assert all("lured" not in path for path, _ in seen)
    assert ("public/cdn/pic.png", "") in seen
    assert all(auth == "" for path, auth in seen if path.startswith("public"))


async def test_a_picture_url_in_an_internal_post_cannot_reach_another_lan_host(
    tmp_path: Path, httpserver: HTTPServer, qapp: QApplication
) -> None:
    """The Matrix server's own origin is trusted for its posts; another internal host is not, even
    when a post of that trusted source names it."""
    other = HTTPServer(host="127.0.0.1", port=0)
    other.expect_request("/admin/graph.png").respond_with_data(png(), content_type="image/png")
    other.start()
    try:
        matrix = httpserver.url_for("/").rstrip("/")
        config = parse_config(
            {
                "storage": {"state_dir": str(tmp_path / "state")},
                "sources": [
                    {
                        "name": "rse",
                        "type": "matrix",
                        "base_url": matrix,
                        "rooms": ["!hall:localhost"],
                        "token": TOKEN,
                        "require_tag": False,
                    }
                ],
            }
        )
        store, hub, client = open_store(config), Hub(), make_client(config)
        inside = other.url_for("/admin/graph.png")
        store.apply("rse", Batch(posts=(post("rse", "matrix", "internal", "1", inside),)), now=T0)
        engine = Engine(config, store, hub, client)
        engine.fill_screen_from_store()
        try:
            assert await engine.images.load(inside) is None
        finally:
            await engine.stop()
            await client.aclose()
            store.close()
        assert other.log == []
    finally:
        other.stop()
