"""A panel of posts of one kind: one featured large, the others as compact cards.

Landscape screens put the featured post on the left and the others in a column beside it; portrait
screens (taller than wide) put the featured post on top and the others below it.

The newest post is featured first; while the panel stays on screen each of the others takes its
turn every `featured_seconds` (the compact cards keep the rest, newest first), with the wall's
transition: a crossfade, or the featured card sliding while the rest crossfades (`widgets.turn`).
The turns go on where they stopped the next time the panel comes on screen, so over a few rounds
every post shown gets its time in the large card; a new post is featured at once.

The hub may announce changes often; the panel redoes work only when the posts it shows changed
(posts are compared whole, which covers keys and `edited_at`), and it reuses its card widgets.
When new posts arrive on top while the panel is on screen, the cards slide down to their new
places (`widgets.arrival`) instead of jumping; off screen, the panel just updates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication, QEasingCurve, QEvent, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QHideEvent, QPainter, QPixmap, QRegion, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QBoxLayout, QGridLayout, QSizePolicy, QWidget

from wall.core.model import Post, PostKind
from widgets.arrival import ArrivalOverlay, Layout, plan
from widgets.cards import PORTRAIT_TEXT_GROWTH, TEXT_GROWTH_WITHOUT_PICTURE, PostCard
from widgets.motion import Tween
from widgets.panel import Panel, PanelContext
from widgets.settings import PanelLook, PostsLook
from widgets.theme import Theme
from widgets.turn import PanelTurn

TIME_REFRESH_MS = 20_000  # "il y a 5 min" must not lag by more than a fraction of a minute
MAX_COMPACT_ROWS = 4
ARRIVAL_MS = 500  # new posts sliding in
# A featured post does not change in the last seconds on screen: the turn (about 0.9 s) must be over
# before the rotator takes its picture of the panel for the next transition (0.9 s before the switch).
FEATURE_TAIL_SECONDS = 2.0


def arrival_shift(before: Sequence[Post], after: Sequence[Post]) -> int:
    """How many new posts pushed the others down (0 when the change is anything else)."""
    if not before or not after:
        return 0
    keys = [post.key for post in after]
    if before[0].key not in keys:
        return 0
    shift = keys.index(before[0].key)
    kept = keys[shift:]
    return shift if kept == [post.key for post in before[: len(kept)]] else 0


class PostsPanel(Panel):
    """Posts of `kind` from the hub, filtered by the panel's sources, at most `limit` of them."""

    kind: PostKind = "mention"
    internal = False

    def __init__(
        self, context: PanelContext, settings: PanelLook, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(context, settings, theme, parent)
        self._shown: list[Post] = []
        self._featured_index = 0  # which of `_shown` is in the large card
        self._ticker: Callable[[], float] = time.monotonic
        self._on_screen_since = 0.0  # ticker seconds
        self._turn = PanelTurn(self, context.look.transition)
        self._feature_timer = QTimer(self)
        self._feature_timer.setSingleShot(True)
        self._feature_timer.timeout.connect(self.feature_next)
        self._arrival = ArrivalOverlay(self)
        self._arrival_motion = Tween(ARRIVAL_MS, QEasingCurve.Type.InOutCubic, parent=self)
        self._arrival_motion.progressed.connect(self._arrival.set_progress)
        self._arrival_motion.finished.connect(self._arrival.end)
        # before the change: its picture, the layout and the shift (until the picture after it is taken)
        self._arrival_from: tuple[QPixmap, Layout, int] | None = None
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

    def featured_post(self) -> Post | None:
        """The post in the large card."""
        return self._shown[self._featured_index] if self._shown else None

    def refresh(self) -> None:
        """Show the newest `limit` posts; cards whose post did not change are left alone."""
        posts = self.filter_sources(self.context.hub.posts(self.kind), lambda post: post.source)
        shown, fresh = self.choose(posts)
        if shown == self._shown:
            return
        shift = arrival_shift(self._shown, shown)
        self._turn.finish()  # the cards show what they are meant to before anything moves
        self.finish_arrival()  # a second arrival starts from the real cards
        featured = self.featured_post()
        if shift or fresh:
            index = 0  # a new post is featured at once
        elif featured is not None and (same := [i for i, p in enumerate(shown) if p.key == featured.key]):
            index = same[0]  # an edit, a deletion elsewhere: the featured post stays
        else:
            index = min(self._featured_index, max(0, len(shown) - 1))
        # In the panel's last seconds on screen the rotator takes its pictures of it for the next
        # transition: the cards change at once then, and the rotator is told to take them again.
        late = self.isVisible() and self._seconds_left() < FEATURE_TAIL_SECONDS
        moving = shift and self.isVisible() and self._arrival_motion.duration_ms() > 0 and not late
        cards_in_order = self._featured_index == 0
        if moving and cards_in_order:  # the cards slide down a slot or more
            before = self._picture()
            self._arrival_from = (before, self._layout(), shift)
            self._arrival.cover(before, self.background())
            QTimer.singleShot(0, self, self._start_arrival)
        self._shown, self._featured_index = shown, index
        if moving and not cards_in_order:  # an older post was featured: a transition to the new one
            self._turn.turn(self._fill_cards, self._featured_rect)
        else:
            self._fill_cards()
        if late:
            self.content_changed.emit()  # (the rotator takes its pictures again, if there is time)
        self.show_content(bool(shown))
        if (shift or fresh) and self.isVisible():
            self._schedule_feature()  # the new post gets its full time in the large card

    def choose(self, posts: list[Post]) -> tuple[list[Post], bool]:
        """The posts the cards show, from the hub's (newest first), and True when the first is new
        and to be featured at once; `MentionsPanel` replays older ones in quiet hours."""
        return posts[: self.settings.limit], False

    def _fill_cards(self) -> None:
        """The featured post in the large card, the others in the compact ones, newest first."""
        shown, index = self._shown, self._featured_index
        in_cards = [shown[index], *shown[:index], *shown[index + 1 :]] if shown else []
        for card, post in zip([self.featured, *self.compact], in_cards, strict=False):
            card.set_post(post)
            card.show()
        for card in [self.featured, *self.compact][len(in_cards) :]:
            card.hide()
        self._column.setVisible(len(in_cards) > 1)

    # --- the featured post's turns -------------------------------------------------------------
    def featured_seconds(self) -> float:
        """How long each post stays featured while on screen (0: the newest stays)."""
        return float(self.settings.featured_seconds) if isinstance(self.settings, PostsLook) else 0.0

    def turn(self) -> PanelTurn:
        """The transition between featured posts."""
        return self._turn

    def feature_next(self) -> None:
        """Feature the next post (after the oldest shown, the newest again), with the wall's
        transition; not in the panel's last seconds on screen, nor while new posts slide in."""
        self._schedule_feature()
        if len(self._shown) < 2 or self.is_arriving() or self._turn.is_turning():
            return
        if self._seconds_left() < FEATURE_TAIL_SECONDS:
            return
        self._featured_index = (self._featured_index + 1) % len(self._shown)
        self._turn.turn(self._fill_cards, self._featured_rect)

    def _seconds_left(self) -> float:
        """How long the panel has left on screen, as its duration says (from when it came)."""
        return self.settings.duration - (self._ticker() - self._on_screen_since)

    def shown_again(self) -> None:
        """The rotator keeps this panel on screen for another round: the turns go on."""
        self._on_screen_since = self._ticker()

    def _featured_rect(self) -> QRect:
        return QRect(self.featured.mapTo(self, QPoint(0, 0)), self.featured.size())

    def _schedule_feature(self) -> None:
        self._feature_timer.stop()
        seconds = self.featured_seconds()
        if seconds > 0 and self.isVisible():
            self._feature_timer.start(round(seconds * 1000))

    def showEvent(self, event: QShowEvent) -> None:
        """On screen: the next post is featured after `featured_seconds`."""
        super().showEvent(event)
        self._on_screen_since = self._ticker()
        self._schedule_feature()

    # --- new posts sliding in ------------------------------------------------------------------
    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock the arrival of new posts and the featured turns follow (tests move it,
        then call `step_arrival` or `turn().step()`)."""
        self._ticker = ticker
        self._arrival_motion.set_ticker(ticker)
        self._turn.set_ticker(ticker)

    def step_arrival(self) -> None:
        """One frame of new posts sliding in (its timer calls it; tests with a ticker too)."""
        self._arrival_motion.step()

    def is_arriving(self) -> bool:
        """True while new posts slide in (the real cards are covered by their moving pictures)."""
        return not self._arrival.isHidden()

    def arrival_overlay(self) -> ArrivalOverlay:
        """The moving pictures of an arrival."""
        return self._arrival

    def finish_arrival(self) -> None:
        """Show the cards as they are now, at once."""
        self._arrival_from = None
        self._arrival_motion.stop()
        self._arrival.end()

    def _start_arrival(self) -> None:
        """The turn after the change: lay the cards out, take their picture and start moving."""
        if self._arrival_from is None:
            return
        before, old, shift = self._arrival_from
        self._arrival_from = None
        for _ in range(3):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        after = self._picture()
        pieces = plan(before, old, after, self._layout(), shift, self._grid.spacing())
        self._arrival.set_pieces(pieces)
        self._arrival_motion.start()

    def _picture(self) -> QPixmap:
        """The panel as it would be painted now, without the arrival overlay."""
        picture = QPixmap(self.size())
        picture.fill(Qt.GlobalColor.transparent)  # as `grab()` does: text is antialiased the same way
        painter = QPainter(picture)
        painter.fillRect(picture.rect(), self.background())
        painter.end()
        self.content.render(picture, self.content.pos(), QRegion(), QWidget.RenderFlag.DrawChildren)
        return picture

    def _layout(self) -> Layout:
        """Where the cards are now, in the panel's coordinates."""

        def place(widget: QWidget) -> QRect:
            return QRect(widget.mapTo(self, QPoint(0, 0)), widget.size())

        return Layout(
            place(self.featured),
            [place(card) for card in self.compact],
            place(self._column),
            len(self._shown),
        )

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

    def hideEvent(self, event: QHideEvent) -> None:
        """Off screen, the cards need not move: show them as they are."""
        self._feature_timer.stop()
        self._turn.finish()
        self.finish_arrival()
        super().hideEvent(event)

    def is_portrait(self) -> bool:
        """True when the featured post is laid out on top of the others (a screen taller than wide)."""
        return self._row.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Featured post beside the others in landscape, above them in portrait."""
        self._turn.finish()
        self.finish_arrival()  # the pictures no longer fit
        portrait = event.size().height() > event.size().width()
        if portrait != self.is_portrait():
            direction = QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
            self._row.setDirection(direction)
            self._row.setStretch(0, 50 if portrait else 56)
            self._row.setStretch(1, 50 if portrait else 44)
            self.featured.set_text_growth(PORTRAIT_TEXT_GROWTH if portrait else TEXT_GROWTH_WITHOUT_PICTURE)
        super().resizeEvent(event)

    def apply_theme(self, theme: Theme) -> None:
        """Resize margins and every card for a new window height."""
        super().apply_theme(theme)
        self._turn.finish()
        self.finish_arrival()
        self._row.setContentsMargins(theme.gap, theme.gap, theme.gap, theme.gap)
        self._row.setSpacing(theme.gap)
        self._grid.setSpacing(theme.gap)
        for card in [self.featured, *self.compact]:
            card.apply_theme(theme)
