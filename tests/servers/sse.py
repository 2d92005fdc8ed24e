"""A tiny HTTP/1.1 server for server-sent events, run on the test's own asyncio loop on 127.0.0.1.

pytest-httpserver answers each request at once and whole; an event stream stays open and sends
what the test says when it says it: events (LF or CRLF framing), `:thump` heartbeats, pauses, a
connection cut in the middle of an event, or a clean end. Requests it is told to refuse get a
plain answer (401, 404, an HTML page...).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    """One request as the server saw it (header names lowercased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(frozen=True)
class Answer:
    """A whole, non-streamed answer."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class Connection:
    """One open event stream: the test writes to it, drops it or ends it."""

    request: Received
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the client went away

    async def send(self, text: str) -> None:
        """Send `text` as one HTTP chunk."""
        data = text.encode()
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await self.writer.drain()

    async def event(self, name: str, data: str, *, crlf: bool = False) -> None:
        """One event: `event:` and one `data:` line per line of `data`, then a blank line."""
        eol = "\r\n" if crlf else "\n"
        lines = [f"event: {name}", *(f"data: {line}" for line in data.split("\n"))]
        await self.send(eol.join(lines) + eol + eol)

    async def heartbeat(self) -> None:
        """Mastodon's keep-alive comment."""
        await self.send(":thump\n")

    async def end(self) -> None:
        """Finish the chunked body cleanly and close the connection."""
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()
        self.writer.close()

    def drop(self) -> None:
        """Cut the connection at once (no final chunk): what a crash or a lost network looks like."""
        self.writer.transport.abort()


class SseServer:
    """Streams `text/event-stream` to every request, unless told to answer the next ones otherwise."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._connections: asyncio.Queue[Connection] = asyncio.Queue()
        self._open: list[Connection] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for connection in self._open:
            connection.writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The server as an instance announces its streaming API."""
        return f"ws://127.0.0.1:{self.port}"

    def answer_next(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
        """Answer the next request with this whole answer instead of a stream."""
        self._answers.append(Answer(status, body, content_type))

    async def connection(self, timeout: float = 2.0) -> Connection:
        """The next event stream a client opens."""
        return await asyncio.wait_for(self._connections.get(), timeout)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        parts = urlsplit(target)
        request = Received(method, parts.path, parse_qs(parts.query), headers)
        self.requests.append(request)
        if self._answers:
            answer = self._answers.popleft()
            writer.write(
                b"HTTP/1.1 %d Answer\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (answer.status, answer.content_type.encode(), len(answer.body), answer.body)
            )
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        connection = Connection(request, writer)
        self._open.append(connection)
        await self._connections.put(connection)
        try:
            await reader.read()  # returns at EOF: the client closed, or the test dropped or ended it
        except ConnectionError:
            pass
        finally:
            connection.closed.set()
            self._open.remove(connection)
            writer.close()
