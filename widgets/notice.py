"""A compact "Nouveau" card that slides in over whatever panel is up when new posts arrive (issue 14).

Without it a new mention waited for the mentions panel to come round: 6 to 20 s. The card comes up
within about a second (the hub's coalescing, then `GATHER_MS` to group a burst), stays
`HOLD_MS` and slides away. It stays calm: a burst is one card whose headline counts the posts
("3 nouvelles publications"), its text changes at most once every `UPDATE_MS`, and it never
slides again while it is up.

Each post of a burst is readable on it, not only the newest: polling every 15 s brings two or three
posts at once, and with the newest alone on the card the others waited up to 42 s for their panel
(`bench latency`). The card lists the newest `MAX_ON_CARD` posts, each with its author; a bigger
burst says how many more there are ("+47 autres") and hands them to `show_rest`, with which the
window lets their panel take the next turn early.

"New" means newer than what the screen already had: the posts in the hub when the window is first
painted (a restart fills it from the store) are the baseline; an edit keeps its key; a post seen
before (an unblock brings it back) or older than the newest post seen by more than `LATE_SLACK`
is not new. Only what the hub's posts contain is shown, and a post that leaves the hub
(hidden, deleted) leaves the card at once: pre-moderation and the moderation page still decide.

Cost: the card is a small opaque widget. Sliding in from below the screen's edge uncovers nothing
beneath it (each step covers more), so a frame repaints the card alone, far less than a
crossfade's full-screen blits; sliding out uncovers a strip of the panel per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from PySide6.QtCore import QEasingCurve, QElapsedTimer, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from wall.core.i18n import tr
from wall.core.model import Post, PostKind
from widgets.hub import Hub
from widgets.labels import ElidedLabel, plain_label, style_label
from widgets.motion import Tween
from widgets.theme import Role, Theme

# Announcements are published on purpose: they are not "new posts".
NOTICE_KINDS: tuple[PostKind, ...] = ("mention", "internal")
GATHER_MS = 350  # a burst arriving within this is one card (hub coalescing 150 ms + this + slide 400 ms:
# 0.9 s, leaving the engine and the network 1.1 s of the 2 s target; 700 ms left too little under load)
HOLD_MS = 6_000  # on screen after its last change: read from 3-5 m in a walk past
MAX_HOLD_MS = 15_000  # a long burst does not keep the card up for ever
UPDATE_MS = 1_000  # the count changes at most this often while the card is up
SLIDE_MS = 400
LATE_SLACK = timedelta(minutes=10)  # a slow source's post a little older than the newest is still new
MAX_SEEN = 5_000  # keys remembered (beyond this only the posts in the hub are kept)
MAX_TEXT_CHARS = 160  # the card shows the start of each post: it invites a look, the panel has the rest
MAX_ON_CARD = 3  # one poll brings 2 or 3 posts (one every 7 s, a poll every 15 s); more would not be read


def excerpt(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The start of `text` on one paragraph, cut at a word with `…` when longer than `limit`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(" ,;:.") + "…"


class NoticeEntry(QWidget):
    """One post on the card: its author over the start of its text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._post: Post | None = None
        self.author = plain_label()
        self.text = ElidedLabel()  # as many lines as its share of the card holds, ending with `…`
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.author)
        column.addWidget(self.text, 1)

    def post(self) -> Post | None:
        """The post shown, if any."""
        return self._post

    def set_post(self, post: Post | None, language: str) -> None:
        """Show `post` (a sensitive one as the word for it), or hide the entry."""
        self._post = post
        self.setVisible(post is not None)
        if post is not None:
            self.author.setText(post.author.name or post.author.handle)
            self.text.set_full_text(tr("sensitive", language) if post.sensitive else excerpt(post.text))

    def readable_rect(self) -> QRect:
        """The author and the first line of text, in the card's coordinates."""
        top = self.geometry().topLeft()
        return QRect(
            top, QSize(self.width(), self.text.y() + min(self.text.height(), self.text.line_height()))
        )

    def apply_theme(self, theme: Theme) -> None:
        """The author as on a post card, the text as large as a card's."""
        style_label(self.author, theme.font(Role.NAME), theme.text)
        style_label(self.text, theme.font(Role.BODY), theme.text)


