"""The collector's `Screen`: what the engine would paint is split by site and published to each
site's KV bucket; each picture a site's posts show goes once into that site's object store.

Publishing never blocks the engine: values wait in a "latest wins" table until a single task has
written them, so a broker that is away for an hour costs one write per key when it is back, not an
hour of backlog, and nothing published before it went away is lost (the buckets keep it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from wall.core.model import Count, Post, PostKind, SourceStatus
from wall.core.tasks import cancel_until_done
from wall.engine.config import WallConfig
from wall.engine.consent import image_urls
from wall.engine.engine import POSTS_PER_KIND
from wall.engine.fleet import wire
from wall.engine.fleet.layout import (
    ANNOUNCEMENT_KEY,
    COUNTS_KEY,
    PANIC_KEY,
    PLAYLIST_KEY,
    STATUSES_KEY,
    picture_bucket,
    picture_name,
    posts_key,
    screen_key,
    split_screen_key,
    state_bucket,
)
from wall.engine.fleet.proof import ensure_proof_stream
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.engine.panel_settings import PanelSettings
from wall.engine.store import Store

log = logging.getLogger("wall.engine.fleet.publisher")

RETRY_S = 1.0
_BROKER_ERRORS = (nats.errors.Error, TimeoutError, OSError)  # nats.js.errors.Error derives from the first


class FleetPublisher:
    """A `wall.engine.engine.Screen` that publishes to JetStream instead of painting."""

    def __init__(self, config: WallConfig, link: Client, store: Store) -> None:
        assert config.fleet is not None and config.fleet.role == "collector"
        self.fleet = config.fleet
        self.sites = list(config.fleet.sites)
        self._link = link
        self._js: JetStreamContext = link.jetstream()
        self._store = store
        # A source's posts reach its `sites`, or every site; a post of a source no longer configured
        # reaches none (an internal post must never land on the wrong site by default).
        self._sites_of = {s.name: list(s.sites) or self.sites for s in config.sources}
        self._kv: dict[str, KeyValue] = {}
        self._objects: dict[str, ObjectStore] = {}
        self._values: dict[tuple[str, str], bytes] = {}  # (site, key) -> value still to publish
        self._published: dict[tuple[str, str], bytes] = {}
        self._pictures: dict[tuple[str, str], bytes] = {}  # (site, object name) -> picture to publish
        self._pictures_known: dict[str, set[str]] = {site: set() for site in self.sites}
        self._deletions: set[tuple[str, str]] = set()  # (site, object name) purged, still to delete
        self._picture_sites: dict[str, set[str]] = {}  # URL asked of the engine -> sites waiting for it
        self._statuses: dict[str, SourceStatus] = {}
        self._request_image: Callable[[str], None] = lambda _url: None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Create (or open) every site's bucket and object store, then publish in the background."""
        storage = StorageType.FILE
        for site in self.sites:
            replicas = self.fleet.replicas
            self._kv[site] = await self._js.create_key_value(
                KeyValueConfig(bucket=state_bucket(site), history=1, replicas=replicas, storage=storage)
            )
            self._objects[site] = await self._js.create_object_store(
                picture_bucket(site), ObjectStoreConfig(replicas=replicas, storage=storage)
            )
            await self._resume(site)
        await ensure_proof_stream(self._js, self.fleet)
        self._task = asyncio.ensure_future(self._publish_forever())

    async def _resume(self, site: str) -> None:
        """Start from what the broker already holds: a restarted collector writes again only the
        keys that changed, and uploads no picture twice (kiosks would fetch and apply it again)."""
        watcher = await self._kv[site].watchall()  # every key, screens' own ones included
        try:
            async for entry in watcher:
                if entry is None:  # the current values are all delivered
                    break
                if entry.value:
                    self._published[(site, entry.key)] = entry.value
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        with contextlib.suppress(nats.js.errors.NotFoundError):
            infos = await self._objects[site].list(ignore_deletes=True)
            self._pictures_known[site] |= {info.name for info in infos}

    async def stop(self) -> None:
        """Stop publishing (what is still waiting is lost; the collector publishes it again at start)."""
        if self._task is not None:
            # Python 3.11's wait_for (inside nats-py's requests) may swallow a cancellation that
            # lands as the answer arrives: the flag ends the loop anyway, instead of a hung stop.
            self._stopping = True
            self._wake.set()
            await cancel_until_done([self._task])

    async def drained(self) -> None:
        """Wait until everything handed over so far is published (tests, and a clean stop)."""
        await self._idle.wait()

    # --- Screen ------------------------------------------------------------------------------
    def post_groups(self) -> list[frozenset[str]]:
        """The sources of each site: the engine reads the newest posts of each group, so that a busy
        source of one site cannot push another site's posts out of what is published."""
        return [frozenset(s for s, sites in self._sites_of.items() if site in sites) for site in self.sites]

    def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Publish each site's share of `posts` (its newest POSTS_PER_KIND, the cap being per site,
        after the split), and the pictures they show."""
        pinned = frozenset(p.key for p in posts if self._store.decision(p.key) == "pin")
        for site in self.sites:
            mine = [p for p in posts if site in self._sites_of.get(p.source, ())]
            shown = tuple(mine[:POSTS_PER_KIND])
            self._put(site, posts_key(kind), wire.ShownPosts(shown, pinned & {p.key for p in shown}).encode())
            for url in image_urls(shown):
                if picture_name(url) not in self._pictures_known[site]:
                    self._want_picture(url, site)

    def set_replay_pool(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Not published: a kiosk replays from what its own site received (`KioskReceiver`), so a
        site's quiet hours never replay another site's posts."""

    def set_counts(self, latest: Sequence[Count], history: dict[str, list[Count]]) -> None:
        """Counters are public figures: every site gets them."""
        value = wire.encode_counts(latest, history)
        for site in self.sites:
            self._put(site, COUNTS_KEY, value)

    def set_statuses(self, statuses: Sequence[SourceStatus]) -> None:
        """Replace every source's status."""
        self._statuses = {s.source: s for s in statuses}
        self._put_statuses()

    def update_status(self, status: SourceStatus) -> None:
        """One source's status changed."""
        self._statuses[status.source] = status
        self._put_statuses()

    def statuses(self) -> list[SourceStatus]:
        """The statuses last written."""
        return list(self._statuses.values())

    def set_announcement(self, announcement: PublishedAnnouncement | None) -> None:
        """The page's announcement for the whole fleet goes to every site."""
        self.set_announcement_for(announcement, self.sites)

    def set_announcement_for(self, announcement: PublishedAnnouncement | None, sites: Sequence[str]) -> None:
        """An announcement (None: the configured one) for `sites` only (`wall.engine.fleet.targets`)."""
        value = wire.encode_announcement(announcement)
        for site in sites:
            self._put(site, ANNOUNCEMENT_KEY, value)

    def set_image_requester(self, requester: Callable[[str], None]) -> None:
        """The engine's picture loader (`wall.engine.images` rules: size caps, decoded and re-encoded)."""
        self._request_image = requester

    def add_image(self, url: str, data: bytes | None) -> None:
        """A picture the engine prepared: into the object store of every site that shows it."""
        sites = self._picture_sites.pop(url, set())
        if data is None:
            return  # not loadable now: asked again the next time a post showing it is published
        for site in sites:
            self._pictures[(site, picture_name(url))] = data
        self._wake_up()

    def forget_images(self, urls: Iterable[str]) -> None:
        """Pictures the collector's purge removed (consent, retention) leave every site's object store."""
        for url in urls:
            name = picture_name(url)
            for site in self.sites:
                self._pictures.pop((site, name), None)
                if name in self._pictures_known[site]:
                    self._pictures_known[site].discard(name)
                    self._deletions.add((site, name))
        if self._deletions:
            self._wake_up()

    # --- panic, and what one screen has of its own (`wall.engine.fleet.targets`) --------------
    def set_panic(self, on: bool, who: str, sites: Sequence[str] | None = None) -> None:
        """The panic screen on (or off) for `sites` (None: the whole fleet)."""
        for site in self.sites if sites is None else sites:
            self._put(site, PANIC_KEY, wire.encode_panic(on, who))

    def set_screen_panic(self, site: str, screen: str, on: bool, who: str) -> None:
        """One screen's own panic flag, over its site's."""
        self._put(site, screen_key(screen, PANIC_KEY), wire.encode_panic(on, who))

    def set_screen_announcement(
        self, site: str, screen: str, announcement: PublishedAnnouncement | None
    ) -> None:
        """One screen's own announcement (None: withdrawn there), over its site's."""
        self._put(site, screen_key(screen, ANNOUNCEMENT_KEY), wire.encode_announcement(announcement))

    def set_playlist(self, site: str, panels: Sequence[PanelSettings] | None) -> None:
        """The panels of a site's screens (None: each kiosk's own `[[panels]]`)."""
        self._put(site, PLAYLIST_KEY, wire.encode_playlist(panels))

    def set_screen_playlist(self, site: str, screen: str, panels: Sequence[PanelSettings]) -> None:
        """One screen's own panels, over its site's."""
        self._put(site, screen_key(screen, PLAYLIST_KEY), wire.encode_playlist(panels))

    def follow_site(self, site: str, screen: str, key: str) -> None:
        """The screen has nothing of its own for `key` any more: it follows its site's value."""
        self._put(site, screen_key(screen, key), wire.encode_follow_site())

    def screens_with_key(self, key: str) -> list[tuple[str, str]]:
        """(site, screen) of every screen whose own `key` the broker holds or is about to."""
        found = {
            (site, parts[0])
            for site, name in (*self._published, *self._values)
            if (parts := split_screen_key(name)) is not None and parts[1] == key
        }
        return sorted(found)

    # --- publishing --------------------------------------------------------------------------
    def _put_statuses(self) -> None:
        for site in self.sites:
            mine = [s for name, s in sorted(self._statuses.items()) if site in self._sites_of.get(name, ())]
            self._put(site, STATUSES_KEY, wire.encode_statuses(mine))

    def _want_picture(self, url: str, site: str) -> None:
        waiting = self._picture_sites.setdefault(url, set())
        first = not waiting
        waiting.add(site)
        if first:
            self._request_image(url)

    def _put(self, site: str, key: str, value: bytes) -> None:
        if self._published.get((site, key)) == value:
            self._values.pop((site, key), None)
            return
        self._values[(site, key)] = value
        self._wake_up()

    def _wake_up(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def _publish_forever(self) -> None:
        failing = False
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._publish_pending()
            except _BROKER_ERRORS as exc:
                if not failing:  # the first failure in full, the repeats silently until it works
                    log.warning(
                        "fleet: cannot publish (%s: %s); retrying every %.0f s",
                        type(exc).__name__,
                        exc,
                        RETRY_S,
                    )
                failing = True
                await asyncio.sleep(RETRY_S)
                self._wake.set()
                continue
            if failing:
                log.warning("fleet: publishing again")
                failing = False
            if not (self._values or self._pictures or self._deletions):
                self._idle.set()

    async def _publish_pending(self) -> None:
        # Pictures first: a kiosk that receives a post then finds its picture in the store at once.
        while self._pictures and not self._stopping:
            (site, name), data = next(iter(self._pictures.items()))
            await self._objects[site].put(name, data)
            self._pictures_known[site].add(name)
            del self._pictures[(site, name)]
        while self._deletions and not self._stopping:
            site, name = next(iter(self._deletions))
            with contextlib.suppress(nats.js.errors.NotFoundError):  # (ObjectNotFoundError derives)
                await self._objects[site].delete(name)
            self._deletions.discard((site, name))
        while self._values and not self._stopping:
            (site, key), value = next(iter(self._values.items()))
            await self._kv[site].put(key, value)
            self._published[(site, key)] = value
            if self._values.get((site, key)) is value:
                del self._values[(site, key)]
