"""Slack channels (an internal enterprise social network) read with the Web API and a bot token.

Fetching is `SlackSource.poll`; parsing is pure (`select_changes`, `parse_message`, `parse_user`,
`mrkdwn_to_text`, `classify_error`) and tested on payloads shaped as Slack's reference shows them.

- Messages: `conversations.history?channel=..&oldest=<ts>&limit=..`, newest first, following
  `response_metadata.next_cursor` for at most `max_pages` pages a channel and poll. The cursor is
  the newest `ts` seen per channel. The first poll reads one page of the latest messages only.
- Edits and deletions: `conversations.history` returns neither deletion events nor the messages that
  were deleted (a deleted thread parent stays as a `tombstone`). So each poll reads again the last
  `recheck_hours` (default 24) of each channel: a message the wall showed that is no longer there
  goes to `Batch.deleted`, one whose `edited.ts` changed is sent again with `edited_at`. Cost: the
  window is re-read on every poll, usually within the same single request (`limit` 100 covers 100
  messages); a channel busier than `limit × max_pages` messages in the window has only its newest
  messages rechecked (deletions are only concluded for the part actually read). Tier 3 allows 50+
  requests a minute per method and workspace, so three channels polled every 60 s stay far below.
- Limited tier (`limited_tier = true`): since May 29, 2025 Slack limits commercially distributed apps
  that are not in the Slack Marketplace to 1 `conversations.history` request per minute, with `limit`
  at most (and by default) 15 objects; existing installs of such apps follow from March 3, 2026.
  Marketplace apps and internal customer-built apps keep Tier 3 ("50+ per minute").
  (https://docs.slack.dev/reference/methods/conversations.history,
  https://docs.slack.dev/changelog/2025/05/29/rate-limit-changes-for-non-marketplace-apps/)
  Then a poll makes at most one history request, never less than 60 s after the previous one (by the
  source's clock), for one channel in turn, with `limit=15`; a poll that comes too early returns an
  empty batch without a request, and `slow_down` asks the poller for the missing seconds. The
  recheck then only covers the newest 15 messages of the window.
- Shown: plain messages, `thread_broadcast` (a thread reply also sent to the channel; thread replies
  that stay in their thread are not returned by `conversations.history`), `file_share` and
  `me_message`. Skipped: joins/leaves, topic/purpose/name changes, pins, reminders, tombstones, hidden
  messages, and bot/app messages (`bot_message`, or any `bot_id`) unless `include_bots`.
- Authors: `users.info`, cached a day; `<@U…>` mentions are shown as `@Name` through the same cache.
  A message whose author cannot be read is not shown (the consent rules need to know who wrote it).
- Links to messages are built from the workspace URL that `auth.test` gives once per source.
- Slack answers most errors with HTTP 200 and `{"ok": false, "error": "..."}`; only the error name
  (an identifier) and the `needed` scope are repeated in messages. HTTP 429 waits `Retry-After`.
- Files on `files.slack.com` need the token: `image_headers(url)` gives it for that host only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeGuard

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
from sources.markup import (
    MRKDWN_EMPHASIS,
    Shelf,
    drop_emphasis,
    replace_emoji,
    shelve_code,
    strip_code,
    without_placeholder_chars,
)
from sources.payload import as_dict, as_text, http_url
from wall.core.model import Author, Batch, Media, Post, PostKind, utcnow
from wall.core.text import clean_text

NETWORK = "slack"
DEFAULT_BASE_URL = "https://slack.com/api"
LIMITED_SPACING_SECONDS = 60.0  # between two conversations.history requests on the limited tier
LIMITED_LIMIT = 15  # messages per conversations.history request on the limited tier
USER_TTL = timedelta(hours=24)
MAX_USERS = 5000  # cached authors; the cache keeps only who a poll needs beyond this
MAX_KNOWN = 2000  # messages remembered per channel for the recheck window
FILES_ORIGIN = "https://files.slack.com"  # private files: the only picture origin given the token
SHOWN_SUBTYPES = frozenset({"", "thread_broadcast", "file_share", "me_message"})
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)

_CHANNEL = re.compile(r"^[CG][A-Z0-9]{8,14}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
_ERROR_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_SCOPES = re.compile(r"^[a-z0-9:._,-]{1,200}$")
_TOKEN = re.compile(r"<([^<>\n]*)>")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>\n]*)?>")
_QUOTE = re.compile(r"^(?:&gt;|>){1,3}[ \t]?", re.MULTILINE)  # > quote, >>> block quote


class SlackSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "slack"`: channels whose messages are shown."""

    type: Literal["slack"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(60, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(DEFAULT_BASE_URL, description="Web API root; defaults to https://slack.com/api")
    channels: list[str] = Field(min_length=1, description="Channel ids, such as C0123ABCDEF")
    token: SecretStr | None = Field(None, description="Bot token (xoxb-...)")
    limited_tier: bool = Field(
        False,
        description="Non-Marketplace app on Slack's 2025 limits: 1 history request a minute, 15 messages",
    )
    include_bots: bool = Field(False, description="Also show messages of bots and apps")
    limit: int = Field(100, ge=1, le=999, description="Messages per history request (15 on the limited tier)")
    max_pages: int = Field(3, ge=1, le=20, description="History pages per channel and poll at most")
    recheck_hours: float = Field(
        24, ge=0, le=168, description="Hours of history re-read each poll to see edits and deletions"
    )

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, values: list[str]) -> list[str]:
        channels: list[str] = []
        for raw in values:
            channel = raw.strip()
            if not _CHANNEL.match(channel):
                raise ValueError(
                    f"{raw!r} is not a Slack channel id: copy it from the channel's details (it looks "
                    "like 'C0123ABCDEF'), not its #name"
                )
            if channel not in channels:
                channels.append(channel)
        return channels


@dataclass(slots=True)
class ChannelState:
    """The newest `ts` seen in a channel, and the messages shown within the recheck window
    (`ts` -> `edited.ts`, "" when never edited)."""

    latest: str
    known: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Changes:
    """What one read of a channel's history means for the wall."""

    messages: tuple[dict[str, Any], ...]  # new or edited messages to show, newest first
    deleted: tuple[str, ...]  # ts of shown messages that are gone
    state: ChannelState | None


class SlackSource(SourceBase):
    """Polls each channel's history for new, edited and deleted messages."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: SlackSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._workspace_url: str | None = None
        self._channels: dict[str, ChannelState] = {}
        self._users: dict[str, tuple[Author | None, datetime]] = {}
        self._last_history: datetime | None = None
        self._turn = 0

    def __repr__(self) -> str:
        return f"SlackSource(name={self.settings.name!r}, channels={self.settings.channels!r})"

    @property
    def slow_down(self) -> float:
        """On the limited tier, the seconds to add to `interval` so that (with the poller's ±10 %
        jitter) two history requests are at least a minute apart."""
        if not self.settings.limited_tier:
            return 0.0
        return max(0.0, LIMITED_SPACING_SECONDS + 1.0 - 0.9 * self.settings.interval)

    async def poll(self) -> Batch:
        """New and edited messages of the channels read this time, and those deleted.

        All or nothing: if a request fails, no channel's state moves.
        """
        token = required_secret(
            self.settings.token, self.settings, "token", what="the app's Bot User OAuth Token, xoxb-..."
        )
        now = self.clock()
        if self.settings.limited_tier:
            if (
                self._last_history is not None
                and (now - self._last_history).total_seconds() < LIMITED_SPACING_SECONDS
            ):
                return Batch()
            channels = [self.settings.channels[self._turn % len(self.settings.channels)]]
        else:
            channels = list(self.settings.channels)
        if self._workspace_url is None:
            self._workspace_url = await self._auth_test(token)
        window_start = as_ts(now - timedelta(hours=self.settings.recheck_hours))
        states = dict(self._channels)
        found: list[tuple[str, dict[str, Any]]] = []
        deleted: list[str] = []
        for channel in channels:
            state = states.get(channel)
            messages, complete, oldest = await self._history(channel, state, window_start, token)
            changes = select_changes(
                messages,
                state=state,
                oldest=oldest,
                complete=complete,
                window_start=window_start,
                include_bots=self.settings.include_bots,
            )
            found.extend((channel, message) for message in changes.messages)
            deleted.extend(post_id(channel, ts) for ts in changes.deleted)
            if changes.state is not None:
                states[channel] = changes.state
        needed: set[str] = set()
        for _, message in found:
            if isinstance(message.get("user"), str):
                needed.add(message["user"])
            needed.update(_MENTION.findall(as_text(message.get("text"))))
        authors = await self._authors(needed, token)
        posts: list[Post] = []
        for channel, message in found:
            post = parse_message(
                message,
                channel=channel,
                author=message_author(message, authors),
                source=self.settings.name,
                kind=self.settings.kind,
                workspace_url=self._workspace_url,
                user_name=lambda user_id: authors[user_id].name if user_id in authors else None,
            )
            if post is not None:
                posts.append(post)
        self._channels = states
        self._turn += 1
        return Batch(posts=tuple(posts), deleted=tuple(deleted))

    def state(self) -> dict[str, Any]:
        """Per channel, the newest `ts` seen and the messages shown within the recheck window."""
        return {
            "channels": {
                channel: {"latest": state.latest, "known": dict(state.known)}
                for channel, state in self._channels.items()
            }
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; channels no longer configured or malformed entries are dropped."""
        self._channels = {}
        channels = state.get("channels")
        if not isinstance(channels, Mapping):
            return
        for channel, raw in channels.items():
            if channel not in self.settings.channels or not isinstance(raw, Mapping):
                continue
            latest, known = raw.get("latest"), raw.get("known")
            if not is_ts(latest) or not isinstance(known, Mapping):
                continue
            self._channels[channel] = ChannelState(
                latest,
                {
                    ts: edited
                    for ts, edited in known.items()
                    if is_ts(ts) and isinstance(edited, str) and (edited == "" or is_ts(edited))
                },
            )

    def image_headers(self, url: str) -> dict[str, str]:
        """The Authorization header for a private file URL on https://files.slack.com; {} elsewhere."""
        return bearer_for(url, FILES_ORIGIN, secret_value(self.settings.token))

    # -- fetching ---------------------------------------------------------------------------------

    async def _call(
        self, method: str, params: Mapping[str, Any], token: str, *, channel: str | None = None
    ) -> dict[str, Any]:
        fetched = await self.http.get(
            f"{self.settings.base_url}/{method}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            conditional=False,
            raise_errors=False,
        )
        shown = redact_url(fetched.url)
        if fetched.status >= 400:
            raise_for_status(fetched.status, fetched.headers, shown)
        payload = fetched.json()
        if not isinstance(payload, dict) or not isinstance(payload.get("ok"), bool):
            raise TransientError(f"unexpected answer from {shown}: expected a Slack answer with `ok`")
        if payload["ok"] is not True:
            raise classify_error(payload, fetched, method=method, channel=channel)
        return payload

    async def _auth_test(self, token: str) -> str:
        payload = await self._call("auth.test", {}, token)
        url = payload.get("url")
        return http_url(url).rstrip("/")

    async def _history(
        self, channel: str, state: ChannelState | None, window_start: str, token: str
    ) -> tuple[list[Any], bool, str | None]:
        """The messages read (newest first), whether the range was read to its end, and `oldest`."""
        limited = self.settings.limited_tier
        params: dict[str, Any] = {
            "channel": channel,
            "limit": LIMITED_LIMIT if limited else self.settings.limit,
        }
        oldest: str | None = None
        if state is not None:
            oldest = min(state.latest, window_start, key=Decimal)
            params["oldest"] = oldest
        pages = 1 if limited or state is None else self.settings.max_pages
        messages: list[Any] = []
        next_cursor: str | None = None
        for _ in range(pages):
            if next_cursor:
                params["cursor"] = next_cursor
            if limited:
                self._last_history = self.clock()  # the request counts even if it fails
            payload = await self._call("conversations.history", params, token, channel=channel)
            page = payload.get("messages")
            if not isinstance(page, list):
                raise TransientError(
                    f"unexpected slack answer for channel {channel}: `messages` is not a list"
                )
            messages.extend(page[: params["limit"]])  # what was asked for, whatever the server sent
            cursor = as_dict(payload.get("response_metadata")).get("next_cursor")
            next_cursor = (
                cursor if payload.get("has_more") is True and isinstance(cursor, str) and cursor else None
            )
            if next_cursor is None:
                break
        return messages, next_cursor is None, oldest

    async def _authors(self, user_ids: Iterable[str], token: str) -> dict[str, Author]:
        now = self.clock()
        wanted = set(user_ids)
        missing = sorted(u for u in wanted if u not in self._users or now - self._users[u][1] > USER_TTL)
        if len(self._users) + len(missing) > MAX_USERS:
            self._users = {u: entry for u, entry in self._users.items() if u in wanted}
        for user_id in missing:
            try:
                payload = await self._call("users.info", {"user": user_id}, token)
            except ConfigError:
                self._users[user_id] = (None, now)  # user_not_found: not asked again for a day
                continue
            self._users[user_id] = (parse_user(payload.get("user")), now)
        return {u: author for u in wanted if u in self._users and (author := self._users[u][0]) is not None}


# -- pure helpers ---------------------------------------------------------------------------------------


def is_ts(value: Any) -> TypeGuard[str]:
    """True for a Slack message timestamp ("1512085950.000216")."""
    return isinstance(value, str) and bool(_TS.match(value))


def as_ts(when: datetime) -> str:
    """A datetime as a Slack timestamp string."""
    return f"{when.timestamp():.6f}"


def ts_time(ts: str) -> datetime:
    """The aware UTC time of a Slack timestamp."""
    return datetime.fromtimestamp(float(ts), UTC)


def post_id(channel: str, ts: str) -> str:
    """A message's id on the wall: `ts` is unique within a channel only."""
    return f"{channel}/{ts}"


def _edited(message: dict[str, Any]) -> str:
    edited = message.get("edited")
    ts = edited.get("ts") if isinstance(edited, dict) else None
    return ts if is_ts(ts) else ""


def is_shown(message: Any, *, include_bots: bool = False) -> bool:
    """True for a message people wrote (see the module docstring for the subtypes)."""
    if not isinstance(message, dict) or message.get("type", "message") != "message" or message.get("hidden"):
        return False
    if not is_ts(message.get("ts")):
        return False
    subtype = as_text(message.get("subtype"))
    if subtype == "bot_message":
        return include_bots
    if subtype not in SHOWN_SUBTYPES:
        return False
    if message.get("bot_id") and not include_bots:
        return False
    return isinstance(message.get("user"), str) or bool(include_bots and message.get("bot_id"))


def select_changes(
    messages: Iterable[Any],
    *,
    state: ChannelState | None,
    oldest: str | None,
    complete: bool,
    window_start: str,
    include_bots: bool = False,
) -> Changes:
    """What a history read changes, given what the wall already has (`state`).

    First read (`state` None): every shown message is new. Later: messages newer than
    `state.latest` are new; known ones whose `edited.ts` changed are sent again; known ones within
    the part of the range actually read that are no longer shown are deleted. The part read is
    everything after `oldest` when `complete`, else from the oldest message received.
    """
    received = [m for m in messages if isinstance(m, dict) and is_ts(m.get("ts"))]
    shown = {m["ts"]: m for m in received if is_shown(m, include_bots=include_bots)}
    stamps = [Decimal(m["ts"]) for m in received]
    start = Decimal(window_start)
    if state is None:
        if not stamps:
            return Changes((), (), None)
        known = {ts: _edited(m) for ts, m in shown.items() if Decimal(ts) >= start}
        return Changes(tuple(shown.values()), (), ChannelState(f"{max(stamps):f}", _bounded(known)))
    latest = Decimal(state.latest)
    known = dict(state.known)
    out: list[dict[str, Any]] = []
    for ts, message in shown.items():
        edited = _edited(message)
        if Decimal(ts) > latest:
            out.append(message)
            if Decimal(ts) >= start:
                known[ts] = edited
        elif ts in known and known[ts] != edited:
            out.append(message)
            known[ts] = edited
    if complete and oldest is not None:
        covered: Decimal | None = Decimal(oldest)
        inclusive = False
    else:
        covered = min(stamps) if stamps else None
        inclusive = True
    deleted: list[str] = []
    if covered is not None:
        for ts in list(known):
            inside = Decimal(ts) >= covered if inclusive else Decimal(ts) > covered
            if inside and ts not in shown:
                deleted.append(ts)
                del known[ts]
    known = {ts: edited for ts, edited in known.items() if Decimal(ts) >= start}
    newest = max([latest, *stamps])
    return Changes(tuple(out), tuple(deleted), ChannelState(f"{newest:f}", _bounded(known)))


def _bounded(known: dict[str, str]) -> dict[str, str]:
    if len(known) <= MAX_KNOWN:
        return known
    keep = sorted(known, key=Decimal)[-MAX_KNOWN:]
    return {ts: known[ts] for ts in keep}


def parse_user(obj: Any) -> Author | None:
    """The Author for a Slack User: display name, else real name; handle `@name`; 192 px avatar."""
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    profile = as_dict(obj.get("profile"))
    username = clean_text(as_text(obj.get("name")))
    name = (
        clean_text(as_text(profile.get("display_name")))
        or clean_text(as_text(profile.get("real_name")))
        or clean_text(as_text(obj.get("real_name")))
        or username
    )
    if not name:
        return None
    return Author(
        name=name, handle=f"@{username}" if username else "", avatar_url=http_url(profile.get("image_192"))
    )


def message_author(message: dict[str, Any], authors: Mapping[str, Author]) -> Author | None:
    """Who wrote a message: its `user` from the cache, or a bot's own name and icon."""
    user = message.get("user")
    if isinstance(user, str):
        return authors.get(user)
    profile = as_dict(message.get("bot_profile"))
    name = clean_text(as_text(message.get("username"))) or clean_text(as_text(profile.get("name")))
    icons = as_dict(profile.get("icons"))
    return Author(name=name, avatar_url=http_url(icons.get("image_72"))) if name else None


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _render_token(inner: str, user_name: Callable[[str], str | None]) -> str:
    target, bar, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label or user_name(target[1:]) or target[1:]}"
    if target.startswith("#"):
        return f"#{label}" if label else "#channel"
    if target.startswith("!"):
        if label:
            return label
        keyword = target[1:].split("^", 1)[0]
        return f"@{keyword}"
    if bar and label:
        return label
    return target.removeprefix("mailto:")


