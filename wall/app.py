"""Composition root: config -> HTTP client -> sources -> poller -> store -> hub -> windows.

Everything runs on one qasync loop in the GUI thread; blocking work (SQLite, image decoding) goes
to worker threads so the screen never stutters. At start the hub is filled from the store before
any network call, so a restart (or a boot without network) shows the last content at once.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync must pick PySide6, whatever else is installed

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication

from sources.base import HttpFetcher, Source
from wall.config import WallConfig
from wall.consent import image_urls, shown_posts, split
from wall.counts import HISTORY_WINDOW
from wall.decisions import BlockedAuthor, Decision, PostAction, PublishedAnnouncement, author_key
from wall.hub import Hub
from wall.images import MAX_DOWNLOAD_BYTES, ImageLoader
from wall.memory import release_free_memory
from wall.model import POST_KINDS, Author, Batch, Count, Post, PostKind, SourceStatus, utcnow
from wall.moderation import Moderator
from wall.paths import cache_dir
from wall.poller import Poller, RetryPolicy
from wall.secrets import current as current_secrets
from wall.secrets import remember as remember_secrets
from wall.secrets import secret_values
from wall.services import Purged, build_sources, consents, make_client, open_store, purge, source_fetcher
from wall.store import Store, StoreChange
from widgets.window import WallWindow

log = logging.getLogger("wall.app")

POSTS_PER_KIND = 60
PURGE_EVERY = 3600.0
RELOAD_DEBOUNCE_MS = 300
SWITCH_INTERVAL_S = 0.001
_DECISION_OF: dict[PostAction, Decision] = {
    "approve": "approve",
    "hide": "hide",
    "pin": "pin",
    "unpin": "approve",  # unpinned, the post stays approved
}


class Engine:
    """The asyncio side: polls sources, records batches, feeds the hub, loads images."""

    def __init__(
        self,
        config: WallConfig,
        store: Store,
        hub: Hub,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        remember_secrets(secret_values(config))
        self.store = store
        self.hub = hub
        self.clock = clock
        self.sources = build_sources(config, client)
        self.consents = consents(config)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        # Pictures: a URL from a post reaches public addresses only, without any token, unless it is
        # on the configured origin of a source whose shown post carries it: then that source's own
        # fetcher, and its token if it gives one (`_image_route`).
        self._public_images = HttpFetcher(client, max_bytes=MAX_DOWNLOAD_BYTES, conditional=False)
        self.images = ImageLoader(self._public_images, cache_dir(), route=self._image_route)
        self._source_images = {
            s.settings.name: (s, source_fetcher(s.settings, client, max_bytes=MAX_DOWNLOAD_BYTES))
            for s in self.sources
        }
        self._image_owners: dict[PostKind, dict[str, set[str]]] = {}
        self._image_tasks: set[asyncio.Task[None]] = set()
        for source in self.sources:
            source.restore(store.load_state(source.settings.name))
        # One Moderator per source, used only on the store thread (it keeps flood/duplicate memory).
        # Authors blocked from the moderation page are blocked everywhere, on top of the config's.
        blocked = store.blocked_authors()
        self.moderators = {
            s.settings.name: Moderator(config.moderation_for(s.settings), blocked_authors=blocked)
            for s in self.sources
        }
        self._background: set[asyncio.Task[None]] = set()
        self.poller = Poller(
            self.sources,
            self._on_batch,
            self._on_status,
            policy=RetryPolicy(max_backoff=config.network.max_backoff),
            stale_after=config.wall.stale_after_intervals,
            poll_timeout=max(60.0, config.network.timeout * 4),
            clock=clock,
            initial=store.statuses(),
        )
        hub.set_image_requester(self._request_image)

    def fill_hub_from_store(self) -> None:
        """Show the last stored content at once (before any network call)."""
        for kind in POST_KINDS:
            self._show(kind, self._shown(self.store.recent_posts(kind, POSTS_PER_KIND)))
        self.hub.set_counts(*self._counts())
        self.hub.set_statuses(self.poller.statuses())
        self.hub.set_announcement(self.store.announcement())

    def _counts(self) -> tuple[list[Count], dict[str, list[Count]]]:
        """Latest counters and their daily history (runs on the store thread once started)."""
        zone = ZoneInfo(self.config.wall.timezone)
        history = self.store.daily_count_history(self.clock() - HISTORY_WINDOW, zone)
        return self.store.latest_counts(), history

    def start(self) -> None:
        """Start polling, re-judge the stored posts with today's moderation rules, and purge what
        consent and retention no longer allow (now, then every `PURGE_EVERY` seconds)."""
        self.poller.start()
        for job in (self._rejudge_stored(), self._purge_regularly()):
            task = asyncio.ensure_future(job)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _shown(self, posts: list[Post]) -> list[Post]:
        return shown_posts(posts, self.consents, self.clock())

    async def _refresh(self, kinds: Iterable[PostKind]) -> None:
        for kind in sorted(kinds):
            posts = await self._in_db(self.store.recent_posts, kind, POSTS_PER_KIND)
            self._show(kind, self._shown(posts))

    def _show(self, kind: PostKind, posts: list[Post]) -> None:
        """Hand `posts` to the hub, and remember which source's posts carry each picture URL."""
        owners: dict[str, set[str]] = {}
        for post in posts:
            for url in image_urls((post,)):
                owners.setdefault(url, set()).add(post.source)
        self._image_owners[kind] = owners
        self.hub.set_posts(kind, posts)

    async def purge(self) -> Purged:
        """Remove from the store and the image cache what consent and retention no longer allow;
        the moderators forget the posts the store no longer keeps (purged, or over its cap)."""
        purged: Purged = await self._in_db(purge, self.store, self.consents, self.clock())
        await self._in_db(self._moderators_retain)
        if purged.posts:
            removed = await asyncio.to_thread(self.images.forget, purged.image_urls)
            self.hub.forget_images(purged.image_urls)
            log.info("purged %d posts and %d cached pictures (consent, retention)", purged.posts, removed)
        await self._refresh(purged.kinds)
        return purged

    def _moderators_retain(self) -> None:
        for name, moderator in self.moderators.items():
            moderator.retain(self.store.post_keys(name))

    async def _purge_regularly(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception:  # a locked or full disk: keep the wall running, try again later
                log.exception("purge failed; next try in %d s", PURGE_EVERY)
            await asyncio.sleep(PURGE_EVERY)

    def _image_route(self, url: str) -> tuple[HttpFetcher, dict[str, str]]:
        """How to load a picture shown on screen: through the fetcher of a source whose shown post
        carries it (its configured origin may be on the LAN; its token only if it gives one for that
        URL); any other picture through the public-only fetcher, without headers."""
        owners: set[str] = set()
        for by_url in self._image_owners.values():
            owners |= by_url.get(url, set())
        for name in sorted(owners):
            if name not in self._source_images:
                continue
            source, fetcher = self._source_images[name]
            ask = getattr(source, "image_headers", None)
            headers = dict(ask(url)) if ask is not None else {}
            if headers or fetcher.owns(url):
                return fetcher, headers
        return self._public_images, {}

    async def _rejudge_stored(self) -> None:
        """A word blocked since the last start takes its posts off the screen within a second."""
        for name, moderator in self.moderators.items():

            def rejudge(name: str = name, moderator: Moderator = moderator) -> set[PostKind]:
                return self.store.set_verdicts(moderator.judge_many(self.store.posts_of(name)))

            await self._refresh(await self._in_db(rejudge))

    # --- people's decisions (the moderation page, issue 5) ----------------------------------
    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply a person's action to a stored post and update the screen at once; False when no
        such post is stored. The decision is kept apart from the verdicts: re-judging keeps it."""
        if action == "block":
            return await self.block_author(key, who)
        decision = _DECISION_OF[action]

        def decide() -> PostKind | None:
            return self.store.decide(key, decision, who, action=action, now=self.clock())

        kind: PostKind | None = await self._in_db(decide)
        if kind is None:
            return False
        log.info("moderation: %s %r by %r", action, key, who)
        await self._refresh({kind})
        return True

    async def block_author(self, key: str, who: str) -> bool:
        """Block the author of the post `key` for good: their stored posts leave the screen now, and
        later ones never reach it. False when no such post is stored."""

        def block() -> tuple[str, set[PostKind]] | None:
            post = self.store.post(key)
            if post is None or not (author := author_key(post)):
                return None
            self.store.block_author(
                author, who, post_key=key, network=post.network, name=post.author.name, now=self.clock()
            )
            kinds = {post.kind}
            for name, moderator in self.moderators.items():
                moderator.block(author)
                kinds |= self.store.set_verdicts(moderator.judge_many(self.store.posts_of(name)))
            return author, kinds

        done: tuple[str, set[PostKind]] | None = await self._in_db(block)
        if done is None:
            return False
        log.info("moderation: block author %r (post %r) by %r", done[0], key, who)
        await self._refresh(done[1])
        return True

    async def unblock_author(self, author: str, who: str) -> bool:
        """Unblock an author blocked from the page: their stored posts are judged again now, and those
        every other rule and decision allow come back on screen. False when they were not blocked."""

        def unblock() -> set[PostKind] | None:
            if not self.store.unblock_author(author, who, now=self.clock()):
                return None
            kinds: set[PostKind] = set()
            for name, moderator in self.moderators.items():
                moderator.unblock(author)
                kinds |= self.store.set_verdicts(moderator.judge_many(self.store.posts_of(name)))
            return kinds

        kinds: set[PostKind] | None = await self._in_db(unblock)
        if kinds is None:
            return False
        log.info("moderation: unblock author %r by %r", author, who)
        await self._refresh(kinds)
        return True

    async def blocked_authors(self) -> list[BlockedAuthor]:
        """Authors blocked from the page, newest first, each marked when `wall.toml` blocks them too."""

        def listed() -> list[BlockedAuthor]:
            marked = []
            for blocked in self.store.blocked_author_list():
                # The key is the handle when the post had one, else the display name (`author_key`).
                handle = blocked.author if blocked.author != blocked.name else ""
                author = Author(blocked.name or blocked.author, handle)
                in_config = any(m.blocked_by_settings(author) for m in self.moderators.values())
                marked.append(replace(blocked, in_config=in_config))
            return marked

        found: list[BlockedAuthor] = await self._in_db(listed)
        return found

    async def set_panic(self, on: bool, who: str) -> None:
        """Record the panic flag (the windows are switched by the caller, which owns them)."""
        await self._in_db(lambda: self.store.set_panic(on, who, now=self.clock()))
        log.warning("moderation: panic screen %s by %r", "ON" if on else "off", who)

    async def publish_announcement(self, announcement: PublishedAnnouncement | None, who: str) -> None:
        """Show `announcement` on every announcement panel (None: the configured one again); stored
        first, so what the screen shows survives a restart. Who published it and when go with it."""
        now = self.clock()
        if announcement is not None:
            announcement = replace(announcement, who=who, at=now)
        await self._in_db(self.store.set_announcement, announcement, who, now)
        self.hub.set_announcement(announcement)
        if announcement is None:
            log.info("moderation: announcement withdrawn by %r", who)
        else:
            log.info("moderation: announcement %r published by %r", announcement.title, who)

    async def pause(self) -> None:
        """Stop polling (outside opening hours); what is stored stays, pictures and decisions work."""
        await self.poller.stop()

    def resume(self) -> None:
        """Poll again after `pause`."""
        if not self.poller.running():
            self.poller.start()

    async def stop(self) -> None:
        """Stop polling and wait for pending writes."""
        await self.poller.stop()
        for task in [*self._image_tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*self._image_tasks, *self._background, return_exceptions=True)
        self._db.shutdown(wait=True)

    async def _in_db(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._db, func, *args)

    async def _on_batch(self, source: Source, batch: Batch) -> None:
        name = source.settings.name
        batch = current_secrets().mask_batch(batch)  # a hostile server may echo a key into a post
        moderator = self.moderators[name]
        admitted, refused = split(batch.posts, self.consents[name], self.clock())
        if refused:  # never stored; an edit that dropped the tag takes the post off the screen
            batch = replace(batch, posts=tuple(admitted), deleted=(*batch.deleted, *(p.id for p in refused)))

        def judge_and_store() -> StoreChange:
            for post_id in batch.deleted:
                moderator.forget(f"{name}:{post_id}")
            return self.store.apply(name, batch, verdicts=moderator.judge_many(batch.posts))

        try:
            change = await self._in_db(judge_and_store)
            await self._in_db(self.store.save_state, name, source.state())
        except Exception:
            # Not stored (disk full, database busy): rewind the source's cursor to the last stored
            # one, so the next poll fetches these posts again instead of skipping them.
            source.restore(await self._in_db(self.store.load_state, name))
            raise
        await self._refresh(change.kinds)
        if change.counts:
            self.hub.set_counts(*await self._in_db(self._counts))

    def _on_status(self, status: SourceStatus) -> None:
        self.hub.update_status(status)
        self._db.submit(self.store.save_status, status)

    def _request_image(self, url: str) -> None:
        task = asyncio.ensure_future(self._load_image(url))
        self._image_tasks.add(task)
        task.add_done_callback(self._image_tasks.discard)

    async def _load_image(self, url: str) -> None:
        self.hub.add_image(url, await self.images.load(url))


def tune_for_smooth_frames() -> None:
    """Runtime settings that keep the GUI thread on time (measured in `make bench`: stall).

    - The store and image threads hold the GIL in turns with the GUI thread; with the default 5 ms
      switch interval a frame that crosses into Qt several times can wait 5 ms each time.
    - A full garbage collection walks every object, and after start-up there are hundreds of thousands
      (Qt wrappers, pydantic schemas, modules): 15-25 ms, a visible hitch. Freezing what exists after
      start-up takes it out of every later collection.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()


GC_CHECK_MS = 16  # a frame: young generations stay as small as Python keeps them, each collection short
# A full collection walks every object made since start-up (10,000 posts: 20-25 ms, a dropped
# frame); Python itself runs one only when the long-lived objects grew by a quarter, which its
# counters do not tell: at most one a minute, younger generations in between.
FULL_COLLECTION_EVERY_S = 60.0
_last_full = [time.monotonic()]


def collect_garbage_now(*, now: float | None = None) -> int:
    """Run the collection Python's own thresholds call for, if any, in this thread (a full one at
    most every FULL_COLLECTION_EVERY_S); returns the generation collected (-1: none was due)."""
    threshold0, threshold1, threshold2 = gc.get_threshold()
    count0, count1, count2 = gc.get_count()
    if count0 <= threshold0:
        return -1
    generation = 2 if count2 > threshold2 else 1 if count1 > threshold1 else 0
    now = time.monotonic() if now is None else now
    if generation == 2:
        if now - _last_full[0] < FULL_COLLECTION_EVERY_S:
            generation = 1
        else:
            _last_full[0] = now
    gc.collect(generation)
    return generation


class GuiThreadCollector(QObject):
    """Python's cyclic garbage collection, on the GUI thread only.

    Python collects in whichever thread allocates when its thresholds are crossed: the store's
    thread and the picture decoders' too. A Qt object that only a reference cycle kept alive (a
    window or panel dropped at a config reload) is then destroyed outside the GUI thread: Qt cannot
    unregister its timers there and later fires one at freed memory (a segfault, seen in the test
    suite under load). Automatic collection is switched off; a timer collects as Python would have.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(GC_CHECK_MS)
        self._timer.timeout.connect(collect_garbage_now)
        self._timer.start()


def keep_memory_low(window: WallWindow) -> None:
    """After each crossfade, hand the freed full-screen pictures back to the system."""
    window.rotator.transition_finished.connect(release_free_memory)


def find_screen(output: int | str) -> QScreen:
    """The screen named or numbered `output`, else the primary one."""
    screens = QGuiApplication.screens()
    if isinstance(output, int) and 0 <= output < len(screens):
        return screens[output]
    for screen in screens:
        if screen.name() == str(output):
            return screen
    return QGuiApplication.primaryScreen()


def build_windows(config: WallConfig, hub: Hub) -> list[WallWindow]:
    """One window per configured screen, each with its playlist."""
    windows = []
    panels = config.effective_panels()
    for screen_settings in config.effective_screens():
        # Every panel is built on every screen, so a time-of-day playlist ([schedule]) can show any;
        # the screen's own list is its playlist the rest of the time.
        window = WallWindow(hub, config.wall, panels)
        window.set_playlist(screen_settings.panels or None)
        keep_memory_low(window)
        windows.append(window)
    return windows


# --- offscreen rendering (wall snapshot, wall demo without a display) ----------------------


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
    urls |= {p.media[0].url for items in posts.values() for p in items[:12] if p.media}
    asyncio.run(_load_images(config, hub, sorted(u for u in urls if u)))
    hub.flush()


async def _load_images(config: WallConfig, hub: Hub, urls: list[str]) -> None:
    # A snapshot shows stored posts, but no source runs: every picture is loaded as one from a post
    # (public addresses only, no token); those of an internal network then come from the disk cache.
    async with make_client(config) as client:
        loader = ImageLoader(
            HttpFetcher(client, max_bytes=MAX_DOWNLOAD_BYTES, conditional=False), cache_dir()
        )
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
