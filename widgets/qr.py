"""A QR code drawn module by module: crisp squares on whole pixels, a quiet zone, dark on light.

`segno` only computes the matrix; the drawing is ours so it stays sharp at any screen size (every
module is the same whole number of pixels) and always dark on white, even on the dark theme:
phone cameras read dark-on-light codes best, and some do not read inverted ones at all.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRect, QRectF, QSize
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_MODULES = 4  # the light margin the QR specification asks for around the code
DARK = QColor("#000000")
LIGHT = QColor("#ffffff")

Matrix = tuple[tuple[bool, ...], ...]


@lru_cache(maxsize=8)
def qr_matrix(data: str) -> Matrix:
    """The modules of the QR code of `data`, row by row (True = dark), without the quiet zone.

    Error correction M (15 % of the code may be damaged or dirty) is raised by segno when the
    higher level fits in the same size.
    """
    # Imported at the first code drawn: segno and the XML writer it loads are ~1 MB of a running
    # wall's memory, paid only by a wall that shows an announcement with an address.
    import segno

    code = segno.make_qr(data, error="m", boost_error=True)
    return tuple(tuple(bool(cell) for cell in row) for row in code.matrix)


def display_address(url: str) -> str:
    """The address as people read it under the code: without `https://` nor a trailing `/`."""
    for scheme in ("https://", "http://"):
        if url.lower().startswith(scheme):
            url = url[len(scheme) :]
            break
    return url.rstrip("/")


class QrCodeView(QWidget):
    """A square QR code of `data`, as large as fits, centred in the widget."""

    def __init__(self, data: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self._data = ""
        self._matrix: Matrix = ()
        self.set_data(data)

    def data(self) -> str:
        """The text encoded (the address)."""
        return self._data

    def matrix(self) -> Matrix:
        """The modules drawn (True = dark), without the quiet zone."""
        return self._matrix

    def set_data(self, data: str) -> None:
        """Encode `data` (empty: draw nothing)."""
        self._data = data
        self._matrix = qr_matrix(data) if data else ()
        self.update()

    def set_side(self, side: int) -> None:
        """Size of the white square, quiet zone included: `side` pixels at most, a whole number of
        pixels a module."""
        count = len(self._matrix) + 2 * QUIET_MODULES
        if len(self._matrix):
            side = max(1, side // count) * count
        self.setFixedSize(side, side)

    def sizeHint(self) -> QSize:
        """The fixed square."""
        return self.size()

    def module_size(self) -> int:
        """Pixels a module: a whole number, so every module is as sharp as the others."""
        count = len(self._matrix)
        if not count:
            return 0
        return max(1, min(self.width(), self.height()) // (count + 2 * QUIET_MODULES))

    def code_rect(self) -> QRect:
        """The light square (quiet zone included), centred in the widget."""
        side = self.module_size() * (len(self._matrix) + 2 * QUIET_MODULES)
        box = QRect(0, 0, side, side)
        box.moveCenter(self.rect().center())
        return box

    def paintEvent(self, event: QPaintEvent) -> None:
        """The light square with slightly rounded corners, then each run of dark modules."""
        if not self._matrix:
            return
        module = self.module_size()
        box = self.code_rect()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        corners = QPainterPath()
        radius = module * 1.5  # well inside the quiet zone: the code itself stays square
        corners.addRoundedRect(QRectF(box), radius, radius)
        painter.fillPath(corners, LIGHT)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        left = box.left() + QUIET_MODULES * module
        top = box.top() + QUIET_MODULES * module
        for y, row in enumerate(self._matrix):
            x = 0
            while x < len(row):  # one rectangle a run of dark modules: fewer, seamless fills
                if not row[x]:
                    x += 1
                    continue
                start = x
                while x < len(row) and row[x]:
                    x += 1
                painter.fillRect(left + start * module, top + y * module, (x - start) * module, module, DARK)
