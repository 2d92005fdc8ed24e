"""Panic and announcements for the whole fleet or one site (issue 16), kept in the collector's
store so a restart of the collector publishes each site's own state again, and a kiosk keeps what
its site received in its own store (a reboot keeps the calm screen).

The store's own panic flag and announcement are the fleet-wide ones (the engine publishes them to
every site); a site's own choice is kept apart (`fleet.panic`, `fleet.announcements`) and wins for
that site until the next fleet-wide one."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from wall.core.model import utcnow
from wall.engine.engine import Engine
from wall.engine.fleet.publisher import FleetPublisher
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.engine.store import Store

log = logging.getLogger("wall.engine.fleet.targets")

PANIC_META = "fleet.panic"  # {site: {"on": bool, "who": str}}
ANNOUNCEMENTS_META = "fleet.announcements"  # {site: announcement dict, or None: withdrawn there}


class SiteTargets:
    """Applies panic and announcements to the fleet or one site, and publishes them."""

    def __init__(self, store: Store, publisher: FleetPublisher) -> None:
        self.store = store
        self.publisher = publisher

    def restore(self) -> None:
        """At the collector's start: each site's own panic and announcement over the fleet's."""
        panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
        fleet_panic = self.store.panic()
        for site in self.publisher.sites:
            kept = panic.get(site)
            on, who = (bool(kept["on"]), str(kept["who"])) if kept else (fleet_panic, "collector")
            self.publisher.set_panic(on, who, [site])
        announcements: dict[str, Any] = self.store.meta(ANNOUNCEMENTS_META) or {}
        for site, value in announcements.items():
            if site in self.publisher.sites:
                shown = PublishedAnnouncement.from_dict(value) if isinstance(value, dict) else None
                self.publisher.set_announcement_for(shown, [site])

    def panic_sites(self) -> list[str]:
        """The sites whose screens show the panic screen now."""
        panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
        fleet_panic = self.store.panic()
        return [
            site
            for site in self.publisher.sites
            if (bool(panic[site]["on"]) if site in panic else fleet_panic)
        ]

    async def set_panic(self, engine: Engine, on: bool, who: str, site: str | None) -> None:
        """Panic on (or off) for the fleet (`site` None) or one site, recorded then published."""
        if site is None:
            await engine.set_panic(on, who)  # the fleet's flag, audited
            await asyncio.to_thread(self.store.set_meta, PANIC_META, {})
            self.publisher.set_panic(on, who)
            return

        def record() -> None:
            panic: dict[str, Any] = self.store.meta(PANIC_META) or {}
            panic[site] = {"on": on, "who": who}
            self.store.set_meta(PANIC_META, panic)
            self.store.audit(who, "panic on" if on else "panic off", f"site {site}")

        await asyncio.to_thread(record)
        log.warning("moderation: panic screen %s for site %s by %r", "ON" if on else "off", site, who)
        self.publisher.set_panic(on, who, [site])

    async def publish_announcement(
        self, engine: Engine, announcement: PublishedAnnouncement | None, who: str, site: str | None
    ) -> None:
        """The announcement (None: withdrawn) for the fleet or one site, recorded then published."""
        if site is None:
            await asyncio.to_thread(self.store.set_meta, ANNOUNCEMENTS_META, {})
            await engine.publish_announcement(announcement, who)  # stored, audited, every site
            return
        now = utcnow()
        shown = replace(announcement, who=who, at=now) if announcement is not None else None

        def record() -> None:
            kept: dict[str, Any] = self.store.meta(ANNOUNCEMENTS_META) or {}
            kept[site] = shown.to_dict() if shown is not None else None
            self.store.set_meta(ANNOUNCEMENTS_META, kept)
            action = "publish announcement" if shown else "withdraw announcement"
            detail = " — ".join(p for p in (shown.title, shown.text) if p) if shown else ""
            self.store.audit(who, action, f"site {site}: {detail}".rstrip(": "))

        await asyncio.to_thread(record)
        log.info(
            "moderation: announcement for site %s %s by %r", site, "published" if shown else "withdrawn", who
        )
        self.publisher.set_announcement_for(shown, [site])
