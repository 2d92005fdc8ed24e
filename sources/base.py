"""What every source adapter shares on the HTTP side: `HttpFetcher` (every request, its size and
time limits, redirects and credentials), `SourceBase`, and the one place where HTTP answers are
mapped to the error tree. The settings, the `Source` protocols and the error tree themselves are in
`sources.contract` (re-exported here), which needs no HTTP stack.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import json
import json.decoder
import json.scanner
import re
import ssl
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

# Re-exported: where adapters and the engine import them.
from sources.contract import AuthError as AuthError
from sources.contract import ConfigError as ConfigError
from sources.contract import PermanentError as PermanentError
from sources.contract import PictureSource as PictureSource
from sources.contract import RateLimited as RateLimited
from sources.contract import Source as Source
from sources.contract import SourceError as SourceError
from sources.contract import SourceSettings as SourceSettings
from sources.contract import StreamingSource as StreamingSource
from sources.contract import TransientError as TransientError
from sources.contract import origin_of as origin_of
from wall.core.model import Batch, Post
from wall.core.outbound import TRUSTED, OutboundRefused

DEFAULT_MAX_BYTES = 5 * 1024 * 1024  # a feed or API page larger than this is refused, not parsed
MAX_CONFIG_HASHTAGS = 50  # hashtags one source may list: each costs a request (or a stream) a poll
ERROR_BODY_MAX_BYTES = 64 * 1024  # an error body is read only for its code or reason: truncated is fine
# What `json.loads` raises on a hostile body: malformed, not UTF-8, or nested deeper than Python's
# recursion limit (`[[[[...` is a few kilobytes).
MALFORMED_JSON: tuple[type[Exception], ...] = (ValueError, UnicodeDecodeError, RecursionError)


class SourceBase:
    """The base class of every adapter: the optional capabilities of `Source`, `StreamingSource`
    and `PictureSource`, with the defaults of a source that needs none of them. An adapter overrides
    only what its network needs; the poller and the engine read these members directly, so mypy
    checks every use and every override's type."""

    stream_unavailable: str = ""  # a streaming source sets it when its stream() ends at once

    @property
    def slow_down(self) -> float:
        """No extra wait between polls."""
        return 0.0

    def image_headers(self, url: str) -> dict[str, str]:
        """Pictures are public: no headers."""
        return {}


# A JSON body larger than this is decoded in a worker thread, by the standard library's pure-Python
# decoder: `json.loads` is one C call that holds the GIL for its whole length (a 5 MB page: 50 ms in
# which the GUI thread cannot paint, issue 12), whereas Python code lets the GUI thread in every
# switch interval (1 ms in `wall run`): 7 times the CPU, off the loop, and no frame lost.
JSON_ON_LOOP_BYTES = 256 * 1024
_NOT_DECODED = object()


class _InterruptibleDecoder(json.JSONDecoder):
    """`json.JSONDecoder` with its pure-Python scanner: same results, same errors."""

    def __init__(self) -> None:
        super().__init__()
        self.parse_string = json.decoder.py_scanstring  # type: ignore[attr-defined]
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]


def decode_json_off_loop(content: bytes) -> Any:
    """Decode a JSON body in a worker thread without holding the GIL for long stretches; a malformed
    body raises one of MALFORMED_JSON, as `json.loads` would."""
    text = content.decode(json.detect_encoding(content), "surrogatepass")
    return _InterruptibleDecoder().decode(text)


@dataclasses.dataclass(frozen=True, slots=True)
class Fetched:
    """A successful HTTP answer, body already read within the size cap."""

    status: int
    headers: httpx.Headers
    content: bytes
    url: str
    decoded: Any = _NOT_DECODED  # a big JSON body, decoded off the loop (`HttpFetcher.request`)
    decode_error: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def json(self) -> Any:
        """Decoded JSON body; a malformed body is a TransientError naming the URL."""
        if self.decode_error:
            raise TransientError(f"malformed JSON from {redact_url(self.url)}: {self.decode_error}")
        if self.decoded is not _NOT_DECODED:
            return self.decoded
        try:
            return json.loads(self.content)
        except MALFORMED_JSON as exc:
            raise TransientError(f"malformed JSON from {redact_url(self.url)}: {exc}") from None

    async def decoded_off_loop(self) -> Fetched:
        """This answer with a big JSON body already decoded in a worker thread (itself otherwise)."""
        if len(self.content) <= JSON_ON_LOOP_BYTES or not _looks_like_json(self.headers, self.content):
            return self
        try:
            value = await asyncio.to_thread(decode_json_off_loop, self.content)
        except MALFORMED_JSON as exc:
            return dataclasses.replace(self, decode_error=str(exc))
        return dataclasses.replace(self, decoded=value)


