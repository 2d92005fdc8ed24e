"""A panel of posts of one kind: the newest one featured large, the next ones as compact cards.

Landscape screens put the featured post on the left and the others in a column beside it; portrait
screens (taller than wide) put the featured post on top and the others below it.

The hub may announce changes often; the panel redoes work only when the posts it shows changed
(posts are compared whole, which covers keys and `edited_at`), and it reuses its card widgets.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QSizePolicy, QWidget

from wall.model import Post, PostKind
from widgets.cards import PostCard
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook
from widgets.theme import Theme

TIME_REFRESH_MS = 20_000  # "il y a 5 min" must not lag by more than a fraction of a minute
MAX_COMPACT_ROWS = 4


class PostsPanel(Panel):
    """Posts of `kind` from the hub, filtered by the panel's sources, at most `limit` of them."""

    kind: PostKind = "mention"
    internal = False

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        self._shown: list[Post] = []
        self.featured = PostCard(context, theme, featured=True, internal=self.internal)
        compact_count = max(0, settings.limit - 1)
        self.compact = [
            PostCard(context, theme, featured=False, internal=self.internal) for _ in range(compact_count)
        ]
        self._column = QWidget()
        grid = QGridLayout(self._column)
        grid.setContentsMargins(0, 0, 0, 0)
        columns = 1 if compact_count <= MAX_COMPACT_ROWS else 2
        rows = max(1, math.ceil(compact_count / columns))
        for index, card in enumerate(self.compact):
            same_height = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
            # a lone post keeps its size instead of stretching over the whole column
            same_height.setRetainSizeWhenHidden(True)
            card.setSizePolicy(same_height)
            grid.addWidget(card, index % rows, index // rows)
        for row in range(rows):
            grid.setRowStretch(row, 1)
        self._grid = grid
        self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.content)
        self._row.addWidget(self.featured, 56)
        self._row.addWidget(self._column, 44)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._column.setVisible(False)
        self.featured.hide()
        for card in self.compact:
            card.hide()
        self.apply_theme(theme)
        context.hub.posts_changed.connect(self.refresh)
        context.hub.image_ready.connect(self.on_image_ready)
        context.pixmaps.pixmap_ready.connect(self.on_pixmap_ready)
        self._times = QTimer(self)
        self._times.setInterval(TIME_REFRESH_MS)
        self._times.timeout.connect(self.update_times)
        self._times.start()
        self.refresh()

    def cards(self) -> list[PostCard]:
        """The cards on screen, featured first."""
        return [card for card in [self.featured, *self.compact] if not card.isHidden()]

    def shown_posts(self) -> list[Post]:
        """The posts on screen, newest first."""
        return list(self._shown)

    def has_content(self) -> bool:
        """True when at least one post is shown."""
        return bool(self._shown)

    def refresh(self) -> None:
        """Show the newest `limit` posts; cards whose post did not change are left alone."""
        posts = self.filter_sources(self.context.hub.posts(self.kind), lambda post: post.source)
        shown = posts[: self.settings.limit]
        if shown == self._shown:
            return
        self._shown = shown
        for card, post in zip([self.featured, *self.compact], shown, strict=False):
            card.set_post(post)
            card.show()
        for card in [self.featured, *self.compact][len(shown) :]:
            card.hide()
        self._column.setVisible(len(shown) > 1)
        self.show_content(bool(shown))

    def update_times(self) -> None:
        """Refresh the relative times ("il y a 5 min") of the cards on screen."""
        for card in self.cards():
            card.update_time()

    def on_image_ready(self, url: str) -> None:
        """The hub has new bytes for `url`: decode them (even if older bytes were broken) if shown here."""
        concerned = self._cards_showing(url)
        if concerned:
            self.context.pixmaps.retry(url)
        for card in concerned:
            card.refresh_images()

    def on_pixmap_ready(self, url: str) -> None:
        """A picture finished decoding: update the cards that show it, nothing else."""
        for card in self._cards_showing(url):
            card.refresh_images()

    def _cards_showing(self, url: str) -> list[PostCard]:
        return [card for card in self.cards() if url in card.image_urls()]

    def is_portrait(self) -> bool:
        """True when the featured post is laid out on top of the others (a screen taller than wide)."""
        return self._row.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Featured post beside the others in landscape, above them in portrait."""
        portrait = event.size().height() > event.size().width()
        if portrait != self.is_portrait():
            direction = QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
            self._row.setDirection(direction)
            self._row.setStretch(0, 50 if portrait else 56)
            self._row.setStretch(1, 50 if portrait else 44)
        super().resizeEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        """Resize margins and every card for a new window height."""
        super().apply_theme(theme)
        self._row.setContentsMargins(theme.gap, theme.gap, theme.gap, theme.gap)
        self._row.setSpacing(theme.gap)
        self._grid.setSpacing(theme.gap)
        for card in [self.featured, *self.compact]:
            card.apply_theme(theme)
