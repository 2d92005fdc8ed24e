"""The thin band at the top: logo (or brand name), the panel's title, a stale marker and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from wall.core.i18n import tr
from widgets.dates import day_and_month
from widgets.hub import Hub
from widgets.labels import OneLineLabel, plain_label, style_label
from widgets.settings import WallLook
from widgets.theme import Role, Theme

HEADER_FRACTION = 0.065  # of the window height
QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum"
BRAND_SHARE = 0.34  # of the header's width at most for the brand name, so the title keeps room


MINUTE_MARGIN_MS = 50  # a timer may fire a little early: look just after the minute, never before


def until_next_minute_ms(now: datetime) -> int:
    """Milliseconds from `now` to just after the next minute starts (a minute at most, plus a margin)."""
    into_minute_ms = now.second * 1000 + now.microsecond // 1000
    return 60_000 - into_minute_ms + MINUTE_MARGIN_MS


def load_logo(path: str, height: int) -> QPixmap | None:
    """The logo file (PNG, JPEG or SVG) scaled to `height` pixels high, or None if it cannot be read."""
    if not path or not Path(path).is_file():
        return None
    if path.lower().endswith(".svg"):
        renderer = QSvgRenderer(path)
        size = renderer.defaultSize()
        if not renderer.isValid() or size.height() <= 0:
            return None
        image = QImage(
            max(1, round(size.width() * height / size.height())), height, QImage.Format.Format_ARGB32
        )
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter, QRectF(image.rect()))
        painter.end()
        return QPixmap.fromImage(image)
    pixmap = QPixmap(path)
    if pixmap.isNull():
        return None
    return pixmap.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)


class StaleDot(QWidget):
    """A small amber dot."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the dot."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.theme.amber)
        side = min(self.width(), self.height())
        painter.drawEllipse(QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side))


class Header(QWidget):
    """Logo, title, stale marker and clock; the marker is hidden while every source is fresh."""

    def __init__(
        self,
        hub: Hub,
        look: WallLook,
        theme: Theme,
        clock: Callable[[], datetime],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self._look = look
        self._theme = theme
        self._clock = clock
        self._zone = ZoneInfo(look.timezone)
        # The brand name and the title are cut after a whole word with `…` on a narrow (portrait) screen.
        self.logo_label = OneLineLabel(words=True)
        self.title_label = OneLineLabel(words=True)
        self.stale_dot = StaleDot(theme)
        self.stale_label = plain_label()
        self.stale_marker = QWidget()
        stale_row = QHBoxLayout(self.stale_marker)
        stale_row.setContentsMargins(0, 0, 0, 0)
        stale_row.addWidget(self.stale_dot)
        stale_row.addWidget(self.stale_label)
        self._stale_row = stale_row
        self.clock_label = plain_label()
        self.date_label = plain_label()
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._row = QHBoxLayout(self)
        for widget, stretch in (
            (self.logo_label, 0),
            (self.title_label, 1),
            (self.stale_marker, 0),
            (self.date_label, 0),
            (self.clock_label, 0),
        ):
            self._row.addWidget(widget, stretch, Qt.AlignmentFlag.AlignVCenter)
        self.stale_marker.hide()
        self.apply_theme(theme)
        hub.status_changed.connect(self.refresh_stale)
        # Single shot, set again at each refresh for the next minute: the clock shows minutes, and
        # a wakeup a second per panel kept an idle wall awake for nothing (issue 14).
        self._ticker = QTimer(self)
        self._ticker.setSingleShot(True)
        self._ticker.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse one may be 3 s (5 %) off
        self._ticker.timeout.connect(self.refresh_clock)
        self.refresh_clock()
        self.refresh_stale()

    def set_title(self, title: str) -> None:
        """The heading of the panel on screen."""
        self.title_label.set_full_text(title)

    def refresh_clock(self) -> None:
        """Show the time (and date) in the configured time zone; labels change only when the minute does."""
        now = self._clock().astimezone(self._zone)
        text = now.strftime("%H:%M")
        if text != self.clock_label.text():
            self.clock_label.setText(text)
            self.date_label.setText(day_and_month(now.date(), self._look.language))
        self._ticker.start(until_next_minute_ms(now))

    def next_refresh_ms(self) -> int:
        """Milliseconds until the clock is looked at again (just after the next minute starts)."""
        return self._ticker.interval()

    def refresh_stale(self) -> None:
        """Show which sources are old, or hide the marker when none is."""
        names = self._hub.stale_sources()
        if names:
            self.stale_label.setText(tr("stale", self._look.language, names=", ".join(names)))
        self.stale_marker.setVisible(bool(names))

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and height for a new window height."""
        self._theme = theme
        self.stale_dot.theme = theme
        self.setFixedHeight(theme.px(HEADER_FRACTION))
        self._row.setContentsMargins(theme.gap, 0, theme.gap, 0)
        self._row.setSpacing(theme.gap)
        self._stale_row.setSpacing(theme.px(0.008))
        dot = theme.px(0.014)
        self.stale_dot.setFixedSize(dot, dot)
        logo = load_logo(self._look.branding.logo, theme.px(HEADER_FRACTION * 0.62))
        if logo is not None:
            self.logo_label.setPixmap(logo)
        else:
            self.logo_label.set_full_text(self._look.branding.name)
        style_label(self.logo_label, theme.font(Role.BRAND), theme.accent_text if theme.dark else theme.text)
        style_label(self.title_label, theme.font(Role.TITLE), theme.text)
        style_label(self.stale_label, theme.font(Role.STALE), theme.amber)
        style_label(self.clock_label, theme.font(Role.CLOCK), theme.text)
        style_label(self.date_label, theme.font(Role.META), theme.muted_on(theme.window))
        self.update()

    def has_logo_image(self) -> bool:
        """True when the branding logo file is shown (rather than the brand name)."""
        pixmap = self.logo_label.pixmap()
        return pixmap is not None and not pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A long brand name leaves the title room (a logo is already sized by its height)."""
        super().resizeEvent(event)
        room = round(event.size().width() * BRAND_SHARE) if not self.has_logo_image() else QWIDGETSIZE_MAX
        self.logo_label.setMaximumWidth(max(1, room))

    def paintEvent(self, event: QPaintEvent) -> None:
        """Black band with a thin rule under it."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._theme.window)
        rule = self._theme.px(0.003)
        painter.fillRect(0, self.height() - rule, self.width(), rule, self._theme.surface)
