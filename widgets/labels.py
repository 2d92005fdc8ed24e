"""Labels for text that came from the outside world: always plain text, elided to fit.

Remote text must never reach Qt's rich-text engine (which would render markup and could load a
resource named in it), so every label here is created with `Qt.TextFormat.PlainText`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from widgets.text import WRAP_FLAGS, elide_line, elide_to_fit, text_direction

GROWTH_STEP = 1.1
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def plain_label(
    text: str = "", *, font: QFont | None = None, colour: QColor | None = None, parent: QWidget | None = None
) -> QLabel:
    """A QLabel that shows `text` literally (never as rich text)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    style_label(label, font, colour)
    return label


def style_label(label: QLabel, font: QFont | None, colour: QColor | None) -> None:
    """Set a label's font and text colour (palette, not a stylesheet: cheap and local)."""
    if font is not None:
        label.setFont(font)
    if colour is not None:
        palette = label.palette()
        palette.setColor(QPalette.ColorRole.WindowText, colour)
        label.setPalette(palette)


_HORIZONTAL = (
    Qt.AlignmentFlag.AlignLeft
    | Qt.AlignmentFlag.AlignRight
    | Qt.AlignmentFlag.AlignHCenter
    | Qt.AlignmentFlag.AlignJustify
    | Qt.AlignmentFlag.AlignAbsolute
)


def align_to_script(label: QLabel, text: str) -> None:
    """Start `text` on the side its script is read from: the right for Arabic or Hebrew, else the left.

    The direction comes from the first strong character (an emoji, a digit or `#` do not decide), so a
    Latin brand name inside an Arabic post keeps the post right-to-left. The alignment is absolute and
    the label's layout direction set too, so neither Qt's own guess nor the window's direction
    (which stays left-to-right: avatar on the left, time on the right) can flip it.
    """
    direction = text_direction(text)
    side = (
        Qt.AlignmentFlag.AlignRight
        if direction == Qt.LayoutDirection.RightToLeft
        else Qt.AlignmentFlag.AlignLeft
    )
    alignment = (label.alignment() & ~_HORIZONTAL) | side | Qt.AlignmentFlag.AlignAbsolute
    if label.layoutDirection() != direction:
        label.setLayoutDirection(direction)
    if label.alignment() != alignment:
        label.setAlignment(alignment)


