"""Matrix rooms (an internal enterprise social network on a Matrix homeserver, e.g. Synapse).

Reads the Client-Server API with a bot account's access token:

- `GET /_matrix/client/v3/sync` with an inline JSON filter (the `filter` parameter takes a filter id
  or the filter itself): only the configured rooms, only `m.room.message` and `m.room.redaction` in
  their timelines, room names and lazy-loaded members in their state, nothing else (presence,
  account data, ephemeral events). The first sync has no `since` and returns the last `backfill`
  events of each room; later ones return what happened since `next_batch`, kept in `state()`.
  `poll()` syncs with `timeout=0`; `stream()` long-polls (`timeout=25000`) and yields one Batch per
  answer, an empty Batch when the long-poll ended with nothing new (the source is alive). While the
  stream is live, `poll()` (which the poller keeps running at `interval`) reads only the counts.
- `GET /directory/room/{alias}` resolves `#alias:server` entries (cached); configured rooms the bot
  was invited to but has not joined yet are joined (`POST /join/{room}`), since inviting the bot is
  what an administrator does to put a room on the wall.
- `GET /rooms/{id}/joined_members` gives the member count (one Count per room, metric "members")
  and the display names and avatars of authors; `GET /rooms/{id}/state/m.room.name` the room's name.

Events: text, notice and emote messages become posts (the HTML `formatted_body` when there is one,
reply fallbacks removed; an emote's text is not prefixed with the author's name, so that the
wall's author-display rules stay in control); `m.image` becomes a post with one Media pointing at the
authenticated media endpoint `/_matrix/client/v1/media/download/...`: fetching it needs the token,
which `image_headers(url)` hands out for the homeserver's own URLs only. Edits (`m.replace`) replace
the original post (same id, `edited_at` set), and only when sent by the original's sender, as the
spec requires. Redactions, and events found already redacted, go to `Batch.deleted`.
Encrypted rooms are not supported: their `m.room.encrypted` events are filtered out.

Errors are JSON bodies `{"errcode": "M_...", "error": "..."}`: the module reads them with
`raise_errors=False` and writes its own messages (never the server's text).

A long-poll request gets its own timeout (`long_poll` plus a margin), longer than the shared HTTP
client's, so a quiet room is not mistaken for a dead server.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote

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
)
from sources.payload import as_text, json_object, millis_time
from wall.core.model import Author, Batch, Count, Media, Post, PostKind, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK = "matrix"
CLIENT = "/_matrix/client/v3"
MEDIA = "/_matrix/client/v1/media"
TEXT_TYPES = frozenset({"m.text", "m.notice", "m.emote"})
HTML_FORMAT = "org.matrix.custom.html"
INCREMENTAL_LIMIT = 50  # timeline events per room and sync after the first one
LONG_POLL_MARGIN_SECONDS = 10.0  # how much longer than the wait it asked for a long-poll may take
MAX_KNOWN_POSTS = 1000  # posts remembered so that an edit can replace them without a request
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 10.0
AUTH_CODES = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"})

_ROOM_ID = re.compile(r"^![^\s:]{1,255}(:\S{1,255})?$")  # room version 12 ids have no ':server'
_ALIAS = re.compile(r"^#[^\s:]{1,255}:\S{1,255}$")
_ERRCODE = re.compile(r"^[A-Z][A-Z0-9_.]{0,63}$")
_MXC = re.compile(r"^mxc://([A-Za-z0-9.\-:\[\]]+)/([A-Za-z0-9_-]+)$")
_MX_REPLY = re.compile(r"(?is)<mx-reply>.*?</mx-reply>")
# A hashtag: '#' not inside a word, a URL fragment or an entity; not a room alias (#room:server).
_HASHTAG = re.compile(r"(?<![\w#/&])#(\w[\w-]*)(?![\w:-])")


class MatrixSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "matrix"`: rooms of a homeserver read by a bot account."""

    type: Literal["matrix"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(60, ge=15, le=86400, description="Seconds between polls (and member counts)")
    base_url: str = Field(description="The homeserver, e.g. https://matrix.example.com")
    rooms: list[str] = Field(
        min_length=1, description="Room ids ('!abc:example.com') or aliases ('#lobby:example.com')"
    )
    token: SecretStr | None = Field(None, description="Access token of the bot account (required)")
    backfill: int = Field(20, ge=1, le=100, description="Messages per room read on the very first sync")
    long_poll: float = Field(25, ge=1, le=120, description="Seconds a streaming sync waits for news")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example="https://matrix.example.com", secret="token")

    @field_validator("rooms")
    @classmethod
    def _check_rooms(cls, values: list[str]) -> list[str]:
        rooms: list[str] = []
        for raw in values:
            room = raw.strip()
            if not (_ROOM_ID.match(room) or _ALIAS.match(room)):
                raise ValueError(
                    f"{raw!r} is not a Matrix room: give its id ('!abc:example.com') or an alias "
                    "('#lobby:example.com')"
                )
            if room not in rooms:
                rooms.append(room)
        return rooms


