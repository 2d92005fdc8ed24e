"""Fitting remote text in a box: wrapped, cut after a whole word, never inside a glyph, with `…`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import pairwise

from PySide6.QtCore import QRect, Qt, QTextBoundaryFinder
from PySide6.QtGui import QFontMetrics

ELLIPSIS = "…"
MAX_SHOWN_CHARS = 700  # a card never shows more; bounds the cost of fitting a 5000-character post
WRAP_FLAGS = int(Qt.TextFlag.TextWordWrap.value)
ZWSP = "\u200b"  # zero-width space: an invisible line-break opportunity
_SPACES = re.compile(r"(\s+)")


def text_direction(text: str) -> Qt.LayoutDirection:
    """Right-to-left when the first strong character (a letter, not an emoji, digit or `#`) is Arabic,
    Hebrew or another right-to-left script; else left-to-right (Unicode bidi rules P2-P3)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return Qt.LayoutDirection.RightToLeft
        if kind == "L":
            return Qt.LayoutDirection.LeftToRight
    return Qt.LayoutDirection.LeftToRight


def elide_to_fit(text: str, metrics: QFontMetrics, width: int, height: int) -> str:
    """`text` wrapped at `width`, cut at the last line-break opportunity that fits in `height`, with `…`.

    A word wider than the box (a long URL) wraps between graphemes and may be cut between them,
    never inside one (an emoji or an accented letter stays whole).
    """
    if width <= 0 or height <= 0:
        return ""
    text = break_long_words(text[:MAX_SHOWN_CHARS], metrics, width)

    def fits(candidate: str) -> bool:
        box = metrics.boundingRect(QRect(0, 0, width, 100_000), WRAP_FLAGS, candidate)
        return box.height() <= height and box.width() <= width

    if len(text) < MAX_SHOWN_CHARS and fits(text):
        return text
    best = _longest_fitting(text, line_break_cuts(text), fits)
    if best is None:  # not even the first word fits: cut it between graphemes
        best = _longest_fitting(text, grapheme_cuts(text), fits)
    if best is None:
        return ""
    return text[:best].rstrip(" \n,;:.-–—" + ZWSP) + ELLIPSIS


def elide_line(text: str, metrics: QFontMetrics, width: int) -> str:
    """`text` on one line of `width` pixels, cut after the last whole word that fits, with `…`.

    A first word wider than the line is cut between graphemes (Qt's own elision) rather than dropped.
    No-break spaces are not break opportunities, so `200 000` or `abonnés !` are never split.
    """
    if metrics.horizontalAdvance(text) <= width:
        return text
    best = _longest_fitting(text, line_break_cuts(text), lambda c: metrics.horizontalAdvance(c) <= width)
    if best is None or not text[:best].strip():
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)
    return text[:best].rstrip(" \n,;:.-–—" + ZWSP) + ELLIPSIS


def break_long_words(text: str, metrics: QFontMetrics, width: int) -> str:
    """`text` where a run Qt cannot wrap within `width` may break between graphemes (zero-width spaces).

    Qt already breaks a URL after its `/`; this is for what it cannot break (`?utm_source=…`, a long
    hashtag), and only inside the runs that are too wide.
    """
    parts = _SPACES.split(text)
    for index, part in enumerate(parts):
        if _too_wide(part, metrics, width):
            bounds = [0, *line_break_cuts(part), len(part)]
            runs = [part[start:end] for start, end in pairwise(bounds)]
            parts[index] = "".join(_breakable_run(run, metrics, width) for run in runs)
    return "".join(parts)


def _too_wide(part: str, metrics: QFontMetrics, width: int) -> bool:
    """True when `part` cannot be wrapped within `width` (one-line width first: it is much cheaper)."""
    if not part or part.isspace() or metrics.horizontalAdvance(part) <= width:
        return False
    return _wrapped_width(part, metrics, width) > width


def _breakable_run(run: str, metrics: QFontMetrics, width: int) -> str:
    if not _too_wide(run, metrics, width):
        return run
    bounds = [0, *grapheme_cuts(run), len(run)]
    return ZWSP.join(run[start:end] for start, end in pairwise(bounds))


def _wrapped_width(text: str, metrics: QFontMetrics, width: int) -> int:
    """Width `text` takes when wrapped at `width` (more than `width` if it cannot break anywhere)."""
    return metrics.boundingRect(QRect(0, 0, width, 100_000), WRAP_FLAGS, text).width()


def grapheme_cuts(text: str) -> list[int]:
    """Positions (Python indices) between grapheme clusters, so an emoji or accent is never split."""
    return _boundaries(text, QTextBoundaryFinder.BoundaryType.Grapheme)


def line_break_cuts(text: str) -> list[int]:
    """Positions where a line may break (Unicode line breaking: after spaces, after `/` in a URL…)."""
    return _boundaries(text, QTextBoundaryFinder.BoundaryType.Line)


def _boundaries(text: str, kind: QTextBoundaryFinder.BoundaryType) -> list[int]:
    """Inner boundaries of `kind`, as Python indices (Qt counts UTF-16 units: emoji take two)."""
    utf16_to_index: dict[int, int] = {}
    position = 0
    for index, ch in enumerate(text):
        utf16_to_index[position] = index
        position += 2 if ord(ch) > 0xFFFF else 1
    finder = QTextBoundaryFinder(kind, text)
    cuts = []
    boundary = finder.toNextBoundary()
    while boundary != -1 and boundary < position:
        if boundary > 0:
            cuts.append(utf16_to_index[boundary])
        boundary = finder.toNextBoundary()
    return cuts


def _longest_fitting(text: str, cuts: list[int], fits: Callable[[str], bool]) -> int | None:
    """The largest cut position whose prefix + `…` fits (binary search: fitting is monotonic)."""
    low, high, best = 0, len(cuts) - 1, None
    while low <= high:
        middle = (low + high) // 2
        if fits(text[: cuts[middle]].rstrip(" \n" + ZWSP) + ELLIPSIS):
            best = cuts[middle]
            low = middle + 1
        else:
            high = middle - 1
    return best
