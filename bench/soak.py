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
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

# Imported in the order of `wall run` (see bench/memory.py): wall.cli first, Qt in main().
from bench.common import make_config, rss_mb
from sources.demo import DemoSource
from wall import cli  # noqa: F401
from wall.engine.services import make_client, open_store
from wall.shell.memory import memory_breakdown, prepare_for_long_run

if TYPE_CHECKING:
    from widgets.window import WallWindow

STEP = timedelta(minutes=10)
DAYS = 7
FADE_MS = 60


def main(argv: list[str]) -> None:
    """Run the simulated week (or `--days`) and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=float,
        default=DAYS,
        help=f"simulated days (default {DAYS}; 0.007 is one step: a profiler's baseline)",
    )
    parser.add_argument(
        "--detail",
        action="store_true",
        help="also print, each day, what grew since the start: objects by type, mappings, pictures held",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="with --detail: Python allocations by line too (tracemalloc; slower, and it weighs itself)",
    )
    parser.add_argument(
        "--exit-at-once",
        action="store_true",
        help="leave without freeing anything after the JSON, so a heap profiler's leaks "
        "(`heaptrack_print --print-leaks 1`) are what the wall held at the end",
    )
    args = parser.parse_args(argv)
    days = args.days
    if args.trace:
        tracemalloc.start(8)
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
    details: list[dict[str, object]] = []
    growth = _Growth(window) if args.detail else None

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
            "picture_spare_hits": report["spare_hits"],
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
                if growth is not None:
                    growth.watch_peak(step)
                now[0] += STEP
                if step % int(timedelta(days=1) / STEP) == 0:
                    await _at_rest(window)
                    gc.collect()
                    samples.append(rss_mb()["rss_mb"])
                    breakdowns.append({**memory_breakdown(), **pictures_mb()})
                    if growth is not None:
                        details.append(growth.sample())
            await engine.stop()
            await _at_rest(window)  # (the final sample follows)
            return {"steps": steps, "purged_posts": purged, "stored_posts": store.post_count()}

    with loop:
        outcome = loop.run_until_complete(week())
    gc.collect()
    final = rss_mb()
    end = {**memory_breakdown(), **pictures_mb()}
    detail_end = growth.sample() if growth is not None else None
    trimmed: dict[str, float] = {}
    if growth is not None:  # after the figures: what freed heap the last trim left resident
        from wall.shell.memory import release_free_memory

        release_free_memory()
        trimmed = {"rss_after_a_trim_now_mb": rss_mb()["rss_mb"]}
    print(
        json.dumps(
            {
                "simulated": f"{days:g} days, a poll and a crossfade every {STEP.seconds // 60} min",
                "sampled": "between turns: no transition, card turn or picture job under way",
                **outcome,
                "rss_each_day_mb": samples,
                "rss_final_mb": final["rss_mb"],
                "peak_rss_mb": final["peak_rss_mb"],
                **trimmed,
                "growth_day1_to_end_mb": round(final["rss_mb"] - samples[1], 1) if len(samples) > 1 else None,
                "seconds": round(time.monotonic() - started, 1),
                # where the memory is on day 1, 2 and at the end (wall.shell.memory.memory_breakdown)
                "breakdown_day1": breakdowns[0] if breakdowns else None,
                "breakdown_end": end,
                **(
                    {"detail_each_day": details, "detail_end": detail_end, "peak_rises": growth.rises}
                    if growth is not None
                    else {}
                ),
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
                        "picture_spare_hits",
                        "sqlite_mb",
                    )
                },
            }
        )
    )
    if args.exit_at_once:
        # Python's finalization would delete the window, its pictures and glyph caches first.
        sys.stdout.flush()
        os._exit(0)


REST_TIMEOUT_S = 10.0


async def _at_rest(window: WallWindow) -> None:
    """Wait until nothing moves and no picture is being made: a featured card's turn (on its own
    real-time timer, 12 s) holds two pictures of the card for about a second, and a sample taken
    then read up to 16 MB more than the wall between turns (146.7 MB on one day of a run, 132 the
    others)."""
    from widgets.arrival import ArrivalOverlay
    from widgets.turn import PanelTurn

    deadline = time.monotonic() + REST_TIMEOUT_S
    while time.monotonic() < deadline and (
        window.rotator.is_fading()
        or any(turn.is_turning() for turn in window.findChildren(PanelTurn))
        or any(overlay.isVisible() for overlay in window.findChildren(ArrivalOverlay))
        or window.context.pixmaps.is_busy()
    ):
        await asyncio.sleep(0.005)


def _mappings_kb() -> dict[str, int]:
    """Resident kB by mapping: files by name, the main heap, and anonymous mappings by size class
    (glibc's second heap is 64 MB of address space; Python's arenas and big buffers are smaller)."""
    found: dict[str, int] = {}
    name = ""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            start, end = (int(part, 16) for part in fields[0].split("-"))
            name = fields[5] if len(fields) > 5 else ""
            if not name:
                size = end - start
                big, medium = size >= 32 * 2**20, size >= 2**20
                name = "[anon >= 32 MB]" if big else "[anon 1-32 MB]" if medium else "[anon < 1 MB]"
            elif "/" in name:
                name = name.rsplit("/", 1)[1]
        elif fields[0] == "Rss:":
            found[name] = found.get(name, 0) + int(fields[1])
    return found


class _Growth:
    """What grew since the first sample (`--detail`): Python objects by type, resident memory by
    mapping, pictures the window's widgets hold, Python allocations by line (`--trace`)."""

    def __init__(self, window: WallWindow) -> None:
        self._window = window
        self._types: Counter[str] | None = None
        self._maps: dict[str, int] | None = None
        self._trace: tracemalloc.Snapshot | None = None
        self._peak = 0.0
        self.rises: list[dict[str, object]] = []  # the steps that raised the peak by 1 MB or more

    def watch_peak(self, step: int) -> None:
        """Note `step` when it raised the process's peak resident memory, with what it did."""
        peak = rss_mb()["peak_rss_mb"]
        if peak >= self._peak + 1:
            shown = self._window.rotator.current_panel()
            report = self._window.context.pixmaps.cache_report()
            self.rises.append(
                {
                    "step": step,
                    "peak_mb": peak,
                    "rss_after_mb": rss_mb()["rss_mb"],
                    "panel": type(shown).__name__ if shown is not None else None,
                    "decodes_so_far": report["decodes"],
                }
            )
        self._peak = max(self._peak, peak)

    def sample(self) -> dict[str, object]:
        """One day's figures, as differences from the first day's."""
        types = Counter(type(thing).__qualname__ for thing in gc.get_objects())
        maps = _mappings_kb()
        trace = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        if self._types is None or self._maps is None:
            self._types, self._maps, self._trace = types, maps, trace
        before = self._maps
        result: dict[str, object] = {
            "objects_k": round(sum(types.values()) / 1000, 1),
            "objects_grown": dict((types - self._types).most_common(12)),
            "mappings_grown_kb": dict(
                sorted(
                    ((key, maps.get(key, 0) - before.get(key, 0)) for key in maps.keys() | before.keys()),
                    key=lambda item: -abs(item[1]),
                )[:12]
            ),
            "panel": type(self._window.rotator.current_panel()).__name__,
            "pictures_held_mb": self._held(),
            "spare_sizes_kb": {
                size: round(size_bytes / 1024)
                for size, size_bytes in self._window.context.pixmaps.spare_sizes().items()
            },
        }
        if trace is not None and self._trace is not None:
            result["allocations_grown_kb"] = {
                str(stat.traceback[0]): round(stat.size_diff / 1024)
                for stat in trace.compare_to(self._trace, "lineno")[:12]
            }
        return result

    def _held(self) -> dict[str, float]:
        """Bytes of the pictures widgets keep as the last they painted, on the panel shown and off it."""
        from PySide6.QtGui import QPixmap

        from widgets.images import AvatarBadge, CoverImage

        shown = self._window.rotator.current_panel()
        held = {"on_screen": 0, "off_screen": 0}
        for widget in [*self._window.findChildren(CoverImage), *self._window.findChildren(AvatarBadge)]:
            last = getattr(widget, "_last", None)
            if isinstance(last, QPixmap):
                where = "on_screen" if shown is not None and shown.isAncestorOf(widget) else "off_screen"
                held[where] += last.width() * last.height() * max(1, last.depth() // 8)
        return {key: round(value / 2**20, 1) for key, value in held.items()}


if __name__ == "__main__":
    main(sys.argv[1:])
