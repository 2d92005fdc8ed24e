"""Unix signals as callbacks on the Qt loop: a Python signal handler alone would wait for the
interpreter to run, which Qt's C++ loop does not do. Qt only (no qasync), so a process that shows
windows without an asyncio loop can use it too (`bench.split_display`)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterable

from PySide6.QtCore import QSocketNotifier

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


class SignalWaker:
    """Calls `on_signal(number)` on the Qt loop for each of `signals` received."""

    def __init__(self, on_signal: Callable[[int], None], signals: Iterable[int] = HANDLED) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._on_signal = on_signal
        signal.set_wakeup_fd(self._write.fileno())
        for number in signals:
            signal.signal(number, lambda *_: None)

    def _drain(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        for number in data:
            self._on_signal(number)
