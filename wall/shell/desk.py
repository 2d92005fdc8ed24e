"""The moderation page's way into the running wall (`wall.web.server` talks to a `WallDesk`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QIODevice, Qt

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
from wall.web.server import WebServer, WebTlsError
from widgets.window import WallWindow

log = logging.getLogger("wall.shell.desk")

SCREEN_PICTURE_WIDTH_PX = 960  # the moderation page's picture of the wall


class WallDesk:
    """The moderation page's way into the running wall: reads from the store on a worker thread,
    actions through the current Engine (a config reload replaces it), panic on every window."""

    def __init__(
        self, store: Store, engine: Callable[[], Engine], windows: Callable[[], list[WallWindow]]
    ) -> None:
        self.store = store
        self._engine = engine
        self._windows = windows
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

    async def publish_announcement(self, announcement: PublishedAnnouncement | None, who: str) -> None:
        """Publish (or withdraw, None) the page's announcement; the windows follow the hub."""
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

    async def set_panic(self, on: bool, who: str) -> None:
        """Record the flag, then switch every window at once."""
        await self._engine().set_panic(on, who)
        for window in self._windows():
            window.set_panic(on)

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
        """The first window as a PNG, scaled down (grabbed on the GUI thread, this loop's thread)."""
        windows = self._windows()
        return grab_png(windows[0]) if windows else None

    def statuses(self) -> list[SourceStatus]:
        """Every source's health as the hub last heard it (this loop's thread: no store read)."""
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


def grab_png(window: WallWindow, width: int = SCREEN_PICTURE_WIDTH_PX) -> bytes:
    """What `window` shows, as a PNG at most `width` pixels wide."""
    picture = window.grab()
    if picture.width() > width:
        picture = picture.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    picture.save(buffer, "PNG")
    return bytes(buffer.data().data())


async def start_web(
    config: WallConfig,
    store: Store,
    engine: Callable[[], Engine],
    windows: Callable[[], list[WallWindow]],
) -> tuple[WebServer | None, WallDesk | None]:
    """Serve the moderation page on this loop when `[web] enabled`; a taken port is logged and the
    wall runs on without the page (the lobby screen matters more)."""
    if not config.web.enabled:
        return None, None
    desk = WallDesk(store, engine, windows)
    server = WebServer(config.web, config.wall, desk)
    try:
        await server.start()
    except WebTlsError as exc:
        log.error("moderation page: %s", exc)
        desk.close()
        return None, None
    except OSError as exc:
        log.error(
            "moderation page: cannot listen on %s:%d (%s): change [web] port or host",
            config.web.host,
            config.web.port,
            exc.strerror or exc,
        )
        desk.close()
        return None, None
    return server, desk