def _looks_like_json(headers: httpx.Headers, content: bytes) -> bool:
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if "json" in kind:
        return True
    return content[:64].lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))


def redact_url(url: str) -> str:
    """The URL without what may carry a secret: its query string, fragment and user:password@."""
    base = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = base.partition("://")
    if not sep:
        return base
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{path}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def _rate_limit_wait(headers: httpx.Headers) -> float | None:
    """Seconds to wait from Retry-After or the common `*-ratelimit-reset` headers."""
    wait = parse_retry_after(headers.get("retry-after"))
    if wait is not None:
        return wait
    for name in ("x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            try:  # Mastodon sends an ISO 8601 timestamp
                stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                continue
            return max(0.0, stamp.timestamp() - time.time())
        # Epoch seconds when large, delta seconds otherwise.
        return max(0.0, number - time.time()) if number > 1e9 else number
    return None


class HttpFetcher:
    """Requests for one source over the wall's shared `httpx.AsyncClient`.

    Maps every network failure and HTTP status to the error tree, caps the body size while it
    streams in (compressed bodies are inflated a bounded piece at a time, so a gzip bomb costs no
    more than the cap), and replays `ETag` / `Last-Modified` validators so unchanged feeds answer 304.

    `origins` are the source's configured origins (its `base_url`, feed `url`...): requests there are
    marked trusted and may reach the LAN (an internal Matrix server is normal); any other URL, e.g. one
    taken from an answer, reaches public addresses only (`wall.core.outbound`). Redirects are followed here,
    hop by hop, each hop routed again; a request that carries credentials never follows one to another
    origin.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        conditional: bool = True,
        origins: Iterable[str] = (),
        compressed: bool = True,
    ) -> None:
        self.client = client
        self.max_bytes = max_bytes
        # False for pictures: they are compressed already, so a compressed answer can only be a bomb.
        self.compressed = compressed
        self.conditional = conditional
        self.origins = frozenset(o for o in (origin_of(u) for u in origins) if o is not None)
        self._validators: dict[str, dict[str, str]] = {}

    def trust(self, url: str) -> None:
        """Count the origin of `url` among the source's own: only for what the source's configuration
        names, or its own server says of itself (never a URL from a post)."""
        if (origin := origin_of(url)) is not None:
            self.origins = self.origins | {origin}

    def owns(self, url: str) -> bool:
        """True when `url` is on one of the source's configured origins."""
        return origin_of(url) in self.origins

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        conditional: bool | None = None,
        raise_errors: bool = True,
    ) -> Fetched:
        """GET `url`; returns a `Fetched` (status 200..299 or 304) or raises a SourceError.

        With `raise_errors=False` an HTTP error is returned too, its body read (cut at
        ERROR_BODY_MAX_BYTES), for APIs whose error body says what went wrong (YouTube, Graph).
        """
        return await self.request(
            "GET", url, params=params, headers=headers, conditional=conditional, raise_errors=raise_errors
        )

    async def request(
        self,
        method: Literal["GET", "POST"],
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        conditional: bool | None = None,
        raise_errors: bool = True,
        timeout: float | httpx.Timeout | None = None,
    ) -> Fetched:
        """Any request, with the same error mapping and size cap as `get`; `timeout` (seconds)
        replaces the client's for this request only (a long-poll waits longer than a normal call)."""
        use_validators = (self.conditional if conditional is None else conditional) and method == "GET"
        try:
            request = self.client.build_request(
                method,
                url,
                params=params,
                headers={**({} if self.compressed else {"Accept-Encoding": "identity"}), **(headers or {})},
                json=json_body,
                data=data,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.InvalidURL as exc:  # e.g. a post's picture at http://0177.0.0.1/: a task died of it
            raise TransientError(f"not fetched: {redact_url(url)}: {exc}") from None
        cache_key = str(request.url)
        if use_validators:
            for name, value in self._validators.get(cache_key, {}).items():
                request.headers[name] = value
        shown = redact_url(cache_key)
        credentials = _carries_credentials(method, headers, json_body, data)
        response = await self.send(request, credentials=credentials)
        try:
            status = response.status_code
            if status == 304:
                return Fetched(304, response.headers, b"", cache_key)
            if status < 400:
                content = await read_capped(response, self.max_bytes, shown, compressed=self.compressed)
            elif not raise_errors:
                content = await read_capped(
                    response, ERROR_BODY_MAX_BYTES, shown, truncate=True, compressed=self.compressed
                )
            else:
                content = b""
        finally:
            await response.aclose()
        if not raise_errors and status >= 400:
            return Fetched(status, response.headers, content, cache_key)
        raise_for_status(status, response.headers, shown)
        if use_validators:
            validators = {}
            if etag := response.headers.get("etag"):
                validators["If-None-Match"] = etag
            if modified := response.headers.get("last-modified"):
                validators["If-Modified-Since"] = modified
            if validators:
                self._validators[cache_key] = validators
        return await Fetched(status, response.headers, content, cache_key).decoded_off_loop()

    async def send(self, request: httpx.Request, *, credentials: bool = True) -> httpx.Response:
        """Send `request` and return the open (streamed) answer after any redirects; the caller
        closes it. Network failures are TransientErrors; an answer is returned whatever its status.

        Each hop goes to the trusted pool only when its URL is on the source's own origins.
        `credentials`: the request carries a secret (a key header, a token, a posted password);
        then a redirect to another origin is refused instead of followed.
        """
        shown = redact_url(str(request.url))
        for _hop in range(MAX_REDIRECTS + 1):
            request.extensions[TRUSTED] = self.owns(str(request.url))
            response = await self._send_once(request, shown)
            location = response.headers.get("location") if response.is_redirect else None
            if not location:
                return response
            await response.aclose()
            try:
                target = request.url.join(location)
            except httpx.InvalidURL:
                raise TransientError(f"{shown} redirected to an invalid address") from None
            if target.scheme not in ("http", "https"):
                raise TransientError(f"{shown} redirected to a {target.scheme} URL: not followed")
            same = same_site(str(request.url), str(target))
            if credentials and not same:
                raise ConfigError(
                    f"{shown} redirected to another origin ({redact_url(str(target))}): not followed, "
                    "the request carries credentials; set base_url to where the API really is"
                )
            request = _next_hop(request, target, response.status_code, keep_headers=same)
        raise TransientError(f"{shown}: more than {MAX_REDIRECTS} redirects")

    async def _send_once(self, request: httpx.Request, shown: str) -> httpx.Response:
        try:
            try:
                return await self.client.send(request, stream=True)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A server that silently closed a pooled keep-alive connection (snac2 does): the
                # request never reached it, so one retry on a fresh connection is safe for a GET.
                if request.method != "GET":
                    raise
                return await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise TransientError(f"timed out: {shown}") from None
        except httpx.ProxyError as exc:  # the [network] proxy refused a tunnel (CONNECT): "407 ..."
            if str(exc).startswith("407"):
                raise AuthError(_PROXY_LOGIN_REFUSED.format(shown=shown)) from None
            raise TransientError(f"the proxy refused {shown}: {exc}") from None
        except httpx.TransportError as exc:
            if isinstance(exc.__cause__, OutboundRefused):
                raise TransientError(f"not fetched: {shown}: {exc}") from None
            if (why := _certificate_refused(exc)) is not None:
                raise TransientError(_CERTIFICATE_REFUSED.format(shown=shown, why=why)) from None
            raise TransientError(f"cannot reach {shown}: {type(exc).__name__}") from None


_CERTIFICATE_REFUSED = (
    "cannot reach {shown}: its certificate is not trusted ({why}). If it is signed by the company's "
    "own authority, add that authority to the system's: copy it to /usr/local/share/ca-certificates/ "
    "and run update-ca-certificates"
)


def _certificate_refused(exc: BaseException) -> str | None:
    """OpenSSL's reason when `exc` came from a certificate the wall does not trust, else None."""
    seen: BaseException | None = exc
    for _ in range(8):  # httpx's error, httpcore's, then ssl's
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or "not verified")
        seen = seen.__cause__ or seen.__context__
    return None


