"""The running wall: Qt application, asyncio loop, engine, windows, systemd, reloads.

`WallRuntime.run()` is what `wall run` and `wall demo` call. Its pieces, each a method:
- start: open the store, build the windows (the last stored content is on them before any network
  call), place them, start the engine and the moderation page;
- systemd: READY=1 after the first painted frame, WATCHDOG=1 from a GUI-thread timer (a frozen GUI
  stops the pings and systemd restarts the wall), STATUS= lines with the sources' health;
- signals: SIGTERM/SIGINT stop, SIGHUP reloads, SIGUSR1 logs where the memory is; the config file
  is also watched;
- reload: a valid new config replaces the engine (and the windows when the look changed); an
  invalid one is refused and logged, the wall runs on. Any error while reading or applying one is
  caught, logged and shown by `wall status`: the next edit or SIGHUP is read again (issue 12).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync must pick PySide6, whatever else is installed

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import qasync
from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer
from PySide6.QtWidgets import QApplication

from wall.core.model import POST_KINDS, Health, SourceStatus, utcnow
from wall.core.paths import write_runtime_record
from wall.engine import systemd
from wall.engine.config import (
    ConfigProblems,
    PanelSettings,
    ScreenSettings,
    WallConfig,
    emptying_problems,
    load_config,
    remember_good_config,
)
from wall.engine.engine import Engine
from wall.engine.schedule import Schedule
from wall.engine.services import make_client, open_store
from wall.engine.store import Store
from wall.shell.gc import GuiThreadCollector, tune_for_smooth_frames
from wall.shell.memory import (
    forget_import_sources,
    memory_breakdown,
    prepare_for_long_run,
    release_free_memory,
    resident_mb,
    worker_pool,
)
from wall.shell.waker import SignalWaker
from wall.shell.windows import build_windows, find_screen
from widgets.hub import Hub
from widgets.window import WallWindow, burn_in_offset

if TYPE_CHECKING:  # the page's modules (aiohttp: ~23 MB) are imported only when [web] is enabled
    from concurrent.futures import Future

    import httpx

    from wall.engine.fleet.health import Heartbeat, KioskHealth
    from wall.engine.fleet.proof import ProofSender
    from wall.engine.fleet.receiver import KioskReceiver
    from wall.engine.fleet.settings import FleetSettings
    from wall.shell.desk import WallDesk
    from wall.shell.proof_watch import ProofWatch
    from wall.web.server import WebServer

log = logging.getLogger("wall.shell.runtime")

RELOAD_DEBOUNCE_MS = 300
STATUS_EVERY_MS = 30_000
# The engine starts (polls, the stored posts judged again on the store thread: seconds on a full
# store) and the start-up collection runs once the first frame is painted, so neither competes with
# it for the GIL (issue 14); if no frame comes in this time (no screen yet), they start anyway.
FIRST_FRAME_WAIT_S = 1.0
SCREENS_SETTLE_MS = 1_000  # after a screen is plugged or unplugged, let the system settle first
BURN_IN_STEP_MS = 180_000  # the picture moves a step every 3 minutes…
BURN_IN_REACH_PX = 4  # …within 4 pixels of the centre
RETIRE_EVERY_S = 3600.0  # sources out of the config for the grace period lose their data hourly
# Settings read once at start (the HTTP client, the store's file): a reload cannot apply them.
RESTART_ONLY: dict[str, Callable[[WallConfig], object]] = {
    "storage.state_dir": lambda c: c.storage.state_dir,
    "network.timeout": lambda c: c.network.timeout,
    "network.proxy": lambda c: c.network.proxy,
    "network.proxy_username": lambda c: c.network.proxy_username,
    "network.proxy_password": lambda c: c.network.proxy_password,  # shown as SecretStr('**********')
    "network.no_proxy": lambda c: c.network.no_proxy,
    "network.proxy_resolves_names": lambda c: c.network.proxy_resolves_names,
    # Standalone or a fleet's kiosk, and which: the receiver (or the HTTP client) is made at start.
    "fleet": lambda c: (c.fleet.site, c.fleet.screen, c.fleet.servers) if c.fleet else "standalone",
}


class GuiWatchdog(QObject):
    """Sends `WATCHDOG=1` to systemd from a timer on the GUI thread, so a frozen GUI (a blocking call,
    a deadlock, an endless layout loop) stops the pings and systemd restarts the wall."""

    def __init__(self, interval: float | None, notify: Callable[[str], object] = systemd.notify) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: notify("WATCHDOG=1"))
        if interval is not None:
            self._timer.start(max(1, int(interval * 1000)))

    def is_active(self) -> bool:
        """True when systemd asked for pings (WATCHDOG_USEC was set)."""
        return self._timer.isActive()


class ScheduleDriver(QObject):
    """Applies `[schedule]`: black screens and `on_close` outside opening hours, `on_open` when they
    start again, and each screen's time-of-day playlist. Looks again at each boundary (and at least
    every minute, so a clock set by NTP after a power cut is followed)."""

    def __init__(
        self,
        schedule: Schedule,
        windows: Callable[[], list[WallWindow]],
        screens: Callable[[], list[ScreenSettings]],
        *,
        on_close: Callable[[], object],
        on_open: Callable[[], object],
        clock: Callable[[], datetime] = utcnow,
        own_playlists: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__()
        self.schedule = schedule
        self._own_playlists = own_playlists  # False while a fleet's collector decides the panels
        self._windows = windows
        self._screens = screens
        self._on_close = on_close
        self._on_open = on_open
        self._clock = clock
        self.is_open: bool | None = None
        self.clock_when_closed = False  # `[schedule] outside_hours = "clock"`
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.apply)

    def apply(self) -> None:
        """Bring the screens in line with the schedule now, and plan the next look."""
        now = self._clock()
        is_open = self.schedule.is_open(now)
        changed, first = is_open != self.is_open, self.is_open is None
        self.is_open = is_open
        for window in self._windows():  # new windows (a reload) included
            window.set_sleeping(not is_open, clock=self.clock_when_closed)
        if changed and not (first and is_open):  # starting open is the normal case: nothing to do
            (self._on_open if is_open else self._on_close)()
        for index, (window, screen) in enumerate(zip(self._windows(), self._screens(), strict=False)):
            if not self._own_playlists():
                break  # the collector's playlist holds other panels than these indexes name
            chosen = self.schedule.playlist(now, index)
            window.set_playlist(chosen if chosen is not None else (screen.panels or None))
        wait = (self.schedule.next_check(now) - now).total_seconds()
        self._timer.start(int(max(1.0, wait) * 1000) + 50)

    def stop(self) -> None:
        """No more looks (the wall is stopping)."""
        self._timer.stop()


async def run_command(command: Sequence[str], what: str, timeout: float = 30.0) -> bool:
    """Run a configured command (no shell); log its failure in one line. True when it succeeded."""
    if not command:
        return True
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except (OSError, TimeoutError) as exc:
        log.warning("%s: %s could not run: %s", what, command[0], exc)
        return False
    if process.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        log.warning("%s: %s exited with status %s %s", what, command[0], process.returncode, tail[0])
        return False
    log.info("%s: %s done", what, command[0])
    return True


def status_line(statuses: list[SourceStatus]) -> str:
    """The `STATUS=` text systemd shows: how many sources are fine, which are not."""
    ok = sum(1 for s in statuses if s.health == Health.OK)
    bad = [s.source for s in statuses if s.health in (Health.STALE, Health.NEEDS_ATTENTION)]
    line = f"{ok}/{len(statuses)} sources OK"
    return line + (f"; stale: {', '.join(bad)}" if bad else "")


def close_abandoned_async_generators(loop: asyncio.AbstractEventLoop) -> None:
    """Have `loop` close the async generators left unfinished, as asyncio's own loops do.

    qasync installs no such hook: httpcore's body stream, left behind by an answer refused over the
    size cap, was finalized by the garbage collector, could not await its clean-up ("async generator
    ignored GeneratorExit") and kept its pooled connection for ever. After 24 such answers every
    request of the wall timed out (`bench hostile`; tests/hostile/test_hostile_run.py).
    """

    closing: set[asyncio.Task[None]] = set()  # kept until done: a task only the loop knows may vanish

    def closed(task: asyncio.Task[None]) -> None:
        closing.discard(task)
        # A hostile server's connection may break while its stream is closed: one line, not an
        # unretrieved task exception and its traceback in the journal.
        if not task.cancelled() and (error := task.exception()) is not None:
            log.info("an abandoned response stream failed to close: %s", type(error).__name__)

    def start_closing(agen: AsyncGenerator[object, object]) -> None:
        task = loop.create_task(agen.aclose())
        closing.add(task)
        task.add_done_callback(closed)

    def finalize(agen: AsyncGenerator[object, object]) -> None:
        if not loop.is_closed():
            loop.call_soon_threadsafe(start_closing, agen)

    sys.set_asyncgen_hooks(finalizer=finalize)


class WallRuntime:
    """One run of the wall, from the first frame to the last write."""

    def __init__(
        self,
        config: WallConfig,
        *,
        windowed: bool = False,
        exit_after: float | None = None,
        exit_after_first_frame: bool = False,
        started: float | None = None,
        config_problems: list[str] | None = None,
        config_path: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        paint_log: Path | None = None,
    ) -> None:
        # Before Qt, the store and the thread pools start threads (each would get a heap of its own),
        # and before the wall's own objects, so they reuse the heap the imports' source lines held.
        prepare_for_long_run()
        self.config = config
        self._started_with = config  # what the settings that need a restart were read from
        self.clock = clock
        self.windowed = windowed
        self.exit_after = exit_after
        self.exit_after_first_frame = exit_after_first_frame
        self.started = started if started is not None else time.monotonic()
        self.config_problems = config_problems or []
        self.config_path = config_path
        existing = QApplication.instance()
        self.app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
        self.app.setApplicationName("lobby-wall")
        self.loop = qasync.QEventLoop(self.app)
        asyncio.set_event_loop(self.loop)
        pool = worker_pool()
        self.loop.set_default_executor(pool)  # not qasync's 10 threads started at once
        close_abandoned_async_generators(self.loop)
        self.quit_event = asyncio.Event()
        self.reload_requests: asyncio.Queue[str] = asyncio.Queue()
        self._painted = asyncio.Event()  # the first frame is on screen
        # The HTTP client (its TLS trust store and anyio's backend: ~60 ms) is made on a worker
        # thread while this one opens the store and builds the windows (issue 14: first frame). A
        # fleet's kiosk makes none: it polls nothing and never loads the HTTP stack (issue 16).
        self._client_job: Future[httpx.AsyncClient] | None = (
            pool.submit(make_client, config) if config.fleet is None else None
        )
        self.store: Store = open_store(config)  # always opens: moved aside or in memory if it must
        # From the store's thread too: `wall status` learns at once that writes fail (or work again).
        self.store.on_write_problem = lambda _problem: self.loop.call_soon_threadsafe(self._notify_status)
        self._restart_needed: list[str] = []
        self._retired_at = time.monotonic()
        self._retire_removed_sources(config)
        self.hub = Hub()
        self.windows: list[WallWindow] = []
        self.engine: Engine | None = None
        self.client: httpx.AsyncClient | None = None
        self.web: WebServer | None = None
        self.desk: WallDesk | None = None
        self.receiver: KioskReceiver | None = None  # a fleet's kiosk (issue 16)
        self.kiosk_health: KioskHealth | None = None  # its heartbeats and screenshots
        self.proof: tuple[ProofWatch, ProofSender] | None = None  # its proof of play
        self.fleet_panels: list[PanelSettings] | None = None  # its collector's playlist, if any
        self._started_at = utcnow().isoformat()
        self._problems: list[str] = self.config_problems
        self._build_windows(config)
        self.windows[0].first_frame.connect(self._on_first_frame)
        if paint_log is not None:  # `bench latency` only: a Python call per Qt event
            from wall.shell.paint_probe import PaintProbe

            self._paint_probe = PaintProbe(self.app, paint_log)
        self._watcher = QFileSystemWatcher()
        self._debounce = QTimer()
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(RELOAD_DEBOUNCE_MS)  # editors write a file in several steps
        self._debounce.timeout.connect(lambda: self.reload_requests.put_nowait("file change"))
        if config_path is not None:
            self._watcher.addPath(str(config_path))
            self._watcher.fileChanged.connect(self._on_file_changed)
            # The folder too: a file replaced by an editor (or deleted, then saved again) drops the
            # file's watch, and every later edit would go unseen.
            self._watcher.addPath(str(config_path.parent))
            self._watcher.directoryChanged.connect(self._on_file_changed)
        self._waker = SignalWaker(self._on_signal)
        self._watchdog = GuiWatchdog(systemd.watchdog_interval())
        self._status_timer = QTimer()
        self._status_timer.timeout.connect(self._notify_status)
        # A screen unplugged and plugged again (or switched on late): put every window back on its
        # configured output once the system has settled.
        self._screens_settle = QTimer()
        self._screens_settle.setSingleShot(True)
        self._screens_settle.setInterval(SCREENS_SETTLE_MS)
        self._screens_settle.timeout.connect(self._on_screens_settled)
        self.app.screenAdded.connect(lambda _screen: self._screens_settle.start())
        self.app.screenRemoved.connect(lambda _screen: self._screens_settle.start())
        self._burn_in_step = 0
        self._burn_in = QTimer()
        self._burn_in.timeout.connect(self._next_burn_in_step)
        self._background: set[asyncio.Future[object]] = set()
        self.schedule = ScheduleDriver(
            Schedule.from_settings(config.schedule, ZoneInfo(config.wall.timezone)),
            lambda: self.windows,
            lambda: self.config.effective_screens(),
            on_close=lambda: self._in_background(self._close()),
            on_open=lambda: self._in_background(self._open()),
            clock=clock,
            own_playlists=lambda: self.fleet_panels is None,
        )
        self.schedule.clock_when_closed = bool(config.schedule and config.schedule.outside_hours == "clock")

    def _notify_status(self) -> None:
        # What `wall status` reads (panels on screen, memory), written off the GUI thread: a
        # synchronous SQLite commit every 30 s must not cost a frame on a slow SD card.
        self._in_background(asyncio.to_thread(self._save_runtime, self._runtime(self._problems)))
        if time.monotonic() - self._retired_at >= RETIRE_EVERY_S:
            self._retired_at = time.monotonic()
            self._in_background(asyncio.to_thread(self._retire_removed_sources, self.config))
        if self.schedule.is_open is False:
            systemd.notify("STATUS=closed (outside opening hours): screens black, polling paused")
        elif self.store.problem():
            systemd.notify("STATUS=store: " + self.store.problem())
        else:
            systemd.notify("STATUS=" + status_line(self.hub.statuses()))

    def _save_runtime(self, record: dict[str, object] | None) -> None:
        """Write what `wall status` reads: in the runtime directory (it works when the state directory
        is full or read-only) and in the store. A failure is logged, never raised."""
        try:
            write_runtime_record(self.store.path, record)
        except OSError as exc:
            log.warning("cannot write the status record for `wall status`: %s", exc)
        # A failure is already logged by the store, and kept for `wall status` (store_problem).
        with contextlib.suppress(sqlite3.Error):
            self.store.set_meta("runtime", record)

    def _retire_removed_sources(self, config: WallConfig) -> None:
        """Sources out of `config` leave the screen now; their data goes after the grace period."""
        with contextlib.suppress(sqlite3.Error):  # logged by the store; tried again within the hour
            self.store.retire_sources([s.name for s in config.sources if s.enabled])

    def _in_background(self, job: Coroutine[object, object, object]) -> None:
        task = asyncio.ensure_future(job)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close(self) -> None:
        """Opening hours are over: polling stops, the display may be switched off."""
        log.info("closed (outside opening hours): screens black, polling paused")
        self._notify_status()
        if self.engine is not None:
            await self.engine.pause()
        schedule = self.config.schedule
        await run_command(schedule.display_off if schedule else [], "display off")

    async def _open(self) -> None:
        """Opening hours again: the display is switched on, polling resumes."""
        log.info("open: screens on, polling resumed")
        self._notify_status()
        schedule = self.config.schedule
        await run_command(schedule.display_on if schedule else [], "display on")
        if self.engine is not None:
            self.engine.resume()

    # --- windows ----------------------------------------------------------------------------
    def _build_windows(self, config: WallConfig) -> None:
        """One window per screen; a panic survives a restart, so the first frame is already calm."""
        self.windows = build_windows(config, self.hub)
        panic = self.store.panic()
        for window in self.windows:
            window.set_panic(panic)
            if self.fleet_panels is not None:
                window.set_panels(self.fleet_panels)

    def _use_fleet_panels(self, panels: list[PanelSettings] | None) -> None:
        """The panels the collector decided for this screen, on every window at once (None: the
        kiosk's own `[[panels]]` and `[[screens]]` playlists again)."""
        if panels == self.fleet_panels:
            return  # (every watch starts with the current value: no rebuild for the same list)
        self.fleet_panels = panels
        log.info(
            "fleet: panels from the collector: %s", ", ".join(p.type for p in panels) if panels else "own"
        )
        for window in self.windows:
            window.set_panels(panels if panels is not None else self.config.effective_panels())
        self.schedule.apply()  # the screens' own playlists back (or not)

    def _place_windows(self, config: WallConfig) -> None:
        for window, screen in zip(self.windows, config.effective_screens(), strict=True):
            window.place_on(find_screen(screen.output), fullscreen=not self.windowed)
            if not self.windowed:
                window.set_shift(*burn_in_offset(self._burn_in_step, BURN_IN_REACH_PX), BURN_IN_REACH_PX)

    def _on_screens_settled(self) -> None:
        names = [screen.name() for screen in self.app.screens()]
        log.info("screens changed (%s): windows placed again", ", ".join(names) or "none")
        self._place_windows(self.config)

    def _next_burn_in_step(self) -> None:
        self._burn_in_step += 1
        offset = burn_in_offset(self._burn_in_step, BURN_IN_REACH_PX)
        for window in self.windows:
            window.set_shift(*offset, BURN_IN_REACH_PX)

    # --- events -----------------------------------------------------------------------------
    def _on_first_frame(self) -> None:
        self._painted.set()
        elapsed = time.monotonic() - self.started
        shown = self._on_screen(self.windows[0])
        log.info("first frame after %.3f s: %s", elapsed, shown)
        systemd.notify("READY=1")
        if self.kiosk_health is not None:  # the fleet page gets this screen's picture now
            self.kiosk_health.send_now()
        if self.exit_after_first_frame:
            print(f"first-frame-seconds {elapsed:.4f}", flush=True)
            print(f"first-frame-panel {shown}", flush=True)  # issue 14: content, not the clock
            self.quit_event.set()

    def _on_signal(self, number: int) -> None:
        if number == signal.SIGHUP:
            self.reload_requests.put_nowait("SIGHUP")
            return
        if number == signal.SIGUSR1:  # `bench pss`, or an operator: where the memory is, on demand
            log.info("memory %s", json.dumps(self.memory()))
            return
        log.info("signal %d: stopping", number)
        self.quit_event.set()

    def _on_file_changed(self, _path: str) -> None:
        # Editors often replace the file (write, rename): the watch is put back on the new file.
        self._debounce.start()
        if self.config_path is not None and self.config_path.exists():
            self._watcher.addPath(str(self.config_path))

    def _record_runtime(self, problems: list[str]) -> None:
        self._save_runtime(self._runtime(problems))

    def _runtime(self, problems: list[str]) -> dict[str, object]:
        self._problems = problems
        return {
            "pid": os.getpid(),
            "started_at": self._started_at,
            "config_problems": problems,
            "open": self.schedule.is_open is not False,
            "on_screen": [self._on_screen(window) for window in self.windows],
            "memory_mb": round(resident_mb(), 1),
            "updated_at": utcnow().isoformat(),
            "posts_shown": {kind: len(self.hub.posts(kind)) for kind in POST_KINDS},
            "store_problem": self.store.problem(),
            "store_notices": self.store.notices,
            "restart_needed": self._restart_needed,
            **({"fleet_link": self._fleet_link()} if self.receiver is not None else {}),
        }

    def _fleet_link(self) -> dict[str, object]:
        """`wall status`: whether the kiosk hears the collector, and since when."""
        assert self.receiver is not None
        state = self.receiver.state
        return {
            "up": state.connected,
            "since": (state.since.isoformat() if state.since else self._started_at),
        }

    def memory(self) -> dict[str, float]:
        """`memory_breakdown()` and the pictures' share of it: encoded in the hub, decoded and scaled
        in each window's cache (all in the C heap), in MB."""
        decoded = sum(window.context.pixmaps.cached_bytes() for window in self.windows)
        return {
            **memory_breakdown(),
            "pictures_encoded_mb": round(self.hub.image_bytes() / 2**20, 1),
            "pictures_decoded_mb": round(decoded / 2**20, 1),
        }

    @staticmethod
    def _on_screen(window: WallWindow) -> str:
        """What a window shows, for `wall status`."""
        if window.sleeping():
            return "clock (closed)" if window.night_clock_shown() else "black (closed)"
        if window.panic_active():
            return "panic screen"
        panel = window.current_panel()
        return panel.panel_type() if panel is not None else "nothing"

    # --- the run ----------------------------------------------------------------------------
    def run(self) -> int:
        """Run until SIGTERM/SIGINT (or `exit_after` seconds); returns the exit status."""
        try:
            with self.loop:
                self.loop.run_until_complete(self._main())
        finally:
            for window in self.windows:
                window.close()
        return 0

    async def _main(self) -> None:
        config = self.config
        if self._client_job is not None:
            self.client = await asyncio.wrap_future(self._client_job)
        self.engine = Engine(config, self.store, self.hub, self.client)
        self.engine.fill_screen_from_store()
        if config.fleet is not None:  # a fleet's kiosk receives its site's content instead of polling
            from wall.core.paths import cache_dir
            from wall.engine.fleet import load_nats_without_websockets

            load_nats_without_websockets()
            from wall.engine.fleet.receiver import KioskReceiver

            def panic(on: bool) -> None:
                for window in self.windows:
                    window.set_panic(on)

            self.receiver = KioskReceiver(
                config.fleet,
                self.store,
                self.hub,
                pictures=cache_dir(),
                on_panic=panic,
                on_playlist=self._use_fleet_panels,
            )
            self._use_fleet_panels(self.receiver.playlist())  # as last received: even offline
            self.receiver.start()
            self._start_kiosk_health(config)
            self._start_proof_of_play(config.fleet, self.receiver)
        self.hub.flush()
        self._collector = GuiThreadCollector()  # from now on, Python collects on this thread only
        # Playlists and quiet hours before the windows show: the first frame is the opening panel,
        # not a crossfade to it (issue 14).
        self.schedule.apply()
        self._place_windows(config)
        self._record_runtime(self.config_problems)
        if self.config_problems:
            systemd.notify("STATUS=config refused, running on the last good copy: " + self.config_problems[0])
        elif self.config_path is not None:
            remember_good_config(config)  # applied: from now on the copy to fall back to
        self._notify_status()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._painted.wait(), FIRST_FRAME_WAIT_S)
        tune_for_smooth_frames()
        self.engine.start()
        if self.schedule.is_open is False:  # outside opening hours: black, no polling
            await self.engine.pause()  # (before the first poll's request: its task has not run yet)
        if config.web.enabled:
            from wall.shell.desk import start_web

            self.web, self.desk = await start_web(config, self.store, self._engine, lambda: self.windows)
            forget_import_sources()  # the page's modules (aiohttp) were read by PySide6 too
            release_free_memory()
        self._status_timer.start(STATUS_EVERY_MS)
        if not self.windowed:
            self._burn_in.start(BURN_IN_STEP_MS)
        if self.exit_after is not None:
            self.loop.call_later(self.exit_after, self.quit_event.set)
        reloader = asyncio.ensure_future(self._apply_reloads())
        try:
            await self.quit_event.wait()
        finally:
            reloader.cancel()
            await self._stop()

    def _start_kiosk_health(self, config: WallConfig) -> None:
        """A fleet's kiosk: heartbeats and screenshots for the collector's page, and the marker while
        its link is down."""
        from wall.engine.fleet.health import KioskHealth
        from wall.shell.kiosk_health import FrameClock, LinkMarker, screenshot

        assert config.fleet is not None and self.receiver is not None
        receiver = self.receiver
        self._frames = FrameClock()
        self._frames.watch(self.windows)
        self._link_marker = LinkMarker(receiver, self.hub, config.wall.language, self._notify_status)
        self.kiosk_health = KioskHealth(
            config.fleet, lambda: receiver.link, self._heartbeat, lambda: screenshot(lambda: self.windows)
        )
        self.kiosk_health.start()

    def _heartbeat(self) -> Heartbeat:
        from wall import __version__
        from wall.engine.fleet.health import Heartbeat

        assert self.config.fleet is not None
        self._frames.watch(self.windows)  # new windows after a reload
        return Heartbeat(
            site=self.config.fleet.site,
            screen=self.config.fleet.screen,
            at=utcnow(),
            last_frame=self._frames.last_frame(),
            panel=self._on_screen(self.windows[0]) if self.windows else "nothing",
            version=__version__,
            uptime_s=time.monotonic() - self.started,
            memory_mb=resident_mb(),
            stale_sources=tuple(self.hub.stale_sources()),
            off_on_purpose=self.schedule.is_open is False,
        )

    def _start_proof_of_play(self, fleet: FleetSettings, receiver: KioskReceiver) -> None:
        """Record what the screens show and send it to the fleet's proof stream (issue 16)."""
        from wall.core.paths import state_dir
        from wall.engine.fleet.proof import ProofOutbox, ProofSender, ProofTracker
        from wall.shell.proof_watch import ProofWatch

        outbox = ProofOutbox(state_dir(self.config.storage.state_dir) / "proof-outbox.sqlite3")
        sender = ProofSender(fleet, outbox, lambda: receiver.link)
        sender.start()
        self.proof = (
            ProofWatch(lambda: self.windows, ProofTracker(fleet.site, fleet.screen), sender),
            sender,
        )

    def _engine(self) -> Engine:
        assert self.engine is not None, "the engine starts before the moderation page"
        return self.engine

    async def _stop(self) -> None:
        self.store.on_write_problem = None  # the loop is ending: no more status updates from the store
        self._status_timer.stop()
        self.schedule.stop()
        for task in list(self._background):
            await asyncio.gather(task, return_exceptions=True)
        systemd.notify("STOPPING=1")
        if self.web is not None:
            await self.web.stop()
        if self.desk is not None:
            self.desk.close()
        if self.kiosk_health is not None:
            await self.kiosk_health.stop()
            self._link_marker.stop()
        if self.proof is not None:
            self.proof[0].stop()
            await self.proof[1].stop()  # sends what ended last while the link is still up
        if self.receiver is not None:
            await self.receiver.stop()
        if self.engine is not None:
            await self.engine.stop()
        if self.client is not None:
            await self.client.aclose()
        self._save_runtime(None)
        self.store.close()

    # --- reload -----------------------------------------------------------------------------
    async def _apply_reloads(self) -> None:
        while True:
            reason = await self.reload_requests.get()
            try:
                await self.reload(reason)
            except Exception as exc:  # supervision point: one bad save must not end every later reload
                log.exception("%s: reading or applying the config failed; the wall runs on", reason)
                failed = f"{type(exc).__name__}: {exc}"
                self._record_runtime([f"{self.config_path}: {failed}: the wall runs on its previous config"])

    async def reload(self, reason: str) -> None:
        """Read the config file again; apply it if valid and different, else keep the running one."""
        if self.config_path is None:
            log.info("%s: no config file to read again (demo)", reason)
            return
        try:
            new = load_config(self.config_path)
            if problems := emptying_problems(new, self.config):
                raise ConfigProblems(problems)
        except ConfigProblems as problems:
            log.warning(
                "%s: config refused, the wall keeps the running one: %s", reason, "; ".join(problems.lines)
            )
            self._record_runtime(
                [*problems.lines, f"{self.config_path}: refused; the wall runs on its previous config"]
            )
            return
        if new == self.config:
            log.info("%s: %s read again, nothing changed", reason, self.config_path)
            return
        running = self.config
        assert self.engine is not None
        await self.engine.stop()
        try:
            await self._apply(new, running)
        except Exception:
            # Half applied: poll again with the running config rather than not at all.
            self._start_engine(running)
            raise
        remember_good_config(new)
        self._record_runtime([])
        log.info("%s: config reloaded from %s", reason, self.config_path)

    def _start_engine(self, config: WallConfig) -> None:
        self.engine = Engine(config, self.store, self.hub, self.client)
        self.engine.fill_screen_from_store()
        if self.receiver is not None:
            self.receiver.claim_pictures()
        self.engine.start()

    async def _apply(self, new: WallConfig, running: WallConfig) -> None:
        """Put `new` in place of `running` (whose engine is stopped)."""
        self._retire_removed_sources(new)  # off the screen now; deleted only after the grace period
        self.store.max_posts_per_source = new.storage.max_posts_per_source
        self._start_engine(new)
        looks = (new.wall, new.effective_panels(), new.effective_screens())
        if looks != (running.wall, running.effective_panels(), running.effective_screens()):
            for window in self.windows:
                window.close()
            self._build_windows(new)
            self._place_windows(new)
        self.config = new
        self.schedule.schedule = Schedule.from_settings(new.schedule, ZoneInfo(new.wall.timezone))
        self.schedule.clock_when_closed = bool(new.schedule and new.schedule.outside_hours == "clock")
        self.schedule.apply()
        if self.schedule.is_open is False and self.engine is not None:  # no polling out of hours either
            await self.engine.pause()
        if new.web != running.web:
            await self._restart_web(new)
        started_with = self._started_with
        self._restart_needed = [
            f"{name}: {get(new)!r} applies at the next restart (running with {get(started_with)!r})"
            for name, get in RESTART_ONLY.items()
            if get(new) != get(started_with)
        ]
        for line in self._restart_needed:
            log.warning("config: %s", line)

    async def _restart_web(self, config: WallConfig) -> None:
        """Apply a changed `[web]` for real: `enabled = false` stops serving logins at once."""
        if self.web is not None:
            await self.web.stop()
            self.web = None
        if self.desk is not None:
            self.desk.close()
            self.desk = None
        if not config.web.enabled:
            log.info("moderation page: stopped ([web] enabled = false)")
            return
        from wall.shell.desk import start_web

        self.web, self.desk = await start_web(config, self.store, self._engine, lambda: self.windows)
        if self.web is not None:
            log.info("moderation page: serving on %s:%d", config.web.host, config.web.port)


def run_wall(
    config: WallConfig,
    *,
    windowed: bool = False,
    exit_after: float | None = None,
    exit_after_first_frame: bool = False,
    started: float | None = None,
    config_problems: list[str] | None = None,
    config_path: Path | None = None,
    paint_log: Path | None = None,
) -> int:
    """Run the wall until SIGTERM/SIGINT (or `exit_after` seconds); returns the exit status.

    With `config_path`, the file is read again on SIGHUP and whenever it changes: a valid new config
    applies within a second; an invalid one is refused with a log line and the wall runs on.
    """
    runtime = WallRuntime(
        config,
        windowed=windowed,
        exit_after=exit_after,
        exit_after_first_frame=exit_after_first_frame,
        started=started,
        config_problems=config_problems,
        config_path=config_path,
        paint_log=paint_log,
    )
    return runtime.run()
