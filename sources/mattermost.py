"""Mattermost channels (an internal enterprise social network) read with the REST API v4.

Fetching is `MattermostSource.poll`; parsing is pure (`parse_post_list`, `parse_post`, `parse_user`,
`classify_error`) and tested on payloads shaped as the API reference documents them.

- Posts: `GET /api/v4/channels/{id}/posts`. The first poll reads one bounded page
  (`page=0&per_page=limit`); later polls ask `since=<ms>` (the highest `update_at` seen), which
  returns every post created, edited or deleted since then (at most 1000): `delete_at > 0` goes to
  `Batch.deleted`, `edit_at` becomes `edited_at`. `since` also returns posts whose `update_at` moved
  for other reasons (a reaction, a pin, a reply's root for context): those are shown again only
  when they were created or edited after the cursor, so an old post that gets a reaction does not
  come back. Posts created before the first page ever read (`floor`) are never shown.
- Channels are ids or `team/channel` names, resolved once with
  `GET /api/v4/teams/name/{team}/channels/name/{channel}` and kept for the life of the source.
- Authors: `POST /api/v4/users/ids` for the users not yet known, one request per poll, cached for a
  day (names and pictures change). A post whose author cannot be read is not shown: the lobby's
  consent rules need to know who wrote it.
- Shown: posts of type "" and "me" (people talking); `system_*` and plugin types are skipped, and so
  are bot and webhook posts unless `include_bots`.
- Avatars, images (`/api/v4/files/{id}/preview`) and the token: those URLs are on the server and need
  the token; `image_headers(url)` gives the Authorization header for that origin only.
- Errors: Mattermost answers `{"id": "...", "message": "...", "status_code": N}`; only the `id` (an
  identifier) is repeated in messages, never the server's free text. 429 waits `X-Ratelimit-Reset`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, TypeGuard
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    bearer_for,
    check_api_root,
    raise_for_status,
    redact_url,
    required_secret,
    secret_value,
)
from sources.markup import markdown_hashtags, markdown_to_text, split_hashtag_field
from sources.payload import MAX_EPOCH_MILLIS, as_text, json_object, millis_time
from wall.core.model import Author, Batch, Media, Post, PostKind, utcnow
from wall.core.text import clean_text

NETWORK = "mattermost"
SHOWN_TYPES = frozenset({"", "me"})  # people talking; "system_*" and plugin types ("custom_*") are not
USER_TTL = timedelta(hours=24)
MAX_USERS = 5000  # cached authors; the cache starts over beyond this

_ID = re.compile(r"^[a-z0-9]{26}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ERROR_ID = re.compile(r"^[A-Za-z0-9_.]{1,128}$")


class MattermostSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "mattermost"`: channels whose posts are shown."""

    type: Literal["mattermost"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(60, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(description="The Mattermost server, e.g. https://chat.example.com")
    channels: list[str] = Field(
        min_length=1, description="Channel ids, or team/channel names as in the channel's URL"
    )
    token: SecretStr | None = Field(None, description="Personal access token or bot token")
    limit: int = Field(30, ge=1, le=200, description="Posts read per channel on the first poll")
    include_bots: bool = Field(False, description="Also show posts of bot accounts and webhooks")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example="https://chat.example.com", secret="token")

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, values: list[str]) -> list[str]:
        channels: list[str] = []
        for raw in values:
            entry = raw.strip().lower()
            team, slash, channel = entry.partition("/")
            valid = bool(_NAME.match(team) and _NAME.match(channel)) if slash else bool(_ID.match(entry))
            if not valid:
                raise ValueError(
                    f"{raw!r} is not a channel: give its id (26 letters and digits, in the channel's "
                    "View Info) or team/channel as in its URL, e.g. 'acme/town-square'"
                )
            if entry not in channels:
                channels.append(entry)
        return channels


@dataclass(slots=True)
class ChannelCursor:
    """Where a channel's reading stands: highest `update_at` seen, and the first page's oldest post."""

    since: int
    floor: int


@dataclass(frozen=True, slots=True)
class Changes:
    """What one posts answer says: posts to show (raw), deleted ids, and the new cursor values."""

    posts: tuple[dict[str, Any], ...]
    deleted: tuple[str, ...]
    newest_update: int | None
    oldest_create: int | None


