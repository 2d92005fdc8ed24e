"""A kiosk's receive path: watches its site's KV bucket, writes every value into the local SQLite
store, then shows the store through the `Screen` as the standalone engine does; pictures come from
the site's object store into the local picture cache. Plain asyncio, no Qt (a bench runs hundreds).

Catching up: a watch starts with the current value of every key, then follows updates. After the
link comes back the watch is started again, so whatever was published meanwhile (its latest value)
arrives; a value whose revision the store has already applied is skipped, so nothing is applied
twice, even across a restart of the kiosk (the revisions are kept in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from wall.core.model import POST_KINDS, Batch, Post, PostKind, utcnow
from wall.core.paths import cache_file
from wall.core.tasks import cancel_until_done
from wall.engine.fleet import wire
from wall.engine.fleet.layout import (
    ANNOUNCEMENT_KEY,
    COUNTS_KEY,
    PANIC_KEY,
    PLAYLIST_KEY,
    SCREEN_KEYS,
    STATUSES_KEY,
    picture_bucket,
    picture_name,
    posts_key,
    screen_key,
    split_screen_key,
    state_bucket,
)
from wall.engine.fleet.link import close, connect_until_up
from wall.engine.fleet.settings import FleetSettings
from wall.engine.fleet.site_watch import SiteWatch
from wall.engine.panel_settings import PanelSettings
from wall.engine.replay import REPLAY_KINDS, best_first
from wall.engine.store import Store

if TYPE_CHECKING:  # the standalone engine (and its HTTP stack) is never loaded by a kiosk
    from wall.engine.engine import Screen

log = logging.getLogger("wall.engine.fleet.receiver")

POSTS_PER_KIND = 60  # as many as the standalone engine shows
REVISIONS_META = "fleet.revisions"
# The site's and this screen's own panic, announcement and playlist as received: what the screen
# shows is its own value when it has one, else its site's (wall.engine.fleet.targets).
LAYERS_META = "fleet.layers"
_NOTHING_RECEIVED: dict[str, dict[str, Any]] = {
    PANIC_KEY: {"on": False, "who": "fleet"},
    ANNOUNCEMENT_KEY: {"announcement": None},
    PLAYLIST_KEY: {"panels": None},
}
WHO = "fleet"  # the author of what the kiosk's store records on the collector's behalf
RETRY_S = 1.0
_BROKER_ERRORS = (nats.errors.Error, TimeoutError, OSError)
_KIND_OF_KEY: dict[str, PostKind] = {posts_key(kind): kind for kind in POST_KINDS}


@dataclass(slots=True)
class ReceiverState:
    """What a kiosk's link is doing, for `wall status` and the tests."""

    connected: bool = False
    since: datetime | None = None  # when `connected` last changed (`wall status`: "down since ...")
    applied: list[tuple[str, int]] = field(default_factory=list)  # (key, revision), in order
    watching: bool = False  # the site's bucket is followed: whatever is published now arrives