def mrkdwn_to_text(text: str | None, *, user_name: Callable[[str], str | None] = lambda _: None) -> str:
    """Plain text from Slack mrkdwn, then `clean_text`.

    `<@U123>` -> `@Name` (through `user_name`), `<#C123|general>` -> `#general`, `<url|label>` ->
    label, `<!here>` -> `@here`, `*bold*` / `_italic_` / `~strike~` markers and quote marks dropped,
    code kept verbatim, `&lt; &gt; &amp;` unescaped, known emoji shortcodes shown as emoji.
    """
    if not text:
        return ""
    shelf = Shelf(_unescape)  # Slack escapes &, < and > everywhere, code included
    body = shelve_code(without_placeholder_chars(text), shelf)  # first: a `<` in code is not a link
    body = _TOKEN.sub(lambda m: shelf.hold(_render_token(m.group(1), user_name)), body)
    body = _QUOTE.sub("", body)
    body = drop_emphasis(body, MRKDWN_EMPHASIS)
    body = replace_emoji(body)
    return clean_text(shelf.restore(_unescape(body)))


def mrkdwn_hashtags(text: str | None) -> tuple[str, ...]:
    """Hashtags of a mrkdwn message, outside code, links, mentions and channel references."""
    if not text:
        return ()
    return text_hashtags(_TOKEN.sub(" ", strip_code(text)))


