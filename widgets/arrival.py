"""A new post arriving on a posts panel on screen: the cards slide down instead of jumping.

The panel takes a picture of itself before the change and one after it (the next event-loop turn,
so no single frame pays for both), then this overlay draws parts of them moving: the previous
featured post fades out, uncovering the new one, and the compact cards slide
down by as many slots as posts arrived, the one pushed out leaving at the bottom of its column and
the newcomers entering from its top. Frames are blits of prepared pictures, as in the rotator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class Piece:
    """Part of a picture (`source`) moving from `start` to `end` (top-left corners), inside `clip`;
    its opacity goes from `opacity[0]` to `opacity[1]`."""

    picture: QPixmap
    source: QRect
    start: QPoint
    end: QPoint
    clip: QRect
    opacity: tuple[float, float] = (1.0, 1.0)

    def position(self, progress: float) -> QPoint:
        """Top-left corner at `progress` (0 → 1)."""
        return self.start + (self.end - self.start) * progress

    def alpha(self, progress: float) -> float:
        """Opacity at `progress`."""
        first, last = self.opacity
        alpha = first + (last - first) * progress
        return 0.0 if alpha < 1 / 255 else 1.0 if alpha > 254 / 255 else alpha  # no rounding left at the ends


@dataclass(frozen=True)
class Layout:
    """Where the cards of a posts panel are, in the panel's coordinates: featured, then compact slots
    (all of them, shown or not), and the column holding the compact ones."""

    featured: QRect
    slots: Sequence[QRect]
    column: QRect
    shown: int  # posts on screen, featured included


def plan(before: QPixmap, old: Layout, after: QPixmap, new: Layout, shift: int, spacing: int) -> list[Piece]:
    """The pieces that take the panel from `before` to `after` when `shift` posts arrived on top."""
    # The new featured post is uncovered as the previous one fades out over it: a crossfade of two
    # cards of the same size, whose surfaces and unchanged parts (a name) blend without a ghost.
    pieces = [
        Piece(after, new.featured, new.featured.topLeft(), new.featured.topLeft(), new.featured),
        Piece(before, old.featured, old.featured.topLeft(), old.featured.topLeft(), old.featured, (1.0, 0.0)),
    ]
    old_compact = max(0, old.shown - 1)
    new_compact = max(0, new.shown - 1)
    moved: set[int] = set()
    for slot in range(old_compact):
        source = old.slots[slot]
        pitch = QPoint(0, (source.height() + spacing) * shift)
        target = slot + shift
        strip = _column_strip(old.column, source)
        if target < new_compact and new.slots[target].x() == source.x():
            moved.add(target)  # the same post, drawn as it is now, going down its column
            goal = new.slots[target]
            pieces.append(Piece(after, goal, source.topLeft(), goal.topLeft(), strip))
        else:  # pushed out of the bottom of its column (or of the panel)
            pieces.append(
                Piece(before, source, source.topLeft(), source.topLeft() + pitch, strip, (1.0, 0.5))
            )
    for target in range(new_compact):
        if target in moved:
            continue
        goal = new.slots[target]
        pitch = QPoint(0, (goal.height() + spacing) * shift)
        strip = _column_strip(new.column, goal)
        pieces.append(Piece(after, goal, goal.topLeft() - pitch, goal.topLeft(), strip, (0.5, 1.0)))
    return pieces


def _column_strip(column: QRect, card: QRect) -> QRect:
    """The part of the column under and above `card`: where it may move."""
    return QRect(card.x(), column.y(), card.width(), column.height())


class ArrivalOverlay(QWidget):
    """Covers a posts panel while its cards move; opaque, so the cards beneath are not repainted."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._background = QColor()
        self._still: QPixmap | None = None  # shown until the pieces are ready
        self._pieces: list[Piece] = []
        self._progress = 0.0
        self.hide()

    def cover(self, picture: QPixmap, background: QColor) -> None:
        """Show `picture` (the panel before the change) over the whole panel."""
        self._still, self._pieces, self._background = picture, [], background
        self._progress = 0.0
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()

    def set_pieces(self, pieces: list[Piece]) -> None:
        """Move these pieces from now on, instead of the still picture."""
        self._pieces, self._still = pieces, None
        self.update()

    def pieces(self) -> list[Piece]:
        """What moves (empty before the new picture is taken)."""
        return list(self._pieces)

    def set_progress(self, progress: float) -> None:
        """How far the motion is (0: the panel before, 1: after)."""
        self._progress = progress
        self.update()

    def end(self) -> None:
        """Uncover the panel and drop the pictures."""
        self._still, self._pieces = None, []
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        """The panel's background, then every piece where it is now."""
        painter = QPainter(self)
        if self._still is not None:
            painter.drawPixmap(0, 0, self._still)
            return
        painter.fillRect(self.rect(), self._background)
        for piece in self._pieces:
            alpha = piece.alpha(self._progress)
            if alpha <= 0.0:
                continue
            painter.setClipRect(piece.clip)
            painter.setOpacity(alpha)
            painter.drawPixmap(piece.position(self._progress), piece.picture, piece.source)