class ElidedLabel(QLabel):
    """A word-wrapped plain-text label that shows as much of its text as fits, ending with `…`.

    With `set_grow_limit(factor)`, a short text is shown larger (up to `factor` times the font size)
    so a featured post without a picture fills its card instead of leaving it half empty; with
    `set_shrink_limit(factor)`, a long one is shown smaller (down to `factor`) before it is cut.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(1, 1)
        self._full_text = ""
        self._base_font = QFont(self.font())
        self._grow_limit = 1.0
        self._shrink_limit = 1.0
        self._centred = (False, False)  # in the box; each line too
        self._fitted_for: tuple[str, int, int, str, float, float] | None = None

    def full_text(self) -> str:
        """The whole text, before eliding."""
        return self._full_text

    def set_full_text(self, text: str) -> None:
        """Show `text`, elided to the label's current size."""
        if text != self._full_text:
            self._full_text = text
            self._align()
            self._refit()

    def set_centred(self, centred: bool, *, lines: bool = True) -> None:
        """Centre the text in the box (a post alone in a large card), each of its `lines` too; else
        start it at the top, on the side its script is read from."""
        if (centred, lines) != self._centred:
            self._centred = (centred, lines)
            self._align()

    def _align(self) -> None:
        align_to_script(self, self._full_text)
        centred, lines = self._centred
        vertical = Qt.AlignmentFlag.AlignVCenter if centred else Qt.AlignmentFlag.AlignTop
        horizontal = self.alignment() & _HORIZONTAL
        if centred and lines:  # the lines' own direction still follows the script (set above)
            horizontal = Qt.AlignmentFlag.AlignHCenter
        self.setAlignment(horizontal | vertical)

    def set_grow_limit(self, factor: float) -> None:
        """Let a text that fits easily grow up to `factor` times the base font size (1 = never)."""
        if factor != self._grow_limit:
            self._grow_limit = max(1.0, factor)
            self._refit()

    def set_shrink_limit(self, factor: float) -> None:
        """Let a text that does not fit shrink down to `factor` times the base font size before it is
        cut with `…` (1 = never)."""
        factor = min(1.0, max(0.1, factor))
        if factor != self._shrink_limit:
            self._shrink_limit = factor
            self._refit()

    def needed_height(self, width: int) -> int:
        """Height the whole text would take at `width` pixels wide, in the base font."""
        margins = self.contentsMargins()
        inner = max(1, width - margins.left() - margins.right())
        box = QFontMetrics(self._base_font).boundingRect(
            QRect(0, 0, inner, 100_000), WRAP_FLAGS, self._full_text
        )
        return box.height() + margins.top() + margins.bottom()

    def line_height(self) -> int:
        """Height of one wrapped line in the base font, rounded as the fitting measures it."""
        return (
            QFontMetrics(self._base_font)
            .boundingRect(QRect(0, 0, 100_000, 100_000), WRAP_FLAGS, "Ag")
            .height()
        )

    def hasHeightForWidth(self) -> bool:
        """No: the label fits its text to the box it is given, the text does not size the box."""
        return False

    def setFont(self, font: QFont | str | Sequence[str]) -> None:
        """The base font; the text is refitted."""
        self._base_font = QFont(font)
        super().setFont(self._base_font)
        self._refit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Refit the text to the new size."""
        super().resizeEvent(event)
        self._refit()

    def _refit(self) -> None:
        rect = self.contentsRect()
        key = (
            self._full_text,
            rect.width(),
            rect.height(),
            self._base_font.key(),
            self._grow_limit,
            self._shrink_limit,
        )
        if key == self._fitted_for:
            return
        self._fitted_for = key
        font = self._grown_font(rect.width(), rect.height())
        if font.key() != self.font().key():
            super().setFont(font)
        shown = elide_to_fit(self._full_text, QFontMetrics(font), rect.width(), rect.height())
        super().setText(shown)

    def _grown_font(self, width: int, height: int) -> QFont:
        """The largest font, in steps of 10 % up to the grow limit, in which the whole text fits; if
        the base font does not fit, the largest smaller one down to the shrink limit (else the smallest).

        Few sizes means Qt's glyph cache is reused: rasterising glyphs at a new size is what costs.
        """
        base = self._base_font.pixelSize()
        limits = (self._grow_limit, self._shrink_limit)
        if limits == (1.0, 1.0) or base <= 0 or not self._full_text or width <= 0:
            return self._base_font
        font = QFont(self._base_font)

        def fits(size: int) -> bool:
            font.setPixelSize(size)
            box = QFontMetrics(font).boundingRect(QRect(0, 0, width, 100_000), WRAP_FLAGS, self._full_text)
            return box.height() <= height and box.width() <= width

        best = base
        if self._shrink_limit >= 1.0 or fits(base):
            larger = [
                round(base * GROWTH_STEP**k)
                for k in range(1, 13)
                if GROWTH_STEP**k <= self._grow_limit + 1e-6
            ]
            for size in larger:  # the first that does not fit ends it: a handful of measurements
                if not fits(size):
                    break
                best = size
        else:
            smaller = [
                round(base / GROWTH_STEP**k)
                for k in range(1, 13)
                if GROWTH_STEP**-k >= self._shrink_limit - 1e-6
            ]
            for size in smaller:  # the smallest is kept when none fits: the text is cut there
                best = size
                if fits(size):
                    break
        font.setPixelSize(best)
        return font


class OneLineLabel(QLabel):
    """A single line of plain text, elided at the end (with `…`) when it does not fit.

    With `words`, the cut falls after the last whole word that fits (a title, a name); with
    `all_or_nothing`, a text that does not fit whole is not shown at all. A pixmap set with
    `setPixmap` (the header's logo) stays while the label has no text.
    """

    def __init__(
        self, parent: QWidget | None = None, *, all_or_nothing: bool = False, words: bool = False
    ) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)
        self._full_text = ""
        self._all_or_nothing = all_or_nothing
        self._words = words

    def full_text(self) -> str:
        """The whole text, before eliding."""
        return self._full_text

    def set_full_text(self, text: str) -> None:
        """Show `text` (elided to the label's width)."""
        # Runs of ordinary white space become one space; no-break spaces (French `200 000`,
        # `abonnés !`) stay, so numbers and punctuation are never split or respaced.
        self._full_text = _SPACES.sub(" ", text).strip(" ")
        align_to_script(self, self._full_text)
        self._refit()
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        """Wide enough for the whole text."""
        hint = super().sizeHint()
        metrics = QFontMetrics(self.font())
        if self._words:  # measured as a QLabel measures its text, so a header is laid out as before
            margins = self.contentsMargins()
            box = metrics.boundingRect(
                QRect(0, 0, 100_000, 1000), int(self.alignment().value), self._full_text
            )
            hint.setWidth(box.width() + margins.left() + margins.right())
        else:
            hint.setWidth(metrics.horizontalAdvance(self._full_text) + 2)
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Elide again for the new width."""
        super().resizeEvent(event)
        self._refit()

    def changeEvent(self, event: QEvent) -> None:
        """Elide again when the font changes (a new window height)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._refit()

    def _refit(self) -> None:
        if not self._full_text and not self.pixmap().isNull():
            return  # setText would drop the picture
        metrics = QFontMetrics(self.font())
        if self._words:
            margins = self.contentsMargins()
            shown = elide_line(self._full_text, metrics, self.width() - margins.left() - margins.right())
        else:
            shown = metrics.elidedText(self._full_text, Qt.TextElideMode.ElideRight, self.width())
        if self._all_or_nothing and shown != self._full_text:
            shown = ""  # a handle cut in the middle says nothing: leave it out
        super().setText(shown)
