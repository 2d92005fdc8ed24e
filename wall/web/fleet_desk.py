"""The collector's moderation page (`wall collect` with `[web] enabled`): the Qt-free `EngineDesk`
acting on the collector's engine, whose screen is the fleet's publisher, plus the fleet: panic and
announcements for the fleet, one site or one screen, every screen's health and picture, and which offline
screens a decision has not reached yet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

import nats.errors

from wall.core.model import Post, utcnow
from wall.engine.config import WallConfig
from wall.engine.fleet.collector import Collector
from wall.engine.fleet.health import FleetAction, ScreenHealth, not_reached
from wall.engine.fleet.proof import PostProof, ProofAnswer, find_proof
from wall.engine.fleet.scope import Scope, scope_choices
from wall.engine.fleet.targets import PanicShown
from wall.engine.moderation.decisions import PostAction, PublishedAnnouncement
from wall.web.desk import FleetView
from wall.web.engine_desk import EngineDesk, serve_page

log = logging.getLogger("wall.web.fleet_desk")

PROOF_WAIT_S = 30.0  # a URL reads the whole stream, a message a request: ample for a month of a fleet


class FleetDesk(EngineDesk, FleetView):
    """The page's way into a running collector."""

    def __init__(self, collector: Collector, *, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(collector.engine.store, lambda: collector.engine)
        self._collector = collector
        self._clock = clock
        self._last: FleetAction | None = None
        config = collector.engine.config
        everywhere = tuple(collector.publisher.sites)
        self._sites_of = {s.name: tuple(s.sites) or everywhere for s in config.sources}

    def fleet(self) -> FleetView:
        """This page is the collector's."""
        return self

    # --- actions, with their scope ---------------------------------------------------------
    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply the decision; the new list of the post's kind is published to its sites at once."""
        post = await self._read(self.store.post, key)
        done = await super().act(key, action, who)
        if done and post is not None:
            self._note(action, self._sites_of.get(post.source, ()))
        return done

    async def set_panic(self, on: bool, who: str, site: str | None = None) -> None:
        """Panic for the whole fleet, one site or one screen (`site/screen`), recorded (a restart
        keeps it) and published."""
        scope = Scope.parse(site)
        await self._collector.targets.set_panic(self._collector.engine, on, who, scope)
        self._note("panic on" if on else "panic off", self._targets(scope))

    async def panic(self) -> bool:
        """True while any site shows the panic screen."""
        return bool(await self.panic_sites())

    async def publish_announcement(
        self, announcement: PublishedAnnouncement | None, who: str, site: str | None = None
    ) -> None:
        """The announcement for the whole fleet, one site or one screen (`site/screen`)."""
        scope = Scope.parse(site)
        await self._collector.targets.publish_announcement(self._collector.engine, announcement, who, scope)
        what = "publish announcement" if announcement else "withdraw announcement"
        self._note(what, self._targets(scope))

    def _targets(self, scope: Scope) -> tuple[str, ...]:
        return tuple(self.sites()) if scope.is_fleet else (scope.text,)

    def _note(self, what: str, sites: tuple[str, ...]) -> None:
        self._last = FleetAction(what, self._clock(), sites)
        if missed := self.not_reached(self._clock()):
            log.warning(
                "fleet: %s did not reach the offline screens %s yet", what, ", ".join(s.name for s in missed)
            )

    # --- the fleet ----------------------------------------------------------------------------
    def sites(self) -> list[str]:
        """The sites the collector publishes to."""
        return self._collector.watch.sites()

    def scopes(self) -> list[str]:
        """The page's choices besides the whole fleet: each site, then each screen of it listed in
        the collector's `[fleet] screens` or heard from (`site/screen`)."""
        fleet = self._collector.engine.config.fleet
        listed = [*(fleet.screens if fleet else ()), *(s.name for s in self.screens())]
        return [scope.text for scope in scope_choices(self.sites(), listed) if not scope.is_fleet]

    def screens(self) -> list[ScreenHealth]:
        """Every screen heard from, by site then screen."""
        return self._collector.watch.screens()

    async def panic_sites(self) -> list[PanicShown]:
        """Where the panic screen is on: sites (but the screens released on their own) and screens."""
        return await asyncio.to_thread(self._collector.targets.panic_sites)

    async def scoped_announcements(self) -> list[tuple[str, PublishedAnnouncement]]:
        """Each site's and screen's own announcement in force (`site` or `site/screen`)."""
        found = await asyncio.to_thread(self._collector.targets.announcements)
        return [(scope.text, announcement) for scope, announcement in found]

    def last_action(self) -> FleetAction | None:
        """The latest action made on this page since the collector started (`link_down` while the
        collector cannot reach the servers)."""
        if self._last is not None and not self._collector.link.is_connected:
            return replace(self._last, link_down=True)
        return self._last

    def not_reached(self, now: datetime) -> list[ScreenHealth]:
        """The offline screens the latest action has not reached yet."""
        return not_reached(self._last, self.screens(), now) if self._last else []

    async def screenshot(self, site: str, screen: str) -> bytes | None:
        """The latest JPEG of a screen (the site's screenshot store), or None."""
        return await self._collector.watch.screenshot(site, screen)

    async def ask_screenshot(self, site: str, screen: str) -> bool:
        """Ask a kiosk for a new picture now."""
        return await self._collector.watch.ask_screenshot(site, screen)

    # --- proof of play --------------------------------------------------------------------------
    async def proof(self, query: str) -> PostProof:
        """Was the post `query` (its key or URL) shown, where, when: from the broker's proof stream
        (it outlives the post's deletion here), with the post as this store still has it."""
        fleet = self._collector.engine.config.fleet
        days, servers = (fleet.proof_days, ", ".join(fleet.servers)) if fleet is not None else (0, "")
        try:
            # Bounded: the page answers even when the broker is away (the link then waits to reconnect).
            answer = await asyncio.wait_for(find_proof(self._collector.link.jetstream(), query), PROOF_WAIT_S)
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            log.warning("fleet: proof of play not read (%s: %s)", type(exc).__name__, exc)
            return PostProof(ProofAnswer(query), None, days, unavailable=f"{servers}: {type(exc).__name__}")
        # A URL names no key: the records say which post it was (the first; a URL is one post).
        key = answer.records[0].post_key if answer.records else ("" if "://" in query else query)
        post: Post | None = await self._read(self.store.post, key) if key else None
        return PostProof(answer, post, days)


def collector_page(config: WallConfig) -> Callable[[Collector], Awaitable[Callable[[], Awaitable[None]]]]:
    """What `wall collect` hands to `collect`: serve the page on the running collector."""

    async def start(collector: Collector) -> Callable[[], Awaitable[None]]:
        desk = FleetDesk(collector)
        server = await serve_page(config, desk)

        async def stop() -> None:
            if server is not None:
                await server.stop()
                desk.close()

        return stop

    return start
