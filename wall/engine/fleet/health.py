"""Seeing every screen from the collector's page (issue 16): heartbeats and screenshots.

A kiosk (`KioskHealth`) publishes a heartbeat every 10 s on its own status subject
(`wall.status.<site>.<screen>.heartbeat`), and a small JPEG of its screen every few minutes and when
the page asks (`.screenshot`). The collector (`FleetWatch`) keeps the latest heartbeat of each
screen in its store (a restart keeps the list) and puts each screenshot into the site's
`screenshots-<site>` object store: NATS 2.9 cannot confine a kiosk's writes to one object of an
object store (docs/fleet.md), so the kiosk only ever publishes on its own subjects.

The subject is the identity: a kiosk can publish only under its own `site.screen` (its permissions),
so the collector takes the site and screen from the subject, never from the body.
No Qt here: the shell hands in the last frame time and the grabbed JPEG as plain values.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.object_store import ObjectStore

from wall.core.model import as_utc, utcnow
from wall.core.tasks import cancel_until_done
from wall.engine.fleet import wire
from wall.engine.fleet.layout import (
    FORMAT_VERSION,
    STATUS_ROOT,
    ask_subject,
    screenshot_bucket,
    status_subject,
)
from wall.engine.fleet.scope import Scope
from wall.engine.fleet.settings import FleetSettings
from wall.engine.store import Store

log = logging.getLogger("wall.engine.fleet.health")

HEARTBEAT_EVERY_S = 10.0
LATE_AFTER_S = 30.0  # three heartbeats missed: the screen is offline (or its process frozen)
# The wall paints at least once a minute (the header's clock): no frame for this long while
# heartbeats arrive means the process lives but the screen does not move.
FRAMES_STOPPED_AFTER_S = 150.0
SCREENS_META = "fleet.screens"
SAVE_EVERY_S = 5.0  # heartbeats are written to the collector's store at most this often
MAX_SCREENSHOT_BYTES = 512 * 1024  # under nats-server's 1 MB max_payload, with room to spare
_BROKER_ERRORS = (nats.errors.Error, TimeoutError, OSError)

ScreenState = Literal["ok", "late", "frames_stopped", "off"]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """What a kiosk says about itself every 10 s. Times are the kiosk's own clock (UTC)."""

    site: str
    screen: str
    at: datetime
    last_frame: datetime | None  # the last frame painted on screen
    panel: str  # what the first window shows ("posts", "panic screen", "black (closed)"...)
    version: str
    uptime_s: float
    memory_mb: float
    stale_sources: tuple[str, ...] = ()
    off_on_purpose: bool = False  # outside opening hours (`[schedule]`): black or clock on purpose

    def encode(self) -> bytes:
        """The message body: JSON with the fleet's format version."""
        body = {
            "v": FORMAT_VERSION,
            "site": self.site,
            "screen": self.screen,
            "at": self.at.isoformat(),
            "last_frame": self.last_frame.isoformat() if self.last_frame else None,
            "panel": self.panel,
            "version": self.version,
            "uptime_s": round(self.uptime_s, 1),
            "memory_mb": round(self.memory_mb, 1),
            "stale_sources": list(self.stale_sources),
            "off_on_purpose": self.off_on_purpose,
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def decode(cls, data: bytes, site: str, screen: str) -> Heartbeat:
        """From a message body; `site` and `screen` come from the subject (the trusted identity).
        Raises wire.WireError (or KeyError, TypeError, ValueError) on a body it cannot read."""
        body = wire.load(data)
        last = body.get("last_frame")
        return cls(
            site=site,
            screen=screen,
            at=as_utc(datetime.fromisoformat(str(body["at"]))),
            last_frame=as_utc(datetime.fromisoformat(str(last))) if last else None,
            panel=str(body.get("panel", ""))[:80],
            version=str(body.get("version", ""))[:40],
            uptime_s=float(body.get("uptime_s", 0)),
            memory_mb=float(body.get("memory_mb", 0)),
            stale_sources=tuple(str(s)[:80] for s in body.get("stale_sources", ())[:50]),
            off_on_purpose=bool(body.get("off_on_purpose", False)),
        )


@dataclass(frozen=True, slots=True)
class ScreenHealth:
    """The collector's view of one screen: its latest heartbeat, when it arrived (the collector's
    clock: a kiosk's wrong clock cannot hide it), and when its latest screenshot arrived."""

    beat: Heartbeat
    received_at: datetime
    screenshot_at: datetime | None = None
    late_after_s: float = LATE_AFTER_S  # FleetWatch's; not kept in the store

    @property
    def name(self) -> str:
        """`site/screen`."""
        return f"{self.beat.site}/{self.beat.screen}"

    def state(self, now: datetime) -> ScreenState:
        """`late`: no heartbeat for 30 s; `off`: outside opening hours on purpose (never flagged);
        `frames_stopped`: heartbeats arrive but the last frame is old; else `ok`."""
        if (now - self.received_at).total_seconds() > self.late_after_s:
            return "late"
        if self.beat.off_on_purpose:
            return "off"
        last = self.beat.last_frame
        if last is None:  # no frame yet: only a problem once the wall should long have painted
            stopped = self.beat.uptime_s > FRAMES_STOPPED_AFTER_S
        else:
            stopped = (self.beat.at - last).total_seconds() > FRAMES_STOPPED_AFTER_S
        return "frames_stopped" if stopped else "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kept in the collector's store)."""
        return {
            "beat": json.loads(self.beat.encode()),
            "received_at": self.received_at.isoformat(),
            "screenshot_at": self.screenshot_at.isoformat() if self.screenshot_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenHealth:
        """From `to_dict`."""
        beat = data["beat"]
        shot = data.get("screenshot_at")
        return cls(
            Heartbeat.decode(json.dumps(beat).encode(), str(beat["site"]), str(beat["screen"])),
            as_utc(datetime.fromisoformat(data["received_at"])),
            as_utc(datetime.fromisoformat(shot)) if shot else None,
        )


def _subject_screen(subject: str) -> tuple[str, str, str] | None:
    """`wall.status.<site>.<screen>.<what>` -> (site, screen, what)."""
    parts = subject.split(".")
    root = STATUS_ROOT.split(".")
    if len(parts) != len(root) + 3 or parts[: len(root)] != root:
        return None
    site, screen, what = parts[len(root) :]
    return site, screen, what


class FleetWatch:
    """The collector's side: the latest heartbeat per screen (in its store) and the screenshots
    (in each site's `screenshots-<site>` object store), and asking a kiosk for a screenshot now."""

    def __init__(
        self, fleet: FleetSettings, link: Client, store: Store, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        assert fleet.role == "collector"
        self.fleet = fleet
        self._link = link
        self._store = store
        self._clock = clock
        self.late_after_s = LATE_AFTER_S
        self._screens: dict[str, ScreenHealth] = {}
        self._objects: dict[str, ObjectStore] = {}
        self._subscription: Subscription | None = None
        self._saver: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()
        self._shots: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Read the screens kept in the store, open the screenshot stores, then listen."""
        kept = await asyncio.to_thread(self._store.meta, SCREENS_META) or {}
        for name, data in kept.items():
            with contextlib.suppress(wire.WireError, KeyError, TypeError, ValueError):
                self._screens[name] = ScreenHealth.from_dict(data)
        js = self._link.jetstream()
        for site in self.fleet.sites:
            self._objects[site] = await js.create_object_store(
                screenshot_bucket(site),
                ObjectStoreConfig(replicas=self.fleet.replicas, storage=StorageType.FILE),
            )
        self._subscription = await self._link.subscribe(f"{STATUS_ROOT}.>", cb=self._on_status)
        self._saver = asyncio.ensure_future(self._save_forever())

    async def stop(self) -> None:
        """Stop listening; what was heard is written to the store."""
        if self._subscription is not None:
            with contextlib.suppress(*_BROKER_ERRORS):
                await self._subscription.unsubscribe()
        await cancel_until_done([*self._shots, *([self._saver] if self._saver else [])])
        await asyncio.to_thread(self._save)

    def screens(self) -> list[ScreenHealth]:
        """Every screen heard from (now or before a restart), by site then screen."""
        return [
            replace(self._screens[name], late_after_s=self.late_after_s) for name in sorted(self._screens)
        ]

    def sites(self) -> list[str]:
        """The sites the collector publishes to."""
        return list(self.fleet.sites)

    async def screenshot(self, site: str, screen: str) -> bytes | None:
        """The latest screenshot of a screen, or None (none yet, or the broker is away)."""
        store = self._objects.get(site)
        if store is None or f"{site}/{screen}" not in self._screens:
            return None
        try:
            result = await store.get(screen)
        except nats.js.errors.ObjectNotFoundError:
            return None
        except _BROKER_ERRORS as exc:
            log.info("fleet: screenshot of %s/%s not read now (%s)", site, screen, exc)
            return None
        return result.data

    async def ask_screenshot(self, site: str, screen: str) -> bool:
        """Ask the kiosk for a screenshot now; False when the link is down (the kiosk then cannot
        hear it either)."""
        if f"{site}/{screen}" not in self._screens or not self._link.is_connected:
            return False
        try:
            await self._link.publish(ask_subject(site, screen), b"screenshot")
        except _BROKER_ERRORS:
            return False
        return True

    # --- receiving ---------------------------------------------------------------------------
    async def _on_status(self, msg: Msg) -> None:
        where = _subject_screen(msg.subject)
        if where is None or where[0] not in self.fleet.sites:
            return  # another session's subject (proof of play), or a site this collector does not serve
        site, screen, what = where
        name = f"{site}/{screen}"
        if what == "heartbeat":
            try:
                beat = Heartbeat.decode(msg.data, site, screen)
            except (wire.WireError, KeyError, TypeError, ValueError) as exc:
                log.warning("fleet: heartbeat of %s is not readable (%s); skipped", name, exc)
                return
            kept = self._screens.get(name)
            self._screens[name] = ScreenHealth(beat, self._clock(), kept.screenshot_at if kept else None)
            self._dirty.set()
        elif what == "screenshot" and name in self._screens:
            if not msg.data.startswith(b"\xff\xd8\xff") or len(msg.data) > MAX_SCREENSHOT_BYTES:
                log.warning("fleet: the screenshot of %s is not a small JPEG; skipped", name)
                return
            task = asyncio.ensure_future(self._keep_screenshot(site, screen, msg.data))
            self._shots.add(task)
            task.add_done_callback(self._shots.discard)

    async def _keep_screenshot(self, site: str, screen: str, data: bytes) -> None:
        try:
            await self._objects[site].put(screen, data)
        except _BROKER_ERRORS as exc:
            log.info("fleet: screenshot of %s/%s not kept (%s)", site, screen, exc)
            return
        name = f"{site}/{screen}"
        if name in self._screens:
            self._screens[name] = replace(self._screens[name], screenshot_at=self._clock())
            self._dirty.set()

    async def _save_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await asyncio.to_thread(self._save)
            await asyncio.sleep(SAVE_EVERY_S)

    def _save(self) -> None:
        self._store.set_meta(SCREENS_META, {name: s.to_dict() for name, s in self._screens.items()})


class KioskHealth:
    """The kiosk's side: a heartbeat every 10 s, a screenshot every `screenshot_minutes` and when
    the collector asks, all on the kiosk's own subjects over the receiver's link."""

    def __init__(
        self,
        fleet: FleetSettings,
        link: Callable[[], Client | None],
        beat: Callable[[], Heartbeat],
        grab: Callable[[], bytes | None],
        *,
        every_s: float = HEARTBEAT_EVERY_S,
    ) -> None:
        assert fleet.role == "kiosk"
        self.fleet = fleet
        self._link = link
        self._beat = beat
        self._grab = grab
        self._every_s = every_s
        self._shot_every = timedelta(minutes=fleet.screenshot_minutes)
        self._next_shot: datetime | None = None  # the first one goes with the first heartbeat
        self._asked = asyncio.Event()
        self._listening: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.sent = 0

    def start(self) -> None:
        """Publish in the background from now on."""
        self._task = asyncio.ensure_future(self._run())

    def send_now(self) -> None:
        """A heartbeat and a screenshot now (the first frame is painted; the collector asks)."""
        self._next_shot = None
        self._asked.set()

    async def stop(self) -> None:
        """No more heartbeats."""
        if self._task is not None:
            self._stopping = True  # a cancellation swallowed by nats-py's wait_for still ends the loop
            self._asked.set()
            await cancel_until_done([self._task])

    async def _run(self) -> None:
        while not self._stopping:
            link = self._link()
            if link is not None and link.is_connected:
                try:
                    await self._listen(link)
                    await self._send(link)
                except _BROKER_ERRORS as exc:  # the link dropped meanwhile: the next tick tries again
                    log.info("fleet: heartbeat not sent (%s)", exc)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._asked.wait(), self._every_s)

    async def _listen(self, link: Client) -> None:
        """Hear the collector's "screenshot now" (nats-py keeps the subscription across reconnects)."""
        if self._listening is link:
            return

        async def asked(_msg: Msg) -> None:
            self.send_now()

        await link.subscribe(ask_subject(self.fleet.site, self.fleet.screen), cb=asked)
        self._listening = link

    async def _send(self, link: Client) -> None:
        root = status_subject(self.fleet.site, self.fleet.screen)
        self._asked.clear()
        beat = self._beat()
        await link.publish(f"{root}.heartbeat", beat.encode())
        self.sent += 1
        now = utcnow()
        # A picture before the first frame would be a black rectangle: wait for one.
        if beat.last_frame is not None and (self._next_shot is None or now >= self._next_shot):
            self._next_shot = now + self._shot_every
            picture = self._grab()  # on this loop's thread, the GUI thread in `wall run`
            if picture is not None and len(picture) <= MAX_SCREENSHOT_BYTES:
                await link.publish(f"{root}.screenshot", picture)
        await link.flush(timeout=5)


@dataclass(frozen=True, slots=True)
class FleetAction:
    """A decision, panic or announcement made on the collector's page, and the sites (or one
    screen, `site/screen`: a `targets.Scope`'s text) it targets."""

    what: str
    at: datetime
    sites: tuple[str, ...]
    # The collector's own link is down: it could send nothing since, so no screen is said to have it.
    link_down: bool = False


def not_reached(action: FleetAction, screens: list[ScreenHealth], now: datetime) -> list[ScreenHealth]:
    """The screens of the action's sites that are offline and have not been heard from since it was
    made. A screen heard from after the action has its link up, and a link that is up delivers the
    current value of every key (the receiver's watch), so it has the action."""
    return [
        s
        for s in screens
        if any(Scope.parse(target).covers(s.beat.site, s.beat.screen) for target in action.sites)
        and s.received_at < action.at
        and s.state(now) == "late"
    ]
