"""The clock panel: a calm full-screen time and date, dark whatever the theme, slowly drifting.

Shown in the rotation, and meant to be what the wall shows in quiet hours: hours of the same
picture would mark a screen, so the time and date drift a few per cent of the screen along a slow
Lissajous path (two different periods), computed from the injected clock: the same instant gives
the same place, and tests step time instead of waiting.
"""

from __future__ import annotations

import math
from functools import cached_property
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QHideEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets.dates import full_date, hours_and_minutes
from widgets.header import until_next_minute_ms
from widgets.labels import plain_label, style_label
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook
from widgets.theme import Role, Theme

DRIFT_FRACTION = 0.03  # of the panel's width (x) and height (y), either way from the centre
DRIFT_PERIODS_SECONDS = (11 * 60.0, 17 * 60.0)  # unequal, so the path covers a rectangle over hours
TICK_MS = 1000  # the shortest look: under a pixel of drift a second, the move is not seen
TIME_SCALE = 1.9  # the time's cap height is 1.9 x the big numbers' (about 24 % of the height)
BACKGROUND = QColor("#000000")  # black on both themes: nothing lit that need not be
TIME_COLOUR = QColor("#d5d9e0")  # a little below white: softer at night, less wear
DATE_COLOUR = QColor("#9ba3b0")  # AA on black (see tests/widgets/test_theme.py)


def drift(seconds: float, width: int, height: int) -> tuple[float, float]:
    """Offset of the clock from the centre at `seconds` (any epoch): within ±3 % of each side."""
    period_x, period_y = DRIFT_PERIODS_SECONDS
    return (
        DRIFT_FRACTION * width * math.sin(2 * math.pi * seconds / period_x),
        DRIFT_FRACTION * height * math.sin(2 * math.pi * seconds / period_y),
    )


def until_next_pixel_ms(seconds: float, width: int, height: int) -> int:
    """About how long the drift at `seconds` takes to move the face by a pixel (at its current speed)."""
    speeds = [
        DRIFT_FRACTION * side * 2 * math.pi / period * abs(math.cos(2 * math.pi * seconds / period))
        for side, period in zip((width, height), DRIFT_PERIODS_SECONDS, strict=True)
    ]
    fastest = max(speeds)  # pixels a second: derivative of `drift`
    return 3_600_000 if fastest <= 0 else int(1000 / fastest)


class ClockPanel(Panel):
    """The time (large) and the date under it, in the wall's language and time zone."""

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        self.face = QWidget(self.content)
        self.time_label = plain_label()
        self.date_label = plain_label()
        for label in (self.time_label, self.date_label):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter)
        column = QVBoxLayout(self.face)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.time_label)
        column.addWidget(self.date_label)
        self._column = column
        self.apply_theme(theme)
        # Single shot, set again at each tick: for the next minute or the next pixel of drift,
        # whichever comes first, and only while the panel is on screen (issue 14: an idle wall
        # wakes only when something it shows changes).
        self._ticker = QTimer(self)
        self._ticker.setSingleShot(True)
        self._ticker.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse one may be 3 s (5 %) off
        self._ticker.timeout.connect(self.tick)
        self.refresh()

    @cached_property
    def zone(self) -> ZoneInfo:
        """The wall's time zone."""
        return ZoneInfo(self.context.look.timezone)

    def has_content(self) -> bool:
        """Always: there is always a time to show."""
        return True

    def is_filler(self) -> bool:
        """Always: the time says nothing of what is new (issue 14)."""
        return True

    def refresh(self) -> None:
        """Show the current time and date."""
        self.tick()
        self.show_content(True)

    def background(self) -> QColor:
        """Black, on the light theme too."""
        return BACKGROUND

    def labels(self) -> list[QLabel]:
        """The time and date labels."""
        return [self.time_label, self.date_label]

    def tick(self) -> None:
        """Follow the injected clock: new texts when the minute changes, the face a little further."""
        now = self.context.clock().astimezone(self.zone)
        language = self.context.language
        shown = hours_and_minutes(now, language)
        if shown != self.time_label.text():
            self.time_label.setText(shown)
            date = full_date(now.date(), language)
            self.date_label.setText(date[:1].upper() + date[1:])
        self._place()
        if self.isVisible():
            area = self.content.rect()
            pixel_ms = until_next_pixel_ms(now.timestamp(), area.width(), area.height())
            self._ticker.start(max(TICK_MS, min(pixel_ms, until_next_minute_ms(now))))

    def next_tick_ms(self) -> int | None:
        """Milliseconds until the face is looked at again, or None while the panel is not on screen."""
        return self._ticker.interval() if self._ticker.isActive() else None

    def showEvent(self, event: QShowEvent) -> None:
        """On screen again: the right time and place at once, then the ticks."""
        super().showEvent(event)
        self.tick()

    def hideEvent(self, event: QHideEvent) -> None:
        """Off screen (another panel's turn): no ticks until it is shown again."""
        super().hideEvent(event)
        self._ticker.stop()

    def face_rect(self) -> QRect:
        """Where the time and date are, in the panel's coordinates."""
        return self.face.geometry().translated(self.content.pos())

    def _place(self) -> None:
        """Centre the face on the content, moved by the drift of this instant."""
        area = self.content.rect()
        size = self.face.sizeHint()
        dx, dy = drift(self.context.clock().timestamp(), area.width(), area.height())
        box = QRect(QPoint(0, 0), size)
        box.moveCenter(area.center() + QPoint(round(dx), round(dy)))
        if box != self.face.geometry():
            self.face.setGeometry(box)

    def apply_theme(self, theme: Theme) -> None:
        """Sizes for a new window height; colours stay those of the night."""
        super().apply_theme(theme)
        big = QFont(theme.font(Role.BIG_NUMBER))
        big.setPixelSize(round(big.pixelSize() * TIME_SCALE))
        big.setWeight(QFont.Weight.Normal)  # thin strokes: calmer, and less of the screen lit
        style_label(self.time_label, big, TIME_COLOUR)
        style_label(self.date_label, theme.font(Role.EMPTY), DATE_COLOUR)
        self._column.setSpacing(theme.px(0.01))
        self._place()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the face centred (plus drift) on the new size."""
        super().resizeEvent(event)
        self._place()