MAX_REDIRECTS = 5
_PROXY_LOGIN_REFUSED = (
    "the proxy refused {shown} (HTTP 407): check [network] proxy_username and proxy_password"
)
# Headers that carry no credential: a request with any other header of the caller's (Authorization,
# Api-Key, a cookie...) or with a body never follows a redirect to another origin.
_PLAIN_HEADERS = frozenset(
    {"accept", "accept-encoding", "accept-language", "cache-control", "if-none-match", "if-modified-since"}
    | {"user-agent"}
    | {"linkedin-version", "x-restli-protocol-version"}
)


def _carries_credentials(
    method: str, headers: Mapping[str, str] | None, json_body: Any, data: Mapping[str, str] | None
) -> bool:
    if method != "GET" or json_body is not None or data:
        return True
    return any(name.lower() not in _PLAIN_HEADERS for name in (headers or {}))


def _next_hop(request: httpx.Request, target: httpx.URL, status: int, *, keep_headers: bool) -> httpx.Request:
    """The request a redirect asks for: 303 (and 301/302 after a POST) become a GET without body;
    headers of the caller stay only on the same site."""
    method = request.method
    if status == 303 or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    headers.pop("host", None)
    if not keep_headers:
        headers = httpx.Headers({k: v for k, v in headers.items() if k.lower() in _PLAIN_HEADERS})
    if method == "GET":
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    content = request.content if method == request.method and method != "GET" else None
    extensions = dict(request.extensions)
    return httpx.Request(method, target, headers=headers, content=content, extensions=extensions)


