"""The announcement panel: a message from comms, written in the config, with a picture and a QR code.

Comms can publish another one from the moderation page (issue 7 item 5): the hub carries it, and
while it is published its title, message and QR code replace the configured ones (the configured
picture, which illustrates the configured message, is left out); withdrawn, the config's is back.

The header says "Annonce"; the panel's `title` is the headline, large, over the message. The
picture is a local file chosen by comms (a path or `asset:` URL), read once like the logo is, and
decoded and cover-cropped with the same helpers as the posts' pictures. The QR code takes a
phone to the address printed under it (to join the internal network, read the social media
charter…).

Landscape: headline, message and QR code on the left, the picture on the right. Portrait: the
picture on top, then headline, message and the QR code centred under them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QFont,
    QImage,
    QImageReader,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QVBoxLayout, QWidget

from wall.core.i18n import tr
from wall.core.paths import ASSET_SCHEME, asset_path
from widgets.labels import ElidedLabel, style_label
from widgets.panel import Panel, PanelContext
from widgets.pixmaps import cover_scaled
from widgets.qr import QrCodeView, display_address
from widgets.settings import AnnouncementLook, PanelLook
from widgets.theme import Role, Theme

HEADLINE_SCALE = 1.6  # the headline's cap height is 1.6 x a panel title's (about 5 % of the height)
TWO_LINES = 2  # the headline and the address under the code wrap to two lines at most
TEXT_GROWTH = 1.1  # a short message is shown a little larger, never as large as the headline
QR_FRACTION = {False: 0.28, True: 0.46}  # of the type height, landscape / portrait
QR_ALONE_FRACTION = 0.5  # landscape without a picture: the code has the whole column
MAX_PICTURE_PIXELS = 50_000_000  # like posts' pictures: bigger is a likely decompression bomb


def read_picture(location: str) -> QImage:
    """The picture at a file path or `asset:` URL, EXIF orientation applied (null if unreadable)."""
    if not location:
        return QImage()
    path = asset_path(location) if location.startswith(ASSET_SCHEME) else Path(location).expanduser()
    if path is None or not path.is_file():
        return QImage()
    reader = QImageReader(str(path))
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > MAX_PICTURE_PIXELS:
        return QImage()
    reader.setAutoTransform(True)
    return reader.read()


class PictureView(QWidget):
    """A picture covering its box with rounded corners; scaled once a size, not every paint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._source = QImage()
        self._scaled: QPixmap | None = None
        self._radius = 16

    def set_image(self, image: QImage, radius: int) -> None:
        """Show `image` (a null image: nothing)."""
        self._source, self._radius, self._scaled = image, radius, None
        self.update()

    def set_radius(self, radius: int) -> None:
        """Corner radius in pixels."""
        self._radius = radius
        self.update()

    def has_picture(self) -> bool:
        """True when there is a picture to show."""
        return not self._source.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The scaled copy is for the old size."""
        super().resizeEvent(event)
        self._scaled = None

    def paintEvent(self, event: QPaintEvent) -> None:
        """The cropped picture with rounded corners."""
        if self._source.isNull() or self.width() < 2 or self.height() < 2:
            return
        if self._scaled is None or self._scaled.size() != self.size():
            self._scaled = QPixmap.fromImage(cover_scaled(self._source, QSize(self.size())))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        clip = QPainterPath()
        clip.addRoundedRect(QRectF(self.rect()), self._radius, self._radius)
        painter.setClipPath(clip)
        painter.drawPixmap(0, 0, self._scaled)


class AnnouncementCard(QWidget):
    """A surface behind the texts or the code; the texts' card has a brand-coloured top line."""

    resized = Signal()

    def __init__(self, theme: Theme, *, accent_line: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self._accent_line = accent_line

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Tell the panel: the headline's lines depend on the card's width."""
        super().resizeEvent(event)
        self.resized.emit()

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded surface, with the accent line when asked."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        shape.addRoundedRect(QRectF(self.rect()), self.theme.radius, self.theme.radius)
        painter.fillPath(shape, self.theme.surface)
        if self._accent_line:
            painter.setClipPath(shape)
            painter.fillRect(0, 0, self.width(), self.theme.px(0.008), self.theme.accent)


class AnnouncementPanel(Panel):
    """`title` as the headline and `text` under it on a card; `image` and the `qr` code beside it
    (landscape) or the picture above and the code below it (portrait)."""

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        look = settings if isinstance(settings, AnnouncementLook) else None
        self._configured = (
            settings.title.strip(),
            look.text.strip() if look is not None else "",
            look.qr if look is not None else "",
        )
        self.headline = self.message = self.address = ""
        # Parented at once: a widget shown before it has a parent is a window of its own, a moment
        # on the lobby screen (`_show_message` shows them before `_lay_out` puts them in the grid).
        self.card = AnnouncementCard(theme, accent_line=True, parent=self.content)
        self.qr_card = AnnouncementCard(theme, accent_line=False, parent=self.content)
        self.headline_label = ElidedLabel()
        self.text_label = ElidedLabel()
        self.qr = QrCodeView()
        self.address_label = ElidedLabel()
        self.picture = PictureView(self.content)
        for label in (self.headline_label, self.address_label):  # as tall as their lines, set below
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.text_label.set_grow_limit(TEXT_GROWTH)
        self.address_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.picture.set_image(read_picture(look.image if look is not None else ""), theme.radius)
        self._has_picture = self.picture.has_picture()

        self._texts = QVBoxLayout(self.card)
        self._texts.addWidget(self.headline_label)
        self._texts.addWidget(self.text_label, 1)
        self._qr_column = QVBoxLayout(self.qr_card)
        self._qr_column.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self._qr_column.addWidget(self.address_label)
        self._grid = QGridLayout(self.content)
        self.card.resized.connect(self._fit_lines)
        self.qr_card.resized.connect(self._fit_lines)
        self._portrait = False
        self._show_message(*self._configured, picture=self._has_picture)
        self.apply_theme(theme)
        context.hub.announcement_changed.connect(self.refresh)
        self.refresh()

    def title(self) -> str:
        """The header says "Annonce": the configured title is the panel's own headline."""
        return tr("panel.announcement", self.context.language)

    def has_content(self) -> bool:
        """True when there is a message (the config requires one; a published one has one)."""
        return bool(self.message)

    def is_filler(self) -> bool:
        """The config's own message is the same every day: it never opens the show while posts or
        counts exist. One published from the moderation page is news comms want seen (issue 14)."""
        return not self.is_published()

    def is_published(self) -> bool:
        """True while the moderation page's announcement replaces the configured one."""
        return self.context.hub.announcement() is not None

    def refresh(self) -> None:
        """The announcement published from the page while there is one, else the config's."""
        published = self.context.hub.announcement()
        if published is None:
            shown, picture = self._configured, self._has_picture
        else:
            shown, picture = (published.title, published.text, published.qr), False
        if (shown, picture) != ((self.headline, self.message, self.address), not self.picture.isHidden()):
            self._show_message(*shown, picture=picture)
            self._lay_out()
            self._fit_lines()
            self.update()
        self.show_content(self.has_content())

    def _show_message(self, headline: str, message: str, address: str, *, picture: bool) -> None:
        self.headline, self.message, self.address = headline, message, address
        self.headline_label.set_full_text(headline)
        self.text_label.set_full_text(message)
        self.qr.set_data(address)
        self.address_label.set_full_text(display_address(address))
        # under the code, centred like it (an address is read left to right: set after the text)
        self.address_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        # visibility once in the layouts: shown before having a parent, a widget becomes a window
        self.headline_label.setHidden(not headline)
        self.qr_card.setHidden(not address)
        self.picture.setHidden(not picture)

    def is_portrait(self) -> bool:
        """True when the picture is laid out above the texts."""
        return self._portrait

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Picture and code beside the texts in landscape, above and below them in portrait."""
        portrait = event.size().height() > event.size().width()
        if portrait != self._portrait:
            self._portrait = portrait
            self._lay_out()
        super().resizeEvent(event)

    def _lay_out(self) -> None:
        grid, portrait = self._grid, self._portrait
        for widget in (self.card, self.picture, self.qr_card):
            grid.removeWidget(widget)
        for index in range(3):
            grid.setRowStretch(index, 0)
            grid.setColumnStretch(index, 0)
        has_picture, has_code = not self.picture.isHidden(), not self.qr_card.isHidden()
        if portrait:  # picture / texts / code, one above the other
            grid.addWidget(self.picture, 0, 0)
            grid.addWidget(self.card, 1, 0)
            grid.addWidget(self.qr_card, 2, 0)
            grid.setRowStretch(0, 45 if has_picture else 0)
            grid.setRowStretch(1, 55)
        else:  # texts on the left; picture over the code on the right
            grid.addWidget(self.card, 0, 0, 2, 1)
            grid.addWidget(self.picture, 0, 1, 1 if has_code else 2, 1)
            if has_code:
                grid.addWidget(self.qr_card, 1 if has_picture else 0, 1, 1 if has_picture else 2, 1)
            grid.setRowStretch(0, 1)
            if has_picture or has_code:
                grid.setColumnStretch(0, 58)
                grid.setColumnStretch(1, 42)
        alone = not portrait and not has_picture
        self.qr.set_side(self.theme.px(QR_ALONE_FRACTION if alone else QR_FRACTION[portrait]))

    def _fit_lines(self) -> None:
        """The headline and the address take the lines they need, two at most (then elided)."""
        for label, box, layout in (
            (self.headline_label, self.card, self._texts),
            (self.address_label, self.qr_card, self._qr_column),
        ):
            margins = layout.contentsMargins()
            width = max(1, box.width() - margins.left() - margins.right())
            line = label.line_height()
            lines = min(TWO_LINES, max(1, -(-label.needed_height(width) // line)))
            label.setFixedHeight(lines * line + 2)

    def apply_theme(self, theme: Theme) -> None:
        """Fonts, spacing and the code's size for a new window height."""
        super().apply_theme(theme)
        self.card.theme = self.qr_card.theme = theme
        headline = QFont(theme.font(Role.TITLE))
        headline.setPixelSize(round(headline.pixelSize() * HEADLINE_SCALE))
        style_label(self.headline_label, headline, theme.text)
        style_label(self.text_label, theme.font(Role.FEATURED), theme.text)
        style_label(self.address_label, theme.font(Role.META), theme.muted_on(theme.surface))
        pad = theme.px(0.045)
        self._texts.setContentsMargins(pad, pad, pad, pad)
        self._texts.setSpacing(theme.px(0.025))
        small = theme.px(0.03)
        self._qr_column.setContentsMargins(small, small, small, small)
        self._qr_column.setSpacing(theme.px(0.012))
        self._grid.setContentsMargins(theme.gap, theme.gap, theme.gap, theme.gap)
        self._grid.setSpacing(theme.gap)
        self.picture.set_radius(theme.radius)
        self._lay_out()
        self._fit_lines()
        self.update()
