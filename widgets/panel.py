"""What every full-screen panel shares: where its data comes from, its title, its empty state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from wall.core.i18n import tr
from wall.core.model import utcnow
from widgets.hub import Hub
from widgets.labels import plain_label, style_label
from widgets.pixmaps import PixmapCache
from widgets.settings import PanelLook, WallLook
from widgets.theme import Role, Theme

T = TypeVar("T")


@dataclass(frozen=True)
class PanelContext:
    """What a panel needs from the window: the hub, the `[wall]` settings, a clock and the image cache."""

    hub: Hub
    look: WallLook
    pixmaps: PixmapCache
    clock: Callable[[], datetime] = utcnow

    @property
    def language(self) -> str:
        """Language of everything on screen."""
        return self.look.language


class Panel(QWidget):
    """A full-screen page of the rotation. Subclasses fill `content` and implement `refresh`.

    `content_changed` is emitted when `has_content()` may have changed, so the rotator can leave an
    empty page as soon as something arrives elsewhere.
    """

    content_changed = Signal()
    duration_changed = Signal()  # `duration_ms()` changed (a fans panel got more or fewer pages)

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.settings = settings
        self.theme = theme
        self.content = QWidget(self)
        self._empty = plain_label(tr(self.empty_key(), context.language))
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._pages = QStackedLayout(self)
        self._pages.addWidget(self.content)
        self._pages.addWidget(self._empty)
        self._pages.setCurrentWidget(self._empty)
        self._had_content = False

    # --- what subclasses provide -----------------------------------------------------------
    def has_content(self) -> bool:
        """True when the panel has something to show (the rotator skips it otherwise)."""
        raise NotImplementedError

    def is_filler(self) -> bool:
        """True for a panel that is on screen whatever the sources say (a clock, a fixed text): it
        never opens the show while another panel has posts or counts, and is left when they come."""
        return False

    def refresh(self) -> None:
        """Read the hub again and update what is shown (cheap when nothing changed)."""
        raise NotImplementedError

    def empty_key(self) -> str:
        """The i18n key of the message shown when there is nothing to show."""
        return f"empty.{self.settings.type}"

    def background(self) -> QColor:
        """Colour behind the panel's cards."""
        return self.theme.panel

    # --- shared behaviour ------------------------------------------------------------------
    def panel_type(self) -> str:
        """`fans`, `mentions` or `internal`."""
        return str(self.settings.type)

    def title(self) -> str:
        """Heading shown in the header while this panel is on screen."""
        return self.settings.title or tr(f"panel.{self.settings.type}", self.context.language)

    def duration_ms(self) -> int:
        """How long the panel stays on screen."""
        return round(self.settings.duration * 1000)

    def shown_again(self) -> None:
        """The rotator keeps this panel on screen for another round (no other panel has content)."""

    def visible_page(self) -> QWidget | None:
        """`content` or the empty-state label, whichever is shown."""
        return self._pages.currentWidget()

    def empty_label(self) -> QLabel:
        """The label showing the empty-state message."""
        return self._empty

    def wants_source(self, source: str) -> bool:
        """True when items of `source` belong on this panel (`sources = []` means every source)."""
        return not self.settings.sources or source in self.settings.sources

    def filter_sources(self, items: Iterable[T], source_of: Callable[[T], str]) -> list[T]:
        """The items whose source this panel shows."""
        return [item for item in items if self.wants_source(source_of(item))]

    def apply_theme(self, theme: Theme) -> None:
        """Adopt new colours and sizes (the window was resized)."""
        self.theme = theme
        style_label(self._empty, theme.font(Role.EMPTY), theme.muted_on(self.background()))
        self._empty.setContentsMargins(theme.gap * 3, 0, theme.gap * 3, 0)
        self.update()

    def show_content(self, shown: bool) -> None:
        """Show the content page, or the empty-state message; tells the rotator when it flips."""
        self._pages.setCurrentWidget(self.content if shown else self._empty)
        if shown != self._had_content:
            self._had_content = shown
            self.content_changed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Fill the panel background (the branding's picture, if any: issue 7)."""
        self.theme.paint_panel(QPainter(self), self.rect(), self.background())
