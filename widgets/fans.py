"""The fans panel: one tile per audience counter, with a big locale-formatted number (`180 000`), the
change since the start of the day, a 7-day line and a celebration the day a milestone is crossed.

At most four tiles share the screen, so the numbers keep 12 % of its height (issue 7): with more
counters the panel shows pages of them, as even as can be (6 counters: 2 pages of 3), each for the
panel's `duration`, turned with the wall's transition (`widgets.turn`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from zoneinfo import ZoneInfo

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QHideEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from wall.core.i18n import format_change, format_number, tr
from wall.core.model import Count
from wall.engine.counts import Trend
from wall.engine.counts import trend as count_trend
from widgets.labels import OneLineLabel, style_label
from widgets.marks import NetworkMark
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook
from widgets.theme import Role, Theme
from widgets.turn import PanelTurn


class BigNumberLabel(QLabel):
    """A number as large as the theme wants, shrunk only when it would not fit its box.

    Digits have no descenders nor accents, so the number is painted centred on its cap height
    rather than on the font's full line height: it can be larger in the same tile. Labels sharing a
    `peers` list are painted at the same size, so tiles side by side never mix number sizes.
    """

    def __init__(self, peers: list[BigNumberLabel] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(1, 1)
        self._pixel_size = 100
        self._peers = peers if peers is not None else []
        self._peers.append(self)

    def set_number(self, text: str, pixel_size: int) -> None:
        """Show `text` with `pixel_size` pixels at most."""
        self._pixel_size = pixel_size
        self.setText(text)
        for peer in self._peers:
            peer.update()

    def fitting_pixel_size(self) -> int:
        """The largest size (up to the theme's) at which this number fits its box."""
        font = QFont(self.font())
        font.setPixelSize(self._pixel_size)
        metrics = QFontMetricsF(font)
        width, cap = metrics.horizontalAdvance(self.text()), metrics.capHeight()
        scale = 1.0
        if width > 0:
            scale = min(scale, self.width() / width)
        if cap > 0:
            scale = min(scale, self.height() / (cap * 1.15))
        return max(8, math.floor(self._pixel_size * scale))

    def shown_font(self) -> QFont:
        """The font the number is painted with: the size every peer can use."""
        font = QFont(self.font())
        font.setPixelSize(
            min(peer.fitting_pixel_size() for peer in self._peers if peer.isVisible() or peer is self)
        )
        return font

    def sizeHint(self) -> QSize:
        """As tall as the theme's number size wants."""
        font = QFont(self.font())
        font.setPixelSize(self._pixel_size)
        metrics = QFontMetricsF(font)
        return QSize(round(metrics.horizontalAdvance(self.text())), round(metrics.capHeight() * 1.3))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A peer's size may depend on this box: repaint them all."""
        super().resizeEvent(event)
        for peer in self._peers:
            if peer is not self:
                peer.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the digits left-aligned, their capitals centred vertically."""
        font = self.shown_font()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        baseline = (self.height() + QFontMetricsF(font).capHeight()) / 2
        painter.drawText(QPointF(0, baseline), self.text())


COUNT_UP_SECONDS = 1.6
COUNT_UP_FRAME_MS = 33


def counting_value(start: int, end: int, elapsed: float, duration: float = COUNT_UP_SECONDS) -> int:
    """The number shown `elapsed` seconds into counting from `start` to `end`: fast at first, then
    slowing down onto the new value (ease-out cubic)."""
    if elapsed >= duration or duration <= 0:
        return end
    progress = max(0.0, elapsed) / duration
    eased = 1 - (1 - progress) ** 3
    return start + round((end - start) * eased)


PAGE_TILES = 4  # more tiles a screen and "182 340" no longer fits at 12 % of the height
PORTRAIT_PAGE_TILES = 3  # one column: two would halve the numbers' width


def page_sizes(count: int, per_page: int = PAGE_TILES) -> list[int]:
    """How many tiles each page shows: as few pages as can be, as even as can be (7: [4, 3])."""
    if count <= 0:
        return []
    pages = math.ceil(count / per_page)
    small, extra = divmod(count, pages)
    return [small + 1 if page < extra else small for page in range(pages)]


def _columns(count: int, portrait: bool) -> int:
    """Tiles a row: 2 on a landscape screen (1 for a lone tile), 1 on a portrait one."""
    return 1 if portrait or count == 1 else 2


class Sparkline(QWidget):
    """A counter's last days as a thin line, its last point marked; hidden with fewer than 2 days."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values: tuple[int, ...] = ()
        self._colour = QColor("#ffffff")
        self._width = 2.0

    def values(self) -> tuple[int, ...]:
        """The values drawn, oldest first."""
        return self._values

    def set_values(self, values: Sequence[int], colour: QColor, width: float) -> None:
        """Draw `values` in `colour` with lines `width` pixels wide."""
        self._values, self._colour, self._width = tuple(values), colour, width
        self.setVisible(len(self._values) >= 2)
        self.update()

    def points(self) -> list[QPointF]:
        """Where each value is drawn: oldest at the left, the range filling the height."""
        values = self._values
        if len(values) < 2:
            return []
        low, high = min(values), max(values)
        span = high - low
        margin = self._width * 2
        width, height = self.width() - 2 * margin, self.height() - 2 * margin
        step = width / (len(values) - 1)
        return [
            QPointF(margin + i * step, margin + (height / 2 if span == 0 else height * (high - v) / span))
            for i, v in enumerate(values)
        ]

    def paintEvent(self, event: QPaintEvent) -> None:
        """The line, with a dot on today's value."""
        points = self.points()
        if not points:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self._colour, self._width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.drawPolyline(points)
        painter.setBrush(self._colour)
        painter.drawEllipse(points[-1], self._width * 1.8, self._width * 1.8)


class FanTile(QWidget):
    """One counter: network mark and account, the number and what it counts, today's change and
    the week's line; the day a milestone is crossed, a celebration line and a brighter tile."""

    def __init__(
        self,
        language: str,
        theme: Theme,
        number_peers: list[BigNumberLabel] | None = None,
        parent: QWidget | None = None,
        *,
        ticker: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._language = language
        self._theme = theme
        self._count: Count | None = None
        self._trend: Trend | None = None
        # Counting up: the value on screen moves from `_from` to `_to` from `_started` (ticker seconds).
        self._ticker = ticker
        self._boost = 1.0
        self._shown: int | None = None
        self._from = self._to = 0
        self._started: float | None = None
        self._frames = QTimer(self)
        self._frames.setInterval(COUNT_UP_FRAME_MS)
        self._frames.timeout.connect(self.advance)
        self.mark = NetworkMark()
        self.account_label = OneLineLabel()
        self.number_label = BigNumberLabel(number_peers)
        self.metric_label = OneLineLabel()
        self.change_label = OneLineLabel()  # elided on a word boundary in a narrow tile, never cut
        self.change_label.hide()
        self.sparkline = Sparkline()
        self.sparkline.hide()
        # mark and account / the number / what it counts (or the milestone) / today's change and the line
        top = QHBoxLayout()
        top.addWidget(self.mark)
        top.addWidget(self.account_label, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.change_label, 1)  # today's change first; the line takes what is left
        bottom.addWidget(self.sparkline)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addWidget(self.number_label, 1)
        self._layout.addWidget(self.metric_label)
        self._layout.addLayout(bottom)
        self._top = top
        self._bottom = bottom
        self.apply_theme(theme)

    def count(self) -> Count | None:
        """The counter shown."""
        return self._count

    def trend(self) -> Trend | None:
        """The trend shown (change today, the week's values, a milestone)."""
        return self._trend

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock counting up follows."""
        self._ticker = ticker

    def shown_value(self) -> int | None:
        """The number on screen right now (between two values while counting up)."""
        return self._shown

    def advance(self) -> None:
        """One frame of counting up (the timer calls it; tests with an injected ticker too)."""
        if self._started is None:
            return
        elapsed = self._ticker() - self._started
        self._shown = counting_value(self._from, self._to, elapsed)
        if elapsed >= COUNT_UP_SECONDS:
            self._stop_counting(self._to)
        self._show_number()

    def _stop_counting(self, value: int | None) -> None:
        self._frames.stop()
        self._started = None
        self._shown = value
        if value is not None:
            self._from = self._to = value

    def _show_number(self) -> None:
        self.number_label.set_number(format_number(self._shown, self._language), self._number_size())

    def set_count(self, count: Count, trend: Trend | None = None) -> None:
        """Show `count` and its trend; an unknown value shows its last known one, or a dash. A new
        value of the same counter is counted up to, not jumped to."""
        language, theme = self._language, self._theme
        value = trend.value if trend is not None else count.value
        self.mark.set_network(count.network)
        self.account_label.set_full_text(count.label or count.account)
        same_counter = self._count is not None and self._count.key == count.key
        self._count, self._trend = count, trend
        if same_counter and value is not None and self._shown is not None and value != self._to:
            self._from, self._to, self._started = self._shown, value, self._ticker()
            self._frames.start()
        elif not (same_counter and value == self._to and self._started is not None):
            self._stop_counting(value)
        self._show_number()
        words = tr(count.metric, language)
        milestone = trend.milestone if trend is not None else None
        if milestone is None:
            self.metric_label.set_full_text(words)
        else:  # the day a milestone is crossed, it replaces the metric word
            shown = format_number(milestone, language)
            self.metric_label.set_full_text(tr("milestone", language, value=shown, metric=words))
        style_label(
            self.metric_label,
            theme.font(Role.TILE_LABEL),
            theme.muted if milestone is None else theme.celebration,
        )
        change = trend.today if trend is not None else None
        self.change_label.set_full_text(
            tr("today", language, change=format_change(change, language)) if change else ""
        )
        self.change_label.setVisible(bool(change))
        style_label(
            self.change_label,
            theme.font(Role.META),  # secondary to the number, like a card's time: it fits a third of a row
            theme.positive if change and change > 0 else theme.muted,
        )
        self.sparkline.set_values(trend.daily if trend is not None else (), theme.accent, theme.px(0.0035))
        self.update()

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and spacing for a new window height."""
        self._theme = theme
        pad = theme.px(0.035)
        self._layout.setContentsMargins(pad, pad, pad, pad)
        self._layout.setSpacing(theme.px(0.006))
        self._top.setSpacing(theme.px(0.016))
        self.mark.set_side(theme.px(0.065))
        self._bottom.setSpacing(theme.px(0.016))
        self.sparkline.setFixedHeight(theme.px(0.045))
        self.sparkline.setFixedWidth(theme.px(0.085))
        style_label(self.account_label, theme.font(Role.TILE_LABEL), theme.text)
        style_label(self.number_label, theme.font(Role.BIG_NUMBER), theme.text)
        style_label(self.metric_label, theme.font(Role.TILE_LABEL), theme.muted)
        style_label(self.change_label, theme.font(Role.META), theme.muted)
        if self._count is not None:
            self.set_count(self._count, self._trend)
        self.update()

    def set_number_boost(self, boost: float) -> None:
        """Let the number grow `boost` times the theme's size where the tile is wide enough (a
        portrait screen: its theme is sized for its width, its tiles have room for more)."""
        if boost != self._boost:
            self._boost = boost
            if self._count is not None:
                self._show_number()

    def _number_size(self) -> int:
        return round(self._theme.font(Role.BIG_NUMBER).pixelSize() * self._boost)

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded tile with a thin brand-coloured line at the top."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(self.rect()), self._theme.radius, self._theme.radius)
        celebrating = self._trend is not None and self._trend.milestone is not None
        surface = self._theme.celebration_surface if celebrating else self._theme.surface
        painter.fillPath(shape, surface)
        painter.setClipPath(shape)
        line = self._theme.px(0.016 if celebrating else 0.008)
        painter.fillRect(0, 0, self.width(), line, self._theme.accent)


class FansPanel(Panel):
    """Audience counters from the hub, filtered by the panel's sources, at most `limit` tiles."""

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        self._all: list[tuple[Count, Trend]] = []  # every counter of the panel, all pages
        self._shown: list[tuple[Count, Trend]] = []  # the counters of the page on screen
        self._page = 0  # the page the tiles show
        self._target = 0  # the page they are turning to (the same when no turn is under way)
        self._ticker: Callable[[], float] = time.monotonic
        self._portrait = False
        self.tiles: list[FanTile] = []
        self._number_peers: list[BigNumberLabel] = []
        self._boost = 1.0  # see `FanTile.set_number_boost`
        self._grid = QGridLayout(self.content)
        self._turn = PanelTurn(self, context.look.transition)
        self._turn.finished.connect(self._after_turn)
        self._refresh_after_turn = False
        self._page_timer = QTimer(self)
        self._page_timer.setSingleShot(True)
        self._page_timer.timeout.connect(self.next_page)
        self.apply_theme(theme)
        context.hub.counts_changed.connect(self.refresh)
        self.refresh()

    def has_content(self) -> bool:
        """True when at least one counter is shown."""
        return bool(self._all)

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock the counting-up animation and page turns follow (tests step it by hand)."""
        self._ticker = ticker
        self._turn.set_ticker(ticker)
        for tile in self.tiles:
            tile.set_ticker(ticker)

    # --- pages ---------------------------------------------------------------------------------
    def page_count(self) -> int:
        """How many pages the counters take (0 without counters)."""
        return len(self._page_sizes())

    def _page_sizes(self) -> list[int]:
        return page_sizes(len(self._all), PORTRAIT_PAGE_TILES if self._portrait else PAGE_TILES)

    def page(self) -> int:
        """The page on screen (0 is the first)."""
        return self._page

    def duration_ms(self) -> int:
        """Each page stays the panel's `duration`."""
        return super().duration_ms() * max(1, self.page_count())

    def turn(self) -> PanelTurn:
        """The transition between pages."""
        return self._turn

    def next_page(self) -> None:
        """Turn to the next page, with the wall's transition when on screen (the last page stays:
        the rotator moves on, or calls `shown_again`)."""
        if self._target + 1 < self.page_count():
            self._target += 1
            self._turn_to(self._target)
        self._schedule_page_turn()

    def shown_again(self) -> None:
        """The rotator keeps this panel on screen for another round (it is the only one): start
        again from the first page."""
        if self._target != 0:
            self._target = 0
            self._turn_to(0)
        self._schedule_page_turn()

    def _turn_to(self, page: int) -> None:
        def change() -> None:  # made once the picture of the page on screen is taken
            self._page = page
            self._show_page()

        self._turn.turn(change)

    def _schedule_page_turn(self) -> None:
        self._page_timer.stop()
        if self.isVisible() and self._target + 1 < self.page_count():
            self._page_timer.start(super().duration_ms())

    def _show_page(self, *, lay_out: bool = False) -> None:
        """The tiles of `_page` (a poll during a turn refreshes the page still on screen)."""
        sizes = self._page_sizes()
        last = max(0, len(sizes) - 1)
        self._page, self._target = min(self._page, last), min(self._target, last)
        start = sum(sizes[: self._page])
        shown = self._all[start : start + (sizes[self._page] if sizes else 0)]
        if lay_out or len(shown) != len(self._shown):
            self._lay_out_tiles(len(shown), self._portrait)
        self._shown = shown
        for tile, (count, trend) in zip(self.tiles, shown, strict=True):
            tile.set_count(count, trend)

    def showEvent(self, event: QShowEvent) -> None:
        """On screen: the next page comes after `duration`."""
        super().showEvent(event)
        self._schedule_page_turn()

    def hideEvent(self, event: QHideEvent) -> None:
        """Off screen: back to the first page, ready for the next time."""
        self._page_timer.stop()
        self._turn.finish()
        if self._page != 0:
            self._page = self._target = 0
            self._show_page()
        super().hideEvent(event)

    @cached_property
    def zone(self) -> ZoneInfo:
        """The wall's time zone: "today" starts at its midnight."""
        return ZoneInfo(self.context.look.timezone)

    def refresh(self) -> None:
        """Show the latest counters; tiles are reused, the grid is redone only when their number changes."""
        hub, now = self.context.hub, self.context.clock()
        milestones = self.settings.milestones
        counts = self.filter_sources(hub.counts(), lambda count: count.source)[: self.settings.limit]
        shown = [
            (c, count_trend(c, hub.count_history(c.key), now=now, zone=self.zone, milestones=milestones))
            for c in counts
        ]
        if shown == self._all:
            return
        pages = self.page_count()
        self._all = shown
        if self._turn.is_turning():  # its pictures are being taken: the tiles change after it
            self._refresh_after_turn = True
        else:
            self._show_page()
        self.show_content(bool(shown))
        if not self._page_timer.isActive():  # counters arrive every poll: they must not delay a turn
            self._schedule_page_turn()
        if self.page_count() != pages:
            self.duration_changed.emit()  # the rotator gives the panel the time of its pages

    def _after_turn(self) -> None:
        if self._refresh_after_turn:
            self._refresh_after_turn = False
            self._show_page()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A portrait screen shows its tiles in one column, fewer a page, with numbers as wide as
        the tiles allow (its theme is sized for its width: see `WallWindow.resizeEvent`)."""
        self._turn.finish()  # its pictures no longer fit
        size = event.size()
        portrait = size.height() > size.width()
        boost = max(1.0, self.window().height() / max(1, self.theme.height)) if portrait else 1.0
        for tile in self.tiles:
            tile.set_number_boost(boost)
        self._boost = boost
        if portrait != self._portrait:
            self._portrait = portrait
            self._show_page(lay_out=True)
            self._schedule_page_turn()
        super().resizeEvent(event)

    def _lay_out_tiles(self, count: int, portrait: bool) -> None:
        while len(self.tiles) < count:
            tile = FanTile(self.context.language, self.theme, self._number_peers, ticker=self._ticker)
            tile.set_number_boost(self._boost)
            self.tiles.append(tile)
        for tile in self.tiles:
            self._grid.removeWidget(tile)
            tile.hide()
        for tile in self.tiles[count:]:
            self._number_peers.remove(tile.number_label)
            tile.deleteLater()
        del self.tiles[count:]
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 0)
        columns = _columns(count, portrait)
        rows = math.ceil(count / columns) if count else 0
        for index, tile in enumerate(self.tiles):
            row, column = divmod(index, columns)
            last = index == count - 1
            span = columns - column if last else 1  # the last tile fills its row
            self._grid.addWidget(tile, row, column, 1, span)
            tile.show()
        for row in range(rows):
            self._grid.setRowStretch(row, 1)
        for column in range(columns):
            self._grid.setColumnStretch(column, 1)

    def apply_theme(self, theme: Theme) -> None:
        """Margins and tiles for a new window height."""
        super().apply_theme(theme)
        self._grid.setContentsMargins(theme.gap, theme.gap, theme.gap, theme.gap)
        self._grid.setSpacing(theme.gap)
        for tile in self.tiles:
            tile.apply_theme(theme)