@dataclass(frozen=True, slots=True)
class Member:
    """A room member as the room shows them."""

    name: str
    avatar_mxc: str = ""


@dataclass(slots=True)
class RoomInfo:
    """What the source knows of one configured room."""

    ref: str  # as configured: id or alias
    room_id: str
    name: str = ""
    members: dict[str, Member] = field(default_factory=dict)


class MatrixSource(SourceBase):
    """Syncs the configured rooms: new, edited and redacted messages, and each room's member count."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: MatrixSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._since: str | None = None
        self._rooms: dict[str, RoomInfo] = {}  # by room id, in configured order
        self._aliases: dict[str, str] = {}  # alias -> room id
        self._known: OrderedDict[str, Post] = OrderedDict()
        self._live = False

    def __repr__(self) -> str:
        return f"MatrixSource(name={self.settings.name!r}, rooms={self.settings.rooms!r})"

    # -- the Source protocol ----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True while `stream()` runs (then `poll()` reads only the member counts)."""
        return self._live

    async def poll(self) -> Batch:
        """Member counts, then one sync without waiting (the first one reads `backfill` events a room).

        While the stream is live it delivers the messages: a poll then reads only the counts, so
        that two syncs never race over the same `since` token.
        """
        counts = await self._refresh_rooms()
        if self._live:
            return Batch(counts=counts)
        changes = await self._sync(timeout_ms=0)
        return replace(changes, counts=counts)

    async def stream(self) -> AsyncGenerator[Batch, None]:
        """Long-poll syncs until closed: one Batch per answer, empty when the wait ended with nothing.

        Starts with a poll when there is no sync token yet. Raises a SourceError on failure; the
        poller's next poll then catches up from the last token.
        """
        if self._since is None or not self._rooms:
            yield await self.poll()
        self._live = True
        try:
            while True:
                yield await self._sync(timeout_ms=self._long_poll_ms())
        finally:
            self._live = False

    def state(self) -> dict[str, Any]:
        """The sync token, with the rooms it was made for."""
        if self._since is None:
            return {}
        return {"since": self._since, "rooms": list(self.settings.rooms)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; a token made for other rooms is dropped (those would get no backfill)."""
        since = state.get("since")
        rooms = state.get("rooms")
        if isinstance(since, str) and since and rooms == list(self.settings.rooms):
            self._since = since
        else:
            self._since = None

    def image_headers(self, url: str) -> dict[str, str]:
        """Headers to download `url`: the access token for the homeserver's own URLs, nothing otherwise."""
        return bearer_for(url, self.settings.base_url, secret_value(self.settings.token))

    # -- HTTP -------------------------------------------------------------------------------------

    async def _call(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        what: str = "the request",
        room: str = "",
        timeout: float | None = None,
    ) -> tuple[Fetched, dict[str, Any]]:
        """One API call; its JSON object, or the error-tree exception its answer means."""
        token = required_secret(
            self.settings.token, self.settings, "token", what="the access token of the bot account"
        )
        fetched = await self.http.request(
            method,
            f"{self.settings.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            json_body=json_body,
            conditional=False,
            raise_errors=False,
            timeout=timeout,
        )
        shown = redact_url(fetched.url)
        if fetched.status >= 400:
            error = classify_error(fetched.status, fetched.headers, fetched.content, shown=shown, room=room)
            if error is not None:
                raise error
            raise_for_status(fetched.status, fetched.headers, shown)
        payload = fetched.json()
        if not isinstance(payload, dict):
            raise TransientError(f"unexpected answer from {shown} ({what}): expected a JSON object")
        return fetched, payload

    def _long_poll_ms(self) -> int:
        return int(self.settings.long_poll * 1000)

    # -- rooms and members --------------------------------------------------------------------------

    async def _resolve(self, ref: str) -> str:
        """The room id of a configured room (aliases resolved once, then cached)."""
        if ref.startswith("!"):
            return ref
        if ref not in self._aliases:
            try:
                fetched, payload = await self._call(
                    "GET", f"{CLIENT}/directory/room/{quote(ref, safe='')}", what=f"alias {ref}"
                )
            except ConfigError:
                raise ConfigError(
                    f"matrix room alias {ref} not found on {self.settings.base_url}: check `rooms`"
                ) from None
            room_id = payload.get("room_id")
            if not isinstance(room_id, str) or not _ROOM_ID.match(room_id):
                raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no room_id")
            self._aliases[ref] = room_id
        return self._aliases[ref]

    async def _refresh_rooms(self) -> tuple[Count, ...]:
        """Resolve every configured room, read its members (joining it when invited) and name."""
        rooms: dict[str, RoomInfo] = {}
        for ref in self.settings.rooms:
            room_id = await self._resolve(ref)
            if room_id in rooms:
                continue
            info = self._rooms.get(room_id) or RoomInfo(ref=ref, room_id=room_id)
            info.members = await self._joined_members(info)
            if not info.name:
                info.name = await self._room_name(info)
            rooms[room_id] = info
        self._rooms = rooms
        observed_at = self.clock()
        return tuple(
            Count(
                source=self.settings.name,
                network=NETWORK,
                account=info.ref,
                value=len(info.members),
                observed_at=observed_at,
                label=info.name or info.ref,
                metric="members",
            )
            for info in rooms.values()
        )

    async def _joined_members(self, info: RoomInfo) -> dict[str, Member]:
        path = f"{CLIENT}/rooms/{quote(info.room_id, safe='')}/joined_members"
        what = f"members of {info.ref}"
        try:
            fetched, payload = await self._call("GET", path, what=what, room=info.ref)
        except AuthError as exc:
            if not isinstance(exc, NotInRoom):
                raise
            await self._join(info)  # invited but not joined yet: join; not invited: NotInRoom
            fetched, payload = await self._call("GET", path, what=what, room=info.ref)
        members = parse_joined_members(payload)
        if members is None:
            raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no `joined` members")
        return members

    async def _join(self, info: RoomInfo) -> None:
        await self._call(
            "POST",
            f"{CLIENT}/join/{quote(info.room_id, safe='')}",
            json_body={},
            what=f"joining {info.ref}",
            room=info.ref,
        )

    async def _room_name(self, info: RoomInfo) -> str:
        path = f"{CLIENT}/rooms/{quote(info.room_id, safe='')}/state/m.room.name"
        try:
            _, payload = await self._call("GET", path, what=f"name of {info.ref}", room=info.ref)
        except ConfigError:
            return ""  # a room without a name: the count is labelled with the configured id or alias
        name = payload.get("name")
        return clean_text(name) if isinstance(name, str) else ""

    # -- sync -------------------------------------------------------------------------------------

    def _filter(self) -> str:
        limit = self.settings.backfill if self._since is None else INCREMENTAL_LIMIT
        return sync_filter(list(self._rooms), limit=limit)

    async def _sync(self, *, timeout_ms: int) -> Batch:
        if not self._rooms:
            await self._refresh_rooms()
        params: dict[str, Any] = {"filter": self._filter(), "timeout": str(timeout_ms)}
        if self._since is not None:
            params["since"] = self._since
        # A long-poll answers after up to `timeout_ms`: the request may wait that long, plus a margin.
        wait = timeout_ms / 1000 + LONG_POLL_MARGIN_SECONDS if timeout_ms else None
        fetched, payload = await self._call("GET", f"{CLIENT}/sync", params=params, what="sync", timeout=wait)
        next_batch = payload.get("next_batch")
        if not isinstance(next_batch, str) or not next_batch:
            raise TransientError(f"unexpected answer from {redact_url(fetched.url)}: no next_batch")
        limit = self.settings.backfill if self._since is None else INCREMENTAL_LIMIT
        updates = parse_sync_rooms(payload, set(self._rooms), limit=limit)
        batch = await self._changes(updates)
        self._since = next_batch  # only once the whole answer was understood
        return batch

    async def _changes(self, updates: Mapping[str, RoomUpdate]) -> Batch:
        posts: dict[str, Post] = {}
        deleted: list[str] = []
        for room_id, update in updates.items():
            info = self._rooms[room_id]
            if update.name:
                info.name = update.name
            info.members.update(update.members)
            if any(sender not in info.members for sender in update.senders()):
                info.members.update(await self._joined_members(info))
            for event in update.timeline:
                await self._apply(event, info, posts, deleted)
        for post in posts.values():
            self._remember(post)
        ordered = sorted(posts.values(), key=lambda post: post.created_at, reverse=True)
        return Batch(posts=tuple(ordered), deleted=tuple(dict.fromkeys(deleted)))

    async def _apply(
        self, event: dict[str, Any], info: RoomInfo, posts: dict[str, Post], deleted: list[str]
    ) -> None:
        """Fold one timeline event into this answer's posts and deletions."""
        if (target := redaction_target(event)) is not None:
            posts.pop(target, None)
            self._known.pop(target, None)
            deleted.append(target)
            return
        if is_redacted(event):
            deleted.append(str(event["event_id"]))
            return
        if (original_id := edit_target(event)) is not None:
            original = posts.get(original_id) or self._known.get(original_id)
            if original is None:
                original = await self._fetch_original(original_id, info)
            edited = apply_edit(original, event, base_url=self.settings.base_url) if original else None
            if edited is not None:
                posts[edited.id] = edited
            return
        post = parse_message(
            event,
            room_id=info.room_id,
            members=info.members,
            source=self.settings.name,
            kind=self.settings.kind,
            base_url=self.settings.base_url,
        )
        if post is not None:
            posts[post.id] = post

    async def _fetch_original(self, event_id: str, info: RoomInfo) -> Post | None:
        """The post an edit replaces, when it was not seen by this source (older than the backfill)."""
        path = f"{CLIENT}/rooms/{quote(info.room_id, safe='')}/event/{quote(event_id, safe='')}"
        try:
            _, payload = await self._call("GET", path, what=f"event in {info.ref}", room=info.ref)
        except ConfigError:
            return None  # gone (or never visible to the bot): nothing to replace
        return parse_message(
            payload,
            room_id=info.room_id,
            members=info.members,
            source=self.settings.name,
            kind=self.settings.kind,
            base_url=self.settings.base_url,
        )

    def _remember(self, post: Post) -> None:
        self._known[post.id] = post
        self._known.move_to_end(post.id)
        while len(self._known) > MAX_KNOWN_POSTS:
            self._known.popitem(last=False)


class NotInRoom(AuthError):
    """M_FORBIDDEN on a configured room: the bot is not (or no longer) a member."""


# -- pure helpers ---------------------------------------------------------------------------------------


def sync_filter(room_ids: Iterable[str], *, limit: int) -> str:
    """The inline JSON filter for `/sync`: the rooms' messages and redactions, their names and members."""
    nothing = {"not_types": ["*"]}
    definition = {
        "presence": nothing,
        "account_data": nothing,
        "room": {
            "rooms": list(room_ids),
            "timeline": {"types": ["m.room.message", "m.room.redaction"], "limit": limit},
            "state": {"types": ["m.room.name", "m.room.member"], "lazy_load_members": True},
            "ephemeral": nothing,
            "account_data": nothing,
        },
    }
    return json.dumps(definition, separators=(",", ":"))


def error_code(body: bytes) -> tuple[str | None, float | None]:
    """The `errcode` of a Matrix error body and its `retry_after_ms` in seconds, when present."""
    payload = json_object(body)
    code = payload.get("errcode")
    wait = payload.get("retry_after_ms")
    seconds = (
        wait / 1000 if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0 else None
    )
    return (code if isinstance(code, str) and _ERRCODE.match(code) else None), seconds


def classify_error(
    status: int, headers: Mapping[str, str], body: bytes, *, shown: str, room: str = ""
) -> SourceError | None:
    """The error a Matrix error answer means from its `errcode`; None leaves it to the status alone.

    `room` names the configured room the request was about. The server's `error` text is never copied.
    """
    code, wait = error_code(body)
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        if wait is None:
            wait = parse_retry_after(headers.get("retry-after"))
        return RateLimited(
            f"matrix rate limit ({code or 'HTTP 429'}) at {shown}",
            wait if wait is not None else DEFAULT_RATE_LIMIT_WAIT_SECONDS,
        )
    if code in AUTH_CODES:
        return AuthError(f"matrix refused the access token ({code}) at {shown}: check `token`")
    if code == "M_FORBIDDEN" and room:
        return NotInRoom(
            f"matrix bot is not in room {room} (M_FORBIDDEN) at {shown}: invite the bot's account to the room"
        )
    if code in ("M_FORBIDDEN", "M_GUEST_ACCESS_FORBIDDEN") or status in (401, 403):
        return AuthError(f"matrix refused the request ({code or f'HTTP {status}'}) at {shown}: check `token`")
    if code == "M_NOT_FOUND":
        what = f"room {room}" if room else "resource"
        return ConfigError(f"matrix {what} not found (M_NOT_FOUND) at {shown}: check `rooms`")
    return None


def mxc_download_url(mxc: Any, base_url: str) -> str:
    """The authenticated download URL of an `mxc://server/media` URI on `base_url`; '' when malformed."""
    match = _MXC.match(mxc.strip()) if isinstance(mxc, str) else None
    if not match:
        return ""
    return f"{base_url}{MEDIA}/download/{quote(match.group(1), safe='')}/{match.group(2)}"


def parse_joined_members(payload: Any) -> dict[str, Member] | None:
    """Members by user id from a `joined_members` answer; None when it has no `joined` object."""
    joined = payload.get("joined") if isinstance(payload, dict) else None
    if not isinstance(joined, dict):
        return None
    members: dict[str, Member] = {}
    for user_id, profile in joined.items():
        if not isinstance(user_id, str) or not user_id.startswith("@"):
            continue
        profile = profile if isinstance(profile, dict) else {}
        members[user_id] = Member(
            name=as_text(profile.get("display_name")), avatar_mxc=as_text(profile.get("avatar_url"))
        )
    return members


@dataclass(frozen=True, slots=True)
class RoomUpdate:
    """What one sync answer says about one room."""

    timeline: tuple[dict[str, Any], ...] = ()
    members: Mapping[str, Member] = field(default_factory=dict)
    name: str = ""

    def senders(self) -> set[str]:
        """Users who sent a message in this update."""
        return {
            str(event["sender"])
            for event in self.timeline
            if event.get("type") == "m.room.message" and not is_redacted(event) and edit_target(event) is None
        }


def parse_sync_rooms(
    payload: Mapping[str, Any], room_ids: set[str], *, limit: int | None = None
) -> dict[str, RoomUpdate]:
    """The joined configured rooms of a `/sync` answer: timeline events (oldest first), members, name.

    Events without an id, type or sender are dropped; other rooms are ignored. A timeline keeps its
    newest `limit` events (what the filter asked for), whatever the server sent.
    """
    rooms = payload.get("rooms")
    joined = rooms.get("join") if isinstance(rooms, dict) else None
    if not isinstance(joined, dict):
        return {}
    updates: dict[str, RoomUpdate] = {}
    for room_id, room in joined.items():
        if room_id not in room_ids or not isinstance(room, dict):
            continue
        timeline = _events(room.get("timeline"))
        if limit is not None:
            timeline = timeline[-limit:] if limit > 0 else []
        members: dict[str, Member] = {}
        name = ""
        for event in _events(room.get("state")):
            content = event.get("content")
            content = content if isinstance(content, dict) else {}
            if event["type"] == "m.room.member" and content.get("membership") == "join":
                state_key = event.get("state_key")
                if isinstance(state_key, str) and state_key.startswith("@"):
                    members[state_key] = Member(
                        name=as_text(content.get("displayname")),
                        avatar_mxc=as_text(content.get("avatar_url")),
                    )
            elif event["type"] == "m.room.name":
                name = clean_text(as_text(content.get("name")))
        updates[room_id] = RoomUpdate(timeline=tuple(timeline), members=members, name=name)
    return updates


def _events(section: Any) -> list[dict[str, Any]]:
    events = section.get("events") if isinstance(section, dict) else None
    if not isinstance(events, list):
        return []
    return [
        event
        for event in events
        if isinstance(event, dict)
        and all(isinstance(event.get(key), str) and event[key] for key in ("event_id", "type", "sender"))
    ]


def redaction_target(event: Mapping[str, Any]) -> str | None:
    """The event id an `m.room.redaction` removes (`content.redacts` from room v11, top-level before)."""
    if event.get("type") != "m.room.redaction":
        return None
    content = event.get("content")
    target = content.get("redacts") if isinstance(content, dict) else None
    if not isinstance(target, str) or not target:
        target = event.get("redacts")
    return target if isinstance(target, str) and target else None


def is_redacted(event: Mapping[str, Any]) -> bool:
    """True for an event already redacted (its content stripped, `unsigned.redacted_because` set)."""
    unsigned = event.get("unsigned")
    return isinstance(unsigned, dict) and unsigned.get("redacted_because") is not None


def _relation(content: Any) -> dict[str, Any]:
    relates = content.get("m.relates_to") if isinstance(content, dict) else None
    return relates if isinstance(relates, dict) else {}


def edit_target(event: Mapping[str, Any]) -> str | None:
    """The event id an `m.replace` edit replaces; None for any other event."""
    if event.get("type") != "m.room.message":
        return None
    relation = _relation(event.get("content"))
    target = relation.get("event_id")
    if relation.get("rel_type") == "m.replace" and isinstance(target, str) and target:
        return target
    return None


def strip_reply_fallback(body: str) -> str:
    """`body` without the quoted lines (`> <@user> ...`) a reply starts with, and the blank line after."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index and index < len(lines) and not lines[index].strip():
        index += 1
    return "\n".join(lines[index:]) if index else body


def hashtags(text: str) -> tuple[str, ...]:
    """The text's hashtags, lowercased, without '#', each once (room aliases and numbers are not tags)."""
    tags: dict[str, None] = {}
    for match in _HASHTAG.finditer(text):
        tag = match.group(1).lower()
        if not tag.isdigit():
            tags[tag] = None
    return tuple(tags)


def parse_content(
    content: Any, *, base_url: str, is_reply: bool = False
) -> tuple[str, tuple[Media, ...]] | None:
    """Plain text and media of an `m.room.message` content; None for a message type not shown.

    Text messages prefer the HTML `formatted_body`, without its `<mx-reply>` quote; an image's `body`
    is its caption when `filename` is set and differs from it (spec v1.10), else a text stand-in
    used as alt text only.
    """
    if not isinstance(content, dict):
        return None
    msgtype = as_text(content.get("msgtype"))
    body = as_text(content.get("body"))
    if msgtype in TEXT_TYPES:
        formatted = content.get("formatted_body")
        if content.get("format") == HTML_FORMAT and isinstance(formatted, str) and formatted.strip():
            text = html_to_text(_MX_REPLY.sub("", formatted))
        else:
            text = clean_text(strip_reply_fallback(body) if is_reply else body)
        return (text, ()) if text else None
    if msgtype == "m.image":
        url = mxc_download_url(content.get("url"), base_url)
        if not url:
            return None  # an encrypted image (`file`) or a malformed URI
        filename = as_text(content.get("filename"))
        caption = clean_text(body) if filename and filename != body else ""
        info = content.get("info") if isinstance(content.get("info"), dict) else {}
        preview = mxc_download_url(info.get("thumbnail_url"), base_url) if info else ""
        media = Media(url=url, alt=clean_text(body), kind="image", preview_url=preview)
        return caption, (media,)
    return None


def author_of(user_id: str, members: Mapping[str, Member], *, base_url: str) -> Author:
    """The author as the room names them: display name (else the user id's localpart), user id, avatar."""
    member = members.get(user_id)
    localpart = user_id.removeprefix("@").split(":", 1)[0]
    name = clean_text(member.name) if member else ""
    avatar = mxc_download_url(member.avatar_mxc, base_url) if member else ""
    return Author(name=name or clean_text(localpart) or user_id, handle=user_id, avatar_url=avatar)


def message_url(room_id: str, event_id: str) -> str:
    """The matrix.to link of an event."""
    # errors="replace": an id may hold a lone surrogate, which UTF-8 cannot encode.
    room, event = quote(room_id, safe="!:", errors="replace"), quote(event_id, safe="$:", errors="replace")
    return f"https://matrix.to/#/{room}/{event}"


def parse_message(
    event: Any,
    *,
    room_id: str,
    members: Mapping[str, Member],
    source: str,
    kind: PostKind,
    base_url: str,
) -> Post | None:
    """A Post from an `m.room.message` event (not an edit, not redacted); None for anything else.

    An edit bundled by the server (`unsigned["m.relations"]["m.replace"]`) is applied.
    """
    if not isinstance(event, dict) or event.get("type") != "m.room.message" or is_redacted(event):
        return None
    if edit_target(event) is not None:
        return None
    event_id, sender = event.get("event_id"), event.get("sender")
    created_at = millis_time(event.get("origin_server_ts"))
    if not isinstance(event_id, str) or not event_id or not isinstance(sender, str) or created_at is None:
        return None
    content = event.get("content")
    is_reply = isinstance(_relation(content).get("m.in_reply_to"), dict)
    parsed = parse_content(content, base_url=base_url, is_reply=is_reply)
    if parsed is None:
        return None
    text, media = parsed
    post = Post(
        id=event_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=author_of(sender, members, base_url=base_url),
        text=text,
        created_at=created_at,
        url=message_url(room_id, event_id),
        media=media,
        is_reply=is_reply,
        tags=hashtags(text),
    )
    unsigned = event.get("unsigned")
    relations = unsigned.get("m.relations") if isinstance(unsigned, dict) else None
    bundled = relations.get("m.replace") if isinstance(relations, dict) else None
    if isinstance(bundled, dict):
        return apply_edit(post, bundled, base_url=base_url) or post
    return post


def apply_edit(original: Post, edit: Any, *, base_url: str) -> Post | None:
    """`original` with the content of an `m.replace` edit event; None when the edit is not valid.

    The spec says to ignore edits from another sender than the original's (anyone could rewrite
    anyone's message otherwise) and edits older than what is already shown.
    """
    if not isinstance(edit, dict) or edit.get("sender") != original.author.handle:
        return None
    edited_at = millis_time(edit.get("origin_server_ts"))
    if edited_at is None or edited_at < (original.edited_at or original.created_at):
        return None
    content = edit.get("content")
    new_content = content.get("m.new_content") if isinstance(content, dict) else None
    parsed = parse_content(new_content, base_url=base_url, is_reply=original.is_reply)
    if parsed is None:
        return None
    text, media = parsed
    return replace(original, text=text, media=media, tags=hashtags(text), edited_at=edited_at)
