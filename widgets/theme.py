"""Colours, fonts and sizes of the wall, scaled to the window height so text reads from 3–5 m.

Sizes are given as a *cap height* (height of a capital letter) in fractions of the window height:
body text is at least 3.5 % of the screen height, big numbers at least 12 %. The pixel size of each
font is derived from the cap height the font really has, so a fallback font or the brand's own font
(`[wall.branding] font`) keeps the same size. A `[wall.branding] background` colour or picture replaces
the panels' background, made darker or lighter until the theme's text reads on it (WCAG AA).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetricsF, QPainter

from wall.engine.branding import local_path, looks_like_a_file
from widgets.settings import BrandingLook, WallLook

if TYPE_CHECKING:
    from widgets.backdrop import Backdrop

FONT_FAMILIES = ["Noto Sans", "DejaVu Sans", "Noto Color Emoji"]
DEFAULT_HEIGHT_PX = 1080
AMBER = "#ffb020"
TEXT = {True: "#f4f5f7", False: "#14171c"}  # by `dark`
WINDOW = {True: "#000000", False: "#e9ebef"}
PANEL = {True: "#0b0d12", False: "#eef0f3"}
WINDOW_SHADE = {True: 0.3, False: 0.03}  # a branded window band: the background colour, a little darker


class Role(enum.Enum):
    """What a piece of text is for; each role has a cap height and a weight."""

    BODY = (0.035, QFont.Weight.Normal)
    FEATURED = (0.042, QFont.Weight.Normal)
    NAME = (0.030, QFont.Weight.Bold)
    META = (0.025, QFont.Weight.Normal)
    TITLE = (0.032, QFont.Weight.Bold)
    BRAND = (0.030, QFont.Weight.Bold)
    CLOCK = (0.030, QFont.Weight.DemiBold)
    CARD_META = (0.022, QFont.Weight.Normal)
    STALE = (0.020, QFont.Weight.Normal)
    TILE_LABEL = (0.035, QFont.Weight.DemiBold)
    BIG_NUMBER = (0.125, QFont.Weight.Bold)
    EMPTY = (0.045, QFont.Weight.Normal)

    @property
    def cap_fraction(self) -> float:
        """Cap height as a fraction of the window height."""
        return float(self.value[0])

    @property
    def weight(self) -> QFont.Weight:
        """Font weight of the role."""
        weight: QFont.Weight = self.value[1]
        return weight


@cache
def cap_ratio(weight: QFont.Weight, families: tuple[str, ...] = tuple(FONT_FAMILIES)) -> float:
    """Cap height of the wall's font per pixel of font size (about 0.71 for Noto Sans)."""
    font = QFont()
    font.setFamilies(list(families))
    font.setPixelSize(200)
    font.setWeight(weight)
    cap = QFontMetricsF(font).capHeight()
    return cap / 200 if cap > 0 else 0.7


MIN_CONTRAST = 4.5  # WCAG AA for text


