"""Viva Engage (formerly Yammer): the messages of configured groups, read with the REST API v1.

Fetching is `VivaEngageSource.poll`; parsing is pure (`parse_message`, `parse_page`, `parse_time`,
`find_deleted`) and tested on payloads shaped as the API documentation shows them.

- `GET /messages/in_group/{id}.json` answers `messages[]` (newest first), `references[]` (the users,
  threads, groups and topics the messages name: the author's name and picture are there, found by
  `sender_type` + `sender_id`) and `meta` (`older_available`, ...). Ids are integers that grow with
  time, so the cursor of a group is its newest message id, sent back as `newer_than`. The first poll
  without a cursor reads one page (`limit`); a burst larger than a page is read with `older_than`
  (and the same `newer_than`) for at most `max_pages` pages, the oldest part of a larger burst is skipped.
- Rate limits are per user per app: 10 requests in 30 seconds for messages, and Microsoft asks not to
  poll messages more than once a minute, so `interval` cannot go below 60 s. Each poll costs one
  request per group (more only for bursts), plus the deletion check below. 429 is RateLimited,
  waiting Retry-After (or `RATE_LIMIT_WAIT_SECONDS`).
- The API does not tell anyone about deletions. Every `deletion_check_minutes`, the newest messages
  of each group are read again, back to `deletion_window_hours` (at most `max_pages` pages); a message
  the wall showed within that window that is no longer there is reported in `Batch.deleted`. The ids
  shown (and their dates) are kept in `state()` so this also works after a restart; messages older than
  the window, or older than what the pages covered, are never reported.
- System messages ("X joined the group") and direct messages are skipped. Text is `body.plain`
  (else `rich` as HTML, else `parsed` with its `[[user:id]]` references written out), after the
  announcement `title` when there is one. Tags are the `#words` of the text plus the thread's topics
  from the references. Image attachments become Media; `image_headers` gives the bearer header for
  pictures on base_url's origin (file previews), {} elsewhere (the avatar CDN is public).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    RateLimited,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    bearer_for,
    check_api_root,
    parse_retry_after,
    raise_for_status,
    redact_url,
    required_secret,
    secret_value,
    text_hashtags,
)
from sources.payload import as_dict, as_list, as_text, http_url, iso_time
from wall.core.model import Author, Batch, Media, Post, PostKind, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK = "vivaengage"
DEFAULT_BASE_URL = "https://www.yammer.com/api/v1"
PAGE_SIZE = 20  # what one page of messages holds
AVATAR_SIZE_PX = 128  # pixels asked from `mugshot_url_template`
RATE_LIMIT_WAIT_SECONDS = 30.0  # messages are limited to 10 requests in 30 s
MAX_SEEN_PER_GROUP = 200  # ids remembered per group for the deletion check
MAX_MEDIA_PER_POST = 4
MAX_GROUPS = 10

_GROUP_ID = re.compile(r"^\d{1,20}$")
_REFERENCE = re.compile(r"\[\[(\w+):(\d{1,20})\]\]")


class VivaEngageSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "vivaengage"`: groups (communities) whose messages are shown."""

    type: Literal["vivaengage"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(
        120, ge=60, le=86400, description="Seconds between polls (Viva Engage asks for at most one a minute)"
    )
    base_url: str = Field(DEFAULT_BASE_URL, description="REST API root")
    groups: list[str] = Field(
        min_length=1, max_length=MAX_GROUPS, description="Group (community) ids: the digits in its link"
    )
    token: SecretStr | None = Field(None, description="Access token of the account that reads the groups")
    limit: int = Field(PAGE_SIZE, ge=1, le=PAGE_SIZE, description="Messages asked per request")
    max_pages: int = Field(3, ge=1, le=10, description="Pages read per group and poll at most")
    deletion_window_hours: float = Field(
        24, ge=0, le=168, description="Messages younger than this are checked for deletion (0: never)"
    )
    deletion_check_minutes: float = Field(
        10, ge=1, le=1440, description="How often the groups are read again to find deleted messages"
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("groups", mode="before")
    @classmethod
    def _check_groups(cls, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        groups: list[str] = []
        for raw in values:
            group = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
            if not _GROUP_ID.match(group):
                raise ValueError(
                    f"{raw!r} is not a group id: give the number in the group's link (feedId=...), "
                    "e.g. 31158067201"
                )
            if group not in groups:
                groups.append(group)
        return groups


class VivaEngageSource(SourceBase):
    """Polls each group for messages newer than its cursor, and now and then re-reads them for deletions."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: VivaEngageSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._cursors: dict[str, int] = {}
        self._seen: dict[str, dict[str, datetime]] = {}
        self._next_check: datetime | None = None

    def __repr__(self) -> str:
        return f"VivaEngageSource(name={self.settings.name!r}, groups={self.settings.groups!r})"

    async def poll(self) -> Batch:
        """New messages of every group, then (when due) the ids of shown messages since deleted.

        All or nothing: if a request fails, cursors and remembered ids stay as they were.
        """
        now = self.clock()
        cursors = dict(self._cursors)
        seen = {group: dict(ids) for group, ids in self._seen.items()}
        posts: dict[str, Post] = {}
        for group in self.settings.groups:
            pages = await self._fetch_new(group, cursors.get(group))
            group_seen = seen.setdefault(group, {})
            for payload in pages:
                for post in parse_page(payload, source=self.settings.name, kind=self.settings.kind):
                    if post.id not in posts:
                        posts[post.id] = post
                        group_seen[post.id] = post.created_at
                newest = max(message_ids(payload), default=None)
                if newest is not None and newest > cursors.get(group, 0):
                    cursors[group] = newest
        deleted: list[str] = []
        window = timedelta(hours=self.settings.deletion_window_hours)
        check_every = timedelta(minutes=self.settings.deletion_check_minutes)
        next_check = self._next_check or now + check_every  # the first poll has just read everything
        if window and now >= next_check:
            for group in self.settings.groups:
                gone = await self._check_deletions(group, seen.get(group, {}), now - window)
                for post_id in gone:
                    seen[group].pop(post_id, None)
                    deleted.append(post_id)
            next_check = now + check_every
        self._next_check = next_check
        self._cursors = cursors
        self._seen = {group: trim_seen(ids, now - window) for group, ids in seen.items() if ids}
        return Batch(posts=tuple(posts.values()), deleted=tuple(deleted))

    def state(self) -> dict[str, Any]:
        """Per group: the newest message id (cursor) and the shown ids still checked for deletion."""
        return {
            "cursors": {group: str(cursor) for group, cursor in self._cursors.items()},
            "seen": {
                group: {post_id: created.isoformat() for post_id, created in ids.items()}
                for group, ids in self._seen.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; groups no longer configured and malformed entries are dropped."""
        self._cursors, self._seen = {}, {}
        groups = set(self.settings.groups)
        cursors = state.get("cursors")
        for group, cursor in (cursors if isinstance(cursors, Mapping) else {}).items():
            if group in groups and isinstance(cursor, str) and cursor.isdigit():
                self._cursors[group] = int(cursor)
        seen = state.get("seen")
        for group, ids in (seen if isinstance(seen, Mapping) else {}).items():
            if group not in groups or not isinstance(ids, Mapping):
                continue
            kept: dict[str, datetime] = {}
            for post_id, created in ids.items():
                when = iso_time(created)
                if isinstance(post_id, str) and post_id.isdigit() and when is not None:
                    kept[post_id] = when
            if kept:
                self._seen[group] = kept

    def image_headers(self, url: str) -> dict[str, str]:
        """The bearer header for a picture on base_url's origin (file previews), {} for anything else."""
        return bearer_for(url, self.settings.base_url, secret_value(self.settings.token))

    # -- fetching ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = required_secret(self.settings.token, self.settings, "token")
        return {"Authorization": f"Bearer {token}"}

    async def _get_page(self, group: str, params: Mapping[str, str]) -> dict[str, Any]:
        url = f"{self.settings.base_url}/messages/in_group/{quote(group, safe='')}.json"
        fetched = await self.http.get(
            url, params=params, headers=self._headers(), conditional=False, raise_errors=False
        )
        if fetched.status >= 400:
            raise classify_error(fetched, group=group)
        payload = fetched.json()
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no `messages` list")
        return payload

    async def _fetch_new(self, group: str, cursor: int | None) -> list[dict[str, Any]]:
        """Pages of messages newer than `cursor` (one page when there is no cursor yet)."""
        limit = self.settings.limit
        if cursor is None:
            payload = await self._get_page(group, {"limit": str(limit)})
            payload["messages"] = payload["messages"][:limit]
            return [payload]
        pages: list[dict[str, Any]] = []
        params = {"newer_than": str(cursor), "limit": str(limit)}
        for _ in range(self.settings.max_pages):
            payload = await self._get_page(group, params)
            payload["messages"] = payload["messages"][:limit]  # what was asked for, whatever was sent
            full_page = len(payload["messages"]) >= limit
            # A server ignoring newer_than must not bring old messages back.
            payload["messages"] = [m for m in payload["messages"] if (_id(m) or 0) > cursor]
            if not payload["messages"]:
                break
            pages.append(payload)
            oldest = min(message_ids(payload))
            if not (full_page and older_available(payload)):
                break
            params = {"newer_than": str(cursor), "older_than": str(oldest), "limit": str(limit)}
        return pages

    async def _check_deletions(
        self, group: str, seen: Mapping[str, datetime], horizon: datetime
    ) -> list[str]:
        """Ids of `seen` messages younger than `horizon` that the group no longer lists."""
        candidates = {post_id: created for post_id, created in seen.items() if created >= horizon}
        if not candidates:
            return []
        pages: list[dict[str, Any]] = []
        params = {"limit": str(self.settings.limit)}
        for _ in range(self.settings.max_pages):
            payload = await self._get_page(group, params)
            pages.append(payload)
            ids = message_ids(payload)
            if not ids or not older_available(payload) or oldest_time(payload) < horizon:
                break
            params = {"older_than": str(min(ids)), "limit": str(self.settings.limit)}
        return find_deleted(candidates, pages, horizon)


# -- pure helpers ---------------------------------------------------------------------------------------


def classify_error(fetched: Fetched, *, group: str) -> SourceError:
    """The error an in_group answer means from its status (the body is not copied)."""
    shown = redact_url(fetched.url)
    status = fetched.status
    if status == 401:
        return AuthError(
            f"Viva Engage refused the token (HTTP 401) at {shown}: it is wrong or expired; "
            "create a new one and set `token`"
        )
    if status == 403:
        return AuthError(
            f"the token's user may not read group {group!r} (HTTP 403) at {shown}: make that user a "
            "member of the group, or remove the group from `groups`"
        )
    if status == 404:
        return ConfigError(
            f"group {group!r} not found (HTTP 404) at {shown}: check `groups` (the number in the "
            "group's link) and base_url"
        )
    if status == 429:
        wait = parse_retry_after(fetched.headers.get("retry-after"))
        return RateLimited(
            f"Viva Engage rate limit reached (HTTP 429) at {shown}",
            wait if wait is not None else RATE_LIMIT_WAIT_SECONDS,
        )
    try:
        raise_for_status(status, fetched.headers, shown)
    except SourceError as exc:
        return exc
    return TransientError(f"unexpected answer from {shown} (HTTP {status})")  # pragma: no cover


def parse_time(value: Any) -> datetime | None:
    """A Yammer timestamp (`2024/01/31 10:00:00 +0000`, or ISO 8601) as aware UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.strptime(value.strip(), "%Y/%m/%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return iso_time(value)


def _id(obj: Any) -> int | None:
    """A message or reference id (a JSON number, or digits in a string)."""
    raw = obj.get("id") if isinstance(obj, dict) else obj
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None


def message_ids(payload: Mapping[str, Any]) -> list[int]:
    """The ids of a page's messages, skipped ones (system messages) included."""
    messages = payload.get("messages")
    return [i for m in messages if (i := _id(m)) is not None] if isinstance(messages, list) else []


def older_available(payload: Mapping[str, Any]) -> bool:
    """`meta.older_available`: more messages exist below this page."""
    meta = payload.get("meta")
    return isinstance(meta, dict) and meta.get("older_available") is True


def oldest_time(payload: Mapping[str, Any]) -> datetime:
    """The creation time of the oldest message of a page (far past when there is none)."""
    times = [
        when
        for m in as_list(payload.get("messages"))
        if isinstance(m, dict) and (when := parse_time(m.get("created_at"))) is not None
    ]
    return min(times, default=datetime.min.replace(tzinfo=UTC))


def find_deleted(
    candidates: Mapping[str, datetime], pages: list[dict[str, Any]], horizon: datetime
) -> list[str]:
    """Ids of `candidates` missing from `pages` (the newest messages, newest page first).

    Only the span the pages cover counts: everything when the group has nothing older or the last
    page went past `horizon`, else only ids at least as new as the oldest message read.
    """
    present = {str(i) for page in pages for i in message_ids(page)}
    ids = [i for page in pages for i in message_ids(page)]
    last = pages[-1] if pages else {}
    covered_all = not older_available(last) or oldest_time(last) < horizon
    lowest = min(ids, default=0)
    return sorted(
        post_id
        for post_id in candidates
        if post_id not in present and (covered_all or int(post_id) >= lowest)
    )


def trim_seen(ids: Mapping[str, datetime], horizon: datetime) -> dict[str, datetime]:
    """The remembered ids still inside the deletion window, newest `MAX_SEEN_PER_GROUP` only."""
    kept = sorted(((i, c) for i, c in ids.items() if c >= horizon), key=lambda pair: int(pair[0]))
    return dict(kept[-MAX_SEEN_PER_GROUP:])


def index_references(references: Any) -> dict[tuple[str, int], dict[str, Any]]:
    """References by (type, id)."""
    index: dict[tuple[str, int], dict[str, Any]] = {}
    for ref in references if isinstance(references, list) else []:
        ref_id = _id(ref)
        if isinstance(ref, dict) and isinstance(ref.get("type"), str) and ref_id is not None:
            index[(ref["type"], ref_id)] = ref
    return index


def avatar_url(user: Mapping[str, Any]) -> str:
    """The user's picture at AVATAR_SIZE_PX, '' for the default silhouette."""
    template = user.get("mugshot_url_template")
    url = ""
    if isinstance(template, str):
        url = http_url(
            template.replace("{width}", str(AVATAR_SIZE_PX)).replace("{height}", str(AVATAR_SIZE_PX))
        )
    url = url or http_url(user.get("mugshot_url"))
    return "" if "no_photo" in urlsplit(url).path else url


def parse_author(obj: Mapping[str, Any], refs: Mapping[tuple[str, int], dict[str, Any]]) -> Author | None:
    """The sender from the references (`sender_type`, `sender_id`); None when it is not referenced."""
    sender_type = obj.get("sender_type") if isinstance(obj.get("sender_type"), str) else "user"
    sender_id = _id(obj.get("sender_id"))
    user = refs.get((str(sender_type), sender_id)) if sender_id is not None else None
    if user is None:
        return None
    username = clean_text(as_text(user.get("name")))
    name = clean_text(as_text(user.get("full_name"))) or username
    if not name:
        return None
    return Author(name=name, handle=f"@{username}" if username else "", avatar_url=avatar_url(user))


def written_out(parsed: str, refs: Mapping[tuple[str, int], dict[str, Any]]) -> str:
    """`body.parsed` with its `[[type:id]]` references replaced by names (tags keep their '#')."""

    def name(match: re.Match[str]) -> str:
        kind, ref_id = match.group(1), int(match.group(2))
        ref = refs.get((kind, ref_id)) or (refs.get(("topic", ref_id)) if kind == "tag" else None) or {}
        label = ref.get("full_name") or ref.get("name")
        if not isinstance(label, str):
            return ""
        return f"#{label}" if kind in ("tag", "topic") else label

    return _REFERENCE.sub(name, parsed)


def message_text(obj: Mapping[str, Any], refs: Mapping[tuple[str, int], dict[str, Any]]) -> str:
    """Plain text of a message: its title, then `plain` (else `rich` HTML, else `parsed`)."""
    body = as_dict(obj.get("body"))
    plain, rich, parsed = body.get("plain"), body.get("rich"), body.get("parsed")
    if isinstance(plain, str) and plain.strip():
        text = clean_text(plain)
    elif isinstance(rich, str) and rich.strip():
        text = html_to_text(rich)
    elif isinstance(parsed, str):
        text = clean_text(html.unescape(written_out(parsed, refs)))
    else:
        text = ""
    title = clean_text(as_text(obj.get("title")))
    return clean_text(f"{title}\n\n{text}") if title else text


def thread_topics(obj: Mapping[str, Any], refs: Mapping[tuple[str, int], dict[str, Any]]) -> list[str]:
    """Names of the topics of the message's thread, from the `thread` and `topic` references."""
    thread_id = _id(obj.get("thread_id"))
    thread = refs.get(("thread", thread_id)) if thread_id is not None else None
    names: list[str] = []
    for topic in as_list((thread or {}).get("topics")):
        topic_id = _id(topic)
        ref = refs.get(("topic", topic_id)) if topic_id is not None else None
        name = (ref or {}).get("normalized_name") or (ref or {}).get("name")
        if isinstance(name, str) and name.strip():
            names.append(name.strip().lstrip("#").lower())
    return names


def parse_images(items: Any) -> list[Media]:
    """Image attachments: a large preview (else the image, else the preview) with its description."""
    media: list[Media] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("type") != "image":
            continue
        image = as_dict(item.get("image"))
        url = (
            http_url(item.get("large_preview_url"))
            or http_url(image.get("url"))
            or http_url(item.get("preview_url"))
        )
        if not url:
            continue
        preview = http_url(item.get("preview_url")) or http_url(image.get("thumbnail_url"))
        alt = clean_text(as_text(item.get("description"))) or clean_text(as_text(item.get("name")))
        media.append(Media(url, alt, "image", preview if preview != url else ""))
    return media


def parse_message(
    obj: Any, refs: Mapping[tuple[str, int], dict[str, Any]], *, source: str, kind: PostKind
) -> Post | None:
    """A Post from a message; None for system or direct messages, unknown senders and malformed ones."""
    if not isinstance(obj, dict) or obj.get("system_message") is True or obj.get("direct_message") is True:
        return None
    if obj.get("message_type") == "system":
        return None
    message_id = _id(obj)
    created_at = parse_time(obj.get("created_at"))
    author = parse_author(obj, refs)
    if message_id is None or created_at is None or author is None:
        return None
    text = message_text(obj, refs)
    tags = list(text_hashtags(text))
    tags += [topic for topic in thread_topics(obj, refs) if topic not in tags]
    return Post(
        id=str(message_id),
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=text,
        created_at=created_at,
        url=http_url(obj.get("web_url")),
        media=tuple(parse_images(obj.get("attachments"))[:MAX_MEDIA_PER_POST]),
        is_reply=_id(obj.get("replied_to_id")) is not None,
        tags=tuple(tags),
    )


def parse_page(payload: Any, *, source: str, kind: PostKind) -> list[Post]:
    """The posts of one `messages/in_group` answer, newest first."""
    if not isinstance(payload, dict):
        return []
    refs = index_references(payload.get("references"))
    messages = payload.get("messages")
    posts = [parse_message(m, refs, source=source, kind=kind) for m in as_list(messages)]
    return [post for post in posts if post is not None]
