"""Employees' consent and privacy for what a source may put on the lobby screen (pure, Qt-free).

The rules, per `[[sources]]` entry (defaults depend on the source's `kind`):

- `require_tag`: a post is shown only when it carries one of these tags, so an employee chooses to
  be on the lobby screen by writing `#mur`. On by default (`mur`, `lobby`) for internal sources.
- `opt_out`: authors never shown, matched on their handle (with or without '@' or a domain) or
  their full name; adding one removes their stored posts and cached pictures at the next start or
  config reload.
- `show_authors`: `full`, `first_initial` ("Alice M.", the default for internal sources) or `none`.
  Applied when posts are shown; the store keeps what the network said, for `retention_days` only.
- `retention_days`: posts older than this leave the store and the image cache (7 days by default
  for internal sources; public mentions are only capped by count).

A post refused here is never stored: the Engine turns it into a deletion, so an edit that removes
the tag also takes the post off the screen.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sources.contract import SourceSettings
from wall.core.model import Author, Post, as_utc

AuthorDisplay = Literal["full", "first_initial", "none"]

DEFAULT_TAGS = ("mur", "lobby")
INTERNAL_RETENTION_DAYS = 7.0
_TAG = re.compile(r"^[^\W_][\w-]*$")
_HANDLE_SPLIT = re.compile(r"[@:]")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def normalize_tags(value: bool | str | list[str] | None, *, internal: bool) -> tuple[str, ...]:
    """The tags `require_tag` asks for, folded and without '#' (empty: no tag needed)."""
    if value is None:
        value = internal
    if value is True:
        return DEFAULT_TAGS
    if value is False:
        return ()
    raw = [value] if isinstance(value, str) else list(value)
    tags: list[str] = []
    for item in raw:
        tag = _fold(item).lstrip("#")
        if not _TAG.match(tag):
            raise ValueError(f"{item!r} is not a tag: write it like 'mur' or '#mur'")
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _handle_keys(handle: str) -> set[str]:
    """Ways a handle can be written in `opt_out`: '@alice:corp.fr', 'alice:corp.fr', 'alice'."""
    folded = _fold(handle).lstrip("@")
    if not folded:
        return set()
    return {folded, _HANDLE_SPLIT.split(folded, maxsplit=1)[0]}


def first_initial(name: str) -> str:
    """'Alice Martin' -> 'Alice M.'; a single name stays as it is."""
    words = name.split()
    if len(words) < 2:
        return name.strip()
    return f"{words[0]} {words[-1][0].upper()}."


@dataclass(frozen=True, slots=True)
class Consent:
    """The consent rules of one source, resolved from its settings."""

    tags: tuple[str, ...] = ()
    opt_out: frozenset[str] = frozenset()
    show_authors: AuthorDisplay = "full"
    retention: timedelta | None = None

    def refusal(self, post: Post, now: datetime | None = None) -> str:
        """Why `post` may not be shown or kept ('' when it may)."""
        if self.opt_out and self._opted_out(post.author):
            return "author opted out (opt_out)"
        if self.tags and not self._tagged(post):
            wanted = " or ".join(f"#{t}" for t in self.tags)
            return f"no {wanted} tag (require_tag)"
        if self.retention is not None and now is not None and as_utc(post.created_at) < now - self.retention:
            return f"older than {self.retention.total_seconds() / 86400:g} days (retention_days)"
        return ""

    def present(self, post: Post) -> Post:
        """The post as the screen may name its author."""
        if self.show_authors == "full":
            return post
        if self.show_authors == "none":
            return replace(post, author=Author(""), boosted_by=None)
        name = post.author.name.strip() or _name_from_handle(post.author.handle)
        return replace(post, author=Author(first_initial(name), "", post.author.avatar_url), boosted_by=None)

    def _opted_out(self, author: Author) -> bool:
        keys = _handle_keys(author.handle)
        if author.name.strip():
            keys.add(_fold(author.name))
        return not keys.isdisjoint(self.opt_out)

    def _tagged(self, post: Post) -> bool:
        if any(_fold(tag).lstrip("#") in self.tags for tag in post.tags):
            return True
        text = _fold(post.text)
        return any(re.search(rf"(?<![\w#])#{re.escape(tag)}(?![\w-])", text) for tag in self.tags)


def _name_from_handle(handle: str) -> str:
    """'@alice.martin:corp.fr' -> 'Alice Martin' (for first_initial when the network gives no name)."""
    local = _HANDLE_SPLIT.split(handle.strip().lstrip("@"), maxsplit=1)[0]
    words = [part for part in re.split(r"[._]+", local) if part]
    return " ".join("-".join(piece.capitalize() for piece in word.split("-")) for word in words)


def consent_for(settings: SourceSettings) -> Consent:
    """The resolved consent rules of a configured source."""
    internal = settings.kind == "internal"
    retention = settings.retention_days
    if retention is None and internal:
        retention = INTERNAL_RETENTION_DAYS
    opt_out: set[str] = set()
    for entry in settings.opt_out:
        opt_out |= {_fold(entry)} if " " in entry.strip() else _handle_keys(entry)
    return Consent(
        tags=normalize_tags(settings.require_tag, internal=internal),
        opt_out=frozenset(opt_out),
        show_authors=settings.show_authors or ("first_initial" if internal else "full"),
        retention=timedelta(days=retention) if retention is not None else None,
    )


def split(posts: Iterable[Post], consent: Consent, now: datetime) -> tuple[list[Post], list[Post]]:
    """(admitted, refused) posts of one source."""
    admitted: list[Post] = []
    refused: list[Post] = []
    for post in posts:
        (refused if consent.refusal(post, now) else admitted).append(post)
    return admitted, refused


def image_urls(posts: Iterable[Post]) -> set[str]:
    """Every picture a post may have put in the image cache: avatars and media."""
    urls: set[str] = set()
    for post in posts:
        for author in (post.author, post.boosted_by):
            if author is not None and author.avatar_url:
                urls.add(author.avatar_url)
        for media in post.media:
            urls.update(u for u in (media.url, media.preview_url) if u)
    return urls


def shown_posts(posts: Iterable[Post], consents: Mapping[str, Consent], now: datetime) -> list[Post]:
    """Stored posts of several sources as the screen may show them: only those their source's rules
    still allow (retention may have passed since they were stored), authors named as configured."""
    shown: list[Post] = []
    for post in posts:
        consent = consents.get(post.source)
        if consent is None:
            shown.append(post)
        elif not consent.refusal(post, now):
            shown.append(consent.present(post))
    return shown