def parse_files(files: Any) -> tuple[Media, ...]:
    """Image files (`mimetype` image/*): the 720 px thumbnail (or the original) with its alt text."""
    if not isinstance(files, list):
        return ()
    media: list[Media] = []
    for item in files:
        if not isinstance(item, dict) or not as_text(item.get("mimetype")).startswith("image/"):
            continue
        url = (
            http_url(item.get("thumb_720"))
            or http_url(item.get("thumb_480"))
            or http_url(item.get("url_private"))
        )
        if url:
            alt = clean_text(as_text(item.get("alt_txt")))
            media.append(Media(url=url, alt=alt, kind="image", preview_url=http_url(item.get("thumb_360"))))
    return tuple(media)


def permalink(workspace_url: str, channel: str, ts: str, thread_ts: str | None = None) -> str:
    """The link to a message in the workspace, as chat.getPermalink writes them."""
    if not workspace_url:
        return ""
    url = f"{workspace_url}/archives/{channel}/p{ts.replace('.', '')}"
    return f"{url}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else url


def parse_message(
    message: Any,
    *,
    channel: str,
    author: Author | None,
    source: str,
    kind: PostKind,
    workspace_url: str = "",
    user_name: Callable[[str], str | None] = lambda _: None,
) -> Post | None:
    """A Post from a Slack message; None when it is not one people wrote or its author is unknown."""
    if not isinstance(message, dict) or author is None or not is_ts(message.get("ts")):
        return None
    ts = str(message["ts"])
    thread_ts = message.get("thread_ts")
    thread_ts = thread_ts if is_ts(thread_ts) else None
    edited = _edited(message)
    raw_text = as_text(message.get("text"))
    return Post(
        id=post_id(channel, ts),
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=mrkdwn_to_text(raw_text, user_name=user_name),
        created_at=ts_time(ts),
        url=permalink(workspace_url, channel, ts, thread_ts),
        media=parse_files(message.get("files")),
        edited_at=ts_time(edited) if edited else None,
        is_reply=thread_ts is not None and thread_ts != ts,
        tags=mrkdwn_hashtags(raw_text),
    )


