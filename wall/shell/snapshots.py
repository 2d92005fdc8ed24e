"""Offscreen rendering of the panels to PNG files (`wall snapshot`, `wall demo` without a display)."""

from __future__ import annotations

import asyncio
import os
import sys
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QApplication

from wall.core.model import POST_KINDS, utcnow
from wall.core.paths import cache_dir
from wall.engine.config import WallConfig
from wall.engine.consent import shown_posts
from wall.engine.counts import HISTORY_WINDOW
from wall.engine.engine import POSTS_PER_KIND
from wall.engine.images import ImageLoader, picture_fetcher
from wall.engine.services import consents, make_client, open_store
from widgets.gallery import MAX_PICTURES, pictures_of
from widgets.hub import Hub


def fill_hub_for_snapshot(config: WallConfig, hub: Hub, *, use_demo: bool) -> None:
    """Fill `hub` with the stored content (or the demo content when asked) and load the images the
    panels will ask for, so the picture is complete. An empty store gives the empty-state panels."""
    from sources.demo import DemoSettings, DemoSource

    store = open_store(config)
    try:
        rules, now = consents(config), utcnow()
        posts = {k: shown_posts(store.recent_posts(k, POSTS_PER_KIND), rules, now) for k in POST_KINDS}
        counts = store.latest_counts()
        history = store.daily_count_history(now - HISTORY_WINDOW, ZoneInfo(config.wall.timezone))
        statuses = store.statuses()
        published = store.announcement()
    finally:
        store.close()
    if use_demo:
        demo = DemoSource(DemoSettings(name="demo", type="demo"))
        batch = asyncio.run(demo.poll())
        posts = {
            kind: sorted((p for p in batch.posts if p.kind == kind), key=lambda p: p.created_at, reverse=True)
            for kind in POST_KINDS
        }
        latest = {c.key: c for c in sorted(batch.counts, key=lambda c: c.observed_at)}
        history = {key: [c for c in batch.counts if c.key == key] for key in latest}
        counts, statuses = list(latest.values()), []
    for kind, items in posts.items():
        hub.set_posts(kind, items)
    hub.set_counts(counts, history)
    hub.set_statuses(statuses)
    hub.set_announcement(None if use_demo else published)
    urls = {p.author.avatar_url for items in posts.values() for p in items[:12]}
    # Every picture a card shows (a carousel's four, a video's poster), as the cards ask the hub.
    urls |= {pic.url for items in posts.values() for p in items[:12] for pic in pictures_of(p)[:MAX_PICTURES]}
    asyncio.run(_load_images(config, hub, sorted(u for u in urls if u)))
    hub.flush()


async def _load_images(config: WallConfig, hub: Hub, urls: list[str]) -> None:
    # A snapshot shows stored posts, but no source runs: every picture is loaded as one from a post
    # (public addresses only, no token); those of an internal network then come from the disk cache.
    async with make_client(config) as client:
        loader = ImageLoader(picture_fetcher(client), cache_dir())
        results = await asyncio.gather(*(loader.load(u) for u in urls))
    for url, data in zip(urls, results, strict=True):
        hub.add_image(url, data)


def render_panels(
    config: WallConfig, targets: list[tuple[int, str]], size: tuple[int, int], *, use_demo: bool = False
) -> list[str]:
    """Render panels (index into the effective panels, output path) offscreen to PNG files."""
    from PySide6.QtCore import QSize

    from widgets.snapshot import render_panel, save_png

    if not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = Hub()
    fill_hub_for_snapshot(config, hub, use_demo=use_demo)
    panels = config.effective_panels()
    written = []
    for index, path in targets:
        image = render_panel(hub, config.wall, panels[index], QSize(*size))
        save_png(image, path)
        written.append(path)
    del app
    return written
