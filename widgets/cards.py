"""One post on screen: avatar, author, network mark, relative time, text and its pictures.

A featured card shows up to four pictures below the text, arranged by their shapes (`widgets.gallery`);
a single portrait or square picture goes beside the text, whole, instead of being cropped to a band
(issue 15: faces were cut). Without a picture the text is set large and centred in the card, and a
long one shrinks before it is cut. A compact card shows the first picture and "+N" for the others.

Everything remote is shown as plain text. A sensitive post (or one with a content warning) shows
no picture and a discreet note; its content warning replaces the text.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from wall.core.i18n import relative_time, tr
from wall.core.model import Post
from widgets.gallery import MAX_PICTURES, MediaGallery, pictures_of
from widgets.images import AvatarBadge
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
TEXT_SHRINK_WITHOUT_PICTURE = 0.7  # a long post alone in the card is set smaller before it is cut
TEXT_SHRINK_BESIDE_PICTURE = 0.8
# A picture narrower than this (width / height) is portrait or square: shown whole beside the text.
LANDSCAPE_RATIO = 1.15
CENTRED_LINES_MAX_CHARS = 140  # a post alone in its card: each line centred up to this length
BESIDE_SHARE = 0.5  # of the card's inner width, at most, for a picture beside the text
# Beside the text only on a card at least about as wide as tall; a tall card shows it whole below.
BESIDE_MIN_CARD_RATIO = 0.8


class PostCard(QWidget):
    """A post as a card. Featured cards are large with the pictures below (or beside) the text;
    others are compact, with one picture on the side."""

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
        self.image = MediaGallery()
        self._beside = False  # a featured card's single portrait or square picture beside the text
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
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # below the author, the text above the pictures, or beside a single upright one
        self._body = QHBoxLayout()
        self._stack = QVBoxLayout()
        self._body.addLayout(self._stack, 1)
        if self.featured:
            column.addLayout(self._body, 1)
            self._stack.addWidget(self.text_label, 3)
            self._stack.addWidget(self.image, 4)
            self._layout: QBoxLayout = column
        else:
            column.addWidget(self.text_label, 3)
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
        return ({self._post.author.avatar_url} | self.image.urls()) - {""}

    def shows_media(self) -> bool:
        """True when the post has a picture that belongs on the card (never for sensitive posts)."""
        return self._post is not None and bool(pictures_of(self._post))

    def refresh_images(self) -> None:
        """Take the avatar and pictures from the cache (what is not loaded yet gets asked for)."""
        post = self._post
        if post is None:
            return
        cache = self._context.pixmaps
        self.avatar.set_author(post.author.name or post.author.handle, post.author.avatar_url, cache)
        pictures = pictures_of(post)
        shown = pictures[: MAX_PICTURES if self.featured else 1]
        theme = self._theme
        self.image.set_pictures(
            shown,
            cache,
            radius=theme.radius if self.featured else theme.px(0.012),
            gap=theme.px(0.008),
            left_out=len(pictures) - len(shown),
            more_font=theme.font(Role.META if self.featured else Role.CARD_META),
        )
        self.image.setHidden(not self.image.ready())
        self._place_pictures()
        self._share_height()

    def shows_beside(self) -> bool:
        """True when a featured card's single portrait or square picture stands beside the text."""
        return self._beside

    def _place_pictures(self) -> None:
        """A single portrait or square picture: whole, beside the text on a card about as wide as
        tall, else below it; landscape and several pictures: below the text, covering their tiles."""
        if not self.featured:
            return
        ready = self.image.ready() if not self.image.isHidden() else []
        ratio = ready[0][1].width() / ready[0][1].height() if len(ready) == 1 else 0.0
        upright = 0 < ratio < LANDSCAPE_RATIO
        beside = upright and self.width() >= BESIDE_MIN_CARD_RATIO * self.height()
        if beside != self._beside:
            self._beside = beside
            if beside:
                self._stack.removeWidget(self.image)
                self._body.addWidget(self.image, 0)
            else:
                self._body.removeWidget(self.image)
                self._stack.addWidget(self.image, 4)
        if beside:
            margins = self._layout.contentsMargins()
            inner_w = self.width() - margins.left() - margins.right()
            inner_h = self.height() - margins.top() - margins.bottom() - self._header_height()
            self.image.setFixedWidth(max(1, min(round(inner_h * ratio), round(inner_w * BESIDE_SHARE))))
        else:
            self.image.setMinimumWidth(0)
            self.image.setMaximumWidth(QWIDGETSIZE_MAX)
        self.image.set_contain(upright)

    def _share_height(self) -> None:
        """On a featured card the text takes the height it needs (up to its share), the picture the rest."""
        if not self.featured:
            return
        text = self.text_label
        alone = self.image.isHidden()
        # a short text alone is centred; long lines centred are hard to follow: they start on the left
        text.set_centred(alone, lines=len(text.full_text()) <= CENTRED_LINES_MAX_CHARS)
        if alone or self._beside:
            text.setMinimumHeight(1)
            text.setMaximumHeight(QWIDGETSIZE_MAX)
            text.set_grow_limit(self._growth if alone else 1.0)
            text.set_shrink_limit(TEXT_SHRINK_WITHOUT_PICTURE if alone else TEXT_SHRINK_BESIDE_PICTURE)
            return
        text.set_grow_limit(1.0)
        text.set_shrink_limit(1.0)
        margins = self._layout.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        room = (
            self.height() - margins.top() - margins.bottom() - self._header_height() - self._column.spacing()
        )
        line = text.line_height()
        lines = min(
            max(1, -(-text.needed_height(width) // line)), max(1, int(room * TEXT_SHARE_WITH_PICTURE) // line)
        )
        text.setFixedHeight(lines * line + 2)

    def _header_height(self) -> int:
        """Height above a featured card's text: the author line, and the note of a hidden post."""
        note = (
            self.note_label.sizeHint().height() + self._column.spacing()
            if not self.note_label.isHidden()
            else 0
        )
        return self._top.sizeHint().height() + self._column.spacing() + note

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
        if self.featured:
            self._stack.setSpacing(self._column.spacing())
            self._body.setSpacing(theme.padding)  # between the text and a picture beside it
        else:
            self.image.setFixedWidth(theme.px(0.17))
        self.refresh_images()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the compact card's thumbnail square; share a featured card between text and pictures."""
        super().resizeEvent(event)
        self._place_pictures()
        self._share_height()
        if not self.featured:
            margins = self._layout.contentsMargins()
            side = max(1, self._row_height() - margins.top() - margins.bottom())
            self.image.setFixedWidth(side)
            self.image.setMaximumHeight(side)  # a maximum, not a fixed height: the row may shrink

    def _row_height(self) -> int:
        """The height a compact card's square thumbnail follows: the lowest row of the column it
        is in. Rows differ by a pixel when the column's height does not divide evenly; by its own
        height, a post moving a slot down would be scaled again for one pixel."""
        parent = self.parentWidget()
        grid = parent.layout() if parent is not None else None
        if not isinstance(grid, QGridLayout):
            return self.height()
        rows = [grid.cellRect(row, 0).height() for row in range(grid.rowCount())]
        return min([self.height(), *(height for height in rows if height > 0)])

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
