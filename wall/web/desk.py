"""What the moderation page may ask of the running wall: the `ModerationDesk` protocol.

The page (`wall.web.server`) knows only this; `wall.shell.desk.WallDesk` answers it in `wall run`, and
a test or the fleet's collector may answer it otherwise.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from wall.core.model import SourceStatus
from wall.engine.moderation.decisions import (
    AuditEntry,
    BlockedAuthor,
    PostAction,
    PublishedAnnouncement,
    QueueItem,
)
from wall.engine.signals.watch import SignalsView

if TYPE_CHECKING:  # nats (the fleet's client) is never loaded by a standalone wall's page
    from wall.engine.fleet.health import FleetAction, ScreenHealth
    from wall.engine.fleet.proof import PostProof
    from wall.engine.fleet.targets import PanicShown


class ModerationDesk(Protocol):
    """What the page needs from the wall: the store's view of the posts, and actions that reach the
    screen within a second (`wall.shell.desk.WallDesk`)."""

    async def queue(self) -> list[QueueItem]:
        """Every stored post, newest first."""
        ...

    async def audit_log(self) -> list[AuditEntry]:
        """The latest actions, newest first."""
        ...

    async def panic(self) -> bool:
        """True while the panic screen is on."""
        ...

    async def act(self, key: str, action: PostAction, who: str) -> bool:
        """Apply `action` to the post `key`; False when no such post is stored."""
        ...

    async def announcement(self) -> PublishedAnnouncement | None:
        """The announcement published from the page, if one is."""
        ...

    async def publish_announcement(
        self, announcement: PublishedAnnouncement | None, who: str, site: str | None = None
    ) -> None:
        """Show `announcement` on the wall instead of the configured one (None: withdraw it); in a
        fleet, on one site's screens only when `site` is given, or one screen's (`site/screen`)."""
        ...

    async def set_panic(self, on: bool, who: str, site: str | None = None) -> None:
        """Switch the panic screen on or off (in a fleet: one site's only when `site` is given, or
        one screen's: `site/screen`)."""
        ...

    async def blocked_authors(self) -> list[BlockedAuthor]:
        """Authors blocked from the page, newest first."""
        ...

    async def unblock_author(self, author: str, who: str) -> bool:
        """Unblock `author` (as `blocked_authors` names them); False when they are not blocked."""
        ...

    async def signals(self) -> SignalsView | None:
        """The "Signaux" section's view (issue 17); None when `[signals]` is off."""
        ...

    async def clear_crisis(self, who: str) -> bool:
        """End crisis mode; False when it was not on."""
        ...

    async def cached_pictures(self, urls: Collection[str]) -> set[str]:
        """Those of `urls` whose prepared picture the wall has (issue 15: the page's thumbnails)."""
        ...

    async def picture(self, digest: str) -> bytes | None:
        """The prepared picture (PNG or JPEG) cached under `digest` (`wall.web.queue.picture_digest`),
        or None; never fetched from the network for the page."""
        ...

    def screen_png(self) -> bytes | None:
        """The wall's first screen as a small PNG (None when there is no window)."""
        ...

    def statuses(self) -> list[SourceStatus]:
        """Every configured source's health, as `wall status` shows it."""
        ...

    def secrets(self) -> list[str]:
        """Every configured secret value, for the page to mask (`wall.web.pages.shown_error`)."""
        ...

    def fleet(self) -> FleetView | None:
        """The fleet's screens when this is the collector's page (issue 16); None for one wall."""
        return None


class FleetView(Protocol):
    """What the collector's page shows of the fleet (`wall.web.fleet_desk.FleetDesk`)."""

    def sites(self) -> list[str]:
        """The sites the collector publishes to (the page's choice of scope)."""
        ...

    def scopes(self) -> list[str]:
        """The choices of scope besides the whole fleet: each site, and each known screen of it
        (`site/screen`)."""
        ...

    def screens(self) -> list[ScreenHealth]:
        """Every screen heard from, by site then screen."""
        ...

    async def proof(self, query: str) -> PostProof:
        """Was the post `query` (its key or URL) shown, where and when (the broker's proof stream)."""
        ...

    async def panic_sites(self) -> list[PanicShown]:
        """Where the panic screen is on: sites (but the screens released on their own) and screens."""
        ...

    async def scoped_announcements(self) -> list[tuple[str, PublishedAnnouncement]]:
        """Each site's and screen's own announcement in force (`site` or `site/screen`)."""
        ...

    def last_action(self) -> FleetAction | None:
        """The latest decision, panic or announcement made on this page, and its scope."""
        ...

    def not_reached(self, now: datetime) -> list[ScreenHealth]:
        """The offline screens the latest action has not reached yet."""
        ...

    async def screenshot(self, site: str, screen: str) -> bytes | None:
        """The latest JPEG of a screen, or None."""
        ...

    async def ask_screenshot(self, site: str, screen: str) -> bool:
        """Ask a kiosk for a new screenshot now; False when it cannot be asked."""
        ...