class KioskReceiver:
    """Follows one site's bucket and pictures into a kiosk's store and screen."""

    def __init__(
        self,
        fleet: FleetSettings,
        store: Store,
        screen: Screen,
        *,
        pictures: Path,
        on_panic: Callable[[bool], object] = lambda _on: None,
        on_playlist: Callable[[list[PanelSettings] | None], object] = lambda _panels: None,
    ) -> None:
        assert fleet.role == "kiosk"
        self.fleet = fleet
        self.store = store
        self.screen = screen
        self.state = ReceiverState()
        self._pictures = pictures
        self._on_panic = on_panic
        self._on_playlist = on_playlist
        self._link: Client | None = None
        self._rewatch = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._picture_tasks: set[asyncio.Task[None]] = set()
        self._waiting_pictures: dict[str, str] = {}  # object name -> URL asked for, not published yet
        self._revisions: dict[str, int] = dict(store.meta(REVISIONS_META) or {})

    def start(self) -> None:
        """Take over the screen's picture requests and follow the site in the background."""
        self.claim_pictures()
        self._task = asyncio.ensure_future(self._run())

    def claim_pictures(self) -> None:
        """Pictures come from the fleet, never from the internet (call again after a new engine)."""
        self.screen.set_image_requester(self._request_picture)

    async def stop(self) -> None:
        """Stop following and close the link."""
        # Cancelled again until they end: a cancel that comes as a watcher's wait ends is lost
        # (Python 3.11's `asyncio.wait_for`, inside nats-py), and a kiosk's stop hung for ever.
        await cancel_until_done([*self._picture_tasks, *([self._task] if self._task else [])])
        if self._link is not None:
            await close(self._link)

    @property
    def link(self) -> Client | None:
        """The connection to the fleet once made (heartbeats, screenshots, proof of play go over it)."""
        return self._link

    # --- following ---------------------------------------------------------------------------
    async def _run(self) -> None:
        async def reconnected() -> None:
            self.state.connected, self.state.since = True, utcnow()
            self._rewatch.set()

        async def disconnected() -> None:
            self.state.connected, self.state.since = False, utcnow()

        self._link = await connect_until_up(
            self.fleet, on_reconnected=reconnected, on_disconnected=disconnected, name=self.fleet.nats_user
        )
        self.state.connected, self.state.since = True, utcnow()
        while True:
            self._rewatch.clear()
            follow = asyncio.ensure_future(self._follow(self._link))
            rewatch = asyncio.ensure_future(self._rewatch.wait())
            try:
                await asyncio.wait({follow, rewatch}, return_when=asyncio.FIRST_COMPLETED)
            finally:  # `stop` cancels this task: the watch must end too, before the store closes
                await cancel_until_done([follow, rewatch])
            if follow.done() and not follow.cancelled() and follow.exception() is not None:
                log.warning(
                    "fleet: following %s failed: %s", state_bucket(self.fleet.site), follow.exception()
                )
                await asyncio.sleep(RETRY_S)

    async def _follow(self, link: Client) -> None:
        """Current values then updates of the site's bucket, and new pictures, until the link drops."""
        # Our own consumer, not `kv.watchall()`: it follows again within seconds when the node
        # holding it dies (site_watch.py). The bucket comes first: a picture stream without a
        # leader yet must not hold the posts back.
        watcher = SiteWatch(link, state_bucket(self.fleet.site))
        pictures = asyncio.ensure_future(self._follow_pictures(link))
        try:
            await watcher.start()
            self.state.watching = True
            while True:
                update = await watcher.next()
                await self._apply(update.key, update.revision, update.value)
        finally:
            self.state.watching = False
            await cancel_until_done([pictures])
            await watcher.stop()

    async def _follow_pictures(self, link: Client) -> None:
        """New objects of the site's picture store, for the pictures asked for before they were."""
        js = link.jetstream()
        while True:
            try:
                subscription = await js.subscribe(
                    f"$O.{picture_bucket(self.fleet.site)}.M.>",
                    stream=f"OBJ_{picture_bucket(self.fleet.site)}",
                    cb=self._on_picture_published,
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW,
                )
                break
            except _BROKER_ERRORS as exc:  # its stream's leader being elected: try again
                log.info("fleet: following %s later (%s)", picture_bucket(self.fleet.site), exc)
                await asyncio.sleep(RETRY_S)
        try:
            for name, url in list(self._waiting_pictures.items()):  # published while the link was down
                self._fetch_picture_later(url, name)
            await asyncio.Event().wait()  # until cancelled with the watch
        finally:
            # When the link is already gone the server dropped it with it.
            with contextlib.suppress(*_BROKER_ERRORS):
                await subscription.unsubscribe()

    async def _apply(self, key: str, revision: int, data: bytes) -> None:
        if revision <= self._revisions.get(key, 0):
            return  # applied already (a watch started again delivers the current values again)
        own = split_screen_key(key)
        if own is not None and own[0] != self.fleet.screen:
            return  # another screen's own value (the site's bucket holds every screen's)
        shown_key = own[1] if own is not None else key
        body: dict[str, Any] = {}
        try:
            body = wire.load(data)
            if shown_key in SCREEN_KEYS:  # the screen's own value, else its site's
                body = await asyncio.to_thread(self._layered, key, shown_key, body)
            await asyncio.to_thread(self._store_value, shown_key, body)
        except (wire.WireError, KeyError, TypeError, ValueError) as exc:
            # A newer collector's format or a broken value: the screen keeps what it shows.
            log.warning("fleet: %s revision %d is not readable (%s); skipped", key, revision, exc)
            body = {}
        self._revisions[key] = revision
        await asyncio.to_thread(self.store.set_meta, REVISIONS_META, dict(self._revisions))
        self.state.applied.append((key, revision))
        self._show(shown_key, body)

    def _layered(self, key: str, shown_key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a received site or screen value (store thread); returns what the screen shows for
        `shown_key` now: the screen's own value unless it follows its site, else the site's."""
        if shown_key == PLAYLIST_KEY and not wire.follows_site(body):
            wire.decode_playlist(body)  # a playlist this kiosk cannot build is refused whole
        layers: dict[str, Any] = self.store.meta(LAYERS_META) or {}
        layers[key] = body
        self.store.set_meta(LAYERS_META, layers)
        return _shown_layer(layers, self.fleet.screen, shown_key)

    def playlist(self) -> list[PanelSettings] | None:
        """The panels the collector decided for this screen, as last received (None: the kiosk's own
        `[[panels]]`); the store keeps them, so a kiosk that boots offline shows them too."""
        layers: dict[str, Any] = self.store.meta(LAYERS_META) or {}
        try:
            return wire.decode_playlist(_shown_layer(layers, self.fleet.screen, PLAYLIST_KEY))
        except (KeyError, TypeError, ValueError):
            return None

    def _store_value(self, key: str, body: dict[str, Any]) -> None:
        """Runs in a worker thread: the store is the kiosk's memory when the broker is away."""
        now = utcnow()
        if key in _KIND_OF_KEY:
            shown = wire.ShownPosts.decode(body)
            self._replace_posts(_KIND_OF_KEY[key], shown)
        elif key == COUNTS_KEY:
            latest, _history = wire.decode_counts(body)
            self.store.apply(WHO, Batch(counts=tuple(latest)), now=now)
        elif key == STATUSES_KEY:
            for status in wire.decode_statuses(body):
                self.store.save_status(status)
        elif key == ANNOUNCEMENT_KEY:
            announcement = wire.decode_announcement(body)
            # Who published it on the collector's page, and when, stay with it (the page shows them).
            who, at = (announcement.who, announcement.at) if announcement else (WHO, now)
            self.store.set_announcement(announcement, who or WHO, at or now)
        elif key == PANIC_KEY:
            self.store.set_panic(bool(body["on"]), str(body.get("who", WHO)), now=now)

    def _replace_posts(self, kind: PostKind, shown: wire.ShownPosts) -> None:
        """The store holds exactly what the collector shows for this kind: new and edited posts are
        written, the others (hidden, deleted, purged on the collector) are removed."""
        wanted = {p.key for p in shown.posts}
        by_source: dict[str, list[Post]] = {}
        for post in shown.posts:
            by_source.setdefault(post.source, []).append(post)
        for source in set(self.store.sources()) | set(by_source):
            kept = {p.key: p for p in self.store.posts_of(source)}
            gone = tuple(p.id for p in kept.values() if p.kind == kind and p.key not in wanted)
            # Only new and edited posts are written: a decision changes one post of sixty, and a
            # kiosk's store writes are most of its share of a decision's time (`bench fleet`).
            fresh = tuple(p for p in by_source.get(source, ()) if kept.get(p.key) != p)
            self.store.apply(source, Batch(posts=fresh, deleted=gone))
        for post in shown.posts:
            pinned = post.key in shown.pinned
            if pinned != (self.store.decision(post.key) == "pin"):
                self.store.decide(post.key, "pin" if pinned else "approve", WHO)

    def _show(self, key: str, body: dict[str, Any]) -> None:
        if key in _KIND_OF_KEY:
            kind = _KIND_OF_KEY[key]
            posts = self.store.recent_posts(kind, POSTS_PER_KIND)
            self.screen.set_posts(kind, posts)
            if kind in REPLAY_KINDS:  # quiet hours replay what this site received, best first
                self.screen.set_replay_pool(kind, best_first(posts))
        elif key == COUNTS_KEY and body:
            self.screen.set_counts(*wire.decode_counts(body))
        elif key == STATUSES_KEY and body:
            self.screen.set_statuses(wire.decode_statuses(body))
        elif key == ANNOUNCEMENT_KEY:
            self.screen.set_announcement(self.store.announcement())
        elif key == PANIC_KEY:
            self._on_panic(self.store.panic())
        elif key == PLAYLIST_KEY and body:
            self._on_playlist(wire.decode_playlist(body))

    # --- pictures ----------------------------------------------------------------------------
    def _request_picture(self, url: str) -> None:
        self._fetch_picture_later(url, picture_name(url))

    def _fetch_picture_later(self, url: str, name: str) -> None:
        task = asyncio.ensure_future(self._fetch_picture(url, name))
        self._picture_tasks.add(task)
        task.add_done_callback(self._picture_tasks.discard)

    async def _fetch_picture(self, url: str, name: str) -> None:
        cached = cache_file(self._pictures, url)
        if cached.is_file():
            self.screen.add_image(url, await asyncio.to_thread(cached.read_bytes))
            return
        self._waiting_pictures[name] = url
        if self._link is None or not self._link.is_connected:
            return  # fetched when the link is up again (`_follow`)
        try:
            result = await (await self._link.jetstream().object_store(picture_bucket(self.fleet.site))).get(
                name
            )
        except nats.js.errors.ObjectNotFoundError:
            return  # not published yet: `_on_picture_published` fetches it when it is
        except _BROKER_ERRORS as exc:
            log.info("fleet: picture %s not fetched now (%s)", name[:12], exc)
            return
        data = result.data or b""
        del self._waiting_pictures[name]
        await asyncio.to_thread(_write_atomically, cached, data)
        self.screen.add_image(url, data)

    async def _on_picture_published(self, msg: Msg) -> None:
        name = next((n for n in self._waiting_pictures if msg.data and n.encode() in msg.data), None)
        if name is not None:
            self._fetch_picture_later(self._waiting_pictures[name], name)


def _shown_layer(layers: dict[str, Any], screen: str, key: str) -> dict[str, Any]:
    own = layers.get(screen_key(screen, key))
    if own is not None and not wire.follows_site(own):
        return dict(own)
    return dict(layers.get(key) or _NOTHING_RECEIVED[key])


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
