"""A simulated week of the wall on an accelerated clock: polls, storage, consent purges, moderation,
count history and panel rotations, with resident memory recorded each simulated day.

Every step is 10 simulated minutes: the demo source is polled at that time and its batch goes
through the real `Engine` path (consent, moderation, store, hub), the hourly purge runs on the hour,
and the screen crossfades to its next panel. 7 days = 1,008 steps. The wall must not creep: the
memory of day 7 should be that of day 1.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

import argparse
import asyncio
import gc
import json
import sys
import time
from datetime import UTC, datetime, timedelta

# Imported in the order of `wall run` (see bench/memory.py): wall.cli first, Qt in main().
from bench.common import make_config, rss_mb
from sources.demo import DemoSource
from wall import cli  # noqa: F401
from wall.engine.services import make_client, open_store
from wall.shell.memory import memory_breakdown, prepare_for_long_run

STEP = timedelta(minutes=10)
DAYS = 7
FADE_MS = 60


def main(argv: list[str]) -> None:
    """Run the simulated week (or `--days`) and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DAYS, help=f"simulated days (default {DAYS})")
    days = parser.parse_args(argv).days
    import qasync
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from wall.engine.engine import Engine
    from wall.shell.gc import GuiThreadCollector, tune_for_smooth_frames
    from wall.shell.windows import keep_memory_low
    from widgets.hub import Hub
    from widgets.window import WallWindow

    prepare_for_long_run()  # as `wall run` does, before Qt and the thread pools start
    config, _ = make_config(
        '[[sources]]\nname = "demo"\ntype = "demo"\n'
        '[[sources]]\nname = "rse"\ntype = "demo"\nkind = "internal"\n'
        "require_tag = false\nretention_days = 2\n"
        '[[panels]]\ntype = "fans"\nmilestones = [200000]\n[[panels]]\ntype = "mentions"\n'
        '[[panels]]\ntype = "internal"\n'
    )
    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    now = [datetime(2026, 11, 16, 6, 0, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    store = open_store(config)
    hub = Hub()
    window = WallWindow(hub, config.wall, config.effective_panels(), fade_ms=FADE_MS, clock=clock)
    window.place_on(QGuiApplication.primaryScreen(), fullscreen=True)
    keep_memory_low(window)
    tune_for_smooth_frames()
    _collector = GuiThreadCollector()  # as `wall run` does: collections on this thread only (kept)
    window.rotator.stop()
    samples: list[float] = []
    breakdowns: list[dict[str, float]] = []

    def pictures_mb() -> dict[str, float]:
        """The pictures' part of the C heap: encoded in the hub, decoded and scaled in the window;
        and how many decodes and scales the window's cache ran so far."""
        report = window.context.pixmaps.cache_report()
        return {
            "pictures_encoded_mb": round(hub.image_bytes() / 2**20, 1),
            "pictures_decoded_mb": round(window.context.pixmaps.cached_bytes() / 2**20, 1),
            "pictures_full_size_mb": round(report["decoded_bytes"] / 2**20, 1),
            "pictures_scaled_mb": round(report["scaled_bytes"] / 2**20, 1),
            "pictures_scaled_no_card_holds_mb": round(report["scaled_bytes_kept_for_later"] / 2**20, 1),
            "picture_decodes": report["decodes"],
            "picture_scales": report["scales"],
        }

    started = time.monotonic()

    async def week() -> dict[str, object]:
        async with make_client(config) as client:
            engine = Engine(config, store, hub, client, clock=clock)
            # The engine's own sources, with the accelerated clock.
            for source in engine.sources:
                assert isinstance(source, DemoSource)
                source.clock = clock
            engine.fill_screen_from_store()
            steps = int(timedelta(days=days) / STEP)
            purged = 0
            for step in range(steps):
                for source in engine.sources:
                    await engine._on_batch(source, await source.poll())  # what the poller hands over
                if now[0].minute == 0:
                    purged += (await engine.purge()).posts
                window.rotator.advance()
                while window.rotator.is_fading():
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0)
                now[0] += STEP
                if step % int(timedelta(days=1) / STEP) == 0:
                    gc.collect()
                    samples.append(rss_mb()["rss_mb"])
                    breakdowns.append({**memory_breakdown(), **pictures_mb()})
            await engine.stop()
            return {"steps": steps, "purged_posts": purged, "stored_posts": store.post_count()}

    with loop:
        outcome = loop.run_until_complete(week())
    gc.collect()
    final = rss_mb()
    print(
        json.dumps(
            {
                "simulated": f"{days} days, a poll and a crossfade every {STEP.seconds // 60} min",
                **outcome,
                "rss_each_day_mb": samples,
                "rss_final_mb": final["rss_mb"],
                "peak_rss_mb": final["peak_rss_mb"],
                "growth_day1_to_end_mb": round(final["rss_mb"] - samples[1], 1) if len(samples) > 1 else None,
                "seconds": round(time.monotonic() - started, 1),
                # where the memory is on day 1, 2 and at the end (wall.shell.memory.memory_breakdown)
                "breakdown_day1": breakdowns[0] if breakdowns else None,
                "breakdown_end": {**memory_breakdown(), **pictures_mb()},
                "parts_each_day_mb": {
                    part: [b.get(part) for b in breakdowns]
                    for part in (
                        "anonymous_mb",
                        "python_arenas_mb",
                        "python_blocks_k",
                        "c_heap_in_use_mb",
                        "pictures_decoded_mb",
                        "pictures_full_size_mb",
                        "pictures_scaled_mb",
                        "pictures_scaled_no_card_holds_mb",
                        "picture_decodes",
                        "picture_scales",
                        "sqlite_mb",
                    )
                },
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
