"""What the widgets read from the configuration, as structural types.

`wall.engine.config` imports the source adapters (to validate `[[sources]]`), and widgets must not depend on
`sources` even indirectly (import-linter contract), so views type their settings with these protocols.
`wall.engine.config.WallSection` and `wall.engine.config.PanelSettings` satisfy them as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class BrandingLook(Protocol):
    """The `[wall.branding]` table: name, logo file, theme, accent colour, font and background."""

    @property
    def name(self) -> str: ...

    @property
    def logo(self) -> str: ...

    @property
    def theme(self) -> str: ...

    @property
    def accent(self) -> str: ...

    @property
    def font(self) -> str: ...  # an installed family or a .ttf/.otf path ("" = the wall's fonts)

    @property
    def background_colour(self) -> str: ...  # "#rrggbb" or ""

    @property
    def background_image(self) -> str: ...  # a picture path (or asset: address) or ""


class WallLook(Protocol):
    """The `[wall]` table as the screen uses it (`wall.engine.config.WallSection`)."""

    @property
    def language(self) -> str: ...

    @property
    def timezone(self) -> str: ...

    @property
    def branding(self) -> BrandingLook: ...

    @property
    def transition(self) -> str: ...  # "crossfade" or "slide" between panels


class PanelLook(Protocol):
    """One `[[panels]]` entry (`wall.engine.config.PanelSettings`)."""

    @property
    def type(self) -> str: ...

    @property
    def duration(self) -> float: ...

    @property
    def title(self) -> str: ...

    @property
    def sources(self) -> Sequence[str]: ...

    @property
    def limit(self) -> int: ...

    @property
    def milestones(self) -> Sequence[int]: ...


@runtime_checkable
class TrendsLook(PanelLook, Protocol):
    """A `trends` panel entry: the words and hashtags it leaves out.

    Kept apart from `PanelLook` so a panel entry without these keys (a test double) still is one;
    the panel reads them after an `isinstance` check and uses no exclusions otherwise.
    """

    @property
    def exclude(self) -> Sequence[str]: ...


@runtime_checkable
class AnnouncementLook(PanelLook, Protocol):
    """An `announcement` panel entry: its message, picture and QR code address."""

    @property
    def text(self) -> str: ...

    @property
    def image(self) -> str: ...

    @property
    def qr(self) -> str: ...


@runtime_checkable
class PostsLook(PanelLook, Protocol):
    """A `mentions` or `internal` panel entry: how long each post stays featured (0: the newest
    stays). A panel entry without it (a test double) keeps the newest post featured."""

    @property
    def featured_seconds(self) -> float: ...
