"""A small forward proxy on 127.0.0.1 for tests: what a company's egress proxy does, and a record of
what it was asked.

It answers absolute-URI requests for http:// targets (relayed, one request per connection) and
CONNECT for https:// ones (a byte tunnel), can require `Proxy-Authorization`, and resolves host
names only through its own `hosts` table, so it never reaches anything but loopback.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    """One request the proxy received: `target` is the absolute URI, or host:port for CONNECT."""

    method: str
    target: str
    proxy_authorization: str | None


def basic(username: str, password: str) -> str:
    """The `Proxy-Authorization` value for these credentials."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


class ForwardProxy:
    """The proxy's state: what it was asked (`requests`), which login it wants, where names go."""

    def __init__(self, *, login: tuple[str, str] | None = None, hosts: dict[str, str] | None = None) -> None:
        self.requests: list[ProxyRequest] = []
        self.expected = basic(*login) if login else None
        self.hosts = dict(hosts or {})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-proxy", daemon=True)

    @property
    def url(self) -> str:
        """The proxy's URL, as `[network] proxy` takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def targets(self) -> list[str]:
        """What the proxy was asked to reach, in order."""
        return [r.target for r in self.requests]

    def start(self) -> None:
        """Serve in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def address_of(self, host: str) -> str:
        """Where the proxy connects for `host`: its table, else the host itself (an address)."""
        return self.hosts.get(host.lower(), host)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads `requests`, not stderr

            def _admitted(self) -> bool:
                given = self.headers.get("Proxy-Authorization")
                proxy.requests.append(ProxyRequest(self.command, self.path, given))
                if proxy.expected is None or given == proxy.expected:
                    return True
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="test proxy"')
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                return False

            def do_CONNECT(self) -> None:
                if not self._admitted():
                    return
                host, _, port = self.path.rpartition(":")
                try:
                    upstream = socket.create_connection((proxy.address_of(host.strip("[]")), int(port)), 5)
                except (OSError, ValueError):
                    self.send_error(502)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                with upstream:
                    _tunnel(self.connection, upstream)

            def _relay(self) -> None:
                if not self._admitted():
                    return
                self.close_connection = True
                url = urlsplit(self.path)
                if url.scheme != "http" or not url.hostname:
                    self.send_error(400, "absolute http:// URI expected")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection(
                    proxy.address_of(url.hostname), url.port or 80, timeout=5
                )
                try:
                    path = url.path or "/"
                    upstream.request(
                        self.command, f"{path}?{url.query}" if url.query else path, body, headers
                    )
                    answer = upstream.getresponse()
                    content = answer.read()
                except OSError:
                    self.send_error(502)
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(content)

            do_GET = _relay
            do_POST = _relay

        return Handler


def _tunnel(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (upstream if sock is client else client).sendall(data)


@contextmanager
def forward_proxy(
    *, login: tuple[str, str] | None = None, hosts: dict[str, str] | None = None
) -> Iterator[ForwardProxy]:
    """A running `ForwardProxy`, stopped on exit."""
    proxy = ForwardProxy(login=login, hosts=hosts)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
