"""Fixtures the outbound tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.support.public import PUBLIC_STAND_IN


@pytest.fixture
def public_server() -> Iterator[HTTPServer]:
    """A real HTTP server on the address that stands in for the internet."""
    server = HTTPServer(host=PUBLIC_STAND_IN, port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
