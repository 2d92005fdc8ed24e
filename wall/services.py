"""The Qt-free services shared by the app and the CLI: HTTP client, sources, store."""

from __future__ import annotations

from pathlib import Path

import httpx

from sources.base import HttpFetcher, Source
from sources.registry import build_source
from wall import __version__
from wall.config import WallConfig
from wall.paths import state_dir
from wall.store import Store

USER_AGENT = f"lobby-wall/{__version__} (lobby social media wall)"


def make_client(config: WallConfig) -> httpx.AsyncClient:
    """The one HTTP client of the process (the first request on a fresh client is slow)."""
    timeout = httpx.Timeout(config.network.timeout, connect=min(10.0, config.network.timeout))
    return httpx.AsyncClient(
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


def build_sources(config: WallConfig, client: httpx.AsyncClient) -> list[Source]:
    """An adapter per enabled `[[sources]]` entry."""
    return [
        build_source(s, HttpFetcher(client, max_bytes=config.network.max_response_bytes))
        for s in config.sources
        if s.enabled
    ]


def store_path(config: WallConfig) -> Path:
    """Where the SQLite store of this config lives."""
    return state_dir(config.storage.state_dir) / "wall.sqlite3"


def open_store(config: WallConfig) -> Store:
    """The SQLite store under the state directory (created when missing)."""
    return Store(store_path(config), max_posts_per_source=config.storage.max_posts_per_source)
