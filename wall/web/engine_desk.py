"""The moderation page's way into a running engine without Qt: `EngineDesk` answers the page's
`ModerationDesk` from the store and the current `Engine` (decisions, panic, announcement, queue,
pictures). `wall run` adds the windows on top (`wall.shell.desk.WallDesk`); the fleet's collector
adds the fleet (`wall.web.fleet_desk.FleetDesk`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from wall.core.model import SourceStatus
from wall.engine.config import WallConfig
from wall.engine.engine import Engine
from wall.engine.images import cache_file
from wall.engine.logs import config_secrets
from wall.engine.moderation.decisions import (
    AuditEntry,
    BlockedAuthor,
    PostAction,
    PublishedAnnouncement,
    QueueItem,
)
from wall.engine.signals.watch import SignalsView
from wall.engine.store import Store
from wall.web.desk import ModerationDesk
from wall.web.server import WebServer, WebTlsError

log = logging.getLogger("wall.web.engine_desk")


class EngineDesk(ModerationDesk):
    """Reads from the store on a worker thread; acts through the current Engine (a config reload
    replaces it). No screen of its own: `screen_png` is None."""

    def __init__(self, store: Store, engine: Callable[[], Engine]) -> None:
        self.store = store
        self._engine = engine
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-store")

    async def _read(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._reads, func, *args)

    async def queue(self) -> list[QueueItem]:
        """Every stored post, newest first."""
        items: list[QueueItem] = await self._read(self.store.queue, "all", 1000)
        return items

    async def audit_log(self) -> list[AuditEntry]:
        """The latest 100 actions."""
        entries: list[AuditEntry] = await self._read(self.store.audit_log, 100)
        return entries

    async def panic(self) -> bool:
        """True while the panic screen is on."""
        return bool(await self._read(self.store.panic))

    async def announcement(self) -> PublishedAnnouncement | None:
        """The announcement published from the page, if one is."""
        published: PublishedAnnouncement | None = await self._read(self.store.announcement)
        return published

    async def publish_announcement(
        self, announcement: PublishedAnnouncement | None, who: str, site: str | None = None
    ) -> None:
        """Publish (or withdraw, None) the page's announcement; the screen follows the engine."""
        await self._engine().publish_announcement(announcement, who)

    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply a person's action; the screen follows within a second."""
        return await self._engine().act(key, action, who)

    async def blocked_authors(self) -> list[BlockedAuthor]:
        """Authors blocked from the page, newest first."""
        return await self._engine().blocked_authors()

    async def unblock_author(self, author: str, who: str) -> bool:
        """Unblock an author; their posts that every other rule allows are back within a second."""
        return await self._engine().unblock_author(author, who)

    async def set_panic(self, on: bool, who: str, site: str | None = None) -> None:
        """Record the flag (kept across restarts)."""
        await self._engine().set_panic(on, who)

    async def signals(self) -> SignalsView | None:
        """The weak signals as the page shows them (issue 17); None when `[signals]` is off."""
        engine = self._engine()
        if engine.signals is None:
            return None
        return await engine.signals.view(engine.crisis.state, engine.config.signals.on_alert)

    async def clear_crisis(self, who: str) -> bool:
        """End crisis mode; the mentions are back on screen within a second."""
        return await self._engine().clear_crisis(who)

    async def cached_pictures(self, urls: Collection[str]) -> set[str]:
        """Those of `urls` in the wall's picture cache (file checks on the reading thread)."""
        folder = self._engine().images.cache_dir
        if folder is None or not urls:
            return set()
        found: set[str] = await self._read(_cached, folder, list(urls))
        return found

    async def picture(self, digest: str) -> bytes | None:
        """The cached prepared picture named `digest`, read on the reading thread, or None."""
        folder = self._engine().images.cache_dir
        if folder is None:
            return None
        data: bytes | None = await self._read(_read_cached, folder / digest)
        return data

    def screen_png(self) -> bytes | None:
        """No screen here (a headless engine)."""
        return None

    def statuses(self) -> list[SourceStatus]:
        """Every source's health as the screen last heard it (this loop's thread: no store read)."""
        return self._engine().screen.statuses()

    def secrets(self) -> list[str]:
        """The current config's secret values (a reload may change them) and the page's token."""
        config = self._engine().config
        token = [config.web.token.get_secret_value()] if config.web.token else []
        return [*config_secrets(config), *token]

    def close(self) -> None:
        """Stop the reading thread."""
        self._reads.shutdown(wait=True)


def _cached(folder: Path, urls: list[str]) -> set[str]:
    return {url for url in urls if cache_file(folder, url).is_file()}


def _read_cached(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # trimmed or purged since the page was listed: the page shows nothing
        return None


async def serve_page(config: WallConfig, desk: EngineDesk) -> WebServer | None:
    """Serve the moderation page for `desk` on this loop; a taken port or unreadable TLS files are
    logged and the caller runs on without the page (the lobby screen matters more)."""
    server = WebServer(config.web, config.wall, desk)
    try:
        await server.start()
    except WebTlsError as exc:
        log.error("moderation page: %s", exc)
        desk.close()
        return None
    except OSError as exc:
        log.error(
            "moderation page: cannot listen on %s:%d (%s): change [web] port or host",
            config.web.host,
            config.web.port,
            exc.strerror or exc,
        )
        desk.close()
        return None
    return server
