"""GUI-thread stalls while 10,000 posts arrive from a loopback Mastodon server during crossfades.

A 5 ms precise QTimer beats on the GUI thread; every gap longer than its period is time the
screen could not be repainted. Panels crossfade back to back the whole time.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

import asyncio
import json
import socket
import subprocess
import sys
import time

import qasync
from PySide6.QtCore import Qt, QTimer
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


def main() -> None:
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
    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

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
