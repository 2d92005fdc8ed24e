"""Panic, announcements and playlists for the whole fleet, one site or one screen (issue 16): how
each scope's choice (`wall.engine.fleet.scope`) is kept and published.

The store's own panic flag and announcement are the fleet-wide ones (the engine publishes them to
every site); a site's or a screen's own choice is kept apart in the collector's store
(`fleet.panic`, `fleet.announcements`, keyed `site` or `site/screen`), so a restart of the collector
publishes each one again. A wider choice ends the narrower ones under it: a fleet-wide panic ends
every site's and screen's own, a site's ends its screens' own. A screen's own value goes to its own
key of its site's bucket (`layout.screen_key`); a screen with none follows its site's
(`wire.encode_follow_site`). Each kiosk keeps what it received in its own store (a reboot keeps
the calm screen).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, NamedTuple

from wall.core.model import utcnow
from wall.engine.engine import Engine
from wall.engine.fleet.layout import ANNOUNCEMENT_KEY, PANIC_KEY, SCREEN_KEYS
from wall.engine.fleet.publisher import FleetPublisher
from wall.engine.fleet.scope import Scope as Scope  # re-exported: the one home of what a scope is
from wall.engine.fleet.scope import ScopeError as ScopeError
from wall.engine.fleet.scope import scope_choices as scope_choices
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.engine.store import Store

log = logging.getLogger("wall.engine.fleet.targets")

PANIC_META = "fleet.panic"  # {"site" or "site/screen": {"on": bool, "who": str}}
ANNOUNCEMENTS_META = "fleet.announcements"  # {"site" or "site/screen": announcement dict, or None}


class PanicShown(NamedTuple):
    """The panic screen is on at every screen of `scope` (a site, or one `site/screen`) but `but`."""

    scope: str
    but: tuple[str, ...] = ()


class SiteTargets:
    """Applies panic and announcements to the fleet, one site or one screen, and publishes them."""

    def __init__(self, store: Store, publisher: FleetPublisher) -> None:
        self.store = store
        self.publisher = publisher

    def restore(self) -> None:
        """At the collector's start: each site's and screen's own panic and announcement over the
        fleet's; a screen key the broker holds without a choice kept here follows its site."""
        panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
        fleet_panic = self.store.panic()
        for site in self.publisher.sites:
            kept = panic.get(site)
            on, who = (bool(kept["on"]), str(kept["who"])) if kept else (fleet_panic, "collector")
            self.publisher.set_panic(on, who, [site])
        announcements: dict[str, Any] = self.store.meta(ANNOUNCEMENTS_META) or {}
        for text, value in announcements.items():
            scope = Scope.parse(text)
            if scope.site in self.publisher.sites and not scope.screen:
                shown = PublishedAnnouncement.from_dict(value) if isinstance(value, dict) else None
                self.publisher.set_announcement_for(shown, [scope.site])
        for key in SCREEN_KEYS:  # first: whatever a screen had of its own follows its site…
            for site, screen in self.publisher.screens_with_key(key):
                self.publisher.follow_site(site, screen, key)
        for text, kept in panic.items():  # …then the choices kept here replace that
            scope = Scope.parse(text)
            if scope.screen and scope.site in self.publisher.sites:
                self.publisher.set_screen_panic(scope.site, scope.screen, bool(kept["on"]), str(kept["who"]))
        for text, value in announcements.items():
            scope = Scope.parse(text)
            if scope.screen and scope.site in self.publisher.sites:
                shown = PublishedAnnouncement.from_dict(value) if isinstance(value, dict) else None
                self.publisher.set_screen_announcement(scope.site, scope.screen, shown)
        self._publish_playlists()

    def _publish_playlists(self) -> None:
        """`[[fleet.playlists]]`: each site's panels (None: the kiosks' own), then each screen's."""
        playlists = {Scope.parse(p.target): p.panels for p in self.publisher.fleet.playlists}
        for site in self.publisher.sites:
            self.publisher.set_playlist(site, playlists.get(Scope(site)))
        for scope, panels in sorted(playlists.items()):
            if scope.screen and scope.site in self.publisher.sites:
                self.publisher.set_screen_playlist(scope.site, scope.screen, panels)

    def panic_sites(self) -> list[PanicShown]:
        """Where the panic screen is on now, by site: a site in panic with the screens released on
        their own left out (`PanicShown.but`), else each screen of it in panic on its own."""
        panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
        fleet_panic = self.store.panic()
        own = {Scope.parse(t): bool(kept["on"]) for t, kept in panic.items() if "/" in t}
        shown: list[PanicShown] = []
        for site in self.publisher.sites:
            screens = sorted(s.text for s, on in own.items() if s.site == site and on)
            released = sorted(s.text for s, on in own.items() if s.site == site and not on)
            if bool(panic[site]["on"]) if site in panic else fleet_panic:
                # Every screen of the site follows its key, those not heard from yet too: name the
                # site, and the screens whose own release wins over it.
                shown.append(PanicShown(site, tuple(released)))
            else:
                shown.extend(PanicShown(screen) for screen in screens)
        return shown

    async def set_panic(self, engine: Engine, on: bool, who: str, scope: Scope) -> None:
        """Panic on (or off) for the fleet, one site or one screen, recorded, audited, published."""
        if scope.is_fleet:
            await engine.set_panic(on, who)  # the fleet's flag, audited
            ended = await asyncio.to_thread(self._end_narrower, PANIC_META, scope)
            self.publisher.set_panic(on, who)
        else:

            def record() -> list[Scope]:
                ended = self._end_narrower(PANIC_META, scope)
                panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
                panic[scope.text] = {"on": on, "who": who}
                self.store.set_meta(PANIC_META, panic)
                self.store.audit(who, "panic on" if on else "panic off", scope.describe())
                return ended

            ended = await asyncio.to_thread(record)
            log.warning(
                "moderation: panic screen %s for %s by %r", "ON" if on else "off", scope.describe(), who
            )
            if scope.screen:
                self.publisher.set_screen_panic(scope.site, scope.screen, on, who)
            else:
                self.publisher.set_panic(on, who, [scope.site])
        for gone in ended:
            self.publisher.follow_site(gone.site, gone.screen, PANIC_KEY)

    async def publish_announcement(
        self, engine: Engine, announcement: PublishedAnnouncement | None, who: str, scope: Scope
    ) -> None:
        """The announcement (None: withdrawn) for the fleet, one site or one screen, recorded then
        published."""
        if scope.is_fleet:
            ended = await asyncio.to_thread(self._end_narrower, ANNOUNCEMENTS_META, scope)
            await engine.publish_announcement(announcement, who)  # stored, audited, every site
        else:
            now = utcnow()
            shown = replace(announcement, who=who, at=now) if announcement is not None else None

            def record() -> list[Scope]:
                ended = self._end_narrower(ANNOUNCEMENTS_META, scope)
                kept: dict[str, Any] = self.store.meta(ANNOUNCEMENTS_META) or {}
                kept[scope.text] = shown.to_dict() if shown is not None else None
                self.store.set_meta(ANNOUNCEMENTS_META, kept)
                action = "publish announcement" if shown else "withdraw announcement"
                detail = " — ".join(p for p in (shown.title, shown.text) if p) if shown else ""
                self.store.audit(who, action, f"{scope.describe()}: {detail}".rstrip(": "))
                return ended

            ended = await asyncio.to_thread(record)
            log.info(
                "moderation: announcement for %s %s by %r",
                scope.describe(),
                "published" if shown else "withdrawn",
                who,
            )
            if scope.screen:
                self.publisher.set_screen_announcement(scope.site, scope.screen, shown)
            else:
                self.publisher.set_announcement_for(shown, [scope.site])
        for gone in ended:
            self.publisher.follow_site(gone.site, gone.screen, ANNOUNCEMENT_KEY)

    def announcements(self) -> list[tuple[Scope, PublishedAnnouncement]]:
        """Each site's and screen's own announcement in force (store thread), by site then screen;
        the fleet's is the store's own."""
        kept: dict[str, Any] = self.store.meta(ANNOUNCEMENTS_META) or {}
        found = [
            (Scope.parse(text), PublishedAnnouncement.from_dict(value))
            for text, value in kept.items()
            if isinstance(value, dict)
        ]
        return sorted((s, a) for s, a in found if s.site in self.publisher.sites)

    def _end_narrower(self, meta: str, scope: Scope) -> list[Scope]:
        """Forget the choices kept for the scopes inside `scope` (store thread); returns the screens
        among them, whose own keys must now follow their site."""
        kept: dict[str, Any] = self.store.meta(meta) or {}
        inside = [Scope.parse(t) for t in kept if Scope.parse(t) != scope]
        ended = [s for s in inside if s.screen and scope.covers(s.site, s.screen)]
        ended_sites = [s for s in inside if not s.screen and scope.is_fleet]
        if ended or ended_sites:
            gone = {s.text for s in (*ended, *ended_sites)}
            self.store.set_meta(meta, {t: v for t, v in kept.items() if t not in gone})
        return ended
