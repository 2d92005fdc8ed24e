"""What a scope is in the fleet: the whole fleet, one site, or one screen of one site (issue 16).

Its own module, without the engine, so that a kiosk's health (which names the screens an action
missed) does not load the collector's side. `wall.engine.fleet.targets` applies scopes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wall.engine.fleet.layout import NAME


class ScopeError(ValueError):
    """A scope that is not the fleet, a site or a screen the collector knows."""


@dataclass(frozen=True, slots=True, order=True)
class Scope:
    """The whole fleet (no site), one site, or one screen of one site."""

    site: str = ""
    screen: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """From its text form: "" (the fleet), "lyon" (a site), "hq/hall-1" (a screen)."""
        site, slash, screen = (text or "").partition("/")
        if not site and not slash:
            return cls()
        if not NAME.match(site) or (slash and not NAME.match(screen)):
            raise ScopeError(f"{text!r} is not a scope: write nothing (the fleet), a site, or site/screen")
        return cls(site, screen)

    @property
    def text(self) -> str:
        """ "" (the fleet), "lyon", or "hq/hall-1"; the inverse of `parse`."""
        return f"{self.site}/{self.screen}" if self.screen else self.site

    @property
    def is_fleet(self) -> bool:
        """True for the whole fleet."""
        return not self.site

    def describe(self) -> str:
        """How the audit log names it."""
        return "fleet" if self.is_fleet else f"screen {self.text}" if self.screen else f"site {self.site}"

    def sites(self, every: Iterable[str]) -> tuple[str, ...]:
        """The sites it reaches, out of `every` site of the fleet."""
        return tuple(every) if self.is_fleet else (self.site,)

    def covers(self, site: str, screen: str) -> bool:
        """True when a screen `site/screen` is inside this scope."""
        return self.is_fleet or (self.site == site and self.screen in ("", screen))


def scope_choices(sites: Iterable[str], screens: Iterable[str]) -> list[Scope]:
    """What the page offers: the fleet, each site, each known screen (`site/screen` of a site the
    collector serves: listed in its `[fleet] screens` or heard from), sorted by site then screen."""
    every = list(sites)
    known = {Scope.parse(name) for name in screens}
    by_site = sorted(s for s in known if s.screen and s.site in every)
    return [Scope(), *(c for site in every for c in (Scope(site), *(s for s in by_site if s.site == site)))]
