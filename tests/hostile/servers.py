"""Hostile loopback servers made at test time, for the hostile run (tests/hostile/test_hostile_run.py)
and `python -m bench hostile`: nothing big is checked in, every picture and bomb is made here.

- `PrivateListener` stands for the company's LAN: a server on 127.0.0.1 (and ::1 when IPv6 loopback
  works) that only counts the connections and requests it gets. Any count above 0 is a breach.
- `HostileServer` is what strangers control: RSS, JSON Feed and Mastodon-API answers whose posts carry
  picture and avatar URLs that point at the private listener (as 127.0.0.1, `localhost`, decimal, hex,
  octal and short IPv4 forms, [::1], IPv4-mapped IPv6, and redirects from the server's own origin),
  picture bombs, slow and never-ending pictures; feeds answered with a gzip bomb, a 200 MB body, a
  body at 1 byte a second or one that never ends; API error bodies and post texts that echo the
  configured secrets; malformed shapes (wrong types, deep nesting).

Every server is bounded: a response that trickles or never ends stops after `max_response_seconds`
(or at `stop()`), at most `max_connections` are served at once and `max_requests` in all. Every URL
this module hands out is checked to be loopback (`assert_loopback`): this workplace allows traffic to
127.0.0.0/8 and ::1 only.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import json
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from PIL import Image

SIDE = 7000  # 49 megapixels: under the wall's 50-megapixel cap, ~150 MB once decoded as RGB
HUGE_BODY_BYTES = 200 * 1024 * 1024
GZIP_BOMB_BYTES = 1024 * 1024 * 1024  # what the feed's gzip bomb inflates to (about 1 MB on the wire)
MASTODON_TAG = "brand"

# Post texts a stranger may write: markup, a local file, a right-to-left override, zalgo, a huge word.
HOSTILE_TEXTS = {
    "script": "<p>Bonjour<script>alert('x')</script> le hall</p>",
    "file": "Regardez <img src=file:///etc/passwd> ceci",
    "rtl": "Prix \u202eCBA 99\u202c ok",
    "zalgo": "Z" + "\u0336\u0337\u0338" * 200 + "algo",
    "long": "mot" * 33_400,
}


# -- loopback only ------------------------------------------------------------------------------------


def ipv6_loopback_works() -> bool:
    """True when a server can listen on ::1 here (some containers have no IPv6 at all)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def assert_loopback(url: str) -> str:
    """`url` itself, after checking that every address its host resolves to is loopback (resolved the
    way the C library does, so decimal, hex, octal and short IPv4 forms are seen as connect() sees them)."""
    parts = urlsplit(url)
    host = parts.hostname
    assert host, f"{url}: no host"
    infos = socket.getaddrinfo(host, parts.port or 80, type=socket.SOCK_STREAM)
    addresses = {str(info[4][0]) for info in infos}
    assert addresses and all(_is_loopback(a) for a in addresses), f"{url} is not loopback: {addresses}"
    return url


# -- pictures made at run time -------------------------------------------------------------------------


@functools.cache
def picture_bombs() -> dict[str, tuple[bytes, str]]:
    """Small files that decode to hundreds of MB, each under the wall's pixel cap: (body, MIME type).

    Pillow writes the WebP (lossless, 34 bytes), PNG (~140 KB) and GIF (~37 KB); Pillow cannot write
    a run-length BMP, so that one is assembled here (RLE8 "skip 255 rows" escapes, ~800 bytes)."""
    bombs: dict[str, tuple[bytes, str]] = {}
    for name, mode, fmt, mime, options in (
        ("webp-lossless", "RGB", "WEBP", "image/webp", {"lossless": True, "method": 0}),
        ("png-flat", "RGB", "PNG", "image/png", {"compress_level": 9}),
        ("gif-flat", "P", "GIF", "image/gif", {}),
    ):
        out = io.BytesIO()
        Image.new(mode, (SIDE, SIDE)).save(out, fmt, **options)
        bombs[name] = (out.getvalue(), mime)
    bombs["bmp-rle8"] = (_bmp_rle8(SIDE, SIDE), "image/bmp")
    return bombs


