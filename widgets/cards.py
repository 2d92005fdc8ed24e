"""One post on screen: avatar, author, network mark, relative time, text and its first picture.

Everything remote is shown as plain text. A sensitive post (or one with a content warning) shows
no picture and a discreet note; its content warning replaces the text.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from wall.core.i18n import relative_time, tr
from wall.core.model import Post
from widgets.images import AvatarBadge, CoverImage
from widgets.labels import ElidedLabel, OneLineLabel, plain_label, style_label
from widgets.marks import NetworkMark
from widgets.panel import PanelContext
from widgets.theme import Role, Theme

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no maximum" (not exported by PySide6)
TEXT_SHARE_WITH_PICTURE = 0.5  # of a featured card's free height, at most; the picture gets the rest
TEXT_GROWTH_WITHOUT_PICTURE = 1.5  # a short featured post without picture is shown up to 1.5x larger
# On a portrait screen the theme is sized for the screen's width (3/4 of a landscape one's height),
# and the featured card is as large as in landscape: the same absolute size needs 1.5 / 0.75.
PORTRAIT_TEXT_GROWTH = 2.0


class PostCard(QWidget):
    """A post as a card. Featured cards are large with the picture below the text; others are compact."""

    def __init__(
        self,
        context: PanelContext,
        theme: Theme,
        *,
        featured: bool,
        internal: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._theme = theme
        self.featured = featured
        self._growth = TEXT_GROWTH_WITHOUT_PICTURE
        self.internal = internal
        self._post: Post | None = None
        self.avatar = AvatarBadge()
        self.name_label = OneLineLabel()
        self.handle_label = OneLineLabel(all_or_nothing=not featured)
        self.mark = NetworkMark()
        self.time_label = plain_label()
        self.text_label = ElidedLabel()
        self.note_label = plain_label()
        self.image = CoverImage()
        self._build()
        self.apply_theme(theme)

    def _build(self) -> None:
        who = QBoxLayout(
            QBoxLayout.Direction.TopToBottom if self.featured else QBoxLayout.Direction.LeftToRight
        )
        who.setSpacing(0 if self.featured else self._theme.px(0.012))
        who.addWidget(self.name_label)
        who.addWidget(self.handle_label, 1)
        top = QHBoxLayout()
        self._top = top
        top.setSpacing(self._theme.px(0.014))
        if self.featured:
            top.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addLayout(who, 1)
        top.addWidget(self.time_label, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignVCenter)
        column = QVBoxLayout()
        self._column = column
        column.addLayout(top)
        column.addWidget(self.note_label)
        column.addWidget(self.text_label, 3)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if self.featured:
            column.addWidget(self.image, 4)
            self._layout: QBoxLayout = column
        else:
            row = QHBoxLayout()
            row.addWidget(self.avatar, 0, Qt.AlignmentFlag.AlignTop)
            row.addLayout(column, 1)
            row.addWidget(self.image)
            self.image.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Ignored)
            self._layout = row
        self.setLayout(self._layout)
        self.image.hide()
        self.note_label.hide()

    # --- public ----------------------------------------------------------------------------
    def post(self) -> Post | None:
        """The post shown."""
        return self._post

    def set_post(self, post: Post) -> None:
        """Show `post` (nothing is redone when it is the very same post)."""
        if post == self._post:
            return
        self._post = post
        hidden = post.sensitive or bool(post.spoiler_text)
        anonymous = tr("colleague", self._context.language) if post.kind == "internal" else ""
        self.name_label.set_full_text(post.author.name or post.author.handle or anonymous)
        handle = post.author.handle
        self.handle_label.set_full_text(handle if handle and handle != post.author.name else "")
        self.mark.set_network(post.network)
        self.text_label.set_full_text(post.spoiler_text if post.spoiler_text else post.text)
        self.note_label.setText(tr("sensitive", self._context.language) if hidden else "")
        self.note_label.setVisible(hidden)
        self.update_time()
        self.refresh_images()

    def image_urls(self) -> set[str]:
        """URLs of the pictures this card shows or waits for."""
        if self._post is None:
            return set()
        urls = {self._post.author.avatar_url}
        if self.shows_media():
            urls.add(self._post.media[0].url)
        return urls - {""}

    def shows_media(self) -> bool:
        """True when the post's first picture belongs on the card (never for sensitive posts)."""
        post = self._post
        return post is not None and bool(post.media) and not (post.sensitive or post.spoiler_text)

    def refresh_images(self) -> None:
        """Take the avatar and picture from the cache (what is not loaded yet gets asked for)."""
        post = self._post
        if post is None:
            return
        cache = self._context.pixmaps
        self.avatar.set_author(post.author.name or post.author.handle, post.author.avatar_url, cache)
        url = post.media[0].url if self.shows_media() else ""
        shown = bool(url) and cache.has_picture(url)
        self.image.setHidden(not shown)
        self.image.set_picture(url if shown else "", cache, self._theme.radius)
        self._share_height()

    def _share_height(self) -> None:
        """On a featured card the text takes the height it needs (up to its share), the picture the rest."""
        if not self.featured:
            return
        text = self.text_label
        hidden_note = not self.note_label.isHidden()
        if self.image.isHidden():
            text.setMinimumHeight(1)
            text.setMaximumHeight(QWIDGETSIZE_MAX)
            text.set_grow_limit(self._growth)
            return
        text.set_grow_limit(1.0)
        margins = self._layout.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        used = self._top.sizeHint().height() + (self.note_label.sizeHint().height() if hidden_note else 0)
        room = self.height() - margins.top() - margins.bottom() - used - 3 * self._column.spacing()
        line = text.line_height()
        lines = min(
            max(1, -(-text.needed_height(width) // line)), max(1, int(room * TEXT_SHARE_WITH_PICTURE) // line)
        )
        text.setFixedHeight(lines * line + 2)

    def set_text_growth(self, factor: float) -> None:
        """How much larger than its font a short featured post without picture may be shown."""
        if factor != self._growth:
            self._growth = factor
            self._share_height()

    def update_time(self) -> None:
        """Show how long ago the post was written, according to the injected clock."""
        if self._post is not None:
            when = relative_time(self._post.created_at, self._context.clock(), self._context.language)
            if when != self.time_label.text():
                self.time_label.setText(when)

    def apply_theme(self, theme: Theme) -> None:
        """Fonts, colours and sizes for a window of `theme.height` pixels."""
        self._theme = theme
        pad = theme.padding if self.featured else theme.px(0.013)
        self._layout.setContentsMargins(pad + (theme.px(0.008) if self.internal else 0), pad, pad, pad)
        self._layout.setSpacing(theme.px(0.018 if self.featured else 0.012))
        self._column.setSpacing(theme.px(0.014 if self.featured else 0.004))
        self.avatar.set_diameter(theme.px(0.085 if self.featured else 0.058))
        self.mark.set_side(theme.px(0.05 if self.featured else 0.036))
        meta = theme.font(Role.META if self.featured else Role.CARD_META)
        name_font = theme.font(Role.NAME) if self.featured else QFont(meta)
        name_font.setBold(True)
        style_label(self.name_label, name_font, theme.text)
        muted = theme.muted_on(theme.internal_surface if self.internal else theme.surface)
        style_label(self.handle_label, meta, muted)
        style_label(self.time_label, meta, muted)
        style_label(self.note_label, meta, theme.amber)
        style_label(self.text_label, theme.font(Role.FEATURED if self.featured else Role.BODY), theme.text)
        if not self.featured:
            self.image.setFixedWidth(theme.px(0.17))
        self.refresh_images()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the compact card's thumbnail square; share a featured card between text and picture."""
        super().resizeEvent(event)
        self._share_height()
        if not self.featured:
            margins = self._layout.contentsMargins()
            self.image.setFixedWidth(max(1, self.height() - margins.top() - margins.bottom()))

    def paintEvent(self, event: QPaintEvent) -> None:
        """A rounded surface; the company's own posts get a brand-coloured edge."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        radius = self._theme.radius
        shape.addRoundedRect(QRectF(self.rect()), radius, radius)
        surface = self._theme.internal_surface if self.internal else self._theme.surface
        painter.fillPath(shape, surface)
        if self.internal:
            painter.setClipPath(shape)
            painter.fillRect(0, 0, self._theme.px(0.008), self.height(), self._theme.accent)
