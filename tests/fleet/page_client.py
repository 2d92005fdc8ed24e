"""The collector's moderation page as comms use it, over real HTTP on loopback: the page served by
`wall collect`'s own code (`wall.web.fleet_desk`), a person logging in and posting its forms."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from tests.servers.snac2 import free_port
from wall.engine.config import WallConfig, WebSettings
from wall.engine.fleet.collector import Collector
from wall.web.engine_desk import serve_page
from wall.web.fleet_desk import FleetDesk

TOKEN = "fleet-page-token-0123456789abcdef"


def with_page(config: WallConfig) -> WallConfig:
    """`config` with `[web] enabled` on a free loopback port."""
    web = WebSettings(enabled=True, host="127.0.0.1", port=free_port(), token=SecretStr(TOKEN))
    return config.model_copy(update={"web": web})


@dataclass
class PageClient:
    """A logged-in browser without a browser: cookies, and the CSRF token of the last page read."""

    http: httpx.AsyncClient
    desk: FleetDesk
    csrf: str = ""

    async def read(self, path: str = "/") -> str:
        """GET a page (200) and keep its CSRF token."""
        page = await self.http.get(path)
        assert page.status_code == 200, page.text
        if found := re.search(r'name="csrf" value="([^"]+)"', page.text):
            self.csrf = found.group(1)
        return page.text

    async def post(self, path: str, **fields: str) -> httpx.Response:
        """POST a form with the CSRF token; the page answers 303 (see the next page)."""
        answer = await self.http.post(path, data={"csrf": self.csrf, **fields})
        assert answer.status_code == 303, answer.text
        return answer


@asynccontextmanager
async def collector_page(collector: Collector, config: WallConfig) -> AsyncIterator[PageClient]:
    """The page of a running collector, and Alice logged in on it."""
    desk = FleetDesk(collector)
    server = await serve_page(config, desk)
    assert server is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as http:
        client = PageClient(http, desk)
        await client.read("/login")
        await client.post("/login", who="Alice", token=TOKEN)
        await client.read("/")
        try:
            yield client
        finally:
            await server.stop()
            desk.close()