def same_origin(url: str, other: str) -> bool:
    """True when both URLs are http(s) with the same scheme, host and port."""
    origin = origin_of(url)
    return origin is not None and origin == origin_of(other)


def same_site(url: str, target: str) -> bool:
    """True when a redirect from `url` to `target` stays on the same origin, or only moves from
    http to https on the same host and default ports (a secret sent in clear may go on over TLS;
    never the other way)."""
    a, b = origin_of(url), origin_of(target)
    if a is None or b is None:
        return False
    return a == b or (a == ("http", b[1], 80) and b == ("https", a[1], 443))


def bearer_for(url: str, origin: str, token: str, *, path_prefix: str = "") -> dict[str, str]:
    """The Authorization header for `url` when it is on `origin` (and under `path_prefix`), else {}:
    the one place that decides where a source's token may travel with a picture."""
    if not token or not same_origin(url, origin):
        return {}
    if path_prefix and not urlsplit(url).path.startswith(f"{path_prefix.rstrip('/')}/"):
        return {}
    return {"Authorization": f"Bearer {token}"}


async def read_capped(
    response: httpx.Response, limit: int, shown: str, *, truncate: bool = False, compressed: bool = True
) -> bytes:
    """The body of an open answer, decoded, at most `limit` bytes: more is a TransientError (or,
    with `truncate`, cut). A compressed body is inflated a piece of at most `INFLATE_PIECE_BYTES` at a
    time, handing the loop back between pieces (the GUI thread's, in `wall run`), so what a bomb would
    inflate to is never held and never blocks a frame; `compressed=False` refuses any compressed answer
    (pictures are compressed already). The answer's stream is closed on every path."""
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "identity")
    if not truncate and declared and declared.isdigit() and int(declared) > limit and encoding == "identity":
        raise TransientError(f"answer too large from {shown}: {declared} bytes > {limit}")
    try:
        inflate = Inflater(encoding)
        if inflate.coding and not compressed:
            raise ValueError(f"content encoding {encoding!r} was not asked for")
    except ValueError as exc:
        await response.aclose()
        raise TransientError(f"answer from {shown} not read: {exc}") from None
    body = bytearray()
    over = False
    raw = response.aiter_raw()
    try:
        async for piece in raw:
            for over in inflate.feed(piece, body, limit):
                if over:
                    break
                await asyncio.sleep(0)  # a frame may be due between two pieces
            if over:
                break
        else:
            over = inflate.finish(body, limit)
    except httpx.TimeoutException:
        raise TransientError(f"timed out reading {shown}") from None
    except httpx.TransportError as exc:
        raise TransientError(f"connection lost reading {shown}: {type(exc).__name__}") from None
    except zlib.error:
        raise TransientError(f"answer from {shown} is not valid {encoding} data") from None
    finally:
        await raw.aclose()  # type: ignore[attr-defined]
        await response.aclose()
    if over:
        if truncate:
            return bytes(body[:limit])
        body.clear()  # nothing of it stays alive with the error's frames
        raise TransientError(f"answer too large from {shown}: over {limit} bytes")
    return bytes(body)


