"""Answers that decompress to gigabytes or never end cost no more than the size cap (issue 12).

Before, a gzip bomb was refused but only after httpx had inflated a whole network read (64 KB of
zeros become 64 MB), and that memory stayed alive with the error: +66 MB a failed poll.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import httpx
import pytest
from pytest_httpserver import HTTPServer

from sources.base import HttpFetcher, TransientError

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
