"""The data the wall shows: posts, fan counts and source health.

Everything here is immutable and Qt-free; sources produce it, the store keeps it, widgets read it.
A source yields a `Batch` of *changes* (new or edited posts, deletions, counts), not only new posts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

PostKind = Literal["mention", "internal", "announcement"]
POST_KINDS: tuple[PostKind, ...] = ("mention", "internal", "announcement")


def utcnow() -> datetime:
    """Aware UTC now (the default clock)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Media:
    """An image (or a video's preview) attached to a post, with its alt text."""

    url: str
    alt: str = ""
    kind: str = "image"
    preview_url: str = ""


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a post, as the network names them."""

    name: str
    handle: str = ""
    avatar_url: str = ""


@dataclass(frozen=True, slots=True)
class Post:
    """One message that may appear on the wall.

    `id` is unique within its source; `key` is unique across the wall. `text` is plain text:
    sources turn remote HTML into text before building a Post (see `wall.core.text`).
    """

    id: str
    source: str
    network: str
    kind: PostKind
    author: Author
    text: str
    created_at: datetime
    url: str = ""
    media: tuple[Media, ...] = ()
    sensitive: bool = False
    spoiler_text: str = ""
    language: str | None = None
    edited_at: datetime | None = None
    is_reply: bool = False
    boosted_by: Author | None = None
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Wall-wide identity: source name and the source's own id."""
        return f"{self.source}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the store and `wall fetch --json`)."""
        return {
            "id": self.id,
            "source": self.source,
            "network": self.network,
            "kind": self.kind,
            "author_name": self.author.name,
            "author_handle": self.author.handle,
            "author_avatar": self.author.avatar_url,
            "text": self.text,
            "url": self.url,
            "created_at": iso(self.created_at),
            "edited_at": iso(self.edited_at) if self.edited_at else None,
            "media": [
                {"url": m.url, "alt": m.alt, "kind": m.kind, "preview_url": m.preview_url} for m in self.media
            ],
            "sensitive": self.sensitive,
            "spoiler_text": self.spoiler_text,
            "language": self.language,
            "is_reply": self.is_reply,
            "boosted_by": (
                None
                if self.boosted_by is None
                else {
                    "name": self.boosted_by.name,
                    "handle": self.boosted_by.handle,
                    "avatar_url": self.boosted_by.avatar_url,
                }
            ),
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        """Inverse of `to_dict`."""
        boosted = data.get("boosted_by")
        return cls(
            id=str(data["id"]),
            source=data["source"],
            network=data["network"],
            kind=data["kind"],
            author=Author(
                data.get("author_name", ""),
                data.get("author_handle", ""),
                data.get("author_avatar", ""),
            ),
            text=data.get("text", ""),
            created_at=parse_iso(data["created_at"]),
            url=data.get("url", ""),
            media=tuple(
                Media(m["url"], m.get("alt", ""), m.get("kind", "image"), m.get("preview_url", ""))
                for m in data.get("media", [])
            ),
            sensitive=bool(data.get("sensitive", False)),
            spoiler_text=data.get("spoiler_text", ""),
            language=data.get("language"),
            edited_at=parse_iso(data["edited_at"]) if data.get("edited_at") else None,
            is_reply=bool(data.get("is_reply", False)),
            boosted_by=(
                None
                if not boosted
                else Author(boosted["name"], boosted.get("handle", ""), boosted.get("avatar_url", ""))
            ),
            tags=tuple(data.get("tags", [])),
        )

    def with_source(self, source: str, kind: PostKind) -> Post:
        """A copy attributed to a configured source (name and kind come from config)."""
        return replace(self, source=source, kind=kind)


@dataclass(frozen=True, slots=True)
class Count:
    """One observation of an account's audience (followers, fans, subscribers, members)."""

    source: str
    network: str
    account: str
    value: int | None
    observed_at: datetime
    label: str = ""
    metric: str = "followers"

    @property
    def key(self) -> str:
        """Identity of the counter being observed."""
        return f"{self.source}:{self.network}:{self.account}:{self.metric}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "network": self.network,
            "account": self.account,
            "value": self.value,
            "observed_at": iso(self.observed_at),
            "label": self.label,
            "metric": self.metric,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Count:
        """Inverse of `to_dict`."""
        return cls(
            source=data["source"],
            network=data["network"],
            account=data["account"],
            value=data.get("value"),
            observed_at=parse_iso(data["observed_at"]),
            label=data.get("label", ""),
            metric=data.get("metric", "followers"),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """What one poll (or one streamed event) of a source changed."""

    posts: tuple[Post, ...] = ()
    deleted: tuple[str, ...] = ()  # source-local post ids
    counts: tuple[Count, ...] = ()
    not_modified: bool = False  # the server answered 304: nothing changed

    def __bool__(self) -> bool:
        return bool(self.posts or self.deleted or self.counts)


class Health(enum.StrEnum):
    """A source's state as `wall status` and the stale marker show it."""

    STARTING = "starting"
    OK = "ok"
    RETRYING = "retrying"  # failed recently, still within three intervals of the last success
    STALE = "stale"  # no success for three intervals: the screen says so
    NEEDS_ATTENTION = "needs_attention"  # auth or config error: a person must act


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """Health of one configured source, as the poller last saw it."""

    source: str
    network: str
    health: Health = Health.STARTING
    last_success: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None
    next_poll: datetime | None = None
    consecutive_failures: int = 0
    interval: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_stale(self) -> bool:
        """True when the screen should mark this source's content as old."""
        return self.health in (Health.STALE, Health.NEEDS_ATTENTION)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "network": self.network,
            "health": self.health.value,
            "last_success": iso(self.last_success) if self.last_success else None,
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at) if self.last_error_at else None,
            "next_poll": iso(self.next_poll) if self.next_poll else None,
            "consecutive_failures": self.consecutive_failures,
            "interval": self.interval,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceStatus:
        """Inverse of `to_dict`."""

        def opt(key: str) -> datetime | None:
            value = data.get(key)
            return parse_iso(value) if value else None

        return cls(
            source=data["source"],
            network=data.get("network", ""),
            health=Health(data.get("health", "starting")),
            last_success=opt("last_success"),
            last_error=data.get("last_error", ""),
            last_error_at=opt("last_error_at"),
            next_poll=opt("next_poll"),
            consecutive_failures=int(data.get("consecutive_failures", 0)),
            interval=float(data.get("interval", 0.0)),
        )


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, second precision (what `wall fetch --json` prints)."""
    return as_utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """Parse ISO 8601 (with `Z` or an offset) to aware UTC; ValueError when it is not a date (or one
    that UTC cannot hold, such as 9999-12-31T23:59-01:00)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return as_utc(datetime.fromisoformat(text))
    except OverflowError:
        raise ValueError(f"{value!r} is out of range in UTC") from None
