"""The systemd watchdog is pinged from the GUI thread: a frozen GUI stops the pings.

The pings go to a real datagram socket, as systemd's $NOTIFY_SOCKET; the GUI is frozen the way a
blocking call on the GUI thread would freeze it.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from wall.engine.systemd import watchdog_interval
from wall.shell.runtime import GuiWatchdog


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(256).decode())
        except BlockingIOError:
            return messages


def test_pings_stop_while_the_gui_thread_is_frozen_and_resume_after(
    qtbot: QtBot, notify_socket: socket.socket
) -> None:
    watchdog = GuiWatchdog(interval=0.05)
    assert watchdog.is_active()
    qtbot.wait(400)
    before = received(notify_socket)
    assert len(before) >= 4 and set(before) == {"WATCHDOG=1"}

    time.sleep(1.0)  # the GUI thread is stuck: no event loop, no timer
    assert received(notify_socket) == []

    qtbot.wait(400)
    assert len(received(notify_socket)) >= 4  # alive again: the pings are back


def test_no_pings_without_a_watchdog(qtbot: QtBot, notify_socket: socket.socket) -> None:
    watchdog = GuiWatchdog(interval=None)
    assert not watchdog.is_active()
    qtbot.wait(200)
    assert received(notify_socket) == []


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({}) is None
