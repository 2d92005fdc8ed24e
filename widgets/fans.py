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

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer
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
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

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

NUMBER_BOX = 1.1  # box height per cap height: digits have no descenders, a little air is enough
NUMBER_BOX_AIR = 1.3  # what a number's box is given when the tile has room to spare


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
            scale = min(scale, self.height() / (cap * NUMBER_BOX))
        return max(8, math.floor(self._pixel_size * scale))

    def needed_height(self) -> int:
        """The height the number needs at the size it fits in its box (a little more than its capitals)."""
        font = QFont(self.font())
        font.setPixelSize(self.fitting_pixel_size())
        return math.ceil(QFontMetricsF(font).capHeight() * NUMBER_BOX_AIR)

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
        """Paint the digits centred in the box, their capitals centred vertically."""
        font = self.shown_font()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        metrics = QFontMetricsF(font)
        baseline = (self.height() + metrics.capHeight()) / 2
        painter.drawText(
            QPointF((self.width() - metrics.horizontalAdvance(self.text())) / 2, baseline), self.text()
        )


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


WIDE_TILE = 3.0  # a tile wider than 3 times its height puts its parts side by side
BAND_SHARE = 0.26  # of a stacked tile's height: the week's line, its extremes labelled…
BAND_MAX_SHARE = 0.45  # …and up to this much when the number leaves room to spare
SIDE_SHARE = 0.3  # of a wide tile's width, at each side of its number
ROOMY_BOOST = 2.0  # a page of 1 or 2 tiles lets its numbers grow this much, as far as they fit

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
    """Tiles a row: 1 on a portrait screen; on a landscape one 2 (side by side, or 2x2), but 1 for
    a lone tile and for 3, as three equal bands: three columns would shrink a six-digit number
    below 12 % of the height, and a 2 + 1 grid left the third tile's right half empty (issue 15)."""
    return 1 if portrait or count in (1, 3) else 2