class NewPostsNotice(QWidget):
    """The card over the panels; the window tells it what is on screen and when it may show."""

    def __init__(
        self,
        parent: QWidget,
        hub: Hub,
        theme: Theme,
        language: str,
        *,
        wanted: Callable[[Post], bool],
        on_screen: Callable[[], set[str]],
        may_show: Callable[[], bool],
        show_rest: Callable[[Sequence[Post]], None] = lambda _rest: None,
    ) -> None:
        """`wanted`: a post some panel of the rotation shows; `on_screen`: keys of the posts
        visible now (not announced again); `may_show`: False during a panic or out of hours;
        `show_rest`: the posts of a burst the card has no room for, newest first."""
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # nothing beneath is repainted
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._hub = hub
        self._language = language
        self._wanted = wanted
        self._on_screen = on_screen
        self._may_show = may_show
        self._show_rest = show_rest
        self._armed = False
        self._seen: set[str] = set()
        self._newest: datetime | None = None
        self._waiting: list[Post] = []  # new, not on the card yet
        self._group: list[Post] = []  # on the card, newest first
        self._leaving = False
        self.headline = plain_label()
        self.entries = [NoticeEntry() for _ in range(MAX_ON_CARD)]
        self.more = plain_label()  # "+47 autres": the rest of a burst, on their panel's early turn
        column = QVBoxLayout(self)
        column.addWidget(self.headline)
        for entry in self.entries:
            column.addWidget(entry, 1)  # shared equally: one post alone gets the whole card
        column.addWidget(self.more)
        self._column = column
        self._gather = self._single_shot(GATHER_MS, self._present)
        self._update = self._single_shot(UPDATE_MS, self._present)
        self._hold = self._single_shot(HOLD_MS, self.dismiss)
        self._up_since = QElapsedTimer()  # since the card came (for MAX_HOLD_MS)
        self._motion = Tween(SLIDE_MS, QEasingCurve.Type.OutCubic, parent=self)
        self._motion.progressed.connect(self._slide_to)
        self._motion.finished.connect(self._slid)
        self._theme = theme
        self.apply_theme(theme)
        hub.posts_changed.connect(self.on_posts_changed)
        self.hide()

    def _single_shot(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def posts_shown(self) -> list[Post]:
        """The posts listed on the card that a passer-by can read now, newest first: their author
        and first line are on screen (sliding in, an entry still below the panels' edge is not)."""
        parent = self.parentWidget()
        if not self.isVisible() or parent is None:
            return []
        area = parent.rect()
        return [
            post
            for entry in self.entries
            if (post := entry.post()) is not None
            and entry.isVisibleTo(self)
            and area.contains(entry.readable_rect().translated(self.pos()))
        ]

    # --- what is new ---------------------------------------------------------------------------
    def _posts(self) -> list[Post]:
        return [post for kind in NOTICE_KINDS for post in self._hub.posts(kind) if self._wanted(post)]

    def arm(self) -> None:
        """Take what the hub holds now as what the screen already had (the first frame)."""
        if not self._armed:
            self._armed = True
            self._remember(self._posts())

    def _remember(self, posts: Sequence[Post]) -> None:
        if len(self._seen) > MAX_SEEN:
            self._seen = set()
        self._seen.update(post.key for post in posts)
        times = [post.created_at for post in posts]
        if times and (self._newest is None or max(times) > self._newest):
            self._newest = max(times)

    def on_posts_changed(self) -> None:
        """Find the new posts; drop from the card any post that left the hub (moderation)."""
        if not self._armed:
            return
        posts = self._posts()
        current = {post.key: post for post in posts}
        floor = self._newest - LATE_SLACK if self._newest is not None else None
        new = [p for p in posts if p.key not in self._seen and (floor is None or p.created_at > floor)]
        self._remember(posts)
        # The hub's version of each post (an edit), and nothing it no longer shows.
        self._waiting = [current[p.key] for p in self._waiting if p.key in current]
        group = [current[p.key] for p in self._group if p.key in current]
        if group != self._group:
            self._group = group
            if not group:
                self.dismiss(at_once=True)
            else:
                self._fill()
        if not new:
            return
        self._waiting = [*new, *self._waiting]
        if self.isVisible() and not self._leaving:
            if not self._update.isActive():
                self._update.start()
        elif not self._gather.isActive():
            self._gather.start()

    # --- on screen -----------------------------------------------------------------------------
    def group(self) -> list[Post]:
        """The posts the card announces, newest first (empty when it is not up)."""
        return list(self._group) if self.isVisible() else []

    def _present(self) -> None:
        """Show the waiting posts (grouped with those already on the card), if they may be shown."""
        waiting, self._waiting = self._waiting, []
        if not self._may_show():
            self.dismiss(at_once=True)
            return  # a panic or closed hours: these posts are not news any more when it ends
        if self._leaving:
            self._waiting = waiting  # slides in again once it is down (`_slid`): no jump mid-way
            return
        visible = self._on_screen()
        fresh = [post for post in waiting if post.key not in visible]
        if not fresh:
            return
        keys = {post.key for post in fresh}
        group = [*fresh, *(post for post in self._group if post.key not in keys)]
        group.sort(key=lambda post: post.created_at, reverse=True)
        self._group = group
        self._fill()
        if self.isVisible() and not self._leaving:
            self._extend_hold()
        else:
            self._leaving = False
            self._up_since.start()
            self._place()
            self.show()
            self.raise_()
            self._motion.start()
            self._hold.start(HOLD_MS)
        if len(group) > MAX_ON_CARD:
            self._show_rest(group[MAX_ON_CARD:])

    def _extend_hold(self) -> None:
        """Another `HOLD_MS` from now, but never past `MAX_HOLD_MS` since the card came."""
        left = min(HOLD_MS, MAX_HOLD_MS - self._up_since.elapsed())
        if left > self._hold.remainingTime():
            self._hold.start(left)

    def _fill(self) -> None:
        if not self._group:
            return
        count = len(self._group)
        if count == 1:
            headline = tr("notice.one", self._language)
        else:
            headline = tr("notice.many", self._language, count=count)
        self.headline.setText(headline)
        listed = self._group[:MAX_ON_CARD]
        for index, entry in enumerate(self.entries):
            entry.set_post(listed[index] if index < len(listed) else None, self._language)
        rest = count - len(listed)
        self.more.setText(tr("notice.more", self._language, count=rest) if rest else "")
        self.more.setVisible(rest > 0)

    def dismiss(self, *, at_once: bool = False) -> None:
        """Slide the card away (at once during a panic, out of hours, or when its posts left)."""
        self._gather.stop()
        self._update.stop()
        self._hold.stop()
        if at_once or not self.isVisible():
            self._waiting = [] if at_once else self._waiting
            self._motion.stop()
            self._leaving = False
            self._group = []
            self.hide()
            return
        self._leaving = True
        self._motion.start()

    def on_panel_changed(self) -> None:
        """Another panel came up: once every post the card lists is on it, the card has done its job
        (the panel shows as many of the rest of a burst as it holds)."""
        if self.isVisible() and self._group:
            visible = self._on_screen()
            if all(post.key in visible for post in self._group[:MAX_ON_CARD]):
                self.dismiss()

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock the slide follows (tests step it, then call `step_slide`)."""
        self._motion.set_ticker(ticker)

    def step_slide(self) -> None:
        """One frame of the slide (its timer calls it; tests with a ticker too)."""
        self._motion.step()

    def is_sliding(self) -> bool:
        """True while the card moves in or out."""
        return self._motion.is_running()

    # --- geometry and looks --------------------------------------------------------------------
    def final_rect(self) -> QRect:
        """Where the card rests: the bottom right corner of the panels (across the bottom in portrait)."""
        parent = self.parentWidget()
        if parent is None:
            return QRect()
        area, gap = parent.rect(), self._theme.gap
        portrait = area.height() > area.width()
        width = area.width() - 2 * gap if portrait else round(area.width() * 0.48)
        # Room for `MAX_ON_CARD` authors with a line of text each (a post alone gets five or six).
        height = round(area.height() * (0.3 if portrait else 0.62))
        return QRect(area.right() + 1 - gap - width, area.bottom() + 1 - gap - height, width, height)

    def _place(self) -> None:
        self.setGeometry(self.final_rect().translated(0, self._travel()))

    def _travel(self) -> int:
        """How far below its resting place the card starts (just out of the panels)."""
        return self._theme.gap + self.final_rect().height()

    def _slide_to(self, progress: float) -> None:
        share = progress if self._leaving else 1.0 - progress
        self.move(self.final_rect().topLeft() + self._offset(share))

    def _offset(self, share: float) -> QPoint:
        return QPoint(0, round(share * self._travel()))

    def _slid(self) -> None:
        if self._leaving:
            self._leaving = False
            self._group = []
            self.hide()
            if self._waiting:  # arrived while it left: a new card
                self._gather.start()

    def apply_theme(self, theme: Theme) -> None:
        """Sizes for a new window height: the headline as large as a panel title, the text as a card's."""
        self._theme = theme
        surface = theme.celebration_surface
        style_label(self.headline, theme.font(Role.TITLE), theme.celebration)
        style_label(self.more, theme.font(Role.NAME), theme.celebration)
        for entry in self.entries:
            entry.apply_theme(theme)
        self._surface = surface
        pad = theme.padding
        self._column.setContentsMargins(pad + theme.px(0.006), pad, pad, pad)
        self._column.setSpacing(theme.px(0.006))
        if self.isVisible() and not self._motion.is_running():
            self.setGeometry(self.final_rect())

    def paintEvent(self, event: QPaintEvent) -> None:
        """A card in the accent's tint with an accent bar on its left edge."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._surface)
        painter.fillRect(QRect(0, 0, self._theme.px(0.006), self.height()), QColor(self._theme.accent))
