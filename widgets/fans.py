"""The fans panel: one tile per audience counter, with a big locale-formatted number (`180 000`)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from wall.i18n import format_number, tr
from wall.model import Count
from widgets.labels import OneLineLabel, plain_label, style_label
from widgets.marks import NetworkMark
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook
from widgets.theme import Role, Theme


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


class FanTile(QWidget):
    """One counter: network mark and account, then the number and what it counts."""

    def __init__(
        self,
        language: str,
        theme: Theme,
        number_peers: list[BigNumberLabel] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._language = language
        self._theme = theme
        self._count: Count | None = None
        self.mark = NetworkMark()
        self.account_label = OneLineLabel()
        self.number_label = BigNumberLabel(number_peers)
        self.metric_label = plain_label()
        top = QHBoxLayout()
        top.addWidget(self.mark)
        top.addWidget(self.account_label, 1)
        self._layout = QVBoxLayout(self)
        self._layout.addLayout(top)
        self._layout.addWidget(self.number_label, 1)
        self._layout.addWidget(self.metric_label)
        self._top = top
        self.apply_theme(theme)

    def count(self) -> Count | None:
        """The counter shown."""
        return self._count

    def set_count(self, count: Count) -> None:
        """Show `count`; an unknown value shows a dash."""
        self._count = count
        self.mark.set_network(count.network)
        self.account_label.set_full_text(count.label or count.account)
        self.number_label.set_number(format_number(count.value, self._language), self._number_size())
        self.metric_label.setText(tr(count.metric, self._language))

    def apply_theme(self, theme: Theme) -> None:
        """Fonts and spacing for a new window height."""
        self._theme = theme
        pad = theme.px(0.035)
        self._layout.setContentsMargins(pad, pad, pad, pad)
        self._layout.setSpacing(theme.px(0.006))
        self._top.setSpacing(theme.px(0.016))
        self.mark.set_side(theme.px(0.065))
        style_label(self.account_label, theme.font(Role.TILE_LABEL), theme.text)
        style_label(self.number_label, theme.font(Role.BIG_NUMBER), theme.text)
        style_label(self.metric_label, theme.font(Role.TILE_LABEL), theme.muted)
        if self._count is not None:
            self.set_count(self._count)
        self.update()

    def _number_size(self) -> int:
        return self._theme.font(Role.BIG_NUMBER).pixelSize()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded tile with a thin brand-coloured line at the top."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(self.rect()), self._theme.radius, self._theme.radius)
        painter.fillPath(shape, self._theme.surface)
        painter.setClipPath(shape)
        painter.fillRect(0, 0, self.width(), self._theme.px(0.008), self._theme.accent)


class FansPanel(Panel):
    """Audience counters from the hub, filtered by the panel's sources, at most `limit` tiles."""

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        self._shown: list[Count] = []
        self.tiles: list[FanTile] = []
        self._number_peers: list[BigNumberLabel] = []
        self._grid = QGridLayout(self.content)
        self.apply_theme(theme)
        context.hub.counts_changed.connect(self.refresh)
        self.refresh()

    def has_content(self) -> bool:
        """True when at least one counter is shown."""
        return bool(self._shown)

    def refresh(self) -> None:
        """Show the latest counters; tiles are reused, the grid is redone only when their number changes."""
        counts = self.filter_sources(self.context.hub.counts(), lambda count: count.source)
        shown = counts[: self.settings.limit]
        if shown == self._shown:
            return
        if len(shown) != len(self._shown):
            self._lay_out_tiles(len(shown))
        self._shown = shown
        for tile, count in zip(self.tiles, shown, strict=True):
            tile.set_count(count)
        self.show_content(bool(shown))

    def _lay_out_tiles(self, count: int) -> None:
        while len(self.tiles) < count:
            self.tiles.append(FanTile(self.context.language, self.theme, self._number_peers))
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
        columns = 1 if count == 1 else 2 if count <= 4 else 3
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
