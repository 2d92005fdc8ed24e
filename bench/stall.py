"""GUI-thread stalls while 10,000 posts arrive from a loopback Mastodon server during crossfades.

A 5 ms precise QTimer beats on the GUI thread; every gap longer than its period is time the
screen could not be repainted. Panels crossfade back to back the whole time.

The longest stalls are broken down (`longest_stalls`): the GUI thread's own CPU time in the gap,
and how often the kernel took its core away (involuntary context switches: other processes on a
shared machine). The rest of the gap it waited: for the GIL (held by the store thread's moderation)
or for I/O. `--trace` adds what ran on the GUI thread's event loop (asyncio callbacks over 1 ms,
Qt frames) and the store thread's jobs in each of those gaps: how issue 14's stall was found.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

import argparse
import asyncio
import concurrent.futures.thread
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from bench.common import make_config, rss_mb
from wall.engine.engine import Engine
from wall.engine.services import make_client, open_store
from wall.shell.gc import GuiThreadCollector, tune_for_smooth_frames
from wall.shell.memory import prepare_for_long_run
from widgets.hub import Hub
from widgets.window import WallWindow

POSTS = 10_000
HEARTBEAT_MS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def involuntary_switches() -> int:
    """How often the kernel has taken this thread's core away so far (another process ran)."""
    for line in Path("/proc/thread-self/status").read_text().splitlines():
        if line.startswith("nonvoluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


class Tracer(QObject):
    """`--trace`: what the GUI thread's loop ran (asyncio callbacks over 1 ms, frames of the
    window) and the store thread's jobs, to name what filled the longest gaps."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[float, float, str]] = []  # (start, ms, what)
        handle_run = asyncio.events.Handle._run
        work_run = concurrent.futures.thread._WorkItem.run
        spans = self.spans

        def run_handle(handle: Any) -> None:
            started = time.perf_counter()
            try:
                handle_run(handle)
            finally:
                took = (time.perf_counter() - started) * 1000
                if took > 1.0:
                    spans.append((started, took, f"loop: {_callback_name(handle)}"))

        def run_work(item: Any) -> None:
            started = time.perf_counter()
            try:
                work_run(item)
            finally:
                name = getattr(item.fn, "__qualname__", repr(item.fn))
                spans.append((started, (time.perf_counter() - started) * 1000, f"thread: {name}"))

        asyncio.events.Handle._run = run_handle  # type: ignore[method-assign,assignment]
        concurrent.futures.thread._WorkItem.run = run_work  # type: ignore[method-assign,assignment]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A frame of the window starts (its paint is the rest of the gap until the next span)."""
        if event.type() == QEvent.Type.UpdateRequest:
            self.spans.append((time.perf_counter(), 0.0, "frame: window repaint starts"))
        return False

    def during(self, start: float, end: float) -> list[str]:
        """What overlapped the gap from `start` to `end` (ms relative to its start)."""
        return [
            f"+{(began - start) * 1000:.1f} ms, {took:.1f} ms: {what}"
            for began, took, what in sorted(self.spans)
            if began < end and began + took / 1000 >= start
        ]


def _callback_name(handle: asyncio.Handle) -> str:
    callback: Callable[..., Any] | None = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return f"task {owner.get_coro().__qualname__}"  # type: ignore[union-attr]
    return getattr(callback, "__qualname__", repr(callback))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stall", description=__doc__.splitlines()[0])
    parser.add_argument("--trace", action="store_true", help="name what ran during the longest stalls")
    tracer = Tracer() if parser.parse_args().trace else None
    prepare_for_long_run()  # as `wall run` does, before Qt and the thread pools start
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.mastodon_server", str(port), str(POSTS + 40)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    config, _ = make_config(
        f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "http://127.0.0.1:{port}"\n'
        'hashtags = ["brand"]\nmax_pages = 32\nlimit = 40\ninterval = 15\n'
        '[[panels]]\ntype = "mentions"\nduration = 3\n[[panels]]\ntype = "internal"\nduration = 3\n'
        '[[sources]]\nname = "demo"\ntype = "demo"\ninterval = 3600\n',
        storage="max_posts_per_source = 100000\n",
    )
    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    store = open_store(config)
    hub = Hub()
    window = WallWindow(hub, config.wall, config.effective_panels())
    window.place_on(QGuiApplication.primaryScreen(), fullscreen=True)
    if tracer is not None:
        window.installEventFilter(tracer)
    gaps: list[float] = []
    last = [time.perf_counter()]
    beats: list[tuple[float, float, int]] = []  # (wall clock, GUI thread's CPU clock, involuntary switches)

    def beat() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now
        beats.append((now, time.thread_time(), involuntary_switches()))

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.timeout.connect(beat)
    fades: list[float] = []
    window.rotator.panel_changed.connect(lambda _kind: fades.append(time.perf_counter()))

    async def run() -> dict[str, object]:
        client = make_client(config)
        engine = Engine(config, store, hub, client)
        masto, demo = engine.sources
        masto.restore({"cursors": {"brand": "40"}})  # everything after the first page is new
        await engine.poller.poll_once(demo)  # something on every panel, so the rotation never skips
        engine.fill_screen_from_store()
        tune_for_smooth_frames()  # as `wall run` does
        _collector = GuiThreadCollector()  # as `wall run` does: collections on this thread only (kept)
        await asyncio.sleep(1.0)  # first paint, warm-up
        gaps.clear()
        beats.clear()
        last[0] = time.perf_counter()
        heartbeat.start(HEARTBEAT_MS)
        started = time.perf_counter()
        polls = 0
        # The panels rotate on their own timers (3 s each, 600 ms crossfades, pictures prepared
        # ahead as in production); each poll starts as a crossfade starts, so posts arrive during it.
        while store.post_count("masto") < POSTS and polls < 40:
            seen = len(fades)
            while len(fades) == seen:
                await asyncio.sleep(0.01)
            await engine.poller.poll_once(masto)
            polls += 1
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # let the coalesced repaint happen while still measuring
        heartbeat.stop()
        stored = store.post_count("masto")
        await engine.stop()
        await client.aclose()
        stalls = [max(0.0, g - HEARTBEAT_MS) for g in gaps]
        longest = sorted(itertools.pairwise(beats), key=lambda pair: pair[0][0] - pair[1][0])[:3]
        return {
            "target_max_stall_ms": 17,
            "posts_stored": stored,
            "polls": polls,
            "arrival_seconds": round(elapsed, 2),
            "crossfades": len(fades),
            "heartbeats": len(gaps),
            "max_stall_ms": round(max(stalls), 2),
            "p99_stall_ms": round(percentile(stalls, 0.99), 2),
            "p50_gap_ms": round(percentile(gaps, 0.5), 2),
            "stalls_over_17ms": sum(1 for s in stalls if s > 17),
            "longest_stalls": [
                {
                    "stall_ms": round((b[0] - a[0]) * 1000 - HEARTBEAT_MS, 2),
                    "gap_ms": round((b[0] - a[0]) * 1000, 2),  # the stall and the heartbeat's period
                    "gui_thread_cpu_ms": round((b[1] - a[1]) * 1000, 2),  # during the gap
                    "core_taken_away": b[2] - a[2],
                    **({"during": tracer.during(a[0], b[0])} if tracer is not None else {}),
                }
                for a, b in longest
            ],
            "load_average_1min": round(os.getloadavg()[0], 2),
            **rss_mb(),
        }

    try:
        with loop:
            result = loop.run_until_complete(run())
    finally:
        server.terminate()
        store.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
