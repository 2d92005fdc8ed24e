"""The moderation page's way into the running wall (`wall.web.server` talks to a `WallDesk`): the
Qt-free `EngineDesk` (decisions, panic, announcement, queue) plus what needs Qt, the windows:
panic switches them at once, and the page's picture of the screen is grabbed from the first one."""

from __future__ import annotations

import logging
from collections.abc import Callable

from wall.engine.config import WallConfig
from wall.engine.engine import Engine
from wall.engine.store import Store
from wall.shell.grab import grab_png
from wall.web.engine_desk import EngineDesk, serve_page
from wall.web.server import WebServer
from widgets.window import WallWindow

log = logging.getLogger("wall.shell.desk")


class WallDesk(EngineDesk):
    """The moderation page's way into the running wall: reads from the store on a worker thread,
    actions through the current Engine (a config reload replaces it), panic on every window."""

    def __init__(
        self, store: Store, engine: Callable[[], Engine], windows: Callable[[], list[WallWindow]]
    ) -> None:
        super().__init__(store, engine)
        self._windows = windows

    async def set_panic(self, on: bool, who: str, site: str | None = None) -> None:
        """Record the flag, then switch every window at once."""
        await super().set_panic(on, who, site)
        for window in self._windows():
            window.set_panic(on)

    def screen_png(self) -> bytes | None:
        """The first window as a PNG, scaled down (grabbed on the GUI thread, this loop's thread)."""
        windows = self._windows()
        return grab_png(windows[0]) if windows else None


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
    server = await serve_page(config, desk)
    return (server, desk) if server is not None else (None, None)
