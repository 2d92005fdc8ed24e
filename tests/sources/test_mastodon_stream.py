"""Mastodon streaming: the SSE parser, streamed events, and the stream over real HTTP.

The REST API (instance, timelines, accounts) is served by pytest-httpserver; the streaming API by
`tests/servers/sse.py`, a small asyncio server that keeps the answer open and streams real SSE
framing with pauses, heartbeats, cuts and refusals. Like on mastodon.social, the instance announces
its streaming host (here: the SSE server's ws:// URL) in `/api/v2/instance`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pytest_httpserver import HTTPServer

from sources.base import AuthError, HttpFetcher, TransientError
from sources.mastodon import (
    MastodonSettings,
    MastodonSource,
    SseComment,
    SseEvent,
    SseParser,
    parse_stream_event,
    streaming_root,
)
from tests.servers.snac2 import SnacError, SnacServer, start_snac
from tests.servers.sse import SseServer
from wall.core.model import Batch, Health, SourceStatus
from wall.engine.poller import Poller, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mastodon"
TAG_PATH = "/api/v1/timelines/tag/brand"
STREAM_PATH = "/api/v1/streaming/hashtag"
TOKEN = "str3am-t0ken-value"
TIME_SCALE = 0.001  # the poller's waits in these tests: one virtual hour is 3.6 real seconds
QUICK = RetryPolicy(jitter=0.0, max_backoff=15, first_poll_spread=0)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def status(status_id: str, text: str, **changes: Any) -> dict[str, Any]:
    """A public status shaped as the API documents it (the fixture timeline's first one)."""
    item: dict[str, Any] = copy.deepcopy(load("tag_timeline.json")[0])
    item.update(
        id=status_id,
        content=f"<p>{text}</p>",
        url=f"https://mastodon.example/@lea/{status_id}",
        uri=f"https://mastodon.example/users/lea/statuses/{status_id}",
        edited_at=None,
    )
    item.update(changes)
    return item


def instance_v2(streaming: str) -> dict[str, Any]:
    payload: dict[str, Any] = load("instance_v2.json")
    payload["configuration"]["urls"]["streaming"] = streaming
    return payload


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def make_source(httpserver: HTTPServer, http: HttpFetcher, **values: Any) -> MastodonSource:
    heartbeat_timeout = values.pop("heartbeat_timeout", 5.0)
    values.setdefault("hashtags", ["brand"])
    values.setdefault("token", TOKEN)
    settings = MastodonSettings(name="masto", type="mastodon", base_url=base(httpserver), **values)
    return MastodonSource(settings, http, heartbeat_timeout=heartbeat_timeout)


def announce(httpserver: HTTPServer, sse: SseServer) -> None:
    httpserver.expect_request("/api/v2/instance").respond_with_json(instance_v2(sse.ws_url))


def timeline(httpserver: HTTPServer, items: list[dict[str, Any]], min_id: str | None = None) -> None:
    query = {"limit": "40"} if min_id is None else {"limit": "40", "min_id": min_id}
    httpserver.expect_request(TAG_PATH, query_string=query).respond_with_json(items)


def requests_to(httpserver: HTTPServer, path: str) -> list[dict[str, str]]:
    return [dict(request.args) for request, _ in httpserver.log if request.path == path]


async def next_batch(batches: AsyncGenerator[Batch, None], timeout: float = 2.0) -> Batch:
    return await asyncio.wait_for(anext(batches), timeout)


async def next_change(batches: AsyncGenerator[Batch, None], timeout: float = 2.0) -> Batch:
    """The next batch that is not a heartbeat."""
    while not (batch := await next_batch(batches, timeout)):
        pass
    return batch


async def until(check: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def scaled_sleep(delays: list[float], scale: float = TIME_SCALE) -> Callable[[float], Awaitable[None]]:
    """The poller's sleep, `scale` times shorter, recording each wait it was asked for."""

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(seconds * scale)

    return sleep


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


@pytest_asyncio.fixture
async def sse() -> AsyncIterator[SseServer]:
    server = SseServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# -- the SSE parser --------------------------------------------------------------------------------

STREAM_LF = ':)\nevent: update\ndata: {"id":"1"}\n\n:thump\nevent: delete\ndata: 108914430312582020\n\n'


def test_parser_reads_events_and_heartbeats() -> None:
    items = SseParser().feed(STREAM_LF.encode())
    assert items == [
        SseComment(")"),
        SseEvent("update", '{"id":"1"}'),
        SseComment("thump"),
        SseEvent("delete", "108914430312582020"),
    ]


@pytest.mark.parametrize("eol", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_parser_takes_every_line_ending(eol: str) -> None:
    text = STREAM_LF.replace("\n", eol)
    assert SseParser().feed(text.encode()) == SseParser().feed(STREAM_LF.encode())


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_parser_gives_the_same_events_whatever_the_chunk_boundaries(eol: str) -> None:
    text = (
        "\ufeffevent: status.update"
        + eol
        + 'data: {"content":"caf\u00e9 \u2615"}'
        + eol
        + eol
        + ":thump"
        + eol
    ).encode()
    whole = SseParser().feed(text)
    parser = SseParser()
    byte_by_byte = [item for i in range(len(text)) for item in parser.feed(text[i : i + 1])]
    assert byte_by_byte == whole == [SseEvent("status.update", '{"content":"café ☕"}'), SseComment("thump")]


def test_parser_joins_data_lines_and_follows_the_field_rules() -> None:
    text = (
        "data:first\n"  # no space after the colon
        "data:  second\n"  # only one space is dropped
        "data\n"  # a field without a colon: empty value
        "retry: 3000\n"
        "unknown: ignored\n"
        "id: 42\n"
        "\n"
        "event: lonely\n"
        "\n"  # no data: nothing dispatched, and the name does not leak into the next event
        "data: next\n"
        "\n"
        "event: update\n"
        "data: {cut"  # never completed
    )
    assert SseParser().feed(text.encode()) == [
        SseEvent("message", "first\n second\n", "42"),
        SseEvent("message", "next", "42"),
    ]


def test_parser_refuses_an_endless_event() -> None:
    parser = SseParser(max_chars=100)
    parser.feed(b"event: update\ndata: " + b"x" * 60 + b"\n")
    with pytest.raises(TransientError, match="larger than 100 characters"):
        parser.feed(b"data: " + b"y" * 60 + b"\n")


# -- streamed events ------------------------------------------------------------------------------


def event(name: str, data: Any) -> SseEvent:
    return SseEvent(name, data if isinstance(data, str) else json.dumps(data))


def parse_event(item: SseEvent) -> Batch | None:
    return parse_stream_event(item, source="masto", kind="mention", instance_host="mastodon.example")


def test_update_is_a_new_post_shown_like_a_polled_one() -> None:
    batch = parse_event(event("update", status("201", "Bonjour le hall &amp; #brand")))
    assert batch is not None and len(batch.posts) == 1 and not batch.deleted
    post = batch.posts[0]
    assert (post.id, post.text, post.source, post.network) == (
        "201",
        "Bonjour le hall & #brand",
        "masto",
        "mastodon",
    )
    assert (
        post.author.handle == "@lea@mastodon.example" and post.tags == ("brand",) and post.edited_at is None
    )


def test_edit_replaces_the_post_and_delete_names_it() -> None:
    edited = parse_event(
        event("status.update", status("201", "corrigé", edited_at="2025-06-02T09:05:00.000Z"))
    )
    assert edited is not None and edited.posts[0].text == "corrigé" and edited.posts[0].edited_at is not None
    deleted = parse_event(event("delete", "201"))
    assert deleted is not None and deleted.deleted == ("201",) and not deleted.posts


def test_edit_that_can_no_longer_be_shown_removes_the_post() -> None:
    batch = parse_event(event("status.update", status("201", "secret", visibility="private")))
    assert batch is not None and batch.deleted == ("201",) and not batch.posts


def test_status_not_meant_for_the_public_is_not_shown() -> None:
    batch = parse_event(event("update", status("202", "entre nous", visibility="unlisted")))
    assert batch == Batch()


def test_other_events_are_ignored_and_bad_json_is_transient() -> None:
    assert parse_event(event("filters_changed", "undefined")) is None
    assert parse_event(event("notification", "{}")) is None
    with pytest.raises(TransientError, match="malformed JSON in a mastodon 'update' event"):
        parse_event(event("update", "{not json"))


@pytest.mark.parametrize(
    ("announced", "base_url", "root"),
    [
        (
            "wss://streaming.mastodon.example",
            "https://mastodon.example",
            "https://streaming.mastodon.example",
        ),
        ("wss://mastodon.example/api/v1/streaming/", "https://mastodon.example", "https://mastodon.example"),
        ("ws://127.0.0.1:4000", "http://127.0.0.1:3000", "http://127.0.0.1:4000"),
        ("wss://localhost:8080", "http://localhost:8080", "http://localhost:8080"),  # snac2 on plain http
        ("ws://streaming.mastodon.example", "https://mastodon.example", "https://mastodon.example"),
        ("", "https://mastodon.example", "https://mastodon.example"),
        ("wss://user:pw@evil.example", "https://mastodon.example", "https://mastodon.example"),
        ("ftp://mastodon.example", "https://mastodon.example", "https://mastodon.example"),
    ],
)
def test_streaming_root_from_what_the_instance_announces(announced: str, base_url: str, root: str) -> None:
    assert streaming_root(announced, base_url) == root


# -- the stream over real HTTP --------------------------------------------------------------------


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
async def test_update_edit_and_delete_arrive_as_they_happen(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer, crlf: bool
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])  # nothing published between the catch-up poll and the connection
    source = make_source(httpserver, http)
    batches = source.stream()

    assert await next_batch(batches) == Batch()  # connected; nothing missed
    connection = await sse.connection()
    assert source.live
    assert connection.request.path == STREAM_PATH and connection.request.query == {"tag": ["brand"]}
    assert connection.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert connection.request.headers["accept"] == "text/event-stream"

    await connection.send(":)\n")
    assert await next_batch(batches) == Batch()  # a heartbeat
    await connection.event("update", json.dumps(status("201", "Bonjour #brand")), crlf=crlf)
    new = await next_change(batches)
    assert [(p.id, p.text) for p in new.posts] == [("201", "Bonjour #brand")]
    assert source.state() == {"cursors": {"brand": "201"}}  # a catch-up poll starts after it

    edit = status("201", "Bonjour à tous #brand", edited_at="2025-06-02T09:05:00.000Z")
    await connection.event("status.update", json.dumps(edit), crlf=crlf)
    edited = await next_change(batches)
    assert [(p.id, p.text) for p in edited.posts] == [("201", "Bonjour à tous #brand")]
    assert edited.posts[0].edited_at is not None
    assert source.state() == {"cursors": {"brand": "201"}}  # an edit is not a newer status

    await connection.event("delete", "201", crlf=crlf)
    assert (await next_change(batches)).deleted == ("201",)

    await batches.aclose()
    await asyncio.wait_for(connection.closed.wait(), 2)
    assert not source.live


async def test_each_hashtag_has_its_connection(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    for tag in ("brand", "lobby"):
        httpserver.expect_request(f"/api/v1/timelines/tag/{tag}").respond_with_json([])
    source = make_source(httpserver, http, hashtags=["brand", "lobby"])
    batches = source.stream()
    await next_batch(batches)
    first, second = await sse.connection(), await sse.connection()
    assert {first.request.query["tag"][0], second.request.query["tag"][0]} == {"brand", "lobby"}
    lobby = first if first.request.query["tag"] == ["lobby"] else second
    await lobby.event("update", json.dumps(status("301", "#lobby")))
    assert [p.id for p in (await next_change(batches)).posts] == ["301"]
    assert source.state()["cursors"]["lobby"] == "301"
    await batches.aclose()


async def test_hashtags_beyond_max_streams_stay_polled(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])
    httpserver.expect_request("/api/v1/timelines/tag/lobby").respond_with_json([status("401", "#lobby")])
    settings = MastodonSettings(
        name="masto", type="mastodon", base_url=base(httpserver), hashtags=["brand", "lobby"], token=TOKEN
    )
    source = MastodonSource(settings, http, max_streams=1)
    batches = source.stream()
    await next_batch(batches)
    connection = await sse.connection()
    assert connection.request.query == {"tag": ["brand"]} and len(sse.requests) == 1
    assert [p.id for p in (await source.poll()).posts] == ["401"]  # lobby is polled
    assert requests_to(httpserver, TAG_PATH) == [{"limit": "40"}]  # brand only at connection time
    await batches.aclose()


async def test_heartbeats_keep_a_quiet_stream_alive_and_silence_ends_it(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])
    source = make_source(httpserver, http, heartbeat_timeout=0.6)
    batches = source.stream()
    await next_batch(batches)
    connection = await sse.connection()
    for _ in range(5):  # 0.75 s in all, longer than the timeout: each heartbeat resets it
        await asyncio.sleep(0.15)
        await connection.heartbeat()
        assert await next_batch(batches) == Batch()
    with pytest.raises(
        TransientError, match=r"no heartbeat from http://127\.0\.0\.1:\d+/api/v1/streaming/hashtag"
    ):
        await next_batch(batches)
    await asyncio.wait_for(connection.closed.wait(), 2)  # the dead connection is closed on our side


async def test_connection_cut_mid_event_is_transient_and_the_half_event_is_dropped(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])
    source = make_source(httpserver, http)
    batches = source.stream()
    await next_batch(batches)
    connection = await sse.connection()
    half = json.dumps(status("202", "coupé"))[:80]
    await connection.send(f"event: update\ndata: {half}")
    await asyncio.sleep(0.05)
    connection.drop()
    with pytest.raises(TransientError, match="connection lost reading") as raised:
        await next_change(batches)
    assert TOKEN not in str(raised.value)
    assert source.state() == {"cursors": {}} and not source.live


