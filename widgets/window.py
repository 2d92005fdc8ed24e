"""The wall's top-level window: header over the rotating panels, black, no cursor, full screen."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QPainter, QPaintEvent, QResizeEvent, QScreen
from PySide6.QtWidgets import QApplication, QLayout, QVBoxLayout, QWidget

from wall.core.model import Post, utcnow
from widgets.announcement import AnnouncementPanel
from widgets.brand import BrandScreen
from widgets.clock import ClockPanel
from widgets.fans import FansPanel
from widgets.header import Header
from widgets.hub import Hub
from widgets.internal import InternalPanel
from widgets.mentions import MentionsPanel
from widgets.notice import NewPostsNotice
from widgets.panel import Panel, PanelContext
from widgets.pixmaps import PixmapCache
from widgets.posts import PostsPanel
from widgets.rotator import FADE_MS, PanelRotator
from widgets.settings import PanelLook, WallLook
from widgets.theme import Theme
from widgets.trends import TrendsPanel

WINDOWED_SIZE = QSize(1280, 720)
# Burn-in: the whole picture moves around a small loop, a step every few minutes.
_ORBIT = ((0, 0), (1, 1), (2, 0), (1, -1), (0, -2), (-1, -1), (-2, 0), (-1, 1), (0, 2))


def burn_in_offset(step: int, reach: int) -> tuple[int, int]:
    """The shift (dx, dy) in pixels at `step` of the loop, within `reach` pixels of the centre."""
    dx, dy = _ORBIT[step % len(_ORBIT)]
    return dx * reach // 2, dy * reach // 2


PANEL_CLASSES: dict[str, type[Panel]] = {
    "fans": FansPanel,
    "mentions": MentionsPanel,
    "internal": InternalPanel,
    "trends": TrendsPanel,
    "announcement": AnnouncementPanel,
    "clock": ClockPanel,
}


@dataclass(frozen=True)
class _QuietHoursClock:
    """The panel settings of the clock shown outside opening hours (`[schedule] outside_hours`)."""

    type: str = "clock"
    duration: float = 3600.0
    title: str = ""
    sources: Sequence[str] = ()
    limit: int = 1
    milestones: Sequence[int] = ()


@dataclass(frozen=True)
class _PublishedAnnouncementSlot:
    """The panel settings of the announcement panel added when comms publish one from the
    moderation page and the config has none (issue 7 item 5): its message comes from the hub."""

    type: str = "announcement"
    duration: float = 15.0
    title: str = ""
    sources: Sequence[str] = ()
    limit: int = 1
    milestones: Sequence[int] = ()
    text: str = ""
    image: str = ""
    qr: str = ""


def make_panel(context: PanelContext, settings: PanelLook, theme: Theme) -> Panel:
    """The panel widget for one `[[panels]]` entry (unknown types show public mentions)."""
    return PANEL_CLASSES.get(str(settings.type), MentionsPanel)(context, settings, theme)


class WallWindow(QWidget):
    """One screen of the wall. `first_frame` is emitted once, right after the first paint."""

    first_frame = Signal()

    def __init__(
        self,
        hub: Hub,
        wall: WallLook,
        panels: Sequence[PanelLook],
        *,
        clock: Callable[[], datetime] = utcnow,
        parent: QWidget | None = None,
        fade_ms: int = FADE_MS,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(wall.branding.name)
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.hub = hub
        self.context = PanelContext(hub, wall, PixmapCache(hub, self), clock)
        self.theme = Theme.for_wall(wall)  # sized for 1080 lines until the window gets its real size
        self.header = Header(hub, wall, self.theme, clock)
        self.rotator = PanelRotator(fade_ms=fade_ms, transition=wall.transition)
        for settings in panels:
            self.rotator.add_panel(make_panel(self.context, settings, self.theme))
        self._sleeping = False
        self._night_clock: Panel | None = None  # made the first time quiet hours ask for it
        self._content = QWidget(self)  # everything but the black background, hidden when asleep
        outer = QVBoxLayout(self)
        outer.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._content)
        self._outer = outer
        layout = QVBoxLayout(self._content)
        # The screen sets the size, not the text (and offscreen warns about size hints otherwise).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.rotator, 1)
        self.brand_screen = BrandScreen(wall, self.theme)
        self.brand_screen.hide()
        layout.addWidget(self.brand_screen, 1)
        self.notice = NewPostsNotice(
            self.rotator,
            hub,
            self.theme,
            wall.language,
            wanted=self._in_rotation,
            on_screen=self._posts_on_screen,
            may_show=lambda: not (self._sleeping or self.panic_active()),
            show_rest=self._turn_for,
        )
        self.rotator.panel_changed.connect(self._on_panel_changed)
        self._on_panel_changed()
        self._first_frame_sent = False
        self._playlist: list[int] | None = None
        self._published_panel: Panel | None = None  # see `_on_announcement_changed`
        hub.announcement_changed.connect(self._on_announcement_changed)
        self._on_announcement_changed()  # published before a restart: still published
        self.rotator.start()

    def set_panic(self, on: bool) -> None:
        """Replace everything (panels, header) by the calm branded screen, or bring them back."""
        if on == self.panic_active():
            return
        if on:
            self.rotator.stop()
            self.notice.dismiss(at_once=True)
        self.header.setVisible(not on)
        self.rotator.setVisible(not on)
        self.brand_screen.setVisible(on)
        if not on:
            self.rotator.start()
        self.update()

    def panic_active(self) -> bool:
        """True while the branded screen replaces the panels."""
        return not self.brand_screen.isHidden()

    def set_sleeping(self, on: bool, *, clock: bool = False) -> None:
        """Outside opening hours: nothing but black (no header, no panel, no rotation), or a calm
        drifting clock with `clock`; or back to the panels."""
        if on == self._sleeping and clock == self.night_clock_shown():
            return
        self._sleeping = on
        if on:
            self.rotator.stop()
            self.notice.dismiss(at_once=True)
        self._content.setVisible(not on)
        if on and clock and self._night_clock is None:
            self._night_clock = make_panel(self.context, _QuietHoursClock(), self.theme)
            self._outer.addWidget(self._night_clock)
        if self._night_clock is not None:
            self._night_clock.setVisible(on and clock)
        if not on and not self.panic_active():
            self.rotator.start()
        self.update()

    def night_clock_shown(self) -> bool:
        """True while the quiet-hours clock is on screen."""
        return self._night_clock is not None and not self._night_clock.isHidden()

    def sleeping(self) -> bool:
        """True while the window shows black outside opening hours."""
        return self._sleeping

    def set_shift(self, dx: int, dy: int, reach: int) -> None:
        """Move everything by (dx, dy) pixels inside a black frame `reach` pixels wide, so static
        elements (header, titles, tile edges) do not burn into the screen over the years."""
        self._outer.setContentsMargins(reach + dx, reach + dy, reach - dx, reach - dy)

    def shift(self) -> tuple[int, int]:
        """The current (dx, dy) of `set_shift`."""
        margins = self._outer.contentsMargins()
        return (margins.left() - margins.right()) // 2, (margins.top() - margins.bottom()) // 2

    def set_playlist(self, indexes: Sequence[int] | None) -> None:
        """Show only these panels (indexes into the window's panels; None: all). A published
        announcement's own panel is always in the rotation (it is skipped once withdrawn)."""
        self._playlist = list(indexes) if indexes else None
        extra = self._published_panel
        if self._playlist is not None and extra is not None:
            self.rotator.set_playlist([*self._playlist, self.rotator.panels().index(extra)])
        else:
            self.rotator.set_playlist(self._playlist)

    def set_panels(self, panels: Sequence[PanelLook]) -> None:
        """Rotate through these panels from now on, all in order (a fleet's playlist decided on
        the collector, issue 16); a published announcement keeps its own panel."""
        self._published_panel, self._playlist = None, None
        self.rotator.set_panels([make_panel(self.context, settings, self.theme) for settings in panels])
        self._on_announcement_changed()

    def _on_announcement_changed(self) -> None:
        """Without an announcement panel in the config, an announcement published from the page
        gets its own panel, added to the rotation once; withdrawn, that panel has nothing to show
        and the rotator skips it (it keeps no panel-removal API, and none is needed)."""
        if self._published_panel is not None or self.hub.announcement() is None:
            return
        if any(isinstance(panel, AnnouncementPanel) for panel in self.rotator.panels()):
            return  # the configured panels show it instead of their own message
        self._published_panel = make_panel(self.context, _PublishedAnnouncementSlot(), self.theme)
        self.rotator.add_panel(self._published_panel)
        self.set_playlist(self._playlist)

    def current_panel(self) -> Panel | None:
        """The panel on screen."""
        return self.rotator.current_panel()

    def wait_for_pictures(self, timeout_ms: int = 5000) -> bool:
        """Block until the pictures the hub already has are decoded and shown (snapshots, tests)."""
        for _ in range(4):  # a decoded avatar can reveal a card whose picture then gets decoded
            self.hub.flush()
            if self.context.pixmaps.wait_until_idle(timeout_ms):
                QApplication.processEvents()
                if not self.context.pixmaps.is_busy():
                    return True
        return False

    def place_on(self, screen: QScreen, fullscreen: bool) -> None:
        """Show the window on `screen`, full screen or as a 1280x720 window.

        The geometry is set first: without a window manager `showFullScreen()` does not resize.
        """
        self.setScreen(screen)
        area = screen.geometry()
        if fullscreen:
            self.setGeometry(area)
            self.showFullScreen()
        else:
            frame = QRect(0, 0, WINDOWED_SIZE.width(), WINDOWED_SIZE.height())
            frame.moveCenter(area.center())
            self.setGeometry(frame)
            self.showNormal()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop rotating and let running picture jobs finish before the window goes away."""
        self.rotator.stop()
        self.context.pixmaps.shut_down()
        super().closeEvent(event)

    def _on_panel_changed(self, _kind: str = "") -> None:
        panel = self.rotator.current_panel()
        self.header.set_title(panel.title() if panel is not None else "")
        self.notice.on_panel_changed()

    def _in_rotation(self, post: Post) -> bool:
        """True when a posts panel of the rotation shows posts like this one (kind and source)."""
        return self._panel_for(post) is not None

    def _panel_for(self, post: Post) -> int | None:
        """The index of the first posts panel of the rotation that shows posts like this one."""
        panels = self.rotator.panels()
        for index in self.rotator.playlist():
            panel = panels[index]
            if isinstance(panel, PostsPanel) and panel.kind == post.kind and panel.wants_source(post.source):
                return index
        return None

    def _turn_for(self, rest: Sequence[Post]) -> None:
        """A burst bigger than the "Nouveau" card: the panel of its newest post left off the card
        takes the next turn early, so the rest is seen in seconds too (issue 14)."""
        index = self._panel_for(rest[0]) if rest else None
        if index is not None:
            self.rotator.take_turn_early(index)

    def _posts_on_screen(self) -> set[str]:
        """Keys of the posts a passer-by can read now (the posts panel up, if it is one)."""
        panel = self.rotator.current_panel()
        if isinstance(panel, PostsPanel):  # (during a crossfade to it: in a fraction of a second)
            return {post.key for post in panel.shown_posts()}
        return set()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Text sizes follow the window height: re-theme everything when it changes.

        A portrait screen is sized as a landscape one of its width (height = 3/4 of the width at
        most): sized by its 1920 px height, words would not fit in its 1080 px width.
        """
        super().resizeEvent(event)
        size = event.size()
        type_height = min(size.height(), size.width() * 3 // 4)
        if type_height != self.theme.height and type_height >= 240:
            self.theme = self.theme.scaled(type_height)
            self.header.apply_theme(self.theme)
            self.brand_screen.apply_theme(self.theme)
            self.notice.apply_theme(self.theme)
            for panel in self.rotator.panels():
                panel.apply_theme(self.theme)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Black behind everything; announces the first frame once it is painted."""
        QPainter(self).fillRect(self.rect(), QColor("#000000") if self._sleeping else self.theme.window)
        if not self._first_frame_sent:
            self._first_frame_sent = True
            self.notice.arm()  # what the first frame had is not news
            QTimer.singleShot(0, self, self._announce_first_frame)

    def _announce_first_frame(self) -> None:
        self.first_frame.emit()