def classify_error(
    payload: Mapping[str, Any], fetched: Fetched, *, method: str, channel: str | None = None
) -> SourceError:
    """The error-tree exception for a Slack `{"ok": false, "error": ...}` answer.

    Messages are written here from the error name, which is repeated only when it is an identifier.
    """
    shown = redact_url(fetched.url)
    raw = payload.get("error")
    name = raw if isinstance(raw, str) and _ERROR_NAME.match(raw) else "unknown_error"
    where = f" for channel {channel}" if channel else ""
    if name == "missing_scope":
        needed = payload.get("needed")
        scope = needed if isinstance(needed, str) and _SCOPES.match(needed) else ""
        what = f"the scope {scope}" if scope else "a scope it lacks"
        return AuthError(
            f"slack {method}{where} needs {what} (missing_scope): add it to the app's Bot Token Scopes "
            "and reinstall the app"
        )
    if name in AUTH_ERRORS:
        return AuthError(
            f"slack refused the token at {shown} ({name}): check `token` (a bot token, xoxb-...)"
        )
    if name == "not_in_channel":
        return AuthError(
            f"the Slack app is not a member of channel {channel} ({name}): invite it with "
            "/invite @<app name> in that channel"
        )
    if name == "channel_not_found":
        return ConfigError(
            f"slack channel {channel} not found ({name}): check `channels` (the id from the channel's "
            "details); a private channel also needs the app invited with /invite @<app name>"
        )
    if name == "user_not_found":
        return ConfigError(f"slack user not found at {shown} ({name})")
    if name == "ratelimited":
        wait = parse_retry_after(fetched.headers.get("retry-after"))
        return RateLimited(f"rate limited by {shown} ({name})", wait if wait is not None else 60.0)
    if name.startswith("invalid_") or name.endswith("_not_found"):
        return ConfigError(f"slack refused {method}{where} at {shown} ({name})")
    return TransientError(f"slack could not answer {method}{where} at {shown} ({name})")
