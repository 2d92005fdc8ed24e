"""The Qt-free services shared by the app and the CLI: HTTP client, sources, store."""

from __future__ import annotations

import base64
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sources.contract import PictureSource, SourceSettings
from wall import __version__
from wall.core.model import Batch, PostKind
from wall.core.paths import state_dir
from wall.core.secrets import remember as remember_secrets
from wall.engine.config import WallConfig
from wall.engine.consent import Consent, consent_for, image_urls, split
from wall.engine.poller import MAX_CLOCK_SKEW
from wall.engine.store import Store, open_resilient

if TYPE_CHECKING:  # the HTTP stack is loaded by the first client made: a fleet kiosk makes none
    import httpx

    from sources.base import HttpFetcher
    from wall.core.outbound import AddressPolicy, Resolver

USER_AGENT = f"lobby-wall/{__version__} (lobby social media wall)"


HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}  # what `read_capped` inflates


def make_client(
    config: WallConfig, *, policy: AddressPolicy | None = None, resolver: Resolver | None = None
) -> httpx.AsyncClient:
    """The one HTTP client of the process (the first request on a fresh client is slow), under the
    outbound policy: only requests a source makes to its own configured origins may reach the LAN.
    With `[network] proxy`, requests go through it, the policy checked before the proxy is asked.
    `policy` and `resolver` are for tests and benches, which let a loopback address stand in for the
    internet."""
    import httpx

    from wall.core.outbound import outbound_client, system_resolver

    timeout = httpx.Timeout(config.network.timeout, connect=min(10.0, config.network.timeout))
    # A streaming source holds a connection per stream (Mastodon: one a hashtag, up to 4;
    # Matrix: its long-poll): room for them on top of the polls and pictures.
    limits = httpx.Limits(
        max_connections=20 + 4 * sum(1 for s in config.sources if s.enabled), max_keepalive_connections=10
    )
    # httpcore loads anyio's asyncio backend at the first request: 20-35 ms of imports on the GUI
    # thread's loop in the middle of the first poll (bench stall, issue 14). Loaded here, at start-up.
    importlib.import_module("anyio._backends._asyncio")
    proxy = config.network.proxy_route()
    if proxy is not None and proxy.username:
        # The header the proxy receives is the password in base64: masked like the password itself.
        login = f"{proxy.username}:{proxy.password}".encode()
        remember_secrets([base64.b64encode(login).decode("ascii")])
    return outbound_client(
        timeout=timeout,
        headers=HEADERS,
        limits=limits,
        policy=policy,
        resolver=resolver or system_resolver,
        proxy=proxy,
    )


def source_fetcher(settings: SourceSettings, client: httpx.AsyncClient, *, max_bytes: int) -> HttpFetcher:
    """The HttpFetcher of one source: its configured origins are the only ones it may reach on the LAN."""
    from sources.base import HttpFetcher

    return HttpFetcher(client, max_bytes=max_bytes, origins=settings.origins())


def build_sources(config: WallConfig, client: httpx.AsyncClient) -> list[PictureSource]:
    """An adapter per enabled `[[sources]]` entry."""
    from sources.registry import build_source

    return [
        build_source(s, source_fetcher(s, client, max_bytes=config.network.max_response_bytes))
        for s in config.sources
        if s.enabled
    ]


def store_path(config: WallConfig) -> Path:
    """Where the SQLite store of this config lives."""
    return state_dir(config.storage.state_dir) / "wall.sqlite3"


def open_store(config: WallConfig) -> Store:
    """The SQLite store under the state directory (created when missing). It always opens: a corrupt
    file is moved aside, a read-only or full folder gives a store in memory
    (`wall.engine.store.open_resilient`)."""
    return open_resilient(store_path(config), max_posts_per_source=config.storage.max_posts_per_source)


def consents(config: WallConfig) -> dict[str, Consent]:
    """The consent rules of every configured source, by name."""
    return {s.name: consent_for(s) for s in config.sources}


@dataclass(slots=True)
class Purged:
    """What a consent and retention purge removed from the store."""

    posts: int = 0
    kinds: set[PostKind] = field(default_factory=set)
    image_urls: set[str] = field(default_factory=set)  # pictures no kept post uses any more


def purge(store: Store, rules: Mapping[str, Consent], now: datetime) -> Purged:
    """Remove the stored posts that consent or retention no longer allow (opted-out authors, a
    tag now required, posts past `retention_days`), and name the pictures only they used. Posts
    dated in the future (seen while the clock was ahead) are dated `now` first."""
    result = Purged()
    result.kinds |= store.date_back_future(now, MAX_CLOCK_SKEW)
    kept_urls: set[str] = set()
    for name in store.sources():
        # A page at a time: a full store's 10,000 posts held at once were the wall's memory peak
        # each hour, and glibc keeps such a peak.
        for posts in store.pages_of(name):
            admitted, refused = split(posts, rules[name], now) if name in rules else (posts, [])
            kept_urls |= image_urls(admitted)
            if refused:
                change = store.apply(name, Batch(deleted=tuple(p.id for p in refused)), now=now)
                result.posts += len(refused)
                result.kinds |= change.kinds
                result.image_urls |= image_urls(refused)
    result.image_urls -= kept_urls
    return result
