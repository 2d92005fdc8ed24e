"""A picture behind the panels (`[wall.branding] background`), veiled so text on it stays readable.

The picture is covered with the panel colour, just opaque enough that the theme's text keeps WCAG AA
contrast on its brightest (dark theme) or darkest (light theme) spot; contrast depends only on
luminance, so that one spot is the worst case for every text colour on the same side. The veiled
picture is cover-scaled (filling the panel, cropped in the middle) once per panel size.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap

from widgets.theme import contrast, luminance

BACKDROP_CONTRAST = 7.0  # text on the picture: AAA, so secondary text stays close to its own colour
MIN_VEIL = 0.35  # even a calm picture is veiled a little: the cards, not the picture, are the content
MAX_SIDE_PX = 3840  # a 24-megapixel photo is reduced at load: a 4K screen never needs more
_SAMPLE_SIDE_PX = 256  # the picture is measured on up to 256x256 of its real pixels (not smoothed away)
_CANDIDATES = 256  # the brightest (or darkest) of them decide


class Backdrop:
    """A veiled picture: `worst` is the colour of its least readable spot, for contrast decisions."""

    def __init__(self, picture: QImage, veil: QColor, text: QColor) -> None:
        self.veil = veil
        samples = _samples(picture, veil, text)
        self.strength = _veil_strength(samples, veil, text)
        self.picture = _veiled(picture, veil, self.strength)
        self.worst = _least_contrast(samples, veil, text, self.strength)
        self._scaled: dict[tuple[int, int], QPixmap] = {}

    def pixmap(self, size: QSize) -> QPixmap:
        """The veiled picture filling `size` (cropped in the middle), made once per size."""
        key = (size.width(), size.height())
        if key not in self._scaled:
            if len(self._scaled) >= 3:  # a window size or two at a time; drop the oldest
                self._scaled.pop(next(iter(self._scaled)))
            scaled = self.picture.scaled(
                size,
                Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                Qt.TransformationMode.SmoothTransformation,
            )
            crop = QRect((scaled.width() - size.width()) // 2, (scaled.height() - size.height()) // 2, *key)
            self._scaled[key] = QPixmap.fromImage(scaled.copy(crop))
        return self._scaled[key]

    def paint(self, painter: QPainter, rect: QRect) -> None:
        """Draw the picture over `rect`."""
        painter.drawPixmap(rect.topLeft(), self.pixmap(rect.size()))


@lru_cache(maxsize=4)
def load_backdrop(path: str, veil: str, text: str) -> Backdrop | None:
    """The picture at `path` veiled with `veil` for text of colour `text`, or None if it cannot be read.

    Cached: every theme of a window (one per window height) shares the same picture.
    """
    picture = QImage(path)
    if picture.isNull():
        return None
    if max(picture.width(), picture.height()) > MAX_SIDE_PX:
        picture = picture.scaled(
            MAX_SIDE_PX,
            MAX_SIDE_PX,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return Backdrop(picture.convertToFormat(QImage.Format.Format_RGB32), QColor(veil), QColor(text))


def _samples(picture: QImage, veil: QColor, text: QColor) -> list[tuple[float, float, float]]:
    """The picture's colours on which `text` could read worst: its brightest spots for light text.

    Blending with the veil keeps the order of luminances almost unchanged, so only the extreme
    colours are kept for the search (a photo has tens of thousands of colours).
    """
    small = picture.scaled(
        min(_SAMPLE_SIDE_PX, picture.width()),
        min(_SAMPLE_SIDE_PX, picture.height()),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )
    colours = {small.pixel(x, y) for y in range(small.height()) for x in range(small.width())}
    light_text = luminance(text) > luminance(veil)
    ranked = sorted((QColor(c) for c in colours), key=luminance, reverse=light_text)
    return [(c.redF(), c.greenF(), c.blueF()) for c in ranked[:_CANDIDATES]]


def _blend(sample: tuple[float, float, float], veil: QColor, strength: float) -> QColor:
    r, g, b = sample
    return QColor.fromRgbF(
        r + (veil.redF() - r) * strength,
        g + (veil.greenF() - g) * strength,
        b + (veil.blueF() - b) * strength,
    )


def _least_contrast(
    samples: list[tuple[float, float, float]], veil: QColor, text: QColor, strength: float
) -> QColor:
    """The veiled sample on which `text` reads worst."""
    light_text = luminance(text) > luminance(veil)
    blended = [_blend(sample, veil, strength) for sample in samples]
    return (max if light_text else min)(blended, key=luminance)


def _veil_strength(samples: list[tuple[float, float, float]], veil: QColor, text: QColor) -> float:
    """The least opacity of the veil (at least MIN_VEIL) that gives `text` its contrast everywhere."""
    low, high = MIN_VEIL, 1.0
    if contrast(text, _least_contrast(samples, veil, text, low)) >= BACKDROP_CONTRAST:
        return low
    for _ in range(12):  # opacity to within 0.02 %
        middle = (low + high) / 2
        if contrast(text, _least_contrast(samples, veil, text, middle)) >= BACKDROP_CONTRAST:
            high = middle
        else:
            low = middle
    return high


def _veiled(picture: QImage, veil: QColor, strength: float) -> QImage:
    veiled = QImage(picture)
    painter = QPainter(veiled)
    painter.setOpacity(strength)
    painter.fillRect(veiled.rect(), veil)
    painter.end()
    return veiled
