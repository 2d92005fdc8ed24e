"""Resident memory after 1,000 panel rotations with crossfades, new posts arriving all along."""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

import asyncio
import gc
import json
import sys

# The `wall` console script imports wall.cli (config, pydantic, the sources) before Qt, and Qt only
# when the wall starts; the Qt modules are imported in main() below in the same order. (PySide6
# reads the source of every module imported after it: the order changes the Python heap.)
from bench.common import make_config, rss_mb
from sources.demo import DemoSettings, DemoSource
from wall import cli  # noqa: F401
from wall.core.model import POST_KINDS
from wall.shell.memory import memory_breakdown, prepare_for_long_run

ROTATIONS = 1000
FADE_MS = 60  # a short crossfade keeps the bench short; the pictures are the same size


def main() -> None:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from wall.shell.gc import GuiThreadCollector, tune_for_smooth_frames
    from wall.shell.snapshots import fill_hub_for_snapshot
    from wall.shell.windows import keep_memory_low
    from widgets.hub import Hub
    from widgets.window import WallWindow

    prepare_for_long_run()  # as `wall run` does, before Qt and the thread pools start
    config, _ = make_config('[[sources]]\nname = "demo"\ntype = "demo"\n')
    app = QApplication(sys.argv[:1])
    hub = Hub()
    fill_hub_for_snapshot(config, hub, use_demo=True)
    window = WallWindow(hub, config.wall, config.effective_panels(), fade_ms=FADE_MS)
    window.place_on(QGuiApplication.primaryScreen(), fullscreen=True)
    keep_memory_low(window)  # as `wall run` does
    tune_for_smooth_frames()
    _collector = GuiThreadCollector()  # as `wall run` does: collections on this thread only (kept)
    window.rotator.stop()
    demo = DemoSource(DemoSettings(name="demo", type="demo"))
    posts = {kind: hub.posts(kind) for kind in POST_KINDS}
    for _ in range(30):
        app.processEvents()
    before = rss_mb()
    breakdown_before = memory_breakdown()
    samples = []
    for rotation in range(ROTATIONS):
        window.rotator.advance()
        while window.rotator.is_fading():
            app.processEvents()

        if rotation % 5 == 0:  # a new post and new counts every five rotations
            batch = asyncio.run(demo.poll())
            for post in batch.posts:
                posts[post.kind] = [post, *posts[post.kind]][:60]
                hub.set_posts(post.kind, posts[post.kind])
            hub.set_counts(batch.counts)
            hub.flush()
        app.processEvents()
        if rotation % 100 == 99:
            gc.collect()
            samples.append(rss_mb()["rss_mb"])
    after = rss_mb()
    print(
        json.dumps(
            {
                "target_rss_mb": 150,
                "rotations": ROTATIONS,
                "rss_before_mb": before["rss_mb"],
                "rss_after_mb": after["rss_mb"],
                "peak_rss_mb": after["peak_rss_mb"],
                "rss_every_100_rotations_mb": samples,
                "breakdown_before": breakdown_before,
                "breakdown_after": memory_breakdown(),
            }
        )
    )


if __name__ == "__main__":
    main()
