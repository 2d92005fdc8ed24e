"""Answers that decompress to gigabytes or never end cost no more than the size cap (issue 12).

Before, a gzip bomb was refused but only after httpx had inflated a whole network read (64 KB of
zeros become 64 MB), and that memory stayed alive with the error: +66 MB a failed poll.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import INFLATE_PIECE_BYTES, HttpFetcher, TransientError
from wall.engine.images import picture_fetcher

CAP = 5_000_000  # the default `[network] max_response_bytes`


def bomb(megabytes: int) -> bytes:
    return gzip.compress(b"\0" * (megabytes * 1024 * 1024), 9)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_bomb_is_refused_without_inflating_it(
    httpserver: HTTPServer, encoding: str
) -> None:
    body = bomb(100) if encoding == "gzip" else zlib.compress(b"\0" * (100 * 1024 * 1024), 9)
    httpserver.expect_request("/feed").respond_with_data(body, headers={"Content-Encoding": encoding})
    async with httpx.AsyncClient() as client:
        fetcher = HttpFetcher(client, max_bytes=CAP)
        tracemalloc.start()
        try:
            with pytest.raises(TransientError, match="too large"):
                await fetcher.get(httpserver.url_for("/feed"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # What the refusal cost in Python allocations (the test server thread included): about the cap,
    # never the 100 MB it inflates to (one network read alone used to inflate to ~64 MB).
    assert peak < 4 * CAP, f"peak {peak / 1e6:.1f} MB for a {CAP / 1e6:.0f} MB cap"


async def test_a_small_compressed_answer_is_read_whole(httpserver: HTTPServer) -> None:
    text = ("Bonjour le hall " * 5000).encode()
    httpserver.expect_request("/feed").respond_with_data(
        gzip.compress(text), headers={"Content-Encoding": "gzip"}
    )
    async with httpx.AsyncClient() as client:
        fetched = await HttpFetcher(client, max_bytes=CAP).get(httpserver.url_for("/feed"))
    assert fetched.content == text


async def test_an_encoding_the_wall_did_not_ask_for_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"\x00\x01", headers={"Content-Encoding": "br"})
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientError, match="not supported"):
            await HttpFetcher(client, max_bytes=CAP).get(httpserver.url_for("/feed"))


async def test_a_bomb_is_inflated_a_piece_at_a_time_so_the_loop_keeps_running(httpserver: HTTPServer) -> None:
    """In `wall run` the loop is the GUI thread's: a frame is due every 16 ms, so no single inflate step
    may hold it for the whole cap (one network read of zeros is 5 MB of output at once)."""
    httpserver.expect_request("/feed").respond_with_data(bomb(100), headers={"Content-Encoding": "gzip"})
    turns = 0
    stop = asyncio.Event()

    async def frames() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    async with httpx.AsyncClient() as client:
        ticker = asyncio.create_task(frames())
        with pytest.raises(TransientError, match="too large"):
            await HttpFetcher(client, max_bytes=CAP).get(httpserver.url_for("/feed"))
        stop.set()
        await ticker
    assert turns >= CAP // INFLATE_PIECE_BYTES  # the loop ran between the pieces of the 5 MB


async def test_a_picture_is_never_inflated(httpserver: HTTPServer) -> None:
    """Pictures are compressed already: the wall asks for them as they are, and refuses a gzip answer."""
    asked: list[str] = []

    def answer(request: Request) -> Response:
        asked.append(request.headers.get("Accept-Encoding", ""))
        return Response(bomb(10), headers={"Content-Encoding": "gzip"}, content_type="image/png")

    httpserver.expect_request("/pic.png").respond_with_handler(answer)
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientError, match="not asked for"):
            await picture_fetcher(client).get(httpserver.url_for("/pic.png"))
    assert asked == ["identity"]


async def test_a_big_json_page_is_decoded_off_the_event_loop_with_the_same_result(
    httpserver: HTTPServer,
) -> None:
    """A 5 MB JSON page (a hostile or just a large API answer) is decoded in a worker thread, where it
    cannot hold the GUI thread's loop for 50 ms as one `json.loads` call did; what the adapter reads is
    the same, and a malformed one is still a clear error naming where it came from."""
    import json

    page = [
        {"id": str(n), "content": "<p>" + "word " * 80 + "</p>", "tags": [{"name": "brand"}]}
        for n in range(9000)
    ]
    body = json.dumps(page).encode()
    assert len(body) > 4_000_000
    httpserver.expect_request("/big").respond_with_data(body, content_type="application/json")
    httpserver.expect_request("/broken").respond_with_data(body[:-2], content_type="application/json")
    httpserver.expect_request("/deep").respond_with_data(b"[" * 300_000, content_type="application/json")
    httpserver.expect_request("/small").respond_with_data(b'{"a": 1}', content_type="application/json")

    async with httpx.AsyncClient() as client:
        http = HttpFetcher(client, max_bytes=10_000_000)
        fetched = await http.get(httpserver.url_for("/big"))
        assert fetched.json() == page
        assert fetched.decoded == page  # decoded in a worker thread before the adapter asked
        for path in ("/broken", "/deep"):
            broken = await http.get(httpserver.url_for(path))
            with pytest.raises(TransientError, match=f"malformed JSON from http://localhost:\\d+{path}"):
                broken.json()
        small = await http.get(httpserver.url_for("/small"))
        assert small.json() == {"a": 1}
