"""HttpFetcher over real HTTP: a request's own timeout (long-polls) versus the client's."""

from __future__ import annotations

import time

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import HttpFetcher, TransientError


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
