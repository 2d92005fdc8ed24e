"""The only bridge from the asyncio side (poller, store, image loader) to Qt widgets.

The hub holds the latest snapshot of what the wall shows and emits a signal when it changes.
Widgets read snapshots from it and never await or do I/O. Updates are coalesced: many batches
arriving together produce one `posts_changed`, so a burst of posts costs one repaint.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import QObject, QTimer, Signal

from wall.core.model import Count, Post, PostKind, SourceStatus
from wall.engine.moderation.decisions import PublishedAnnouncement

COALESCE_MS = 150
IMAGE_RETRY_MS = 5 * 60 * 1000
MAX_IMAGES = 64  # encoded images kept in memory for the widgets (the disk cache keeps more)
# ...and at most this many bytes of them: prepared pictures are up to 1600 px a side (a PNG of one
# may weigh megabytes), and what the hub keeps is never given back while the wall runs.
MAX_IMAGE_BYTES = 24 * 1024 * 1024


class Hub(QObject):
    """Latest posts, counts, statuses and decoded images, with change signals."""

    posts_changed = Signal()
    counts_changed = Signal()
    status_changed = Signal()
    image_ready = Signal(str)
    announcement_changed = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        coalesce_ms: int = COALESCE_MS,
        image_retry_ms: int = IMAGE_RETRY_MS,
    ) -> None:
        super().__init__(parent)
        self._image_retry_ms = image_retry_ms
        self._posts: dict[str, list[Post]] = {}
        self._replay_pools: dict[str, list[Post]] = {}
        self._counts: list[Count] = []
        self._history: dict[str, list[Count]] = {}
        self._statuses: dict[str, SourceStatus] = {}
        self._announcement: PublishedAnnouncement | None = None
        self._images: OrderedDict[str, bytes] = OrderedDict()
        self._image_bytes = 0
        self._image_requester: Callable[[str], None] | None = None
        self._requested: set[str] = set()
        # A failed picture's URL -> when it may be asked for again (a hostile feed makes a failure a
        # second: a dict entry each, not a pending timer each).
        self._retry_at: dict[str, float] = {}
        self._pending: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(coalesce_ms)
        self._timer.timeout.connect(self._flush)

    # --- read side (widgets) -------------------------------------------------------------
    def posts(self, kind: PostKind) -> list[Post]:
        """Posts of one kind, newest first."""
        return list(self._posts.get(kind, ()))

    def replay_pool(self, kind: PostKind) -> list[Post]:
        """Posts of one kind a panel may replay in quiet hours, best first (`wall.engine.replay`)."""
        return list(self._replay_pools.get(kind, ()))

    def counts(self) -> list[Count]:
        """The latest observation of every counter."""
        return list(self._counts)

    def count_history(self, key: str) -> list[Count]:
        """Older observations of one counter (oldest first), when the app provided them."""
        return list(self._history.get(key, ()))

    def statuses(self) -> list[SourceStatus]:
        """Every configured source's health."""
        return list(self._statuses.values())

    def stale_sources(self) -> list[str]:
        """Names of sources whose content on screen is old."""
        return sorted(s.source for s in self._statuses.values() if s.is_stale)

    def announcement(self) -> PublishedAnnouncement | None:
        """The announcement published from the moderation page (None: panels show the config's)."""
        return self._announcement

    def picture_urls(self) -> set[str]:
        """The addresses of every picture the posts held here may show (media, video posters,
        avatars), replay pools included: what is not among them left the wall."""
        urls: set[str] = set()
        for posts in (*self._posts.values(), *self._replay_pools.values()):
            for post in posts:
                urls.add(post.author.avatar_url)
                urls.update(url for media in post.media for url in (media.url, media.preview_url))
        urls.discard("")
        return urls

    def image(self, url: str) -> bytes | None:
        """Encoded image bytes (already checked and downscaled off the GUI thread), if loaded.

        Asks for the image when it is not there yet; `image_ready(url)` follows once it is.
        """
        data = self._images.get(url)
        if data is not None:
            self._images.move_to_end(url)
            return data
        retry_at = self._retry_at.get(url)
        if retry_at is not None and time.monotonic() >= retry_at:
            del self._retry_at[url]
            self._requested.discard(url)
        if url and url not in self._requested and self._image_requester is not None:
            self._requested.add(url)
            self._image_requester(url)
        return None

    # --- write side (app) ----------------------------------------------------------------
    def set_image_requester(self, requester: Callable[[str], None]) -> None:
        """Called with a URL when a widget wants an image that is not loaded yet."""
        self._image_requester = requester

    def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Replace the posts of one kind (newest first)."""
        self._posts[kind] = list(posts)
        self._schedule("posts")

    def set_replay_pool(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Replace the posts of one kind that may be replayed in quiet hours (best first)."""
        self._replay_pools[kind] = list(posts)
        self._schedule("posts")

    def set_counts(self, counts: Iterable[Count], history: dict[str, list[Count]] | None = None) -> None:
        """Replace the latest counts (and optionally their history)."""
        self._counts = list(counts)
        if history is not None:
            self._history = history
        self._schedule("counts")

    def set_statuses(self, statuses: Iterable[SourceStatus]) -> None:
        """Replace every source's status."""
        new = {s.source: s for s in statuses}
        if new != self._statuses:
            self._statuses = new
            self._schedule("status")

    def update_status(self, status: SourceStatus) -> None:
        """Replace one source's status."""
        if self._statuses.get(status.source) != status:
            self._statuses[status.source] = status
            self._schedule("status")

    def set_announcement(self, announcement: PublishedAnnouncement | None) -> None:
        """Publish or withdraw (None) the page's announcement; told at once, it is rare."""
        if announcement != self._announcement:
            self._announcement = announcement
            self.announcement_changed.emit()

    def add_image(self, url: str, data: bytes | None) -> None:
        """An image finished loading (`None`: it failed; it is asked for again after a while,
        since the network may have been down)."""
        if data is None:
            now = time.monotonic()
            # Oldest first (one delay for all): what is due is forgotten, so that URLs no longer
            # on screen do not stay here for ever.
            while self._retry_at and (due := next(iter(self._retry_at))) and self._retry_at[due] <= now:
                del self._retry_at[due]
                self._requested.discard(due)
            self._retry_at.pop(url, None)  # to the end
            self._retry_at[url] = now + self._image_retry_ms / 1000
            return
        self._retry_at.pop(url, None)
        self._image_bytes += len(data) - len(self._images.get(url, b""))
        self._images[url] = data
        self._images.move_to_end(url)
        while len(self._images) > 1 and (
            len(self._images) > MAX_IMAGES or self._image_bytes > MAX_IMAGE_BYTES
        ):
            old, dropped = self._images.popitem(last=False)
            self._image_bytes -= len(dropped)
            self._requested.discard(old)
        self.image_ready.emit(url)

    def image_bytes(self) -> int:
        """Bytes of the encoded pictures kept in memory."""
        return self._image_bytes

    def forget_images(self, urls: Iterable[str]) -> None:
        """Drop these pictures from memory (an author opted out, a post passed its retention)."""
        for url in urls:
            self._image_bytes -= len(self._images.pop(url, b""))
            self._requested.discard(url)
            self._retry_at.pop(url, None)

    def flush(self) -> None:
        """Emit pending change signals now (tests, snapshots)."""
        self._timer.stop()
        self._flush()

    def _schedule(self, what: str) -> None:
        self._pending.add(what)
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        pending, self._pending = self._pending, set()
        if "posts" in pending:
            self.posts_changed.emit()
        if "counts" in pending:
            self.counts_changed.emit()
        if "status" in pending:
            self.status_changed.emit()