def luminance(colour: QColor) -> float:
    """WCAG relative luminance of an opaque colour (0 black .. 1 white)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    )


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio between two colours (1 .. 21)."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable(colour: QColor, background: QColor, towards: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """`colour`, blended towards `towards` (the theme's text colour) just enough to read on `background`."""
    for step in range(11):
        candidate = mix(colour, towards, step / 10)
        if contrast(candidate, background) >= minimum:
            return candidate
    return towards


def mix(a: QColor, b: QColor, amount: float) -> QColor:
    """`a` blended towards `b` by `amount` (0..1)."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * amount,
        a.greenF() + (b.greenF() - a.greenF()) * amount,
        a.blueF() + (b.blueF() - a.blueF()) * amount,
    )


@cache
def _font_file_family(path: str) -> str:
    """The family of a .ttf/.otf file, added to the application's fonts ("" if Qt cannot load it)."""
    font_id = QFontDatabase.addApplicationFont(path)
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    return families[0] if families else ""


def brand_families(font: str) -> tuple[str, ...]:
    """The font families to ask for: the brand's font first, then the wall's (for emoji and accents)."""
    family = font.strip()
    if family and looks_like_a_file(family):
        try:
            family = _font_file_family(str(local_path(family)))
        except ValueError:  # refused by the config check already; here, simply not used
            family = ""
    return (family, *FONT_FAMILIES) if family else tuple(FONT_FAMILIES)


def readable_background(colour: QColor, dark: bool, minimum: float = MIN_CONTRAST) -> QColor:
    """`colour` darkened (dark theme) or lightened (light theme) until the theme's text reads on it."""
    text = QColor(TEXT[dark])
    towards = QColor("#000000" if dark else "#ffffff")
    for step in range(21):
        candidate = mix(colour, towards, step / 20)
        if contrast(text, candidate) >= minimum:
            return candidate
    return towards


@dataclass(frozen=True)
class Theme:
    """The look of one window: colours from the branding, sizes from the window height.

    `background` is the branding's background colour (already readable), `backdrop` its picture.
    """

    dark: bool
    accent: QColor
    height: int = DEFAULT_HEIGHT_PX
    families: tuple[str, ...] = tuple(FONT_FAMILIES)
    background: QColor | None = None
    backdrop: Backdrop | None = field(default=None, compare=False)

    @classmethod
    def for_wall(cls, look: WallLook, height: int = DEFAULT_HEIGHT_PX) -> Theme:
        """The theme the `[wall.branding]` table asks for."""
        branding = look.branding
        accent = QColor(branding.accent)
        if not accent.isValid():
            accent = QColor("#e4002b")
        dark = branding.theme != "light"
        background, backdrop = _background(branding, dark)
        return cls(
            dark=dark,
            accent=accent,
            height=max(240, height),
            families=brand_families(branding.font),
            background=background,
            backdrop=backdrop,
        )

    def scaled(self, height: int) -> Theme:
        """The same theme for a window `height` pixels high."""
        return replace(self, height=max(240, height))

    # --- sizes -----------------------------------------------------------------------------
    def px(self, fraction: float) -> int:
        """A length as a fraction of the window height, in pixels (at least 1)."""
        return max(1, round(self.height * fraction))

    def font(self, role: Role) -> QFont:
        """The font for `role`, sized so its capitals are `role.cap_fraction` of the height."""
        font = QFont()
        font.setFamilies(list(self.families))
        font.setWeight(role.weight)
        ratio = cap_ratio(role.weight, self.families)
        font.setPixelSize(max(6, round(self.height * role.cap_fraction / ratio)))
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        return font

    @property
    def gap(self) -> int:
        """Space between cards and around the panel."""
        return self.px(0.018)

    @property
    def padding(self) -> int:
        """Space inside a card."""
        return self.px(0.026)

    @property
    def radius(self) -> int:
        """Corner radius of cards and tiles."""
        return self.px(0.018)

    # --- colours ---------------------------------------------------------------------------
    @property
    def window(self) -> QColor:
        """Behind everything and the header band (black on the dark theme, unless branded)."""
        if self.background is None:
            return QColor(WINDOW[self.dark])
        shaded = mix(self.background, QColor("#000000"), WINDOW_SHADE[self.dark])
        return readable_background(shaded, self.dark)

    @property
    def panel(self) -> QColor:
        """Background of a panel; with a picture, the colour of its least readable spot."""
        if self.backdrop is not None:
            return self.backdrop.worst
        return QColor(PANEL[self.dark]) if self.background is None else QColor(self.background)

    def paint_panel(self, painter: QPainter, rect: QRect, fill: QColor) -> None:
        """Fill a panel's `rect` with `fill`; the panel colour stands for the branding's picture, if any."""
        if self.backdrop is not None and fill == self.panel:
            self.backdrop.paint(painter, rect)
        else:
            painter.fillRect(rect, fill)

    @property
    def surface(self) -> QColor:
        """Background of a card or tile."""
        return QColor("#1b1f27" if self.dark else "#ffffff")

    @property
    def text(self) -> QColor:
        """Main text."""
        return QColor(TEXT[self.dark])

    @property
    def muted(self) -> QColor:
        """Secondary text: handles, times, metric words."""
        return QColor("#a3aab8" if self.dark else "#59606c")

    @property
    def positive(self) -> QColor:
        """A gain (`+1 204 aujourd'hui`): green with AA contrast on cards."""
        return QColor("#5ee08f" if self.dark else "#16753a")

    def muted_on(self, background: QColor) -> QColor:
        """Secondary text on `background` (a brand-tinted surface may need it a little stronger)."""
        return readable(self.muted, background, self.text)

    @property
    def accent_text(self) -> QColor:
        """The brand colour for text on the window background (the header's name), made readable."""
        return readable(self.accent, self.window, self.text)

    @property
    def celebration(self) -> QColor:
        """The milestone line: the brand colour, lightened or darkened until it reads on its tile."""
        return readable(self.accent, self.celebration_surface, self.text)

    @property
    def celebration_surface(self) -> QColor:
        """A tile the day its milestone is crossed."""
        return mix(self.surface, self.accent, 0.18 if self.dark else 0.08)

    @property
    def amber(self) -> QColor:
        """The stale marker's dot."""
        return QColor(AMBER)

    @property
    def internal_panel(self) -> QColor:
        """Background of the internal panel: tinted with the brand colour (the picture, if any, is not:
        the internal cards are)."""
        if self.backdrop is not None:
            return self.panel
        return readable_background(mix(self.panel, self.accent, 0.16 if self.dark else 0.12), self.dark)

    @property
    def internal_surface(self) -> QColor:
        """Cards of the company's own voice: a warmer, brand-tinted surface."""
        return mix(self.surface, self.accent, 0.22 if self.dark else 0.09)

    def css(self, colour: QColor) -> str:
        """`colour` as a stylesheet value."""
        return colour.name(QColor.NameFormat.HexArgb)


def _background(branding: BrandingLook, dark: bool) -> tuple[QColor | None, Backdrop | None]:
    """The branding's background colour (made readable) and picture (veiled), each None when not set."""
    from widgets.backdrop import BACKDROP_CONTRAST, load_backdrop  # it needs this module's contrast

    colour = QColor(branding.background_colour) if branding.background_colour else None
    if colour is not None and not colour.isValid():
        colour = None
    background = readable_background(colour, dark) if colour is not None else None
    backdrop = None
    if branding.background_image:
        veil = readable_background(colour or QColor(PANEL[dark]), dark, BACKDROP_CONTRAST)
        try:
            path = str(local_path(branding.background_image))
        except ValueError:  # refused by the config check already
            path = ""
        backdrop = load_backdrop(path, veil.name(), TEXT[dark]) if path else None
    return background, backdrop
