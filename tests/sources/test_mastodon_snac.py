"""Mastodon source against a real Mastodon-API server: snac2, started for this module.

snac2 differs from Mastodon in ways the source must cope with: hex ids, no `Link` headers
(paging goes on with `min_id`), `acct` always with the domain, raw HTML in `content`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sources.base import HttpFetcher
from sources.mastodon import MastodonSettings, MastodonSource
from tests.servers.snac2 import SnacError, SnacServer, start_snac
from wall.core.model import Batch, utcnow

FOLLOW_DELIVERY_TIMEOUT = 40.0  # snac delivers a local follow through its queue in about 6 s


@pytest.fixture(scope="module")
def snac(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnacServer | SnacError]:
    """A running snac2 with users `brand` (display name "Brand Lobby", followed by `fan`) and `fan`.

    A missing snac2 is handed to each test as the error, so that each test fails (never skips).
    """
    try:
        server = start_snac(tmp_path_factory.mktemp("snac") / "data")
    except SnacError as exc:
        yield exc
        return
    try:
        server.add_user("brand", display_name="Brand Lobby")
        server.add_user("fan")
        server.follow("fan", "brand")  # delivered in the background while the other tests run
        yield server
    finally:
        server.stop()


def running(snac: SnacServer | SnacError) -> SnacServer:
    """The server, or a test failure that says how to install snac2."""
    if isinstance(snac, SnacError):
        pytest.fail(str(snac), pytrace=False)
    return snac


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


def source(server: SnacServer, http: HttpFetcher, **values: Any) -> MastodonSource:
    values.setdefault("hashtags", [])
    settings = MastodonSettings(name="snac", type="mastodon", base_url=server.base_url, **values)
    return MastodonSource(settings, http)


def texts(batch: Batch) -> list[str]:
    return [post.text for post in batch.posts]


@pytest.mark.asyncio
async def test_notes_appear_with_their_text_and_author(
    snac: SnacServer | SnacError, http: HttpFetcher
) -> None:
    server = running(snac)
    server.note("brand", "Bienvenue dans le hall & café <script>alert(1)</script> #LobbyText")
    server.note("fan", "Superbe accueil\nmerci ! #lobbytext https://example.com/hall")
    started = utcnow()

    batch = await source(server, http, hashtags=["lobbytext"]).poll()

    assert texts(batch) == [
        "Superbe accueil\nmerci ! #lobbytext https://example.com/hall",
        "Bienvenue dans le hall & café #LobbyText",
    ]
    fan_post, brand_post = batch.posts
    assert (brand_post.author.name, brand_post.author.handle) == ("Brand Lobby", f"@brand@{server.host}")
    assert (fan_post.author.name, fan_post.author.handle) == ("fan", f"@fan@{server.host}")
    assert brand_post.author.avatar_url.startswith("http://")
    assert brand_post.url.startswith(f"http://{server.host}/brand/p/")
    assert brand_post.tags == ("lobbytext",)
    assert brand_post.network == "mastodon" and brand_post.source == "snac"
    assert not brand_post.sensitive and not brand_post.is_reply and brand_post.boosted_by is None
    assert abs(brand_post.created_at - started) < timedelta(minutes=1)


@pytest.mark.asyncio
async def test_second_poll_returns_only_the_new_note(snac: SnacServer | SnacError, http: HttpFetcher) -> None:
    server = running(snac)
    wall_source = source(server, http, hashtags=["lobbynew"])
    server.note("brand", "Premier #lobbynew")
    assert texts(await wall_source.poll()) == ["Premier #lobbynew"]

    server.note("brand", "Deuxième #lobbynew")
    second = await wall_source.poll()
    third = await wall_source.poll()

    assert texts(second) == ["Deuxième #lobbynew"]
    assert texts(third) == []


@pytest.mark.asyncio
async def test_backlog_is_paged_with_min_id_without_link_headers(
    snac: SnacServer | SnacError, http: HttpFetcher
) -> None:
    server = running(snac)
    wall_source = source(server, http, hashtags=["lobbypages"], limit=2)
    server.note("brand", "Note 0 #lobbypages")
    assert texts(await wall_source.poll()) == ["Note 0 #lobbypages"]
    for number in range(1, 6):
        server.note("brand", f"Note {number} #lobbypages")

    batch = await wall_source.poll()  # three pages of 2, 2 and 1

    assert texts(batch) == [f"Note {number} #lobbypages" for number in range(5, 0, -1)]
    assert texts(await wall_source.poll()) == []


@pytest.mark.asyncio
async def test_state_survives_a_restart(snac: SnacServer | SnacError, http: HttpFetcher) -> None:
    server = running(snac)
    first = source(server, http, hashtags=["lobbyrestart"])
    server.note("brand", "Avant #lobbyrestart")
    await first.poll()
    server.note("brand", "Après #lobbyrestart")

    restarted = source(server, http, hashtags=["lobbyrestart"])
    restarted.restore(first.state())

    assert texts(await restarted.poll()) == ["Après #lobbyrestart"]


@pytest.mark.asyncio
async def test_followers_count_from_account_lookup(snac: SnacServer | SnacError, http: HttpFetcher) -> None:
    server = running(snac)
    wall_source = source(server, http, accounts=["brand"])
    deadline = time.monotonic() + FOLLOW_DELIVERY_TIMEOUT

    batch = await wall_source.poll()
    while batch.counts[0].value == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.25)  # the follow from `fan` is still in snac's queue
        batch = await wall_source.poll()

    (count,) = batch.counts
    assert (count.account, count.value, count.label, count.metric) == ("brand", 1, "Brand Lobby", "followers")
    assert count.network == "mastodon" and count.source == "snac"
