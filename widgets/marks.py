"""Network marks: our own simple drawings in assets/networks/*.svg, rendered once per network and size."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QWidget

MARKS_DIR = Path(__file__).resolve().parent.parent / "assets" / "networks"
KNOWN_MARKS = (
    "mastodon", "rss", "bluesky", "facebook", "instagram", "youtube", "linkedin", "x", "matrix", "generic",
)  # fmt: skip
_ALIASES = {"twitter": "x", "fediverse": "mastodon", "atom": "rss", "bsky": "bluesky", "element": "matrix"}


def mark_name(network: str) -> str:
    """The mark drawn for `network` (`generic` for networks without their own)."""
    name = network.strip().lower()
    name = _ALIASES.get(name, name)
    return name if name in KNOWN_MARKS else "generic"


@lru_cache(maxsize=64)
def mark_image(network: str, side: int) -> QImage:
    """The mark of `network` as a `side`×`side` image (transparent if the SVG cannot be read).

    Cached as a QImage, not a QPixmap: the cache outlives windows and must not need the GUI.
    """
    image = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(str(MARKS_DIR / f"{mark_name(network)}.svg"))
    if renderer.isValid():
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, side, side))
        painter.end()
    return image


class NetworkMark(QWidget):
    """A square network mark of a fixed side."""

    def __init__(self, network: str = "", side: int = 48, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._network = network
        self.setFixedSize(side, side)

    def network(self) -> str:
        """The network whose mark is shown."""
        return self._network

    def set_network(self, network: str) -> None:
        """Show the mark of `network`."""
        if network != self._network:
            self._network = network
            self.update()

    def set_side(self, side: int) -> None:
        """Size of the mark in pixels."""
        self.setFixedSize(side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint the cached picture of the mark."""
        side = min(self.width(), self.height())
        QPainter(self).drawImage(0, 0, mark_image(self._network, side))
