"""The lobby's windows and the screens they go on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QScreen

from wall.shell.memory import FILE_PAGES, release_free_memory
from widgets.hub import Hub
from widgets.posts import PostsPanel
from widgets.window import WallWindow

if TYPE_CHECKING:  # a display without the config (pydantic) places windows too (bench/split.py)
    from wall.engine.config import WallConfig


HAND_BACK_TICK_MS = 60_000


def keep_memory_low(window: WallWindow) -> None:
    """After each crossfade, drop the pictures no card needs (full-size decodes, sizes no longer
    shown, pictures of posts no card shows) and hand the freed memory back to the system (in that
    order: Qt calls them as connected); after the first one, and then once a day, the pages of the
    libraries and fonts too (`FILE_PAGES`: those only the start needed stay with the system), or at
    the first minute's tick that finds no transition under way when there is no turn."""
    pixmaps = window.context.pixmaps
    clock = window.context.clock
    window.rotator.transition_finished.connect(lambda: pixmaps.release_spare(pictures_on_cards(window)))
    window.rotator.transition_finished.connect(release_free_memory)
    window.rotator.transition_finished.connect(lambda: FILE_PAGES.after_turn(clock()))
    # A playlist of one panel never turns between panels: a tick every minute stands in for it.
    tick = QTimer(window)
    tick.setInterval(HAND_BACK_TICK_MS)
    tick.timeout.connect(lambda: None if window.rotator.is_fading() else FILE_PAGES.after_turn(clock()))
    tick.start()


def pictures_on_cards(window: WallWindow) -> set[str]:
    """The pictures (and avatars) of the posts on the cards of every panel, on screen or not."""
    panels = [panel for panel in window.rotator.panels() if isinstance(panel, PostsPanel)]
    return {url for panel in panels for card in panel.cards() for url in card.image_urls()}


def find_screen(output: int | str) -> QScreen:
    """The screen named or numbered `output`, else the primary one."""
    screens = QGuiApplication.screens()
    if isinstance(output, int) and 0 <= output < len(screens):
        return screens[output]
    for screen in screens:
        if screen.name() == str(output):
            return screen
    return QGuiApplication.primaryScreen()


def build_windows(config: WallConfig, hub: Hub) -> list[WallWindow]:
    """One window per configured screen, each with its playlist."""
    windows = []
    panels = config.effective_panels()
    for screen_settings in config.effective_screens():
        # Every panel is built on every screen, so a time-of-day playlist ([schedule]) can show any;
        # the screen's own list is its playlist the rest of the time.
        window = WallWindow(hub, config.wall, panels)
        window.set_playlist(screen_settings.panels or None)
        keep_memory_low(window)
        windows.append(window)
    return windows


# --- offscreen rendering (wall snapshot, wall demo without a display) ----------------------
