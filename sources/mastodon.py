"""Mastodon (and Mastodon-API servers such as snac2): hashtag timelines and follower counts.

Fetching is `MastodonSource.poll`; parsing is pure (`parse_status`, `parse_statuses`,
`parse_follower_count`) and tested on payloads shaped as the Mastodon API documents them.
Ids are opaque strings (snac2 uses hex): their order comes from the API's lists, never from comparing them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from sources.base import (
    ConfigError,
    Fetched,
    HttpFetcher,
    SourceSettings,
    TransientError,
    check_api_root,
    redact_url,
    secret_value,
    unique_hashtags,
)
from wall.model import Author, Batch, Count, Media, Post, PostKind, parse_iso, utcnow
from wall.text import clean_text, html_to_text

NETWORK = "mastodon"
MAX_LIMIT = 40  # Mastodon refuses more than 40 statuses a page
MEDIA_KINDS = frozenset({"image", "gifv", "video", "audio"})
PARSE_CHUNK = 20  # statuses parsed between two yields to the event loop
# Unlisted, private and direct statuses asked not to be shown publicly; the lobby is public.
SHOWN_VISIBILITIES = frozenset({"public"})

_HASHTAG = re.compile(r"^[\w·]+$")
_ACCT = re.compile(r"^[^\s@/?#]+(@[^\s@/?#]+)?$")
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_REL = re.compile(r"""(?i)\brel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""")


class MastodonSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "mastodon"`: hashtags to show and accounts to count."""

    type: Literal["mastodon"] = Field(description="Which adapter reads this source")
    base_url: str = Field(description="The instance, e.g. https://mastodon.social")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags whose public posts are shown")
    accounts: list[str] = Field(
        default_factory=list, description="Accounts (user or user@domain) whose followers are counted"
    )
    token: SecretStr | None = Field(None, description="Optional access token, sent as a Bearer token")
    limit: int = Field(MAX_LIMIT, ge=1, le=MAX_LIMIT, description="Statuses asked for per page")
    max_pages: int = Field(10, ge=1, le=100, description="Pages fetched per hashtag and poll at most")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example="https://mastodon.example", secret="token")

    @field_validator("hashtags")
    @classmethod
    def _check_hashtags(cls, values: list[str]) -> list[str]:
        return unique_hashtags(values, _HASHTAG, "use letters, digits and _ only, as in 'brand'")

    @field_validator("accounts")
    @classmethod
    def _check_accounts(cls, values: list[str]) -> list[str]:
        accounts: list[str] = []
        for raw in values:
            acct = raw.strip().removeprefix("@")
            if not _ACCT.match(acct):
                raise ValueError(f"{raw!r} is not an account: write it as 'user' or 'user@domain'")
            if acct not in accounts:
                accounts.append(acct)
        return accounts

    @model_validator(mode="after")
    def _needs_something(self) -> MastodonSettings:
        if not self.hashtags and not self.accounts:
            raise ValueError("a mastodon source needs at least one entry in `hashtags` or `accounts`")
        return self


