"""People's moderation decisions, kept apart from the rules' verdicts (issue 5; pure, Qt-free).

The rules (`wall.engine.moderation.rules`) judge every post again at each start and reload; a
person's decision must survive that, so it lives in its own table and wins over the verdict:

- `approve`: shown, even in pre-moderation or when a rule hid it;
- `hide`: never shown;
- `pin`: shown, and first on its panel (`unpin` turns it back into `approve`).

Blocking an author is stronger than an earlier approval: a blocked author's posts are never shown.
Unblocking them lets their stored posts be judged again: those every other rule and decision allow
come back. Every action is written to the audit log: who, when, what, which post.

Comms can also publish an announcement from the page (issue 7 item 5): it replaces the configured
one on every announcement panel until it is withdrawn; the page checks it with the config's own
rules (`wall.web.server.check_announcement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from wall.core.model import Post, as_utc
from wall.engine.moderation.verdict import AWAITING_APPROVAL, BLOCKED_AUTHOR, Verdict

Decision = Literal["approve", "hide", "pin"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
PostAction = Literal["approve", "hide", "pin", "unpin", "block"]
POST_ACTIONS: tuple[PostAction, ...] = get_args(PostAction)
Status = Literal["awaiting", "shown", "hidden"]
QueueFilter = Literal["awaiting", "shown", "hidden", "all"]
QUEUE_FILTERS: tuple[QueueFilter, ...] = get_args(QueueFilter)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One stored post as the moderation page lists it."""

    post: Post
    verdict: Verdict | None
    decision: Decision | None

    @property
    def status(self) -> Status:
        """Whether the post is on screen, hidden, or waiting for a person."""
        return status_of(self.verdict, self.decision)

    @property
    def pinned(self) -> bool:
        """True when a person pinned the post first on its panel."""
        return self.decision == "pin"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    who: str
    action: str
    post_key: str = ""
    detail: str = ""


def status_of(verdict: Verdict | None, decision: Decision | None) -> Status:
    """What a post's verdict and decision add up to (the same rule as `Store.recent_posts`)."""
    blocked = verdict is not None and verdict.reason == BLOCKED_AUTHOR
    if decision == "hide" or blocked:
        return "hidden"
    if decision in ("approve", "pin") or verdict is None or verdict.shown:
        return "shown"
    return "awaiting" if verdict.reason == AWAITING_APPROVAL else "hidden"


def author_key(post: Post) -> str:
    """What `block author` stores: the handle when the network gives one, else the display name."""
    return post.author.handle.strip() or post.author.name.strip()


@dataclass(frozen=True, slots=True)
class BlockedAuthor:
    """An author blocked from the moderation page: the handle or name the block matches (`author_key`),
    what the page showed of them, who blocked them and when. `in_config`: `wall.toml`'s own
    `blocked_authors` hide them too, so unblocking them on the page alone brings nothing back."""

    author: str
    who: str
    at: datetime
    network: str = ""
    name: str = ""
    post_key: str = ""
    in_config: bool = False


# --- announcements published from the moderation page -------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishedAnnouncement:
    """An announcement comms published from the page: shown instead of the configured one."""

    title: str
    text: str
    qr: str = ""
    who: str = ""
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the store's `meta` value)."""
        at = as_utc(self.at).isoformat() if self.at is not None else None
        return {"title": self.title, "text": self.text, "qr": self.qr, "who": self.who, "at": at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublishedAnnouncement:
        """The inverse of `to_dict`."""
        at = data.get("at")
        return cls(
            title=str(data.get("title", "")),
            text=str(data.get("text", "")),
            qr=str(data.get("qr", "")),
            who=str(data.get("who", "")),
            at=datetime.fromisoformat(at) if at else None,
        )
