"""Mastodon (and Mastodon-API servers such as snac2): hashtag timelines and follower counts.

Fetching is `MastodonSource.poll`; parsing is pure (`parse_status`, `parse_statuses`,
`parse_follower_count`) and tested on payloads shaped as the Mastodon API documents them.
Ids are opaque strings (snac2 uses hex): their order comes from the API's lists, never from comparing them.

Streaming (`MastodonSource.stream`): with a `token`, each hashtag is also watched over the streaming
API's server-sent events (`GET /api/v1/streaming/hashtag?tag=`; Mastodon multiplexes streams only
over WebSocket, so it is one HTTP connection per hashtag). Choices:
- the streaming host is the instance's own (`configuration.urls.streaming` of `/api/v2/instance`,
  else `urls.streaming_api` of `/api/v1/instance`, else `base_url`), looked up once. It is a
  ws(s):// URL, read as http(s)://; when it names base_url's host and port, base_url's scheme wins
  (snac2 announces wss:// on its plain-HTTP port), and an https API never streams over plain http;
- the SSE framing is parsed here (`SseParser`, the WHATWG event-stream rules: CR, LF or CRLF,
  multi-line data, comments); Mastodon sends a `:thump` comment every 15 s, so no byte for
  `heartbeat_timeout` seconds means the connection is dead (TransientError);
- once every connection is open, the timelines are read once from the cursors (what was
  published between the poller's catch-up poll and the connection), then each `update` moves
  its hashtag's cursor, so the catch-up poll after a reconnect does not fetch again what was
  streamed. A late remote status may move a cursor back: the next poll then re-reads a few
  statuses, which the store dedupes;
- while the stream is live, `poll()` reads only the follower counts (and the timelines of hashtags
  beyond `max_streams`: each streamed hashtag holds one of the shared HTTP client's connections);
- 400 ("Unknown channel requested"), 404, 405, 410 or 501 from the streaming endpoint, or an answer
  that is not `text/event-stream`, mean no streaming (snac2): the stream ends without yielding
  and the poller keeps polling.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from sources.base import (
    MALFORMED_JSON,
    ConfigError,
    Fetched,
    HttpFetcher,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    raise_for_status,
    redact_url,
    same_origin,
    secret_value,
    unique_hashtags,
)
from sources.payload import as_text, http_url, iso_time
from wall.core.model import Author, Batch, Count, Media, Post, PostKind, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK = "mastodon"
MAX_LIMIT = 40  # Mastodon refuses more than 40 statuses a page
MEDIA_KINDS = frozenset({"image", "gifv", "video", "audio"})
PARSE_CHUNK = 20  # statuses parsed between two yields to the event loop
# Unlisted, private and direct statuses asked not to be shown publicly; the lobby is public.
SHOWN_VISIBILITIES = frozenset({"public"})
HEARTBEAT_TIMEOUT_SECONDS = 60.0  # without a byte, a stream is dead (Mastodon sends one every 15 s)
MAX_EVENT_CHARS = 1024 * 1024  # a streamed event larger than this is refused, not parsed
MAX_STREAMS = 4  # hashtags streamed per source at most; the others are polled
STREAM_QUEUE = 64  # events read ahead of the poller before the connections wait
# Answers of a streaming endpoint meaning "no streaming here"; 400 is Mastodon's "Unknown channel requested".
NO_STREAMING = frozenset({400, 404, 405, 410, 501})
STREAMED_EVENTS = frozenset({"update", "delete", "status.update"})

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
    stream: bool = Field(
        True,
        description="With a token, show new posts as they are published (streaming API); false: poll only",
    )

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


class MastodonSource(SourceBase):
    """Polls hashtag timelines (only statuses newer than the last poll) and accounts' follower counts,
    and streams the hashtags when a token allows it (`stream`).

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
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT_SECONDS,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.heartbeat_timeout = heartbeat_timeout
        self.max_streams = max_streams
        self.instance_host = instance_host(settings.base_url)
        self._cursors: dict[str, str] = {}
        self._streaming_root: str | None = None
        self._streamed: tuple[str, ...] = ()  # hashtags whose streams are connected: polls skip them
        self.stream_unavailable = ""  # why the last `stream()` ended without yielding (for the log)

    def __repr__(self) -> str:
        return f"MastodonSource(name={self.settings.name!r}, base_url={self.settings.base_url!r})"

    @property
    def live(self) -> bool:
        """True while hashtags are streamed (then `poll()` skips their timelines)."""
        return bool(self._streamed)

    async def poll(self) -> Batch:
        """Fetch new statuses of every hashtag (unless they are streamed) and every follower count."""
        polled = [tag for tag in self.settings.hashtags if tag not in self._streamed]
        posts, cursors = await self._fetch_timelines(polled)
        observed_at = self.clock()
        counts = [await self._fetch_count(acct, observed_at) for acct in self.settings.accounts]
        self._cursors.update(cursors)
        return Batch(posts=tuple(posts), counts=tuple(counts))

    async def stream(self) -> AsyncGenerator[Batch, None]:
        """Push new, edited and deleted statuses of the hashtags as they happen (server-sent events);
        the first `max_streams` hashtags are streamed, any others stay polled.

        Ends at once without yielding when streaming is not available (no token, `stream = false`, no
        hashtags, or a server without streaming); `stream_unavailable` then says why. Otherwise it
        yields first what was published since the cursors (possibly nothing), then one batch per
        event; an empty batch is a heartbeat. Raises AuthError on 401/403, RateLimited on 429, and
        TransientError when a connection cannot be opened, drops, is closed by the server, or stays
        silent for `heartbeat_timeout` seconds. Reconnecting is the poller's job.
        """
        self.stream_unavailable = ""
        if not self.settings.stream:
            self.stream_unavailable = "stream = false"
            return
        if not self.settings.hashtags:
            self.stream_unavailable = "no hashtags to stream"
            return
        if not secret_value(self.settings.token):
            self.stream_unavailable = "streaming needs a token"
            return
        root = await self._find_streaming_root()
        tags = tuple(self.settings.hashtags[: self.max_streams])
        responses: list[tuple[str, httpx.Response]] = []
        readers: list[asyncio.Task[None]] = []
        try:
            for tag in tags:
                response = await self._open_stream(root, tag)
                if response is None:
                    return
                responses.append((tag, response))
            # What was published between the poller's catch-up poll and these connections.
            posts, cursors = await self._fetch_timelines(tags)
            self._cursors.update(cursors)
            self._streamed = tags
            yield Batch(posts=tuple(posts))
            queue: asyncio.Queue[tuple[str, str, Batch] | BaseException] = asyncio.Queue(STREAM_QUEUE)
            readers = [asyncio.create_task(self._read(tag, response, queue)) for tag, response in responses]
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                tag, event, batch = item
                if event == "update" and batch.posts:
                    self._cursors[tag] = batch.posts[0].id
                yield batch
        finally:
            self._streamed = ()
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            for _, response in responses:
                await response.aclose()

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

    async def _fetch_timelines(self, tags: Sequence[str]) -> tuple[list[Post], dict[str, str]]:
        """New posts of `tags` (a post under two hashtags once) and their new cursors."""
        cursors: dict[str, str] = {}
        posts: dict[str, Post] = {}
        for tag in tags:
            items, cursor = await self._fetch_tag(tag, self._cursors.get(tag))
            if cursor is not None:
                cursors[tag] = cursor
            for start in range(0, len(items), PARSE_CHUNK):
                for post in self._parse(items[start : start + PARSE_CHUNK]):
                    posts.setdefault(post.id, post)
                await asyncio.sleep(0)  # parsing runs on the GUI thread's loop: let a frame through
        return list(posts.values()), cursors

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
        return fetched, payload[: self.settings.limit]  # what was asked for, whatever the server sent

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

    # -- streaming --------------------------------------------------------------------------------

    async def _find_streaming_root(self) -> str:
        """Where the streaming API answers (looked up once; the instance's answer rarely changes)."""
        if self._streaming_root is None:
            announced = await self._announced_streaming_url()
            self._streaming_root = streaming_root(announced, self.settings.base_url)
            if urlsplit(self._streaming_root).hostname == urlsplit(self.settings.base_url).hostname:
                # The instance's own host on another port is the instance: reachable as base_url is.
                # A streaming host of another name is reached at a public address only.
                self.http.trust(self._streaming_root)
        return self._streaming_root

    async def _announced_streaming_url(self) -> str:
        """The streaming URL the instance announces, '' when it names none."""
        for path, keys in (
            ("/api/v2/instance", ("configuration", "urls", "streaming")),
            ("/api/v1/instance", ("urls", "streaming_api")),
        ):
            # Public endpoints: the token is not sent. Errors other than "not there" are raised.
            fetched = await self.http.get(
                f"{self.settings.base_url}{path}", conditional=False, raise_errors=False
            )
            if fetched.status in (404, 410):
                continue  # v2 exists since Mastodon 4.0; snac2 has only v1
            raise_for_status(fetched.status, fetched.headers, redact_url(fetched.url))
            try:
                value: Any = fetched.json()
            except TransientError:
                continue  # not JSON (a web page): no announcement there
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            if isinstance(value, str) and value.strip():
                return value.strip()
        return ""

    async def _open_stream(self, root: str, tag: str) -> httpx.Response | None:
        """The open event stream of `tag`, or None (and `stream_unavailable` set) when there is none."""
        headers = {**self._headers(), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        # No overall timeout on a long-lived answer; a read waiting longer than the heartbeat timeout fails.
        timeout = httpx.Timeout(self.heartbeat_timeout, connect=min(10.0, self.heartbeat_timeout))
        request = self.http.client.build_request(
            "GET", f"{root}/api/v1/streaming/hashtag", params={"tag": tag}, headers=headers, timeout=timeout
        )
        shown = redact_url(str(request.url))
        # Routed and redirected as every request (an announced root on another host is reached only
        # at a public address); a stream that carries the token never follows a redirect elsewhere.
        response = await self.http.send(request, credentials="Authorization" in headers)
        status = response.status_code
        content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if status in NO_STREAMING or (status < 300 and content_type != "text/event-stream"):
            await response.aclose()
            answer = f"HTTP {status}" if status >= 300 else f"an answer of type {content_type or 'unknown'}"
            self.stream_unavailable = f"{shown} gave {answer}"
            return None
        if status >= 300:
            await response.aclose()
            raise_for_status(status, response.headers, shown)
            raise TransientError(f"unexpected answer from {shown} (HTTP {status})")
        return response

    async def _read(
        self, tag: str, response: httpx.Response, queue: asyncio.Queue[tuple[str, str, Batch] | BaseException]
    ) -> None:
        """Parse one hashtag's event stream into `queue`; how it ended goes there too, as an exception."""
        shown = redact_url(str(response.url))
        parser = SseParser()
        error: BaseException
        try:
            async for chunk in response.aiter_bytes():
                for item in parser.feed(chunk):
                    if isinstance(item, SseComment):
                        await queue.put((tag, "", Batch()))  # a heartbeat: the connection is alive
                        continue
                    batch = parse_stream_event(
                        item,
                        source=self.settings.name,
                        kind=self.settings.kind,
                        instance_host=self.instance_host,
                    )
                    if batch is not None:
                        await queue.put((tag, item.event, batch))
            error = TransientError(f"stream closed by the server: {shown}")
        except httpx.TimeoutException:
            error = TransientError(f"no heartbeat from {shown} for {self.heartbeat_timeout:.0f} s")
        except httpx.TransportError as exc:
            error = TransientError(f"connection lost reading {shown}: {type(exc).__name__}")
        except SourceError as exc:
            error = exc
        except Exception as exc:  # a bug: the poller reports it and reconnects
            error = exc
        await queue.put(error)


# -- pure helpers ---------------------------------------------------------------------------------


def streaming_root(announced: str, base_url: str) -> str:
    """The http(s) root of the streaming API from the URL an instance announces ('' or odd: base_url).

    A ws(s):// URL is read as http(s)://; a trailing `/api/v1/streaming` is dropped (some servers
    announce the full endpoint). When it names base_url's host and port, base_url's scheme is used: one
    port speaks one protocol. A plain-http stream for an https API is refused: the token would travel
    in clear.
    """
    parts = urlsplit(announced.strip())
    base = urlsplit(base_url)
    scheme = {"wss": "https", "ws": "http", "https": "https", "http": "http"}.get(parts.scheme.lower())
    if scheme is None or not parts.hostname or "@" in parts.netloc or parts.query or parts.fragment:
        return base_url
    if parts.netloc.lower() == base.netloc.lower():
        scheme = base.scheme
    elif base.scheme == "https" and scheme == "http":
        return base_url
    path = parts.path.rstrip("/").removesuffix("/api/v1/streaming").rstrip("/")
    return f"{scheme}://{parts.netloc}{path}"


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched server-sent event: its type (`message` when unnamed), data and last event id."""

    event: str
    data: str
    id: str = ""


@dataclass(frozen=True, slots=True)
class SseComment:
    """A comment line (`:thump`): carries nothing, proves the connection alive."""

    text: str


_EOL = re.compile(r"\r\n|\r|\n")


class SseParser:
    """Incremental parser of a `text/event-stream` body, after the WHATWG HTML event-stream rules.

    Lines end with CRLF, LF or CR (a CRLF split across two chunks counts once); `field: value` lines
    fill the event, one space after the colon is dropped; `data` lines join with LF; a blank line
    dispatches the event when it has data; lines starting with ':' are comments; unknown fields are
    ignored. The body is UTF-8 (a leading BOM is dropped); an event or line over `max_chars`
    characters is a TransientError.
    """

    def __init__(self, max_chars: int = MAX_EVENT_CHARS) -> None:
        self.max_chars = max_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # an incomplete line
        self._after_cr = False  # the last line ended with CR: a leading LF belongs to it
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._size = 0
        self._last_id = ""

    def feed(self, chunk: bytes) -> list[SseEvent | SseComment]:
        """The events and comments completed by `chunk`."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = False
        buffer = self._pending + text
        found: list[SseEvent | SseComment] = []
        start = 0
        for match in _EOL.finditer(buffer):
            self._line(buffer[start : match.start()], found)
            start = match.end()
        self._after_cr = start == len(buffer) and buffer.endswith("\r")
        self._pending = buffer[start:]
        if len(self._pending) + self._size > self.max_chars:
            raise TransientError(f"a streamed event is larger than {self.max_chars} characters")
        return found

    def _line(self, line: str, found: list[SseEvent | SseComment]) -> None:
        if not line:
            if self._data:
                found.append(SseEvent(self._event or "message", "\n".join(self._data), self._last_id))
            self._event, self._data, self._size = "", [], 0
            return
        if line.startswith(":"):
            found.append(SseComment(line[1:]))
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._size += len(value) + 1
        elif name == "id" and "\0" not in value:
            self._last_id = value


def parse_stream_event(event: SseEvent, *, source: str, kind: PostKind, instance_host: str) -> Batch | None:
    """The change a streamed Mastodon event stands for; None for events the wall does not use.

    `update` and `status.update` carry a Status (an edit replaces the post; an edit that can no
    longer be shown removes it), `delete` the id of a deleted status. A status that is not shown
    (not public, malformed) gives an empty batch.
    """
    if event.event not in STREAMED_EVENTS:
        return None
    if event.event == "delete":
        status_id = event.data.strip()
        return Batch(deleted=(status_id,)) if status_id else Batch()
    try:
        obj = json.loads(event.data)
    except MALFORMED_JSON:
        raise TransientError(f"malformed JSON in a mastodon {event.event!r} event") from None
    post = parse_status(obj, source=source, kind=kind, instance_host=instance_host)
    if post is not None:
        return Batch(posts=(post,))
    if (
        event.event == "status.update"
        and isinstance(obj, dict)
        and isinstance(obj.get("id"), str)
        and obj["id"]
    ):
        return Batch(deleted=(obj["id"],))
    return Batch()


def instance_host(base_url: str) -> str:
    """The instance's host (with its port, if any) as it appears in `user@host` handles."""
    return urlsplit(base_url).netloc.rsplit("@", 1)[-1]


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


def parse_author(account: Any, *, instance_host: str) -> Author | None:
    """The author of a status from an Account entity; None when it has no usable acct."""
    if not isinstance(account, dict):
        return None
    username = clean_text(as_text(account.get("username")))
    acct = as_text(account.get("acct")).strip() or username
    if not acct:
        return None
    if "@" not in acct and instance_host:
        acct = f"{acct}@{instance_host}"  # local accounts have no domain in `acct`
    name = clean_text(as_text(account.get("display_name"))) or username or acct.split("@", 1)[0]
    avatar = http_url(account.get("avatar_static")) or http_url(account.get("avatar"))
    return Author(name=name, handle=f"@{acct}", avatar_url=avatar)


def parse_media(items: Any) -> tuple[Media, ...]:
    """Images, GIFs, videos and audio with their alt text; other kinds and non-http URLs are dropped."""
    if not isinstance(items, list):
        return ()
    media: list[Media] = []
    for item in items:
        if not isinstance(item, dict) or as_text(item.get("type")) not in MEDIA_KINDS:
            continue
        url = http_url(item.get("url")) or http_url(item.get("remote_url"))
        if not url:
            continue
        alt = clean_text(as_text(item.get("description")))
        media.append(
            Media(url=url, alt=alt, kind=str(item["type"]), preview_url=http_url(item.get("preview_url")))
        )
    return tuple(media)


def parse_tags(items: Any) -> tuple[str, ...]:
    """Names of a status's hashtags."""
    if not isinstance(items, list):
        return ()
    return tuple(
        name for item in items if isinstance(item, dict) and (name := as_text(item.get("name")).strip())
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
    created_at = iso_time(obj.get("created_at"))
    if not isinstance(status_id, str) or not status_id or author is None or created_at is None:
        return None
    if as_text(obj.get("visibility", "public")) not in SHOWN_VISIBILITIES:
        return None
    language = obj.get("language")
    return Post(
        id=status_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=html_to_text(as_text(obj.get("content"))),
        created_at=created_at,
        url=http_url(obj.get("url")) or http_url(obj.get("uri")),
        media=parse_media(obj.get("media_attachments")),
        sensitive=obj.get("sensitive") is True,
        spoiler_text=clean_text(as_text(obj.get("spoiler_text"))),
        language=language if isinstance(language, str) and language else None,
        edited_at=iso_time(obj.get("edited_at")),
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
    if not isinstance(obj, dict) or not as_text(obj.get("acct") or obj.get("username")):
        return None
    followers = obj.get("followers_count")
    known = isinstance(followers, int) and not isinstance(followers, bool) and followers >= 0
    value = followers if known else None
    name, username = as_text(obj.get("display_name")), as_text(obj.get("username"))
    label = clean_text(name) or clean_text(username) or account
    return Count(
        source=source,
        network=NETWORK,
        account=account,
        value=value,
        observed_at=observed_at,
        label=label,
        metric="followers",
    )
