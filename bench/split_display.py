"""`bench.split`'s display process: PySide6, the widgets and `wall.core`, fed over a pipe.

`python -m bench.split_display --fd N --report FILE [--paint-log FILE]` reads the engine's JSON
lines (`bench.split_wire`) from the unix socket `N` with a `QSocketNotifier` (no asyncio) into a
real `widgets.hub.Hub`, and shows the windows `wall run` would show for the engine's config, built
from the plain settings the engine sends first: the same `WallWindow`s, playlists, placement,
burn-in shift, `keep_memory_low` after each crossfade, `GuiThreadCollector`, malloc settings and
`tune_for_smooth_frames` after the first frame. Cards ask the engine for their pictures over the
same socket. At the end it writes what it loaded of pydantic, httpx, httpcore, asyncio, qasync and
Pillow to the report (and exits with status 3 if anything), with how long the lines took.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from bench.split_wire import (
    DISPLAY_FORBIDDEN,
    Looks,
    counts_in,
    forbidden_loaded,
    image_in,
    line,
    looks_in,
    posts_in,
)
from wall.core.model import PostKind, SourceStatus
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.shell.gc import GuiThreadCollector, tune_for_smooth_frames
from wall.shell.memory import memory_breakdown, prepare_for_long_run
from wall.shell.waker import SignalWaker
from wall.shell.windows import find_screen, keep_memory_low
from widgets.hub import Hub
from widgets.window import WallWindow, burn_in_offset

log = logging.getLogger("bench.split")  # its SIGUSR1 line: bench.split_wire.MEMORY_MARKER

READ_CHUNK = 256 * 1024
# As `wall.shell.runtime`: the picture moves a step every 3 minutes, within 4 pixels of the centre;
# the first frame waits at most a second before the interpreter is tuned for smooth frames.
BURN_IN_STEP_MS = 180_000
BURN_IN_REACH_PX = 4
FIRST_FRAME_WAIT_MS = 1_000


class EngineLink:
    """The display's end of the socket: each line from the engine applied to the hub; picture
    requests and the first frame sent back. Records how long each line took to be applied."""

    def __init__(self, sock: socket.socket, hub: Hub, on_looks: Callable[[Looks], None]) -> None:
        self._sock = sock
        self._hub = hub
        self._on_looks = on_looks
        self._buffer = b""
        self._notifier: QSocketNotifier | None = None
        self.on_closed: Callable[[], None] = lambda: None
        self.delays_ms: list[float] = []  # sent by the engine -> applied to the hub, every line
        self.first_seen: dict[str, tuple[float, float]] = {}  # post key -> (sent, applied), first time
        self.lines = 0
        self.bytes = 0
        self.pictures = 0
        hub.set_image_requester(lambda url: self.send("want_image", url=url))

    def send(self, op: str, **fields: object) -> None:
        """One line to the engine (small; the engine always reads, so this does not wait)."""
        self._sock.sendall(line(op, **fields))

    def read_until(self, op: str) -> None:
        """Before the windows show: read and apply lines, blocking, up to the first `op` line."""
        while True:
            data = self._sock.recv(READ_CHUNK)
            if not data:
                raise RuntimeError(f"the engine closed the socket before its {op!r} line")
            if op in self._take(data):
                return

    def listen(self) -> None:
        """From now on, read whenever the engine writes (the Qt event loop wakes this up)."""
        self._notifier = QSocketNotifier(self._sock.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._readable)

    def _readable(self) -> None:
        while True:
            try:
                data = self._sock.recv(READ_CHUNK, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            if not data:  # the engine stopped
                assert self._notifier is not None
                self._notifier.setEnabled(False)
                self.on_closed()
                return
            self._take(data)

    def _take(self, data: bytes) -> set[str]:
        """Apply every complete line in `data` (and what was left before); their ops."""
        self.bytes += len(data)
        *complete, self._buffer = (self._buffer + data).split(b"\n")
        ops = set()
        for raw in complete:
            message = json.loads(raw)
            self._apply(message)
            self.lines += 1
            self.delays_ms.append((time.monotonic() - message["t"]) * 1000)
            ops.add(message["op"])
        return ops

    def _apply(self, message: dict[str, Any]) -> None:
        op, hub = message["op"], self._hub
        if op in ("set_posts", "set_replay_pool"):
            kind, posts = cast(PostKind, message["kind"]), posts_in(message["posts"])
            (hub.set_posts if op == "set_posts" else hub.set_replay_pool)(kind, posts)
            applied = time.monotonic()
            for post in posts:
                self.first_seen.setdefault(post.key, (message["t"], applied))
        elif op == "set_counts":
            hub.set_counts(*counts_in(message))
        elif op == "set_statuses":
            hub.set_statuses([SourceStatus.from_dict(s) for s in message["statuses"]])
        elif op == "update_status":
            hub.update_status(SourceStatus.from_dict(message["status"]))
        elif op == "set_announcement":
            data = message["announcement"]
            hub.set_announcement(PublishedAnnouncement.from_dict(data) if data else None)
        elif op == "add_image":
            self.pictures += message["data"] is not None
            hub.add_image(message["url"], image_in(message["data"]))
        elif op == "forget_images":
            hub.forget_images(message["urls"])
        elif op == "looks":
            self._on_looks(looks_in(message))
        elif op != "filled":
            raise ValueError(f"unknown line from the engine: {op!r}")


class Display:
    """The windows of `wall run`, fed by the engine process."""

    def __init__(self, app: QApplication, sock: socket.socket) -> None:
        self.app = app
        self.hub = Hub()
        self.windows: list[WallWindow] = []
        self.looks: Looks | None = None
        self.link = EngineLink(sock, self.hub, self._build_windows)
        self.link.on_closed = app.quit
        self._tuned = False
        self._burn_in_step = 0
        self._burn_in = QTimer()
        self._burn_in.timeout.connect(self._next_burn_in_step)
        self._waker = SignalWaker(self._on_signal, (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1))

    def _build_windows(self, looks: Looks) -> None:
        """As `wall.shell.windows.build_windows`: one window per screen, every panel on each, the
        screen's own list as its playlist; spare pictures dropped after each crossfade."""
        self.looks = looks
        for screen in looks.screens:
            window = WallWindow(self.hub, looks.wall, looks.panels)
            window.set_playlist(screen.panels or None)
            keep_memory_low(window)
            self.windows.append(window)

    def start(self) -> None:
        """As `WallRuntime._main`: the stored content in the hub, the collector on, the windows
        placed full screen; the interpreter tuned once the first frame is painted."""
        self.link.read_until("filled")
        assert self.looks is not None, "the engine sends its looks first"
        self.hub.flush()
        self._collector = GuiThreadCollector()
        self.windows[0].first_frame.connect(self._on_first_frame)
        for window, screen in zip(self.windows, self.looks.screens, strict=True):
            window.place_on(find_screen(screen.output), fullscreen=True)
            window.set_shift(*burn_in_offset(self._burn_in_step, BURN_IN_REACH_PX), BURN_IN_REACH_PX)
        QTimer.singleShot(FIRST_FRAME_WAIT_MS, self._tune)
        self._burn_in.start(BURN_IN_STEP_MS)
        self.link.listen()

    def _on_first_frame(self) -> None:
        self._tune()
        self.link.send("painted")

    def _tune(self) -> None:
        if not self._tuned:
            self._tuned = True
            tune_for_smooth_frames()

    def _next_burn_in_step(self) -> None:
        self._burn_in_step += 1
        for window in self.windows:
            window.set_shift(*burn_in_offset(self._burn_in_step, BURN_IN_REACH_PX), BURN_IN_REACH_PX)

    def _on_signal(self, number: int) -> None:
        if number == signal.SIGUSR1:  # as `wall run`: where the memory is, on demand
            decoded = sum(window.context.pixmaps.cached_bytes() for window in self.windows)
            figures = {
                **memory_breakdown(),
                "pictures_encoded_mb": round(self.hub.image_bytes() / 2**20, 1),
                "pictures_decoded_mb": round(decoded / 2**20, 1),
            }
            log.info("memory %s", json.dumps(figures))
            return
        self.app.quit()

    def report(self) -> dict[str, object]:
        """What this process showed and received."""
        delays = sorted(self.link.delays_ms)
        panel = self.windows[0].current_panel() if self.windows else None
        return {
            "lines_received": self.link.lines,
            "mb_received": round(self.link.bytes / 2**20, 2),
            "pictures_received": self.link.pictures,
            "line_ms": {
                "median": round(statistics.median(delays), 2) if delays else None,
                "p95": round(delays[int(0.95 * (len(delays) - 1))], 2) if delays else None,
                "max": round(delays[-1], 2) if delays else None,
            },
            "first_seen": self.link.first_seen,
            "posts_in_hub": {
                kind: len(self.hub.posts(kind)) for kind in ("mention", "internal", "announcement")
            },
            "on_screen": panel.panel_type() if panel is not None else "nothing",
        }


def main(argv: list[str]) -> int:
    """`python -m bench.split_display --fd N --report FILE [--paint-log FILE]`."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.split_display", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--fd", type=int, required=True, help="the unix socket to the engine")
    parser.add_argument("--report", type=Path, required=True, help="where to write the JSON report")
    parser.add_argument("--paint-log", type=Path, help="first paints of posts (wall.shell.paint_probe)")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))  # as wall.engine.logs
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(logging.INFO)
    prepare_for_long_run()  # as `WallRuntime`, before Qt starts its threads
    app = QApplication(sys.argv[:1])
    app.setApplicationName("lobby-wall")
    display = Display(app, socket.socket(fileno=args.fd))
    if args.paint_log is not None:
        from wall.shell.paint_probe import PaintProbe

        probe = PaintProbe(app, args.paint_log)
    display.start()
    try:
        app.exec()
    finally:
        for window in display.windows:
            window.close()
    if args.paint_log is not None:
        probe.close()
    loaded = forbidden_loaded(DISPLAY_FORBIDDEN, sys.modules)
    args.report.write_text(json.dumps({**display.report(), "forbidden_loaded": loaded}), encoding="utf-8")
    return 3 if loaded else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
