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
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import qasync
from PySide6.QtCore import QBuffer, QFileSystemWatcher, QIODevice, QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication

from sources.base import HttpFetcher, Source
from wall import systemd
from wall.config import ConfigProblems, WallConfig, load_config, remember_good_config
from wall.consent import shown_posts, split
from wall.counts import HISTORY_WINDOW, daily_history
from wall.decisions import AuditEntry, Decision, PostAction, QueueItem, author_key
from wall.hub import Hub
from wall.images import MAX_DOWNLOAD_BYTES, ImageLoader
from wall.memory import release_free_memory
from wall.model import POST_KINDS, Batch, Count, Health, Post, PostKind, SourceStatus, utcnow
from wall.moderation import Moderator
from wall.paths import cache_dir
from wall.poller import Poller, RetryPolicy
from wall.services import USER_AGENT, Purged, build_sources, consents, make_client, open_store, purge
from wall.store import Store, StoreChange
from wall.web import WebServer
from widgets.window import WallWindow

log = logging.getLogger("wall.app")

POSTS_PER_KIND = 60
PURGE_EVERY = 3600.0
RELOAD_DEBOUNCE_MS = 300
SWITCH_INTERVAL_S = 0.001
SCREEN_PICTURE_WIDTH = 960  # the moderation page's picture of the wall
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
        self.store = store
        self.hub = hub
        self.clock = clock
        self.sources = build_sources(config, client)
        self.consents = consents(config)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self.images = ImageLoader(
            HttpFetcher(client, max_bytes=MAX_DOWNLOAD_BYTES, conditional=False),
            cache_dir(),
            headers=self._image_headers,
        )
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
            self.hub.set_posts(kind, self._shown(self.store.recent_posts(kind, POSTS_PER_KIND)))
        self.hub.set_counts(*self._counts())
        self.hub.set_statuses(self.poller.statuses())

    def _counts(self) -> tuple[list[Count], dict[str, list[Count]]]:
        """Latest counters and their daily history (runs on the store thread once started)."""
        zone = ZoneInfo(self.config.wall.timezone)
        history = self.store.count_history(self.clock() - HISTORY_WINDOW)
        return self.store.latest_counts(), daily_history(history, zone)

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
            self.hub.set_posts(kind, self._shown(posts))

    async def purge(self) -> Purged:
        """Remove from the store and the image cache what consent and retention no longer allow."""
        purged: Purged = await self._in_db(purge, self.store, self.consents, self.clock())
        if purged.posts:
            removed = await asyncio.to_thread(self.images.forget, purged.image_urls)
            self.hub.forget_images(purged.image_urls)
            log.info("purged %d posts and %d cached pictures (consent, retention)", purged.posts, removed)
        await self._refresh(purged.kinds)
        return purged

    async def _purge_regularly(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception:  # a locked or full disk: keep the wall running, try again later
                log.exception("purge failed; next try in %d s", PURGE_EVERY)
            await asyncio.sleep(PURGE_EVERY)

    def _image_headers(self, url: str) -> dict[str, str]:
        """Headers a source asks for when loading one of its own pictures (an RSE token)."""
        for source in self.sources:
            ask = getattr(source, "image_headers", None)
            if ask is not None and (headers := ask(url)):
                return dict(headers)
        return {}

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
            self.store.block_author(author, who, post_key=key, now=self.clock())
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

    async def set_panic(self, on: bool, who: str) -> None:
        """Record the panic flag (the windows are switched by the caller, which owns them)."""
        await self._in_db(lambda: self.store.set_panic(on, who, now=self.clock()))
        log.warning("moderation: panic screen %s by %r", "ON" if on else "off", who)

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


class WallDesk:
    """The moderation page's way into the running wall: reads from the store on a worker thread,
    actions through the current Engine (a config reload replaces it), panic on every window."""

    def __init__(
        self, store: Store, engine: Callable[[], Engine], windows: Callable[[], list[WallWindow]]
    ) -> None:
        self.store = store
        self._engine = engine
        self._windows = windows
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="web-store")

    async def _read(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._reads, func, *args)

    async def queue(self) -> list[QueueItem]:
        """Every stored post, newest first."""
        items: list[QueueItem] = await self._read(self.store.queue, "all", 1000)
        return items

    async def audit_log(self) -> list[AuditEntry]:
        """The latest 100 actions."""
        entries: list[AuditEntry] = await self._read(self.store.audit_log, 100)
        return entries

    async def panic(self) -> bool:
        """True while the panic screen is on."""
        return bool(await self._read(self.store.panic))

    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply a person's action; the screen follows within a second."""
        return await self._engine().act(key, action, who)

    async def set_panic(self, on: bool, who: str) -> None:
        """Record the flag, then switch every window at once."""
        await self._engine().set_panic(on, who)
        for window in self._windows():
            window.set_panic(on)

    def screen_png(self) -> bytes | None:
        """The first window as a PNG, scaled down (grabbed on the GUI thread, this loop's thread)."""
        windows = self._windows()
        return grab_png(windows[0]) if windows else None

    def close(self) -> None:
        """Stop the reading thread."""
        self._reads.shutdown(wait=True)