def _bmp_rle8(width: int, height: int) -> bytes:
    """An 8-bit run-length BMP made only of "move 255 right and 255 down" escapes."""
    data, covered = bytearray(), 0
    while covered < width * height:
        data += bytes((0, 2, 255, 255))
        covered += 255 + 255 * width
    data += bytes((0, 1))  # end of bitmap
    palette = b"\x80\0\0\0\xff\xff\xff\0"
    offset = 14 + 40 + len(palette)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(data), 2835, 2835, 2, 0)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + bytes(data)


@functools.cache
def good_picture() -> bytes:
    """An ordinary 640x480 PNG: the wall must still load and show pictures like it."""
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 200)).save(out, "PNG")
    return out.getvalue()


@functools.cache
def gzip_bomb() -> bytes:
    """`GZIP_BOMB_BYTES` of zeros, gzip-compressed to about a thousandth of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    body = b"".join(packer.compress(block) for _ in range(GZIP_BOMB_BYTES // len(block)))
    return body + packer.flush()


# -- the private listener ------------------------------------------------------------------------------


class PrivateListener:
    """A stand-in for a LAN service: it accepts connections on 127.0.0.1 (and ::1 on the same port when
    IPv6 loopback works), answers any request with a short 200, and counts. It must count 0."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections = 0
        self.requests: list[str] = []  # first line of each request, e.g. "GET /p/avatar HTTP/1.1"
        self._stop = threading.Event()
        self._sockets = [self._listen(socket.AF_INET, "127.0.0.1", 0)]
        self.port = int(self._sockets[0].getsockname()[1])
        self.ipv6 = False
        if ipv6_loopback_works():
            try:
                self._sockets.append(self._listen(socket.AF_INET6, "::1", self.port))
                self.ipv6 = True
            except OSError:  # the port is taken on ::1: IPv6 forms are left out
                pass
        self._threads = [threading.Thread(target=self._accept, args=(s,), daemon=True) for s in self._sockets]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(16)
        sock.settimeout(0.2)  # so the accept loop sees stop() promptly
        return sock

    def _accept(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\ninternal data")
                except OSError:
                    head = b""
            with self._lock:
                self.requests.append(head.split(b"\r\n", 1)[0].decode("latin-1"))

    def urls(self, path: str) -> dict[str, str]:
        """Ways a stranger writes an address of this listener, by name: all loopback, none of them a
        configured origin of the wall."""
        port = self.port
        forms = {
            "ipv4": f"http://127.0.0.1:{port}{path}",
            "localhost": f"http://localhost:{port}{path}",
            "decimal": f"http://2130706433:{port}{path}",
            "hex": f"http://0x7f000001:{port}{path}",
            "hex-dotted": f"http://0x7f.0.0.1:{port}{path}",
            "octal": f"http://0177.0.0.1:{port}{path}",
            "short": f"http://127.1:{port}{path}",
        }
        if self.ipv6:
            forms["ipv6"] = f"http://[::1]:{port}{path}"
            forms["ipv4-mapped"] = f"http://[::ffff:127.0.0.1]:{port}{path}"
        return {name: assert_loopback(url) for name, url in forms.items()}

    @property
    def hits(self) -> int:
        """Connections that reached the listener (each one is a request the wall should never make)."""
        with self._lock:
            return self.connections

    def stop(self) -> None:
        """Stop accepting; the listening sockets are closed."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        for sock in self._sockets:
            sock.close()


# -- the hostile server --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """The secrets the hostile run configures (through the environment, as kiosk.service does)."""

    mastodon_token: str = "mastoTOKEN7f3a9c21e8d4b6057a1c"
    youtube_key: str = "AIzaSyHOSTILEkey0123456789abcdefXYZ"

    def values(self) -> list[str]:
        """Every secret value, to look for in the wall's outputs."""
        return [self.mastodon_token, self.youtube_key]


@dataclass
class Tally:
    """What the hostile server answered, by route (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    token_on_pictures: int = 0  # picture requests that carried the Mastodon token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str) -> None:
        """Count one request to `route`."""
        with self.lock:
            self.counts[route] += 1


class HostileServer:
    """Everything a stranger controls, on one loopback origin (`base`), answered by `_Handler`."""

    def __init__(
        self,
        private: PrivateListener,
        secrets: Secrets,
        *,
        max_response_seconds: float = 120.0,
        max_connections: int = 48,
        max_requests: int = 200_000,
    ) -> None:
        self.private = private
        self.secrets = secrets
        self.max_response_seconds = max_response_seconds
        self.max_requests = max_requests
        self.tally = Tally()
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._round_lock = threading.Lock()
        self._rounds: Counter[str] = Counter()
        picture_bombs()  # made once, before the first request needs them
        gzip_bomb()
        self._httpd = _BoundedHTTPServer(("127.0.0.1", 0), _Handler, self)
        self.port = int(self._httpd.server_address[1])
        self.base = assert_loopback(f"http://127.0.0.1:{self.port}")
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2})
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str) -> str:
        """An absolute URL on this server."""
        return assert_loopback(self.base + path)

    def next_round(self, route: str) -> int:
        """How many times `route` was asked for before (each answer mints fresh posts and pictures)."""
        with self._round_lock:
            self._rounds[route] += 1
            return self._rounds[route]

    def stop(self) -> None:
        """Stop serving; trickling and endless answers end within a second."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- what the posts point at ---------------------------------------------------------------

    def hostile_pictures(self, round_: int) -> dict[str, str]:
        """Picture URLs for one round, by name: the private listener in every form, redirects from
        this origin to it, bombs, slow and endless pictures, and one good picture. Each round's URLs
        are new, so the wall tries them all again."""
        tag = f"?r={round_}"
        pictures = {f"private-{name}": url for name, url in self.private.urls(f"/p/{round_}").items()}
        target = quote(self.private.urls(f"/p/redirected-{round_}")["ipv4"], safe="")
        pictures["redirect-302"] = self.url(f"/redirect/302?to={target}&r={round_}")
        pictures["redirect-307"] = self.url(f"/redirect/307?to={target}&r={round_}")
        for name in picture_bombs():
            pictures[f"bomb-{name}"] = self.url(f"/pic/bomb/{name}{tag}")
        pictures["bomb-gzip"] = self.url(f"/pic/gzip{tag}")
        pictures["slow"] = self.url(f"/pic/slow{tag}")
        pictures["endless"] = self.url(f"/pic/endless{tag}")
        pictures["good"] = self.url(f"/pic/good{tag}")
        return pictures

    def sources_toml(self, interval: float) -> str:
        """The `[[sources]]` and `[[panels]]` of a wall that reads every hostile answer of this server
        (secrets not included: they come from the environment, see `secret_env`)."""
        base = self.base
        feeds = {
            "rss-hostile": "/feed/rss",
            "jsonfeed-hostile": "/feed/json",
            "rss-odd": "/feed/odd",
            "bomb-gzip": "/feed/gzip-bomb",
            "bomb-200mb": "/feed/huge",
            "slow-feed": "/feed/slow",
            "endless-feed": "/feed/endless",
        }
        parts = [
            f'[[sources]]\nname = "{name}"\ntype = "rss"\nurl = "{base}{path}"\ninterval = {interval}\n'
            for name, path in feeds.items()
        ]
        for name in ("masto", "masto-odd"):
            parts.append(
                f'[[sources]]\nname = "{name}"\ntype = "mastodon"\nbase_url = "{base}/{name}"\n'
                f'hashtags = ["{MASTODON_TAG}"]\nstream = false\nlimit = 20\nmax_pages = 2\n'
                f"interval = {interval}\n"
            )
        parts.append(
            f'[[sources]]\nname = "yt-echo"\ntype = "youtube"\nbase_url = "{base}/youtube/v3"\n'
            f'channels = ["UCabcdefghijklmnopqrstuv"]\ninterval = {interval}\n'
        )
        for source in ("rss-hostile", "jsonfeed-hostile", "masto"):
            parts.append(f'[[panels]]\ntype = "mentions"\nduration = 3\nlimit = 12\nsources = ["{source}"]\n')
        parts.append('[[panels]]\ntype = "mentions"\nduration = 3\nlimit = 12\n')
        return "".join(parts)

    def secret_env(self) -> dict[str, str]:
        """The secrets as the wall reads them from the environment (`WALL_SOURCES__<NAME>__<KEY>`)."""
        env = {"WALL_SOURCES__YT_ECHO__API_KEY": self.secrets.youtube_key}
        for name in ("MASTO", "MASTO_ODD"):
            env[f"WALL_SOURCES__{name}__TOKEN"] = self.secrets.mastodon_token
        return env

    # -- answers -------------------------------------------------------------------------------

    def rss(self, round_: int) -> bytes:
        """An RSS 2.0 feed: one item per hostile picture, texts hostile, the channel image private."""
        pictures = self.hostile_pictures(round_)
        chosen = {k: v for k, v in pictures.items() if k.startswith(("private-", "redirect-"))}
        chosen["good"] = pictures["good"]
        texts = list(HOSTILE_TEXTS.items())
        items = []
        for index, (name, url) in enumerate(chosen.items()):
            label, text = texts[index % len(texts)]
            items.append(
                f"<item><guid isPermaLink=\"false\">r{round_}-{name}</guid><title>{label} {round_}</title>"
                f"<description><![CDATA[{text} #{round_}-{index}]]></description>"
                f'<enclosure url="{_xml(url)}" type="image/png" length="1"/>'
                f'<media:thumbnail url="{_xml(url)}"/>'
                f"<pubDate>{_rfc822(round_, index)}</pubDate></item>"
            )
        avatar = _xml(pictures["private-localhost"])
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
            f"<title>Hostile</title><link>{self.base}/</link><image><url>{avatar}</url><title>H</title>"
            f"<link>{self.base}/</link></image>{''.join(items)}</channel></rss>"
        ).encode()

    def json_feed(self, round_: int) -> bytes:
        """A JSON Feed 1.1: pictures and author avatars at the private listener and the bombs."""
        pictures = self.hostile_pictures(round_)
        private = [v for k, v in pictures.items() if k.startswith("private-")]
        bombs = [v for k, v in pictures.items() if k.startswith("bomb-")]
        items = []
        for index, url in enumerate([*bombs, pictures["slow"], pictures["good"]]):
            items.append(
                {
                    "id": f"j{round_}-{index}",
                    "content_html": f"<b>Salut</b><iframe src='{private[0]}'></iframe> #{round_}-{index}",
                    "image": url,
                    "banner_image": private[index % len(private)],
                    "authors": [{"name": f"Auteur {index}", "avatar": private[(index + 1) % len(private)]}],
                    "date_published": _iso(round_, index),
                }
            )
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile", "items": items}
        return json.dumps(feed).encode()

    def statuses(self, source: str, round_: int) -> bytes:
        """A Mastodon tag timeline page: avatars at the private listener, bombs, slow and endless media,
        the configured token echoed in texts and names."""
        pictures = self.hostile_pictures(round_)
        private = [v for k, v in pictures.items() if k.startswith("private-")]
        media = [v for k, v in pictures.items() if not k.startswith("private-")]
        token = self.secrets.mastodon_token
        texts = [*HOSTILE_TEXTS.values(), f"Mon jeton est {token} #{MASTODON_TAG}"]
        statuses = []
        for index, url in enumerate(media):
            sid = str(round_ * 1000 + index)
            statuses.append(
                {
                    "id": sid,
                    "uri": f"{self.base}/{source}/statuses/{sid}",
                    "url": f"{self.base}/{source}/@user{index}/{sid}",
                    "created_at": _iso(round_, index),
                    "content": f"<p>{texts[index % len(texts)]} #{MASTODON_TAG} {sid}</p>",
                    "spoiler_text": f"cw {token}" if index == 1 else "",
                    "visibility": "public",
                    "sensitive": False,
                    "language": "fr",
                    "tags": [{"name": MASTODON_TAG}],
                    "account": {
                        "id": f"{round_}x{index}",
                        "username": f"user{round_}x{index}",
                        "acct": f"user{round_}x{index}@hostile.example",
                        "display_name": f"Nom {token}" if index == 2 else f"Auteur {index}",
                        "avatar": private[index % len(private)],
                        "avatar_static": private[(index + 3) % len(private)],
                        "url": f"{self.base}/@user{index}",
                    },
                    "media_attachments": [
                        {"id": sid, "type": "image", "url": url, "preview_url": url, "description": "x"}
                    ],
                }
            )
        statuses.reverse()  # newest first, as Mastodon answers
        return json.dumps(statuses).encode()

    def malformed_statuses(self, round_: int) -> tuple[int, bytes]:
        """Mastodon-shaped answers of the wrong shape, one kind per round: wrong types, deep nesting,
        an object instead of a list, or a 401 whose body echoes the token."""
        token = self.secrets.mastodon_token
        kind = round_ % 4
        if kind == 0:
            wrong = [
                {"id": 12, "content": ["x"], "account": None, "created_at": "hier", "media_attachments": {}},
                {"id": str(round_), "content": {"p": 1}, "account": {"avatar": 5}, "created_at": 1e308},
                "not a status",
                None,
            ]
            return 200, json.dumps(wrong).encode()
        if kind == 1:
            depth = 100_000  # deeper than any recursive parser goes
            return 200, (b'[{"id": "1", "card": ' + b"[" * depth + b"]" * depth + b"}]")
        if kind == 2:
            return 200, json.dumps({"error": "not a list", "statuses": [{"id": "2"}]}).encode()
        return 401, json.dumps({"error": f"The access token {token} is invalid"}).encode()

    def odd_feed(self, round_: int) -> bytes:
        """A feed of the wrong shape, one kind per round: deep nesting, wrong types, not XML at all."""
        kind = round_ % 3
        if kind == 0:
            depth = 50_000
            return b'<?xml version="1.0"?><rss version="2.0"><channel>' + b"<x>" * depth + b"</x>" * depth
        if kind == 1:
            item = (
                "<item><guid>" + "g" * 100_000 + "</guid><pubDate>32 Smarch 99999</pubDate>"
                '<enclosure url="javascript:alert(1)"/><enclosure/><title><![CDATA[]]></title></item>'
            )
            return f'<?xml version="1.0"?><rss version="2.0"><channel>{item * 3}</channel></rss>'.encode()
        return json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [[[]], 5, "x"]}).encode()

    def youtube_error(self, round_: int) -> tuple[int, bytes]:
        """A Google API error that echoes the key in its reason and message (403, then 400)."""
        key = self.secrets.youtube_key
        error = {
            "error": {
                "code": 403,
                "message": f"API key {key} not valid. Please pass a valid API key.",
                "errors": [{"message": f"key={key}", "domain": "global", "reason": key}],
                "details": [{"reason": f"{key}"}],
            }
        }
        return (403 if round_ % 2 else 400), json.dumps(error).encode()