class MastodonSource:
    """Polls hashtag timelines (only statuses newer than the last poll) and accounts' follower counts.

    A poll is all or nothing: if any request fails, the cursors do not move and the next poll
    fetches the same statuses again.
    """

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: MastodonSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.instance_host = instance_host(settings.base_url)
        self._cursors: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"MastodonSource(name={self.settings.name!r}, base_url={self.settings.base_url!r})"

    async def poll(self) -> Batch:
        """Fetch new statuses of every hashtag and the follower count of every account."""
        cursors: dict[str, str | None] = dict(self._cursors)
        posts: dict[str, Post] = {}
        for tag in self.settings.hashtags:
            items, cursors[tag] = await self._fetch_tag(tag, cursors.get(tag))
            for start in range(0, len(items), PARSE_CHUNK):
                for post in self._parse(items[start : start + PARSE_CHUNK]):
                    posts.setdefault(post.id, post)
                await asyncio.sleep(0)  # parsing runs on the GUI thread's loop: let a frame through
        observed_at = self.clock()
        counts = [await self._fetch_count(acct, observed_at) for acct in self.settings.accounts]
        self._cursors = {tag: cursor for tag, cursor in cursors.items() if cursor is not None}
        return Batch(posts=tuple(posts.values()), counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """The newest status id seen per hashtag, to resume after a restart."""
        return {"cursors": dict(self._cursors)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; entries for hashtags no longer configured or malformed are dropped."""
        cursors = state.get("cursors")
        if not isinstance(cursors, Mapping):
            self._cursors = {}
            return
        self._cursors = {
            tag: cursor
            for tag, cursor in cursors.items()
            if tag in self.settings.hashtags and isinstance(cursor, str) and cursor
        }

    # -- fetching ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        # Servers that silently drop pooled connections (snac2) are handled by HttpFetcher's retry.
        headers: dict[str, str] = {}
        if token := secret_value(self.settings.token):
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _get_json(self, url: str, params: Mapping[str, Any] | None) -> tuple[Fetched, Any]:
        # Cursors already make each request ask only for what is new; a 304 would only hide a count.
        fetched = await self.http.get(url, params=params, headers=self._headers(), conditional=False)
        return fetched, fetched.json()

    async def _get_page(self, url: str, params: Mapping[str, Any] | None) -> tuple[Fetched, list[Any]]:
        fetched, payload = await self._get_json(url, params)
        if not isinstance(payload, list):
            raise TransientError(
                f"unexpected answer from {redact_url(fetched.url)}: expected a list of statuses"
            )
        return fetched, payload

    async def _fetch_tag(self, tag: str, cursor: str | None) -> tuple[list[Any], str | None]:
        """Raw statuses of `tag` newer than `cursor`, newest first, and the new cursor.

        Without a cursor only the latest page is read. With one, pages are read from just after the
        cursor towards the present (`min_id`), following `Link: rel="prev"` when the server sends it.
        """
        tag_url = f"{self.settings.base_url}/api/v1/timelines/tag/{quote(tag, safe='')}"
        if cursor is None:
            _, items = await self._get_page(tag_url, {"limit": self.settings.limit})
            return items, first_id(items)
        pages: list[list[Any]] = []
        newest = cursor
        url: str = tag_url
        params: dict[str, Any] | None = self._min_id_params(cursor)
        for _ in range(self.settings.max_pages):
            fetched, items = await self._get_page(url, params)
            page_newest = first_id(items)
            # A server that ignores min_id would hand back the same page forever.
            if page_newest is None or page_newest == newest:
                break
            pages.append(items)
            newest = page_newest
            if len(items) < self.settings.limit:
                break
            url, params = self._next_page(fetched, tag_url, newest)
        return [item for page in reversed(pages) for item in page], newest

    def _min_id_params(self, cursor: str) -> dict[str, Any]:
        return {"limit": self.settings.limit, "min_id": cursor}

    def _next_page(self, fetched: Fetched, tag_url: str, newest: str) -> tuple[str, dict[str, Any] | None]:
        """Where the statuses newer than `newest` are: the `prev` link, or `min_id` without one."""
        link = parse_link_header(fetched.headers.get("link", "")).get("prev")
        # Only follow links to the instance itself: the token must not travel anywhere else.
        if link and same_origin(link, self.settings.base_url):
            return link, None
        return tag_url, self._min_id_params(newest)

    async def _fetch_count(self, acct: str, observed_at: datetime) -> Count:
        url = f"{self.settings.base_url}/api/v1/accounts/lookup"
        try:
            fetched, payload = await self._get_json(url, {"acct": acct})
        except ConfigError:
            raise ConfigError(
                f"mastodon account {acct!r} not found on {self.settings.base_url}: check `accounts`"
            ) from None
        count = parse_follower_count(
            payload, source=self.settings.name, account=acct, observed_at=observed_at
        )
        if count is None:
            raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: expected an account")
        return count

    def _parse(self, items: Sequence[Any]) -> list[Post]:
        return parse_statuses(
            items, source=self.settings.name, kind=self.settings.kind, instance_host=self.instance_host
        )


# -- pure helpers ---------------------------------------------------------------------------------


def instance_host(base_url: str) -> str:
    """The instance's host (with its port, if any) as it appears in `user@host` handles."""
    return urlsplit(base_url).netloc.rsplit("@", 1)[-1]


def same_origin(url: str, base_url: str) -> bool:
    """True when `url` has the scheme and host:port of `base_url`."""
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())


def parse_link_header(value: str) -> dict[str, str]:
    """`rel -> URL` from an RFC 8288 `Link` header (the first link of each rel wins)."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value):
        url, params = match.group(1).strip(), match.group(2)
        rel = _REL.search(params)
        if not rel or not url:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            links.setdefault(name, url)
    return links


def first_id(items: Sequence[Any]) -> str | None:
    """The id of the first (newest) status in a page that has one."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
            return str(item["id"])
    return None


def http_url(value: Any) -> str:
    """`value` if it is an http(s) URL, else ''."""
    if isinstance(value, str) and urlsplit(value.strip()).scheme in ("http", "https"):
        return value.strip()
    return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def parse_author(account: Any, *, instance_host: str) -> Author | None:
    """The author of a status from an Account entity; None when it has no usable acct."""
    if not isinstance(account, dict):
        return None
    username = clean_text(_text(account.get("username")))
    acct = _text(account.get("acct")).strip() or username
    if not acct:
        return None
    if "@" not in acct and instance_host:
        acct = f"{acct}@{instance_host}"  # local accounts have no domain in `acct`
    name = clean_text(_text(account.get("display_name"))) or username or acct.split("@", 1)[0]
    avatar = http_url(account.get("avatar_static")) or http_url(account.get("avatar"))
    return Author(name=name, handle=f"@{acct}", avatar_url=avatar)


def parse_media(items: Any) -> tuple[Media, ...]:
    """Images, GIFs, videos and audio with their alt text; other kinds and non-http URLs are dropped."""
    if not isinstance(items, list):
        return ()
    media: list[Media] = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in MEDIA_KINDS:
            continue
        url = http_url(item.get("url")) or http_url(item.get("remote_url"))
        if not url:
            continue
        alt = clean_text(_text(item.get("description")))
        media.append(
            Media(url=url, alt=alt, kind=str(item["type"]), preview_url=http_url(item.get("preview_url")))
        )
    return tuple(media)


def parse_tags(items: Any) -> tuple[str, ...]:
    """Names of a status's hashtags."""
    if not isinstance(items, list):
        return ()
    return tuple(
        name for item in items if isinstance(item, dict) and (name := _text(item.get("name")).strip())
    )


def parse_status(obj: Any, *, source: str, kind: PostKind, instance_host: str) -> Post | None:
    """A Post from a Mastodon Status entity; None when it is malformed or not public.

    A boost shows the boosted status (its id, text and author) with `boosted_by` set to the booster.
    """
    if not isinstance(obj, dict):
        return None
    boosted_by: Author | None = None
    if obj.get("reblog") is not None:
        boosted_by = parse_author(obj.get("account"), instance_host=instance_host)
        if boosted_by is None:
            return None
        obj = obj["reblog"]
        if not isinstance(obj, dict):
            return None
    status_id = obj.get("id")
    author = parse_author(obj.get("account"), instance_host=instance_host)
    created_at = _time(obj.get("created_at"))
    if not isinstance(status_id, str) or not status_id or author is None or created_at is None:
        return None
    if obj.get("visibility", "public") not in SHOWN_VISIBILITIES:
        return None
    language = obj.get("language")
    return Post(
        id=status_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=html_to_text(_text(obj.get("content"))),
        created_at=created_at,
        url=http_url(obj.get("url")) or http_url(obj.get("uri")),
        media=parse_media(obj.get("media_attachments")),
        sensitive=obj.get("sensitive") is True,
        spoiler_text=clean_text(_text(obj.get("spoiler_text"))),
        language=language if isinstance(language, str) and language else None,
        edited_at=_time(obj.get("edited_at")),
        is_reply=obj.get("in_reply_to_id") is not None,
        boosted_by=boosted_by,
        tags=parse_tags(obj.get("tags")),
    )


def parse_statuses(payload: Any, *, source: str, kind: PostKind, instance_host: str) -> list[Post]:
    """Posts from a list of Status entities, in the API's order, skipping malformed items.

    A payload that is not a list is a TransientError: the server answered something else.
    """
    if not isinstance(payload, list):
        raise TransientError(
            f"unexpected mastodon answer: expected a list of statuses, got {type(payload).__name__}"
        )
    posts = (parse_status(item, source=source, kind=kind, instance_host=instance_host) for item in payload)
    return [post for post in posts if post is not None]


def parse_follower_count(obj: Any, *, source: str, account: str, observed_at: datetime) -> Count | None:
    """A followers Count from an Account entity; None when `obj` is not an account.

    A missing or negative `followers_count` (hidden by the server) is an unknown value, not zero.
    """
    if not isinstance(obj, dict) or not _text(obj.get("acct") or obj.get("username")):
        return None
    followers = obj.get("followers_count")
    known = isinstance(followers, int) and not isinstance(followers, bool) and followers >= 0
    value = followers if known else None
    label = clean_text(_text(obj.get("display_name"))) or clean_text(_text(obj.get("username"))) or account
    return Count(
        source=source,
        network=NETWORK,
        account=account,
        value=value,
        observed_at=observed_at,
        label=label,
        metric="followers",
    )
