"""Real local servers that receive alerts: an SMTP server (aiosmtpd) and an HTTP server that
accepts a request and never answers (a target that hangs)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.synapse import free_port


@dataclass
class Mailbox:
    """What the SMTP server received, and the one login it accepts."""

    user: str
    password: str
    messages: list[Message] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it so
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.received.set()
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """aiosmtpd's authenticator: the configured user and password only."""
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)


@contextmanager
def smtp_server(user: str, password: str) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on 127.0.0.1 that accepts `user`/`password` (AUTH over plain SMTP, as a
    relay on the LAN would); yields its mailbox and port."""
    mailbox = Mailbox(user, password)
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[tuple[int, threading.Event]]:
    """A TCP server on 127.0.0.1 that reads a request and never answers; yields its port and an
    event set when a request arrived."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    arrived = threading.Event()
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # kept open, never answered
            arrived.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, arrived
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()