def _xml(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _when(round_: int, index: int) -> datetime:
    # Recent, distinct, never in the future: the newest round comes first on screen.
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return base + timedelta(seconds=index)


def _iso(round_: int, index: int) -> str:
    return _when(round_, index).isoformat().replace("+00:00", "Z")


def _rfc822(round_: int, index: int) -> str:
    return _when(round_, index).strftime("%a, %d %b %Y %H:%M:%S GMT")


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A threading server that serves at most `max_connections` at once and `max_requests` in all:
    further connections are closed at once."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: HostileServer) -> None:
        self.owner = owner
        self.served = 0
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.served >= self.owner.max_requests or not self.owner._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        self.served += 1
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a wall hanging up in the middle of a bomb is what it should do."""

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner._slots.release()


class _Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests for `HostileServer` (keep-alive, HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this
    server: _BoundedHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the run's output is the wall's, not the server's."""

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        """Route one GET."""
        owner = self.server.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        token = owner.secrets.mastodon_token
        if path.startswith("/pic/") and token in (self.headers.get("Authorization") or ""):
            with owner.tally.lock:
                owner.tally.token_on_pictures += 1
        route = _route_name(path)
        owner.tally.add(route)
        handler = _ROUTES.get(route)
        if handler is None:
            self._send(404, b'{"error": "not found"}', "application/json")
            return
        handler(self, owner, query)

    # -- helpers --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, kind: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, kind: str, pieces: Iterable[bytes], *, every: float = 0.0, length: int | None = None) -> None:
        """Send `pieces` (chunked unless `length`), one each `every` seconds, until they run out, the
        client goes, the server stops or `max_response_seconds` pass; then close the connection."""
        owner = self.server.owner
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        deadline = time.monotonic() + owner.max_response_seconds
        try:
            for piece in pieces:
                if owner.stopping.is_set() or time.monotonic() > deadline:
                    return
                if length is None:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                else:
                    self.wfile.write(piece)
                self.wfile.flush()
                if every and owner.stopping.wait(every):
                    return
            if length is None:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the wall hung up: what it should do with a body it refuses
            return


def _route_name(path: str) -> str:
    if path.startswith("/pic/bomb/"):
        return "/pic/bomb"
    if path.startswith(("/masto/", "/masto-odd/")):
        source, _, rest = path[1:].partition("/")
        return f"/{source}/tag" if rest.startswith("api/v1/timelines/tag/") else f"/{source}/other"
    if path.startswith("/youtube/"):
        return "/youtube"
    return path


def _repeat(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def _answer_rss(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.rss(owner.next_round("rss")), "application/rss+xml")


def _answer_json_feed(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.json_feed(owner.next_round("json")), "application/feed+json")


def _answer_odd(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.odd_feed(owner.next_round("odd")), "application/rss+xml")


def _answer_gzip_bomb(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, gzip_bomb(), "application/rss+xml", {"Content-Encoding": "gzip"})


def _answer_huge(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    piece = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
    h._stream("application/rss+xml", (piece for _ in range(HUGE_BODY_BYTES // len(piece))), length=HUGE_BODY_BYTES)


def _answer_slow(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("application/rss+xml", _repeat(b" "), every=1.0)  # 1 byte a second, for ever


def _answer_endless(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("application/rss+xml", _repeat(b"<x>" * 21_000))  # as fast as the wall reads


def _answer_mastodon(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    source = h.path.split("/")[1]
    round_ = owner.next_round(source)
    if source == "masto":
        h._send(200, owner.statuses(source, round_), "application/json")
        return
    status, body = owner.malformed_statuses(round_)
    h._send(status, body, "application/json")


def _answer_youtube(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    status, body = owner.youtube_error(owner.next_round("youtube"))
    h._send(status, body, "application/json")


def _answer_redirect(h: _Handler, _owner: HostileServer, q: dict[str, list[str]]) -> None:
    target = assert_loopback(q.get("to", [""])[0])
    h._send(int(h.path.split("/")[2].split("?")[0]), b"", "text/plain", {"Location": target})


def _answer_bomb(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    name = urlsplit(h.path).path.rsplit("/", 1)[-1]
    body, kind = picture_bombs().get(name, (b"", "text/plain"))
    h._send(200 if body else 404, body, kind)


def _answer_gzip_picture(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, gzip_bomb(), "image/png", {"Content-Encoding": "gzip"})


def _answer_slow_picture(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("image/png", (good_picture()[i : i + 1] for i in range(len(good_picture()))), every=1.0)


def _answer_endless_picture(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("image/png", _repeat(good_picture()[:8] + bytes(65_000)))


def _answer_good_picture(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, good_picture(), "image/png")


_ROUTES: dict[str, Callable[[_Handler, HostileServer, dict[str, list[str]]], None]] = {
    "/feed/rss": _answer_rss,
    "/feed/json": _answer_json_feed,
    "/feed/odd": _answer_odd,
    "/feed/gzip-bomb": _answer_gzip_bomb,
    "/feed/huge": _answer_huge,
    "/feed/slow": _answer_slow,
    "/feed/endless": _answer_endless,
    "/masto/tag": _answer_mastodon,
    "/masto-odd/tag": _answer_mastodon,
    "/youtube": _answer_youtube,
    "/redirect/302": _answer_redirect,
    "/redirect/307": _answer_redirect,
    "/pic/bomb": _answer_bomb,
    "/pic/gzip": _answer_gzip_picture,
    "/pic/slow": _answer_slow_picture,
    "/pic/endless": _answer_endless_picture,
    "/pic/good": _answer_good_picture,
}


# -- secrets in outputs --------------------------------------------------------------------------------


def secrets_found(outputs: Mapping[str, bytes], secrets: Iterable[str]) -> dict[str, int]:
    """How many times any secret occurs in each output (only outputs with at least one are listed)."""
    needles = [s.encode() for s in secrets]
    found = {name: sum(data.count(n) for n in needles) for name, data in outputs.items()}
    return {name: count for name, count in found.items() if count}


def files_under(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder`, by path relative to it (the store, its WAL, the last good
    config copy, the picture cache...)."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

