"""A `Screen` that only records what the engine writes to it: the engine's tests need no Qt."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from wall.core.model import Count, Post, PostKind, SourceStatus
from wall.engine.moderation.decisions import PublishedAnnouncement


class RecordingScreen:
    """What a lobby screen would show, as plain lists (satisfies `wall.engine.engine.Screen`)."""

    def __init__(self) -> None:
        self.posts: dict[PostKind, list[Post]] = {"mention": [], "internal": [], "announcement": []}
        self.replay_pools: dict[PostKind, list[Post]] = {}
        self.counts: list[Count] = []
        self.history: dict[str, list[Count]] = {}
        self._statuses: dict[str, SourceStatus] = {}
        self.announcement: PublishedAnnouncement | None = None
        self.images: dict[str, bytes | None] = {}
        self.requester: Callable[[str], None] | None = None

    def ids(self, kind: PostKind = "mention") -> list[str]:
        """The ids of the posts shown for `kind`, in screen order."""
        return [p.id for p in self.posts[kind]]

    def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None:
        self.posts[kind] = list(posts)

    def set_replay_pool(self, kind: PostKind, posts: Sequence[Post]) -> None:
        self.replay_pools[kind] = list(posts)

    def set_counts(self, latest: Sequence[Count], history: dict[str, list[Count]]) -> None:
        self.counts, self.history = list(latest), dict(history)

    def set_statuses(self, statuses: Sequence[SourceStatus]) -> None:
        self._statuses = {s.source: s for s in statuses}

    def update_status(self, status: SourceStatus) -> None:
        self._statuses[status.source] = status

    def statuses(self) -> list[SourceStatus]:
        return list(self._statuses.values())

    def set_announcement(self, announcement: PublishedAnnouncement | None) -> None:
        self.announcement = announcement

    def set_image_requester(self, requester: Callable[[str], None]) -> None:
        self.requester = requester

    def add_image(self, url: str, data: bytes | None) -> None:
        self.images[url] = data

    def forget_images(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.images.pop(url, None)