async def test_server_ending_the_stream_is_transient(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])
    batches = make_source(httpserver, http).stream()
    await next_batch(batches)
    await (await sse.connection()).end()
    with pytest.raises(TransientError, match="stream closed by the server"):
        await next_change(batches)


async def test_refused_token_is_an_auth_error_that_never_shows_it(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    sse.answer_next(401, b'{"error":"Error while verifying token"}')
    source = make_source(httpserver, http)
    with pytest.raises(AuthError) as raised:
        await next_batch(source.stream())
    message = str(raised.value)
    assert "check the token" in message and "HTTP 401" in message and TOKEN not in message
    assert TOKEN not in repr(source)


@pytest.mark.parametrize(
    ("code", "body", "content_type", "why"),
    [
        (404, b"<h1>404 Not Found</h1>", "text/html", "HTTP 404"),
        (400, b'{"error":"Unknown channel requested"}', "application/json", "HTTP 400"),
        (501, b"", "text/plain", "HTTP 501"),
        (200, b"<html>a web page</html>", "text/html", "an answer of type text/html"),
    ],
)
async def test_no_streaming_endpoint_ends_the_stream_and_polling_goes_on(
    httpserver: HTTPServer,
    http: HttpFetcher,
    sse: SseServer,
    code: int,
    body: bytes,
    content_type: str,
    why: str,
) -> None:
    announce(httpserver, sse)
    sse.answer_next(code, body, content_type)
    source = make_source(httpserver, http)
    assert [batch async for batch in source.stream()] == []
    assert why in source.stream_unavailable and TOKEN not in source.stream_unavailable
    assert not source.live
    timeline(httpserver, [status("100", "par le sondage #brand")])
    assert [p.id for p in (await source.poll()).posts] == ["100"]


@pytest.mark.parametrize(
    ("values", "why"),
    [({"token": None}, "streaming needs a token"), ({"stream": False}, "stream = false")],
    ids=["no-token", "stream-off"],
)
async def test_without_token_or_with_streaming_off_nothing_is_tried(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer, values: dict[str, Any], why: str
) -> None:
    source = make_source(httpserver, http, **values)
    assert [batch async for batch in source.stream()] == []
    assert source.stream_unavailable == why
    assert not httpserver.log and not sse.requests


async def test_streaming_host_from_the_v1_instance_is_looked_up_once(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    httpserver.expect_request("/api/v2/instance").respond_with_json({"error": "Not Found"}, status=404)
    v1: dict[str, Any] = load("instance_v1.json")
    v1["urls"]["streaming_api"] = f"{sse.ws_url}/api/v1/streaming"  # some servers name the endpoint
    httpserver.expect_request("/api/v1/instance").respond_with_json(v1)
    timeline(httpserver, [])
    source = make_source(httpserver, http)
    for _ in range(2):
        batches = source.stream()
        await next_batch(batches)
        connection = await sse.connection()
        assert connection.request.path == STREAM_PATH
        await batches.aclose()
    assert len(requests_to(httpserver, "/api/v1/instance")) == 1
    instance_requests = [request for request, _ in httpserver.log if request.path.endswith("/instance")]
    assert len(instance_requests) == 2  # v2 then v1, once
    assert all("Authorization" not in request.headers for request in instance_requests)  # public: no token


async def test_without_announcement_the_api_host_streams(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request("/api/v2/instance").respond_with_data(
        "<html>not json</html>", content_type="text/html"
    )
    httpserver.expect_request("/api/v1/instance").respond_with_json({"error": "Not Found"}, status=404)
    httpserver.expect_request(STREAM_PATH).respond_with_data("<h1>Not Found</h1>", status=404)
    source = make_source(httpserver, http)
    assert [batch async for batch in source.stream()] == []
    (stream_request,) = [request for request, _ in httpserver.log if request.path == STREAM_PATH]
    assert stream_request.args["tag"] == "brand"
    assert stream_request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_what_was_published_before_the_connection_is_read_once_connected(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [status("101", "publié entre-temps #brand")], min_id="100")
    source = make_source(httpserver, http)
    source.restore({"cursors": {"brand": "100"}})
    batches = source.stream()
    assert [p.id for p in (await next_batch(batches)).posts] == ["101"]
    assert source.state() == {"cursors": {"brand": "101"}}
    await batches.aclose()


async def test_while_live_a_poll_reads_only_the_follower_counts(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [])
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_json(load("account_lookup.json"))
    source = make_source(httpserver, http, accounts=["brand"])
    batches = source.stream()
    await next_batch(batches)
    before = len(requests_to(httpserver, TAG_PATH))
    polled = await source.poll()
    assert len(requests_to(httpserver, TAG_PATH)) == before and not polled.posts
    assert [c.account for c in polled.counts] == ["brand"]
    await batches.aclose()
    await source.poll()  # no longer live: the timeline is read again
    assert len(requests_to(httpserver, TAG_PATH)) == before + 1


# -- with the poller --------------------------------------------------------------------------------


async def test_post_pushed_by_the_server_reaches_the_wall_within_two_seconds(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [status("100", "déjà là #brand")])
    timeline(httpserver, [], min_id="100")
    received: list[Batch] = []

    async def on_batch(source: object, batch: Batch) -> None:
        received.append(batch)

    source = make_source(httpserver, http, interval=3600)
    poller = Poller([source], on_batch, lambda status: None, policy=QUICK, sleep=scaled_sleep([]))
    poller.start()
    try:
        connection = await sse.connection()
        await until(lambda: source.live)
        pushed_at = asyncio.get_running_loop().time()
        await connection.event("update", json.dumps(status("101", "En direct du hall #brand")))
        await until(lambda: any(p.id == "101" for b in received for p in b.posts), timeout=2.0)
        assert asyncio.get_running_loop().time() - pushed_at < 2.0
        assert [p.id for p in received[0].posts] == ["100"]  # the catch-up poll came first
    finally:
        await poller.stop()
    await asyncio.wait_for(connection.closed.wait(), 2)  # stopping the wall closes the stream


async def test_after_a_drop_the_poller_catches_up_with_one_poll_then_reconnects(
    httpserver: HTTPServer, http: HttpFetcher, sse: SseServer
) -> None:
    announce(httpserver, sse)
    timeline(httpserver, [status("100", "déjà là #brand")])
    timeline(httpserver, [], min_id="100")
    timeline(httpserver, [status("102", "publié pendant la coupure #brand")], min_id="101")
    timeline(httpserver, [], min_id="102")
    received: list[Batch] = []
    statuses: list[SourceStatus] = []
    delays: list[float] = []

    async def on_batch(source: object, batch: Batch) -> None:
        received.append(batch)

    source = make_source(httpserver, http, interval=3600)
    poller = Poller([source], on_batch, statuses.append, policy=QUICK, sleep=scaled_sleep(delays))
    poller.start()
    try:
        first = await sse.connection()
        await until(lambda: source.live)
        await first.event("update", json.dumps(status("101", "en direct #brand")))
        await until(lambda: any(p.id == "101" for b in received for p in b.posts))
        await first.send('event: update\ndata: {"id":"1')
        await asyncio.sleep(0.05)
        first.drop()

        second = await sse.connection()
        await until(lambda: source.live)
        shown = [p.id for b in received for p in b.posts]
        assert shown == ["100", "101", "102"]
        catch_ups = [args for args in requests_to(httpserver, TAG_PATH) if args.get("min_id") == "101"]
        assert len(catch_ups) == 1  # one poll caught up; the stream started again after it
        assert second.request.query == {"tag": ["brand"]}
        failed = next(s for s in statuses if s.health is not Health.OK)
        assert failed.health is Health.RETRYING and "connection lost reading" in failed.last_error
        assert TOKEN not in failed.last_error
        assert 15 in delays  # the backoff of a first failure (capped at max_backoff here)
        await until(lambda: statuses[-1].health is Health.OK)
    finally:
        await poller.stop()


# -- a server without streaming: snac2 ------------------------------------------------------------


@pytest.fixture(scope="module")
def snac(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnacServer | SnacError]:
    """A running snac2 with a user `brand`; a missing snac2 fails each test that needs it."""
    try:
        server = start_snac(tmp_path_factory.mktemp("snac-stream") / "data")
    except SnacError as exc:
        yield exc
        return
    try:
        server.add_user("brand", display_name="Brand Lobby")
        yield server
    finally:
        server.stop()


def running(snac: SnacServer | SnacError) -> SnacServer:
    if isinstance(snac, SnacError):
        pytest.fail(str(snac), pytrace=False)
    return snac


async def test_snac2_with_a_token_has_no_stream_and_is_polled(
    snac: SnacServer | SnacError, http: HttpFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    server = running(snac)
    # snac2 announces wss://HOST:PORT for its plain-HTTP port; reach it under that host name.
    settings = MastodonSettings(
        name="snac",
        type="mastodon",
        base_url=f"http://{server.host}",
        hashtags=["lobbystream"],
        token=TOKEN,
        interval=15,
    )
    source = MastodonSource(settings, http)
    assert [batch async for batch in source.stream()] == []
    assert "HTTP 404" in source.stream_unavailable

    server.note("brand", "Avant le démarrage #lobbystream")
    received: list[Batch] = []

    async def on_batch(source: object, batch: Batch) -> None:
        received.append(batch)

    def texts() -> list[str]:
        return [p.text for b in received for p in b.posts]

    caplog.set_level(logging.INFO, logger="wall.engine.poller")
    # The interval of 15 s lasts 150 ms here: the next polls find the new note.
    poller = Poller([source], on_batch, lambda status: None, policy=QUICK, sleep=scaled_sleep([], 0.01))
    poller.start()
    try:
        await until(lambda: texts() == ["Avant le démarrage #lobbystream"])
        server.note("brand", "Pendant le sondage #lobbystream")
        await until(lambda: "Pendant le sondage #lobbystream" in texts(), timeout=5.0)
    finally:
        await poller.stop()
    unavailable = [r for r in caplog.records if "streaming not available" in r.getMessage()]
    assert len(unavailable) == 1 and "HTTP 404" in unavailable[0].getMessage()


# -- the command line ----------------------------------------------------------------------------------


def test_wall_fetch_polls_once_and_never_streams(tmp_path: Path, httpserver: HTTPServer) -> None:
    timeline(httpserver, [status("100", "Bonjour le hall #brand")])
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "{base(httpserver)}"\n'
        'hashtags = ["brand"]\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "masto", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__MASTO__TOKEN": TOKEN},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["type"], line["text"]) for line in lines] == [("post", "Bonjour le hall #brand")]
    assert TOKEN not in result.stdout + result.stderr
    assert [request.path for request, _ in httpserver.log] == [TAG_PATH]  # no instance, no streaming