INFLATE_PIECE_BYTES = 256 * 1024  # ~0.3 ms of zlib: no inflate step costs a frame


class Inflater:
    """Decodes a body's `Content-Encoding` (identity, gzip, deflate; the only ones the wall asks for)
    a bounded piece at a time."""

    def __init__(self, encoding: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise ValueError(f"content encoding {encoding!r} is not supported")
        self.coding = codings[0] if codings else ""
        self._zlib: Any = None
        if self.coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.coding == "deflate":
            self._zlib = zlib.decompressobj()
        self._first = True

    def feed(self, data: bytes, out: bytearray, limit: int) -> Iterator[bool]:
        """Append the decoded `data` to `out`, one piece of at most INFLATE_PIECE_BYTES per step; each
        step yields True as soon as `out` exceeds `limit` (then stop), else False."""
        if self._zlib is None:
            out += data[: limit + 1 - len(out)]
            yield len(out) > limit
            return
        if self._first and self.coding == "deflate" and data:
            self._first = False
            try:  # "deflate" is zlib-wrapped by the standard, raw by some servers
                zlib.decompressobj().decompress(data[:64], 1)
            except zlib.error:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = data
        while pending:
            room = min(limit + 1 - len(out), INFLATE_PIECE_BYTES)
            out += self._zlib.decompress(pending, room)
            if len(out) > limit:
                yield True
                return
            pending = self._zlib.unconsumed_tail
            if self._zlib.eof and self._zlib.unused_data and self.coding != "deflate":
                pending = self._zlib.unused_data  # another gzip member follows
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif self._zlib.eof:
                break
            yield False

    def finish(self, out: bytearray, limit: int) -> bool:
        """Flush what the decoder still holds; True when that goes over `limit`."""
        if self._zlib is not None:
            out += self._zlib.flush(limit + 1 - len(out))
        return len(out) > limit


def raise_for_status(status: int, headers: httpx.Headers, shown: str) -> None:
    """Raise the error-tree exception matching an HTTP status (no-op below 400)."""
    if status < 400:
        return
    if status == 429:
        wait = _rate_limit_wait(headers)
        raise RateLimited(f"rate limited by {shown} (HTTP 429)", wait if wait is not None else 60.0)
    if status == 407:  # from the [network] proxy, not from the server
        raise AuthError(_PROXY_LOGIN_REFUSED.format(shown=shown))
    if status in (401, 403):
        raise AuthError(f"access refused by {shown} (HTTP {status}): check the token")
    if status in (404, 410):
        raise ConfigError(f"not found: {shown} (HTTP {status}): check base_url and the names in config")
    if status == 503 and (wait := parse_retry_after(headers.get("retry-after"))) is not None:
        raise RateLimited(f"{shown} is unavailable (HTTP 503)", wait)
    if status >= 500:
        raise TransientError(f"server error from {shown} (HTTP {status})")
    raise ConfigError(f"request refused by {shown} (HTTP {status})")


def check_api_root(value: str, *, example: str, secret: str) -> str:
    """A configured API root: http(s), and no query, fragment or password, since a secret written
    there would travel in every URL and log line (`secret` names the key it belongs in)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{redact_url(value)!r} is not an http(s) URL: write it as {example}")
    if parts.query or parts.fragment or parts.username or parts.password:
        what = "key" if secret == "api_key" else secret
        raise ValueError(
            f"{redact_url(value)!r} must not have a query, fragment or password: give the API root only "
            f"(the {what} goes in `{secret}`)"
        )
    return value.strip().rstrip("/")


def unique_hashtags(values: Iterable[str], pattern: re.Pattern[str], example: str) -> list[str]:
    """Configured hashtags without their '#', checked against `pattern`, duplicates (any case) dropped;
    more than MAX_CONFIG_HASHTAGS is refused (each one is a request, or a stream, at every poll)."""
    tags: dict[str, str] = {}  # folded -> as written: one lookup a tag (a list scan made 10,000 take 5 s)
    for raw in values:
        tag = raw.strip().lstrip("#")
        if not pattern.match(tag):
            raise ValueError(f"{raw!r} is not a hashtag: {example}")
        tags.setdefault(tag.casefold(), tag)
        if len(tags) > MAX_CONFIG_HASHTAGS:
            raise ValueError(
                f"lists more than {MAX_CONFIG_HASHTAGS} hashtags: keep the {MAX_CONFIG_HASHTAGS} that matter "
                "most, or split them over several sources"
            )
    return list(tags.values())


def env_variable(name: str, key: str) -> str:
    """The environment variable that fills secret `key` of the source called `name`."""
    env_name = "".join(c if c.isalnum() else "_" for c in name).upper()
    return f"WALL_SOURCES__{env_name}__{key.upper()}"


def required_secret(secret: SecretStr | None, settings: SourceSettings, key: str, *, what: str = "") -> str:
    """The raw value of secret `key` of a source, or an AuthError saying the three places it may be
    set (the config key, its environment variable, the systemd credential) and `what` it is."""
    if value := secret_value(secret):
        return value
    hint = f" ({what})" if what else ""
    raise AuthError(
        f"{settings.type} source {settings.name!r} has no {key}: set `{key}`, "
        f"{env_variable(settings.name, key)} or the credential {settings.name}.{key}{hint}"
    )


# A hashtag in plain text: '#' not inside a word, a URL fragment or an entity, with at least one letter.
_TEXT_HASHTAG = re.compile(r"(?<![\w#&/])#(\w*[^\W\d_][\w-]*)")


def text_hashtags(text: str) -> tuple[str, ...]:
    """The `#words` of a plain text, case folded, without '#', each once, first seen first
    (what the consent rule `require_tag` looks for when a network has no tag field)."""
    tags: list[str] = []
    for match in _TEXT_HASHTAG.finditer(text):
        tag = match.group(1).rstrip("-").casefold()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


class RecentWindow:
    """What a source that reads its newest posts again at each poll remembers, to report new posts,
    edits of posts shown, posts shown again (unhidden, republished) and posts that vanished: the
    highest id read, and a signature (e.g. `updated_at`) of each post shown in the window read.

    Used by APIs that neither page by "changed since" nor report deletions (Discourse, HumHub).
    """

    def __init__(self) -> None:
        self.cursor: int | None = None
        self.known: dict[int, str] = {}  # shown post id -> signature

    def changes(self, found: Mapping[int, tuple[Post | None, str]]) -> Batch:
        """The batch for one read of the window: post id -> (the post, or None when it may not be
        shown any more, and its signature)."""
        if not found:
            return Batch()
        lowest, highest = min(found), max(found)
        floor = min(self.known) if self.known else None
        posts: list[Post] = []
        deleted: list[str] = []
        known: dict[int, str] = {}
        for pid in sorted(found, reverse=True):
            post, signature = found[pid]
            was = self.known.get(pid)
            if post is None:
                if was is not None:
                    deleted.append(str(pid))
                continue
            known[pid] = signature
            if self.cursor is None or pid > self.cursor:
                posts.append(post)
            elif was is not None:
                if was != signature:
                    posts.append(post)  # edited
            elif floor is not None and pid >= floor:
                posts.append(post)  # shown again
        deleted.extend(str(pid) for pid in self.known if lowest <= pid <= highest and pid not in found)
        self.known = known
        self.cursor = highest if self.cursor is None else max(self.cursor, highest)
        return Batch(posts=tuple(posts), deleted=tuple(deleted))

    def state(self) -> dict[str, Any]:
        """The highest post id read and the posts shown in the last window, to resume after a restart."""
        return {"cursor": self.cursor, "known": {str(pid): sig for pid, sig in self.known.items()}}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; malformed entries are dropped."""
        cursor = state.get("cursor")
        self.cursor = cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None
        known = state.get("known")
        self.known = {}
        if self.cursor is None or not isinstance(known, Mapping):
            return
        for key, signature in known.items():
            if isinstance(key, str) and key.isdigit() and isinstance(signature, str):
                self.known[int(key)] = signature


def secret_value(secret: SecretStr | None) -> str:
    """The raw value of an optional secret ('' when unset)."""
    return secret.get_secret_value() if secret is not None else ""
