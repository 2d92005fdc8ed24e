"""The calm branded screen shown instead of every panel while panic is on (issue 5).

Comms press "panic" on the moderation page when something wrong reached the lobby: the screen then
shows only the company's logo (or name) on the theme's background. No posts, no counts, no clock,
nothing that could be the problem.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from widgets.header import load_logo
from widgets.settings import WallLook
from widgets.theme import Role, Theme

LOGO_FRACTION = 0.22  # of the screen height
RULE_FRACTION = 0.006


class BrandScreen(QWidget):
    """The company's logo, else its name, centred; a short accent rule under it."""

    def __init__(self, look: WallLook, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._look = look
        self.theme = theme
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def apply_theme(self, theme: Theme) -> None:
        """Sizes for a new window height."""
        self.theme = theme
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Background, then the logo or the name in the middle of the screen."""
        theme = self.theme
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), theme.window)
        logo = load_logo(self._look.branding.logo, max(1, round(self.height() * LOGO_FRACTION)))
        centre = self.rect().center()
        if logo is not None:
            box = QRect(0, 0, logo.width(), logo.height())
            box.moveCenter(centre)
            painter.drawPixmap(box.topLeft(), logo)
            bottom = box.bottom()
        else:
            painter.setFont(theme.font(Role.BIG_NUMBER))
            painter.setPen(theme.accent if theme.dark else theme.text)
            box = self.rect().adjusted(theme.gap * 3, 0, -theme.gap * 3, 0)
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            used = painter.boundingRect(box, flags, self._look.branding.name)
            painter.drawText(box, flags, self._look.branding.name)
            bottom = used.bottom()
        rule = max(2, round(self.height() * RULE_FRACTION))
        width = max(rule, self.width() // 12)
        painter.fillRect(centre.x() - width // 2, bottom + theme.gap * 2, width, rule, theme.accent)
