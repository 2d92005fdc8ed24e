"""sources/base.py: HttpFetcher over real HTTP (a request's own timeout versus the client's), the
secrets every adapter asks for, and the optional capabilities of the Source protocols."""

from __future__ import annotations

import ast
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import (
    AuthError,
    HttpFetcher,
    PictureSource,
    SourceBase,
    SourceSettings,
    StreamingSource,
    TransientError,
    env_variable,
    required_secret,
)
from sources.mastodon import MastodonSettings, MastodonSource
from sources.registry import ADAPTERS
from sources.rss import RssSettings, RssSource
from tests.support.clock import SteppedClock
from wall.core.model import Batch, SourceStatus
from wall.engine.poller import Poller, RetryPolicy

SOURCES = Path(__file__).resolve().parents[2] / "sources"


def slow(request: Request) -> Response:
    time.sleep(1.0)
    return Response('{"ok": true}', content_type="application/json")


@pytest.mark.asyncio
async def test_a_request_may_wait_longer_than_the_clients_timeout(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/sync").respond_with_handler(slow)
    async with httpx.AsyncClient(timeout=0.3) as client:
        http = HttpFetcher(client)
        with pytest.raises(TransientError, match="timed out"):
            await http.get(httpserver.url_for("/sync"))
        fetched = await http.request("GET", httpserver.url_for("/sync"), timeout=5.0)
    assert fetched.json() == {"ok": True}


# -- secrets --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "variable"),
    [
        ("news", "token", "WALL_SOURCES__NEWS__TOKEN"),
        ("lobby-rse", "api_key", "WALL_SOURCES__LOBBY_RSE__API_KEY"),
        ("teams.general", "client_secret", "WALL_SOURCES__TEAMS_GENERAL__CLIENT_SECRET"),
        ("x_brand", "bearer_token", "WALL_SOURCES__X_BRAND__BEARER_TOKEN"),
    ],
)
def test_a_secret_has_one_environment_variable(name: str, key: str, variable: str) -> None:
    assert env_variable(name, key) == variable


@pytest.mark.parametrize(
    ("secret", "key", "what", "message"),
    [
        (
            None,
            "token",
            "",
            "rss source 'lobby-rse' has no token: set `token`, WALL_SOURCES__LOBBY_RSE__TOKEN or the "
            "credential lobby-rse.token",
        ),
        (
            SecretStr(""),
            "api_key",
            "",
            "rss source 'lobby-rse' has no api_key: set `api_key`, WALL_SOURCES__LOBBY_RSE__API_KEY or the "
            "credential lobby-rse.api_key",
        ),
        (
            None,
            "client_secret",
            "a client secret of the app registration",
            "rss source 'lobby-rse' has no client_secret: set `client_secret`, "
            "WALL_SOURCES__LOBBY_RSE__CLIENT_SECRET or the credential lobby-rse.client_secret "
            "(a client secret of the app registration)",
        ),
    ],
)
def test_a_missing_secret_says_the_three_places_to_set_it(
    secret: SecretStr | None, key: str, what: str, message: str
) -> None:
    settings = SourceSettings(name="lobby-rse", type="rss")
    with pytest.raises(AuthError) as exc:
        required_secret(secret, settings, key, what=what)
    assert str(exc.value) == message


def test_a_set_secret_is_given_raw() -> None:
    settings = SourceSettings(name="lobby-rse", type="rss")
    assert required_secret(SecretStr("s3cret"), settings, "token") == "s3cret"


# -- capabilities: declared once, read directly (STYLE 13) -------------------------------------------


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_every_adapter_inherits_the_declared_capabilities(kind: str) -> None:
    adapter = ADAPTERS[kind].source
    assert isinstance(adapter, type) and issubclass(adapter, SourceBase), kind


def test_a_source_that_needs_no_capability_gets_the_defaults() -> None:
    rss = RssSource(
        RssSettings(name="news", type="rss", url="https://news.example/feed"),
        HttpFetcher(httpx.AsyncClient()),
    )
    assert isinstance(rss, PictureSource) and not isinstance(rss, StreamingSource)
    assert rss.slow_down == 0.0
    assert rss.image_headers("https://news.example/a.jpg") == {}  # its pictures are public
    masto = MastodonSource(
        MastodonSettings(name="masto", type="mastodon", base_url="https://masto.example", hashtags=["brand"]),
        HttpFetcher(httpx.AsyncClient()),
    )
    assert isinstance(masto, StreamingSource) and masto.stream_unavailable == ""


@pytest.mark.parametrize("path", sorted(SOURCES.glob("*.py")), ids=lambda p: p.name)
def test_a_picture_gets_a_token_only_through_bearer_for(path: Path) -> None:
    """Which origin may receive a source's token is decided in one place (STYLE 11)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef)
            and node.name == "image_headers"
            and path.name not in ("base.py", "contract.py")
        ):
            called = {
                c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
            }
            assert "bearer_for" in called, f"{path.name}:{node.lineno}: build the header with bearer_for"
            strings = [
                c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)
            ]
            assert not any("Bearer" in text for text in strings), f"{path.name}:{node.lineno}"


class NearItsLimit(SourceBase):
    """A source whose API asked it to space its polls out (as Graph's usage headers do)."""

    network: ClassVar[str] = "test"

    def __init__(self, name: str, extra: float) -> None:
        self.settings = SourceSettings(name=name, type="test", interval=60)
        self.extra = extra

    @property
    def slow_down(self) -> float:
        return self.extra

    async def poll(self) -> Batch:
        return Batch()

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        return None


@pytest.mark.asyncio
async def test_the_next_poll_waits_what_the_source_asks() -> None:
    clock = SteppedClock()
    statuses: list[SourceStatus] = []

    async def ignore(source: object, batch: Batch) -> None:
        return None

    busy, calm = NearItsLimit("busy", 600.0), NearItsLimit("calm", 0.0)
    poller = Poller([busy, calm], ignore, statuses.append, policy=RetryPolicy(jitter=0.0), clock=clock)
    assert await poller.poll_once(busy) == 660.0
    assert await poller.poll_once(calm) == 60.0
    shown = {status.source: status.next_poll for status in statuses}
    assert shown == {"busy": clock.now + timedelta(seconds=660), "calm": clock.now + timedelta(seconds=60)}