def grab_png(window: WallWindow, width: int = SCREEN_PICTURE_WIDTH) -> bytes:
    """What `window` shows, as a PNG at most `width` pixels wide."""
    picture = window.grab()
    if picture.width() > width:
        picture = picture.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    picture.save(buffer, "PNG")
    return bytes(buffer.data().data())


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


class _SignalWaker:
    """Turns SIGTERM/SIGINT/SIGHUP into a callback on the Qt loop (signal handlers alone would
    wait for the interpreter to run, which Qt's C++ loop does not do)."""

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._on_signal = on_signal
        signal.set_wakeup_fd(self._write.fileno())
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: None)

    def _drain(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        for byte in data:
            self._on_signal(byte)


def run_wall(
    config: WallConfig,
    *,
    windowed: bool = False,
    exit_after: float | None = None,
    exit_after_first_frame: bool = False,
    started: float | None = None,
    config_problems: list[str] | None = None,
    config_path: Path | None = None,
) -> int:
    """Run the wall until SIGTERM/SIGINT (or `exit_after` seconds). Returns the exit status.

    With `config_path`, the file is read again on SIGHUP and whenever it changes: a valid new config
    applies within a second; an invalid one is refused with a log line and the wall runs on.
    """
    started = started if started is not None else time.monotonic()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("lobby-wall")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    quit_event = asyncio.Event()
    store = open_store(config)
    store.forget_sources([s.name for s in config.sources if s.enabled])
    hub = Hub()
    windows = build_windows(config, hub)
    panic = store.panic()
    for window in windows:
        window.set_panic(panic)  # a panic survives a restart: the first frame is already calm

    def on_first_frame() -> None:
        elapsed = time.monotonic() - started
        log.info("first frame after %.3f s", elapsed)
        systemd.notify("READY=1")
        if exit_after_first_frame:
            print(f"first-frame-seconds {elapsed:.4f}", flush=True)
            quit_event.set()

    windows[0].first_frame.connect(on_first_frame)

    reload_requests: asyncio.Queue[str] = asyncio.Queue()

    def on_signal(number: int) -> None:
        if number == signal.SIGHUP:
            reload_requests.put_nowait("SIGHUP")
            return
        log.info("signal %d: stopping", number)
        quit_event.set()

    watcher = QFileSystemWatcher()
    debounce = QTimer()
    debounce.setSingleShot(True)
    debounce.setInterval(RELOAD_DEBOUNCE_MS)  # editors write a file in several steps
    debounce.timeout.connect(lambda: reload_requests.put_nowait("file change"))
    if config_path is not None:
        watcher.addPath(str(config_path))
        # Editors often replace the file (write, rename): the watch is put back on the new file.
        watcher.fileChanged.connect(lambda _path: (debounce.start(), watcher.addPath(str(config_path))))

    waker = _SignalWaker(on_signal)
    watchdog = QTimer()
    if (interval := systemd.watchdog_interval()) is not None:
        # Pinged from the GUI thread: a frozen GUI stops the pings and systemd restarts the wall.
        watchdog.timeout.connect(lambda: systemd.notify("WATCHDOG=1"))
        watchdog.start(int(interval * 1000))

    async def main() -> None:
        nonlocal windows
        client = make_client(config)
        engine = Engine(config, store, hub, client)
        running = config
        engine.fill_hub_from_store()
        hub.flush()
        tune_for_smooth_frames()
        for window, screen_settings in zip(windows, config.effective_screens(), strict=True):
            window.place_on(find_screen(screen_settings.output), fullscreen=not windowed)
        started_at = utcnow().isoformat()

        def record_runtime(problems: list[str]) -> None:
            runtime = {"pid": os.getpid(), "started_at": started_at, "config_problems": problems}
            store.set_meta("runtime", runtime)

        record_runtime(config_problems or [])
        if config_problems:
            systemd.notify("STATUS=config refused, running on the last good copy: " + config_problems[0])
        engine.start()
        web_server, desk = await start_web(config, store, lambda: engine, lambda: windows)
        status_timer = QTimer()
        status_timer.timeout.connect(lambda: systemd.notify("STATUS=" + _status_line(hub.statuses())))
        status_timer.start(30_000)
        if exit_after is not None:
            loop.call_later(exit_after, quit_event.set)

        async def apply_reloads() -> None:
            nonlocal engine, running, windows
            while True:
                reason = await reload_requests.get()
                if config_path is None:
                    log.info("%s: no config file to read again (demo)", reason)
                    continue
                try:
                    new = load_config(config_path)
                except ConfigProblems as problems:
                    log.warning(
                        "%s: config refused, the wall keeps the running one: %s",
                        reason,
                        "; ".join(problems.lines),
                    )
                    record_runtime(
                        [*problems.lines, f"{config_path}: refused; the wall runs on its previous config"]
                    )
                    continue
                if new == running:
                    continue
                await engine.stop()
                store.forget_sources([s.name for s in new.sources if s.enabled])
                engine = Engine(new, store, hub, client)
                engine.fill_hub_from_store()
                engine.start()
                if (new.wall, new.effective_panels(), new.effective_screens()) != (
                    running.wall,
                    running.effective_panels(),
                    running.effective_screens(),
                ):
                    for window in windows:
                        window.close()
                    windows = build_windows(new, hub)
                    panic = store.panic()
                    for window, screen_settings in zip(windows, new.effective_screens(), strict=True):
                        window.set_panic(panic)
                        window.place_on(find_screen(screen_settings.output), fullscreen=not windowed)
                running = new
                remember_good_config(new)
                record_runtime([])
                log.info("%s: config reloaded from %s", reason, config_path)

        reloader = asyncio.ensure_future(apply_reloads())
        try:
            await quit_event.wait()
        finally:
            reloader.cancel()
            status_timer.stop()
            systemd.notify("STOPPING=1")
            if web_server is not None:
                await web_server.stop()
            if desk is not None:
                desk.close()
            await engine.stop()
            await client.aclose()
            store.set_meta("runtime", None)
            store.close()

    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        del waker
        for window in windows:
            window.close()
    return 0


async def start_web(
    config: WallConfig,
    store: Store,
    engine: Callable[[], Engine],
    windows: Callable[[], list[WallWindow]],
) -> tuple[WebServer | None, WallDesk | None]:
    """Serve the moderation page on this loop when `[web] enabled`; a taken port is logged and the
    wall runs on without the page (the lobby screen matters more)."""
    if not config.web.enabled:
        return None, None
    desk = WallDesk(store, engine, windows)
    server = WebServer(config.web, config.wall, desk)
    try:
        await server.start()
    except OSError as exc:
        log.error(
            "moderation page: cannot listen on %s:%d (%s): change [web] port or host",
            config.web.host,
            config.web.port,
            exc.strerror or exc,
        )
        desk.close()
        return None, None
    return server, desk


def build_windows(config: WallConfig, hub: Hub) -> list[WallWindow]:
    """One window per configured screen, each with its playlist."""
    windows = []
    panels = config.effective_panels()
    for screen_settings in config.effective_screens():
        chosen = [panels[i] for i in screen_settings.panels] if screen_settings.panels else panels
        window = WallWindow(hub, config.wall, chosen)
        keep_memory_low(window)
        windows.append(window)
    return windows


def _status_line(statuses: list[SourceStatus]) -> str:
    ok = sum(1 for s in statuses if s.health == Health.OK)
    bad = [s.source for s in statuses if s.health in (Health.STALE, Health.NEEDS_ATTENTION)]
    line = f"{ok}/{len(statuses)} sources OK"
    return line + (f"; stale: {', '.join(bad)}" if bad else "")


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
        history = daily_history(store.count_history(now - HISTORY_WINDOW), ZoneInfo(config.wall.timezone))
        statuses = store.statuses()
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
    urls = {p.author.avatar_url for items in posts.values() for p in items[:12]}
    urls |= {p.media[0].url for items in posts.values() for p in items[:12] if p.media}
    asyncio.run(_load_images(hub, sorted(u for u in urls if u)))
    hub.flush()


async def _load_images(hub: Hub, urls: list[str]) -> None:
    async with httpx.AsyncClient(timeout=10, headers={"User-Agent": USER_AGENT}) as client:
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
