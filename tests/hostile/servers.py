"""Hostile loopback servers made at test time, for the hostile run (tests/hostile/test_hostile_run.py)
and `python -m bench hostile`: nothing big is checked in.

- `PrivateListener` stands for the company's LAN: a server on 127.0.0.1 (and ::1 when IPv6 loopback
  works) that only counts the connections and requests it gets. Any count above 0 is a breach.
- `HostileServer` is what strangers control: RSS, JSON Feed and Mastodon-API answers whose posts carry
  picture and avatar URLs that point at the private listener (as 127.0.0.1, `localhost`, decimal, hex,
  octal and short IPv4 forms, [::1], IPv4-mapped IPv6, and redirects from the server's own origin),
  picture bombs, slow and never-ending pictures; feeds answered with a gzip bomb, a 200 MB body, a
  body at 1 byte a second or one that never ends; API error bodies and post texts that echo the
  configured secrets; malformed shapes (wrong types, deep nesting).

What the answers say is made in tests/hostile/corpus.py. Every server is bounded: a response that
trickles or never ends stops after `max_response_seconds` (or at `stop()`), at most
`max_connections` are served at once and `max_requests` in all. Every URL handed out is checked to
be loopback (`assert_loopback`): this workplace allows traffic to 127.0.0.0/8 and ::1 only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.hostile.corpus import (
    MASTODON_TAG,
    Corpus,
    Secrets,
    assert_loopback,
    good_picture,
    gzip_bomb,
    ipv6_loopback_works,
    picture_bombs,
)

HUGE_BODY_BYTES = 200 * 1024 * 1024


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
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\ninternal data"
                    )
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


@dataclass
class Tally:
    """What the hostile server answered, by route (thread-safe)."""

    counts: Counter[str] = field(default_factory=Counter)
    times: list[tuple[float, str]] = field(default_factory=list)  # (time.time(), route), the first 100,000
    token_on_pictures: int = 0  # picture requests that carried the Mastodon token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str) -> None:
        """Count one request to `route`, and when it came (to tell what a GUI stall followed)."""
        with self.lock:
            self.counts[route] += 1
            if len(self.times) < 100_000:
                self.times.append((time.time(), route))


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
        self.corpus = Corpus(self.base, private.urls, secrets)
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

    # -- what the wall is configured to read ---------------------------------------------------

    def sources_toml(self, interval: float, mastodon: HostileServer | None = None) -> str:
        """The `[[sources]]` and `[[panels]]` of a wall that reads every hostile answer of this server,
        the Mastodon ones from `mastodon` when given (another origin, as a real instance is).
        Secrets are not included: they come from the environment (`secret_env`)."""
        base = self.base
        api = (mastodon or self).base
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
                f'[[sources]]\nname = "{name}"\ntype = "mastodon"\nbase_url = "{api}/{name}"\n'
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

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the run's output is the wall's, not the server's."""

    def do_GET(self) -> None:
        """Route one GET."""
        owner = self.server.owner
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path
        token = owner.secrets.mastodon_token
        # No source of the wall may send the Mastodon token with a picture (Mastodon's own need none).
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

    def _stream(
        self, kind: str, pieces: Iterable[bytes], *, every: float = 0.0, length: int | None = None
    ) -> None:
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


def _answer_gzip_pictures_feed(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.corpus.rss_of_gzip_pictures(owner.next_round("gzip-pictures")), "application/rss+xml")


def _answer_rss(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.corpus.rss(owner.next_round("rss")), "application/rss+xml")


def _answer_json_feed(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.corpus.json_feed(owner.next_round("json")), "application/feed+json")


def _answer_odd(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, owner.corpus.odd_feed(owner.next_round("odd")), "application/rss+xml")


def _answer_gzip_bomb(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._send(200, gzip_bomb(), "application/rss+xml", {"Content-Encoding": "gzip"})


def _answer_huge(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    piece = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
    h._stream(
        "application/rss+xml", (piece for _ in range(HUGE_BODY_BYTES // len(piece))), length=HUGE_BODY_BYTES
    )


def _answer_slow(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("application/rss+xml", _repeat(b" "), every=1.0)  # 1 byte a second, for ever


def _answer_endless(h: _Handler, _owner: HostileServer, _q: dict[str, list[str]]) -> None:
    h._stream("application/rss+xml", _repeat(b"<x>" * 21_000))  # as fast as the wall reads


def _answer_mastodon(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    source = h.path.split("/")[1]
    round_ = owner.next_round(source)
    if source == "masto":
        h._send(200, owner.corpus.statuses(source, round_), "application/json")
        return
    status, body = owner.corpus.malformed_statuses(round_)
    h._send(status, body, "application/json")


def _answer_youtube(h: _Handler, owner: HostileServer, _q: dict[str, list[str]]) -> None:
    status, body = owner.corpus.youtube_error(owner.next_round("youtube"))
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
    "/feed/gzip-pictures": _answer_gzip_pictures_feed,
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
