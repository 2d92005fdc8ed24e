"""Pictures on cards: round avatars (initials until the picture is there) and cover-cropped images.

The pictures come scaled to the widget's size from the `PixmapCache` (scaled off the GUI thread), so
painting costs a blit; until the right size is ready the previous one is stretched, then replaced.
"""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from widgets.pixmaps import PixmapCache

_AVATAR_COLOURS = ("#5b6ee1", "#d9534f", "#2a9d8f", "#e9a23b", "#8e5bd6", "#3a86c8", "#c2577f", "#4f9d3a")


def initials(name: str) -> str:
    """One or two capital letters for a placeholder avatar (`Jeanne Martin` -> `JM`)."""
    words = [w for w in name.replace("@", " ").replace("_", " ").split() if w[:1].isalnum()]
    letters = "".join(w[0] for w in words[:2]).upper()
    return letters or "?"


class AvatarBadge(QWidget):
    """A round avatar: the author's picture once loaded, a coloured circle with initials until then."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache: PixmapCache | None = None
        self._url = ""
        self._name = ""
        self._last: QPixmap | None = None
        self.setFixedSize(64, 64)

    def set_diameter(self, diameter: int) -> None:
        """Size of the circle in pixels."""
        self.setFixedSize(diameter, diameter)

    def set_author(self, name: str, url: str, cache: PixmapCache) -> None:
        """Whose avatar this is, and where their picture comes from."""
        if url != self._url:
            self._last = None
        self._name, self._url, self._cache = name, url, cache
        if cache.has_picture(url):  # asks for it (hub) or decodes it (pool) when it is not there yet
            cache.scaled(url, self.size())
        self.update()

    def has_picture(self) -> bool:
        """True once the real picture is there (it replaces the initials)."""
        return self._cache is not None and self._cache.has_picture(self._url)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Have the picture scaled for the new size ahead of painting."""
        super().resizeEvent(event)
        if self._cache is not None and self._cache.has_picture(self._url):
            self._cache.scaled(self._url, self.size())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the clipped picture or the initials circle."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height())
        circle = QPainterPath()
        circle.addEllipse(QRectF(0, 0, side, side))
        picture = _picture(self._cache, self._url, QSize(side, side), self._last)
        if picture is not None:
            self._last = picture
            painter.setClipPath(circle)
            painter.drawPixmap(QRect(0, 0, side, side), picture)
            return
        digest = hashlib.blake2s(self._name.encode("utf-8"), digest_size=1).digest()[0]
        painter.fillPath(circle, QColor(_AVATAR_COLOURS[digest % len(_AVATAR_COLOURS)]))
        font = QFont(self.font())
        font.setPixelSize(max(6, round(side * 0.40)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, initials(self._name))


class CoverImage(QWidget):
    """A post's picture filling its box (cropped to cover it) with rounded corners."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache: PixmapCache | None = None
        self._url = ""
        self._last: QPixmap | None = None
        self._asked: tuple[str, QSize] | None = None  # the picture and size last asked of the cache
        self._painted: tuple[str, QSize] | None = None  # ...and last painted at its exact size
        self._radius = 16
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_picture(self, url: str, cache: PixmapCache, radius: int) -> None:
        """Show the picture at `url` (empty: nothing)."""
        if url != self._url:
            self._last = None
        self._url, self._cache, self._radius = url, cache, radius
        self._prepare()
        self.update()

    def url(self) -> str:
        """The URL of the picture shown (empty when none)."""
        return self._url

    def has_picture(self) -> bool:
        """True when a decoded picture is there to show."""
        return bool(self._url) and self._cache is not None and self._cache.has_picture(self._url)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Have the picture scaled for the new size ahead of painting."""
        super().resizeEvent(event)
        self._prepare()

    def hideEvent(self, event: QHideEvent) -> None:
        """Hidden itself (a gallery with fewer pictures now), it lets its picture go: the cache keeps
        it for later within its bounds, or drops it with its post. Hidden with its panel (off
        screen), it keeps it for the panel's next turn."""
        super().hideEvent(event)
        if self.isHidden():
            self._last = None

    def _prepare(self) -> None:
        if self._url and self._cache is not None and not self.isHidden():
            asked = (self._url, self.size())
            if self._asked is not None and self._asked not in (asked, self._painted):
                # Asked for and never painted here: a step of a layout (a gallery is laid out again
                # as each of its pictures arrives) that nothing shows (issue 14, `bench soak`).
                self._cache.supersede(*self._asked)
            self._asked = asked
            self._cache.scaled(self._url, self.size())

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the cropped picture with rounded corners."""
        if self.width() < 2 or self.height() < 2:
            return
        picture = _picture(self._cache, self._url, self.size(), self._last)
        if picture is None:
            return
        self._last = picture
        if picture.size() == self.size() and self._cache is not None:
            before, self._painted = self._painted, (self._url, self.size())
            if before is not None and before[0] == self._url and before != self._painted:
                # The same picture painted here at a new size: the old one is kept for nothing.
                self._cache.supersede(*before)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(self.rect()), self._radius, self._radius)
        painter.setClipPath(clip)
        painter.drawPixmap(self.rect(), picture)


def _picture(cache: PixmapCache | None, url: str, size: QSize, last: QPixmap | None) -> QPixmap | None:
    """The picture scaled to `size` if ready, else the last one shown (stretched for one frame)."""
    if cache is None or not url:
        return None
    return cache.scaled(url, size) or last