class MattermostSource(SourceBase):
    """Polls each channel for posts created, edited or deleted since the last poll."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: MattermostSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._channel_ids: dict[str, str] = {}
        self._cursors: dict[str, ChannelCursor] = {}
        self._users: dict[str, tuple[Author, datetime]] = {}

    def __repr__(self) -> str:
        return (
            f"MattermostSource(name={self.settings.name!r}, base_url={self.settings.base_url!r}, "
            f"channels={self.settings.channels!r})"
        )

    async def poll(self) -> Batch:
        """New and edited posts of every channel, and the ids of posts deleted since last time.

        All or nothing: if a request fails, no cursor moves and the next poll asks again.
        """
        token = required_secret(
            self.settings.token,
            self.settings,
            "token",
            what="a personal access token or a bot account's token",
        )
        cursors = dict(self._cursors)
        found: list[dict[str, Any]] = []
        deleted: list[str] = []
        for entry in self.settings.channels:
            channel_id = await self._channel_id(entry, token)
            cursor = cursors.get(entry)
            payload = await self._fetch_posts(entry, channel_id, cursor, token)
            changes = parse_post_list(
                payload,
                since=cursor.since if cursor else None,
                floor=cursor.floor if cursor else None,
                include_bots=self.settings.include_bots,
                limit=None if cursor else self.settings.limit,
            )
            found.extend(changes.posts)
            deleted.extend(changes.deleted)
            if cursor is not None:
                if changes.newest_update is not None:
                    cursors[entry] = ChannelCursor(max(cursor.since, changes.newest_update), cursor.floor)
            elif changes.newest_update is not None and changes.oldest_create is not None:
                cursors[entry] = ChannelCursor(changes.newest_update, changes.oldest_create)
        authors = await self._authors({str(p["user_id"]) for p in found}, token)
        posts: dict[str, Post] = {}
        for raw in found:
            author = authors.get(str(raw["user_id"]))
            post = parse_post(
                raw,
                author=author,
                source=self.settings.name,
                kind=self.settings.kind,
                base_url=self.settings.base_url,
            )
            if post is not None:
                posts[post.id] = post
        self._cursors = cursors
        gone = tuple(dict.fromkeys(d for d in deleted if d not in posts))
        return Batch(posts=tuple(posts.values()), deleted=gone)

    def state(self) -> dict[str, Any]:
        """Per configured channel, the highest `update_at` seen and the oldest post ever read."""
        return {
            "channels": {
                entry: {"since": cursor.since, "floor": cursor.floor}
                for entry, cursor in self._cursors.items()
            }
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; channels no longer configured or malformed entries are dropped."""
        self._cursors = {}
        channels = state.get("channels")
        if not isinstance(channels, Mapping):
            return
        for entry, raw in channels.items():
            if entry not in self.settings.channels or not isinstance(raw, Mapping):
                continue
            since, floor = raw.get("since"), raw.get("floor")
            if _is_millis(since) and _is_millis(floor):
                self._cursors[entry] = ChannelCursor(since, floor)

    def image_headers(self, url: str) -> dict[str, str]:
        """The Authorization header for an image URL under this server's `base_url` (avatars, files);
        {} for any other URL, so the token never travels elsewhere."""
        root = urlsplit(self.settings.base_url).path.rstrip("/")
        return bearer_for(url, self.settings.base_url, secret_value(self.settings.token), path_prefix=root)

    # -- fetching ---------------------------------------------------------------------------------

    async def _api(
        self,
        method: Literal["GET", "POST"],
        path: str,
        token: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Any:
        fetched = await self.http.request(
            method,
            f"{self.settings.base_url}/api/v4/{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            json_body=json_body,
            conditional=False,
            raise_errors=False,
        )
        if fetched.status >= 400:
            raise classify_error(fetched, what=what)
        return fetched.json()

    async def _channel_id(self, entry: str, token: str) -> str:
        if "/" not in entry:
            return entry
        if entry in self._channel_ids:
            return self._channel_ids[entry]
        team, _, name = entry.partition("/")
        payload = await self._api(
            "GET",
            f"teams/name/{quote(team, safe='')}/channels/name/{quote(name, safe='')}",
            token,
            what=f"channel {entry!r}",
        )
        channel_id = payload.get("id") if isinstance(payload, dict) else None
        if not isinstance(channel_id, str) or not _ID.match(channel_id):
            raise TransientError(f"unexpected mattermost answer for channel {entry!r}: no channel id")
        self._channel_ids[entry] = channel_id
        return channel_id

    async def _fetch_posts(
        self, entry: str, channel_id: str, cursor: ChannelCursor | None, token: str
    ) -> Any:
        params: dict[str, Any] = (
            {"since": cursor.since} if cursor is not None else {"page": 0, "per_page": self.settings.limit}
        )
        return await self._api(
            "GET", f"channels/{channel_id}/posts", token, what=f"channel {entry!r}", params=params
        )

    async def _authors(self, user_ids: Iterable[str], token: str) -> dict[str, Author]:
        now = self.clock()
        wanted = set(user_ids)
        missing = sorted(u for u in wanted if u not in self._users or now - self._users[u][1] > USER_TTL)
        if missing:
            payload = await self._api(
                "POST", "users/ids", token, what="the posts' authors", json_body=missing
            )
            if not isinstance(payload, list):
                raise TransientError("unexpected mattermost answer for users/ids: expected a list of users")
            if len(self._users) + len(missing) > MAX_USERS:  # start over, keeping who this poll needs
                self._users = {u: entry for u, entry in self._users.items() if u in wanted}
            for obj in payload:
                author = parse_user(obj, base_url=self.settings.base_url)
                if author is not None and isinstance(obj, dict):
                    self._users[str(obj["id"])] = (author, now)
        return {u: self._users[u][0] for u in wanted if u in self._users}


# -- pure helpers ---------------------------------------------------------------------------------------


def _is_millis(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH_MILLIS


def _millis(value: Any) -> int:
    return value if _is_millis(value) else 0


def error_id(body: bytes) -> str | None:
    """The `id` of a Mattermost error body ("api.context.session_expired.app_error"), if it is one."""
    value = json_object(body).get("id")
    return value if isinstance(value, str) and _ERROR_ID.match(value) else None


def classify_error(fetched: Fetched, *, what: str) -> SourceError:
    """The error-tree exception for a Mattermost error answer about `what` (a channel, the authors).

    Messages are written here; the server's `message` is never copied.
    """
    shown = redact_url(fetched.url)
    status = fetched.status
    code = error_id(fetched.content)
    reason = f" ({code})" if code else ""
    if status == 401:
        return AuthError(
            f"mattermost refused the token at {shown} (HTTP 401{reason}): check `token` (a personal "
            "access token or bot token that is still active)"
        )
    if status == 403:
        return AuthError(
            f"mattermost denied access to {what} at {shown} (HTTP 403{reason}): add the account that "
            "owns the token to that channel (and its team)"
        )
    if status == 404:
        return ConfigError(
            f"mattermost has no {what} at {shown} (HTTP 404{reason}): check `channels` and `base_url`"
        )
    if status == 400:
        return ConfigError(f"mattermost refused the request for {what} at {shown} (HTTP 400{reason})")
    try:
        raise_for_status(status, fetched.headers, shown)
    except SourceError as error:
        return error
    return TransientError(f"unexpected answer from {shown} (HTTP {status})")  # pragma: no cover


def _shown(post: dict[str, Any], *, include_bots: bool) -> bool:
    if as_text(post.get("type")) not in SHOWN_TYPES:
        return False
    if include_bots:
        return True
    props = post.get("props")
    flags = (props.get("from_bot"), props.get("from_webhook")) if isinstance(props, dict) else ()
    return not any(flag in ("true", True) for flag in flags)


def parse_post_list(
    payload: Any,
    *,
    since: int | None,
    floor: int | None,
    include_bots: bool = False,
    limit: int | None = None,
) -> Changes:
    """The changes in a `PostList` (`{"order": [...], "posts": {id: Post}}`).

    Without `since` (first page) every post people wrote is new. With it, a post is shown when it
    was created or edited after `since` and not before `floor`; a post with `delete_at > 0` is
    deleted (old versions kept as edit history, with `original_id`, are ignored).
    A payload without `order`/`posts` is a TransientError.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("order"), list):
        raise TransientError("unexpected mattermost answer: expected a post list with `order`")
    posts_by_id = payload.get("posts")
    if not isinstance(posts_by_id, dict):
        raise TransientError("unexpected mattermost answer: `posts` is not an object")
    shown: list[dict[str, Any]] = []
    deleted: list[str] = []
    newest: int | None = None
    oldest: int | None = None
    for post_id in payload["order"][:limit]:  # a first page holds at most `per_page` posts
        post = posts_by_id.get(post_id) if isinstance(post_id, str) else None
        if not isinstance(post, dict) or post.get("id") != post_id or not _ID.match(post_id):
            continue
        update_at, create_at = _millis(post.get("update_at")), _millis(post.get("create_at"))
        newest = update_at if newest is None else max(newest, update_at)
        if as_text(post.get("original_id")):
            continue  # an earlier version of an edited post
        if _millis(post.get("delete_at")) > 0:
            deleted.append(post_id)
            continue
        oldest = create_at if oldest is None else min(oldest, create_at)
        if since is not None:
            changed = create_at > since or _millis(post.get("edit_at")) > since
            if not changed or (floor is not None and create_at < floor):
                continue
        if _shown(post, include_bots=include_bots) and isinstance(post.get("user_id"), str):
            shown.append(post)
    return Changes(tuple(shown), tuple(deleted), newest, oldest)


def avatar_url(base_url: str, user_id: str, picture_update: Any = None) -> str:
    """The profile picture of a user on the server (a new URL when the picture changes)."""
    url = f"{base_url}/api/v4/users/{user_id}/image"
    return f"{url}?_={picture_update}" if _is_millis(picture_update) and picture_update else url


def parse_user(obj: Any, *, base_url: str) -> Author | None:
    """The Author for a Mattermost User: first and last name, else nickname, else username."""
    if not isinstance(obj, dict):
        return None
    user_id, username = obj.get("id"), clean_text(as_text(obj.get("username")))
    if not isinstance(user_id, str) or not _ID.match(user_id) or not username:
        return None
    full = clean_text(f"{as_text(obj.get('first_name'))} {as_text(obj.get('last_name'))}")
    name = full or clean_text(as_text(obj.get("nickname"))) or username
    return Author(
        name=name,
        handle=f"@{username}",
        avatar_url=avatar_url(base_url, user_id, obj.get("last_picture_update")),
    )


def parse_media(metadata: Any, *, base_url: str) -> tuple[Media, ...]:
    """Image attachments (`metadata.files` with an image/* `mime_type`), read through the API."""
    files = metadata.get("files") if isinstance(metadata, dict) else None
    if not isinstance(files, list):
        return ()
    media: list[Media] = []
    for info in files:
        if not isinstance(info, dict) or not as_text(info.get("mime_type")).startswith("image/"):
            continue
        file_id = info.get("id")
        if not isinstance(file_id, str) or not _ID.match(file_id) or _millis(info.get("delete_at")):
            continue
        root = f"{base_url}/api/v4/files/{file_id}"
        url = f"{root}/preview" if info.get("has_preview_image") is True else root
        media.append(Media(url=url, alt="", kind="image", preview_url=f"{root}/thumbnail"))
    return tuple(media)


def parse_tags(post: dict[str, Any]) -> tuple[str, ...]:
    """Hashtags from the server's `hashtags` field (the reference calls it `hashtag`), else the text."""
    for key in ("hashtags", "hashtag"):
        value = post.get(key)
        if isinstance(value, str):
            return split_hashtag_field(value)
    return markdown_hashtags(as_text(post.get("message")))


def parse_post(obj: Any, *, author: Author | None, source: str, kind: PostKind, base_url: str) -> Post | None:
    """A Post from a Mattermost Post; None when malformed, deleted or its author is unknown."""
    if not isinstance(obj, dict) or author is None:
        return None
    post_id, created_at = obj.get("id"), millis_time(obj.get("create_at"))
    if not isinstance(post_id, str) or not _ID.match(post_id) or created_at is None:
        return None
    if _millis(obj.get("delete_at")):
        return None
    return Post(
        id=post_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=markdown_to_text(as_text(obj.get("message"))),
        created_at=created_at,
        url=f"{base_url}/_redirect/pl/{post_id}",
        media=parse_media(obj.get("metadata"), base_url=base_url),
        edited_at=millis_time(obj.get("edit_at")),
        is_reply=bool(as_text(obj.get("root_id"))),
        tags=parse_tags(obj),
    )