class Sparkline(QWidget):
    """A counter's last days as a line across a band of its tile, its highest and lowest values
    labelled at the right in the wall's number format; hidden with fewer than 2 days.

    The labels are child labels at the body font size (issue 15: a 60 px line in a corner could
    not be read from 3 m), centred on the heights of the line's top and bottom.
    """

    def __init__(self, language: str = "fr", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._language = language
        self._values: tuple[int, ...] = ()
        self._colour = QColor("#ffffff")
        self._guide = QColor("#ffffff")
        self._width = 2.0
        self.max_label = QLabel(self)
        self.min_label = QLabel(self)
        for label in (self.max_label, self.min_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def values(self) -> tuple[int, ...]:
        """The values drawn, oldest first."""
        return self._values

    def set_values(
        self, values: Sequence[int], colour: QColor, width: float, font: QFont, label_colour: QColor
    ) -> None:
        """Draw `values` in `colour` with lines `width` pixels wide, their extremes labelled in `font`."""
        self._values, self._colour, self._width = tuple(values), colour, width
        self._guide = QColor(label_colour)
        self._guide.setAlphaF(0.35)
        for label in (self.max_label, self.min_label):
            style_label(label, font, label_colour)
        if self._values:
            self.max_label.setText(format_number(max(self._values), self._language))
            self.min_label.setText(format_number(min(self._values), self._language))
        self.min_label.setVisible(len(set(self._values)) > 1)  # a flat week has one level to name
        self.setVisible(len(self._values) >= 2)
        self._place_labels()
        self.update()

    def _label_size(self) -> QSize:
        shown = [label for label in (self.max_label, self.min_label) if not label.isHidden()]
        hints = [label.sizeHint() for label in shown] or [QSize(0, 0)]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def line_rect(self) -> QRectF:
        """Where the line is drawn: left of the labels, between the centres of the two labels."""
        label = self._label_size()
        gap = label.height() / 3
        margin = self._width * 2
        top = max(margin, label.height() / 2)
        return QRectF(
            margin,
            top,
            max(1.0, self.width() - label.width() - gap - margin),
            max(1.0, self.height() - 2 * top),
        )

    def points(self) -> list[QPointF]:
        """Where each value is drawn: oldest at the left, the range filling the line's height."""
        values = self._values
        if len(values) < 2:
            return []
        low, high = min(values), max(values)
        span = high - low
        box = self.line_rect()
        step = box.width() / (len(values) - 1)
        return [
            QPointF(
                box.left() + i * step,
                box.top() + (box.height() / 2 if span == 0 else box.height() * (high - v) / span),
            )
            for i, v in enumerate(values)
        ]

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The labels follow the line's top and bottom."""
        super().resizeEvent(event)
        self._place_labels()

    def _place_labels(self) -> None:
        size, box = self._label_size(), self.line_rect()
        x = self.width() - size.width()
        if self.min_label.isHidden():  # flat: one label, level with the line
            self.max_label.setGeometry(
                x, round(box.center().y() - size.height() / 2), size.width(), size.height()
            )
            return
        self.max_label.setGeometry(x, round(box.top() - size.height() / 2), size.width(), size.height())
        self.min_label.setGeometry(x, round(box.bottom() - size.height() / 2), size.width(), size.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Guides to the labels, the area under the line, the line, and a dot on today's value."""
        points = self.points()
        if not points:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = self.line_rect()
        guide_end = self.width() - self._label_size().width() - box.left()
        painter.setPen(QPen(self._guide, max(1.0, self._width / 3), Qt.PenStyle.DashLine))
        levels = {min(p.y() for p in points), max(p.y() for p in points)}
        for y in levels:
            painter.drawLine(QPointF(box.left(), y), QPointF(guide_end, y))
        area = QPainterPath(QPointF(points[0].x(), box.bottom()))
        for point in points:
            area.lineTo(point)
        area.lineTo(QPointF(points[-1].x(), box.bottom()))
        area.closeSubpath()
        fill = QColor(self._colour)
        fill.setAlphaF(0.18)
        painter.fillPath(area, fill)
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
        # Placed by hand (`_place`), not by a layout: the tile's shape decides where each part goes.
        self.mark = NetworkMark(parent=self)
        self.account_label = OneLineLabel(self)
        self.number_label = BigNumberLabel(number_peers, self)
        self.metric_label = OneLineLabel(self)
        self.change_label = OneLineLabel(self)  # elided on a word boundary in a narrow tile, never cut
        self.change_label.hide()
        self.sparkline = Sparkline(language, self)
        self.sparkline.hide()
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
        self.sparkline.set_values(
            trend.daily if trend is not None else (),
            theme.accent,
            theme.px(0.005),
            theme.font(Role.BODY),  # read from 3-5 m like any text of the wall, not a footnote
            theme.muted,
        )
        self._place()
        self.update()

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and spacing for a new window height."""
        self._theme = theme
        self.mark.set_side(theme.px(0.065))
        style_label(self.account_label, theme.font(Role.TILE_LABEL), theme.text)
        style_label(self.number_label, theme.font(Role.BIG_NUMBER), theme.text)
        style_label(self.metric_label, theme.font(Role.TILE_LABEL), theme.muted)
        style_label(self.change_label, theme.font(Role.META), theme.muted)
        if self._count is not None:
            self.set_count(self._count, self._trend)
        self._place()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Place the parts again for the new shape."""
        super().resizeEvent(event)
        self._place()

    def is_wide(self) -> bool:
        """True when the tile is a band across the panel (3 tiles on a landscape screen): its parts
        then sit side by side instead of one above the other."""
        return self.width() > WIDE_TILE * self.height()

    def _place(self) -> None:
        theme = self._theme
        pad_x, pad_y = theme.px(0.035), theme.px(0.022)
        inner = QRect(pad_x, pad_y, max(1, self.width() - 2 * pad_x), max(1, self.height() - 2 * pad_y))
        if self.is_wide():
            self._place_side_by_side(inner)
        else:
            self._place_stacked(inner)

    def _place_identity(self, x: int, y: int, width: int, height: int) -> None:
        """The network mark and the account, vertically centred in a row `height` high."""
        side, gap = self.mark.width(), self._theme.px(0.016)
        self.mark.move(x, y + (height - side) // 2)
        label_height = self.account_label.sizeHint().height()
        left = x + side + gap
        self.account_label.setGeometry(
            left, y + (height - label_height) // 2, max(1, x + width - left), label_height
        )

    def _place_stacked(self, inner: QRect) -> None:
        """Identity and today's change on top, the number centred, what it counts, the week's band."""
        theme, step = self._theme, self._theme.px(0.006)
        head = max(self.mark.height(), self.account_label.sizeHint().height())
        change = self.change_label.sizeHint()
        change_width = min(change.width(), inner.width() // 2) if not self.change_label.isHidden() else 0
        room = inner.width() - (change_width + theme.px(0.016) if change_width else 0)
        self._place_identity(inner.left(), inner.top(), room, head)
        self.change_label.setGeometry(
            inner.right() + 1 - change_width,
            inner.top() + (head - change.height()) // 2,
            change_width,
            change.height(),
        )
        # The number and what it counts as one block, centred in the room above the band. A lone
        # tile's number is as wide as the tile long before it is as tall as the room: the band
        # takes part of what is left, so the line is larger rather than the tile emptier.
        metric = self.metric_label.sizeHint()
        top, bottom = inner.top() + head + step, inner.bottom() + 1
        band = round(self.height() * BAND_SHARE) + step if not self.sparkline.isHidden() else 0
        room = max(1, bottom - band - metric.height() - top)
        self.number_label.setGeometry(inner.left(), top, inner.width(), room)
        number = min(room, self.number_label.needed_height())
        if band:
            grown = min(band + (room - number) * 3 // 5, round(self.height() * BAND_MAX_SHARE))
            room -= max(0, grown - band)
            band = max(band, grown)
            self.sparkline.setGeometry(inner.left(), bottom - band + step, inner.width(), band - step)
        top += (room - number) // 2
        self.number_label.setGeometry(inner.left(), top, inner.width(), number)
        metric_width = min(metric.width(), inner.width())
        self.metric_label.setGeometry(
            inner.left() + (inner.width() - metric_width) // 2, top + number, metric_width, metric.height()
        )

    def _place_side_by_side(self, inner: QRect) -> None:
        """Mark, account and change at the left, the number and what it counts in the middle, the
        week at the right. The mark sits above the account so a long handle keeps the column's width."""
        step, gap = self._theme.px(0.006), self._theme.px(0.016)
        side = round(inner.width() * SIDE_SHARE)
        account, change = self.account_label.sizeHint(), self.change_label.sizeHint()
        rows = [self.mark.height(), account.height()]
        rows += [change.height()] if not self.change_label.isHidden() else []
        y = inner.top() + (inner.height() - sum(rows) - step * (len(rows) - 1)) // 2
        self.mark.move(inner.left(), y)
        y += self.mark.height() + step
        self.account_label.setGeometry(inner.left(), y, side, account.height())
        y += account.height() + step
        self.change_label.setGeometry(inner.left(), y, min(change.width(), side), change.height())
        # Both side columns are as wide, so the number stays centred in the tile.
        middle = QRect(
            inner.left() + side + gap, inner.top(), inner.width() - 2 * (side + gap), inner.height()
        )
        metric = self.metric_label.sizeHint()
        number = min(middle.height() - metric.height(), round(self.number_label.sizeHint().height() * 1.1))
        top = middle.top() + (middle.height() - number - metric.height()) // 2
        self.number_label.setGeometry(middle.left(), top, middle.width(), number)
        metric_width = min(metric.width(), middle.width())
        self.metric_label.setGeometry(
            middle.left() + (middle.width() - metric_width) // 2, top + number, metric_width, metric.height()
        )
        self.sparkline.setGeometry(inner.right() + 1 - side, inner.top(), side, inner.height())

    def set_number_boost(self, boost: float) -> None:
        """Let the number grow `boost` times the theme's size where the tile is wide enough (a
        portrait screen: its theme is sized for its width, its tiles have room for more)."""
        if boost != self._boost:
            self._boost = boost
            if self._count is not None:
                self._show_number()
                self._place()  # a larger number takes a taller box

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
        self._boost = boost
        for tile in self.tiles:
            tile.set_number_boost(self._tile_boost(len(self.tiles)))
        if portrait != self._portrait:
            self._portrait = portrait
            self._show_page(lay_out=True)
            self._schedule_page_turn()
        super().resizeEvent(event)

    def _tile_boost(self, count: int) -> float:
        """One or two tiles have room for larger numbers than four: they grow as far as they fit."""
        return self._boost * (ROOMY_BOOST if count <= 2 else 1.0)

    def _lay_out_tiles(self, count: int, portrait: bool) -> None:
        while len(self.tiles) < count:
            tile = FanTile(self.context.language, self.theme, self._number_peers, ticker=self._ticker)
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
            self._grid.addWidget(tile, row, column)  # every row full: no tile wider than its share
            tile.set_number_boost(self._tile_boost(count))
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
