"""Text sizes read from 3–5 m, and colours follow the branding."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QApplication

from wall.engine.config import BrandingSettings, WallSection
from widgets.backdrop import Backdrop
from widgets.clock import BACKGROUND as CLOCK_BACKGROUND
from widgets.clock import DATE_COLOUR as CLOCK_DATE
from widgets.clock import TIME_COLOUR as CLOCK_TIME
from widgets.qr import DARK as QR_DARK
from widgets.qr import LIGHT as QR_LIGHT
from widgets.theme import Role, Theme, contrast


@pytest.mark.parametrize("height", [720, 1080, 2160])
def test_body_text_and_big_numbers_are_tall_enough_for_the_lobby(qapp: QApplication, height: int) -> None:
    theme = Theme.for_wall(WallSection(), height)
    body_cap = QFontMetricsF(theme.font(Role.BODY)).capHeight()
    number_cap = QFontMetricsF(theme.font(Role.BIG_NUMBER)).capHeight()
    assert body_cap >= 0.035 * height * 0.98
    assert number_cap >= 0.12 * height * 0.98


def test_fonts_are_the_wall_fonts_with_an_emoji_fallback(qapp: QApplication) -> None:
    families = Theme.for_wall(WallSection()).font(Role.BODY).families()
    assert families[:2] == ["Noto Sans", "DejaVu Sans"]
    assert "Noto Color Emoji" in families


def test_accent_and_light_theme_come_from_the_branding(qapp: QApplication) -> None:
    light = Theme.for_wall(WallSection(branding=BrandingSettings(theme="light", accent="#00a0e0")))
    dark = Theme.for_wall(WallSection())
    assert light.accent.name() == "#00a0e0"
    assert dark.window.name() == "#000000"
    assert light.text.lightness() < 80 < light.panel.lightness()
    assert dark.text.lightness() > 200 > dark.panel.lightness()
    assert dark.internal_surface != dark.surface


def test_sizes_scale_with_the_window_height(qapp: QApplication) -> None:
    theme = Theme.for_wall(WallSection(), 1080)
    assert theme.scaled(2160).font(Role.BODY).pixelSize() >= 2 * theme.font(Role.BODY).pixelSize() - 1


ACCENTS = ["#e4002b", "#ffd700", "#0057b8", "#00a651", "#ff6f00", "#000000", "#ffffff"]


@pytest.mark.parametrize("accent", ACCENTS)
@pytest.mark.parametrize("mode", ["dark", "light"])
def test_every_text_colour_reads_on_its_background_whatever_the_brand_colour(
    qapp: QApplication, mode: str, accent: str
) -> None:
    """WCAG AA (4.5:1) for every pair of text and background the screens paint."""
    theme = Theme.for_wall(WallSection(branding=BrandingSettings(theme=mode, accent=accent)))
    assert too_low(theme) == {}


def too_low(theme: Theme) -> dict[str, float]:
    """The pairs of text and background whose contrast is below WCAG AA (4.5:1), with their ratio."""
    pairs = {
        "header name": (theme.accent_text if theme.dark else theme.text, theme.window),
        "header text": (theme.text, theme.window),
        "header date": (theme.muted_on(theme.window), theme.window),
        "card text": (theme.text, theme.surface),
        "card handle and time": (theme.muted, theme.surface),
        "internal card text": (theme.text, theme.internal_surface),
        "internal card time": (theme.muted_on(theme.internal_surface), theme.internal_surface),
        "empty panel": (theme.muted_on(theme.panel), theme.panel),
        "empty internal panel": (theme.muted_on(theme.internal_panel), theme.internal_panel),
        "fan number": (theme.text, theme.surface),
        "today's gain": (theme.positive, theme.surface),
        "milestone": (theme.celebration, theme.celebration_surface),
        "number on a celebrating tile": (theme.text, theme.celebration_surface),
        "trends card title and total": (theme.muted_on(theme.surface), theme.surface),
        "trends term and number": (theme.text, theme.surface),
        "announcement headline and message": (theme.text, theme.surface),
        "address under the QR code": (theme.muted_on(theme.surface), theme.surface),
        "QR code modules": (QR_DARK, QR_LIGHT),
        "clock time": (CLOCK_TIME, CLOCK_BACKGROUND),
        "clock date": (CLOCK_DATE, CLOCK_BACKGROUND),
    }
    return {name: round(contrast(fg, bg), 2) for name, (fg, bg) in pairs.items() if contrast(fg, bg) < 4.5}


def test_contrast_is_the_wcag_ratio(qapp: QApplication) -> None:
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert contrast(QColor("#e4002b"), QColor("#000000")) < 4.5  # why the brand colour is adjusted


# --- a branded background colour or picture (issue 7) -----------------------------------------
BACKGROUNDS = ["#ffffff", "#f0e6d2", "#ffd700", "#e4002b", "#102a43", "#000000"]


@pytest.mark.parametrize("background", BACKGROUNDS)
@pytest.mark.parametrize("mode", ["dark", "light"])
def test_a_background_colour_is_darkened_or_lightened_until_text_reads_on_it(
    qapp: QApplication, mode: str, background: str
) -> None:
    branding = BrandingSettings(theme=mode, accent="#ffd700", background=[background])
    theme = Theme.for_wall(WallSection(branding=branding))
    assert too_low(theme) == {}
    # A colour that already reads is kept as it is: the brand's colour, not a grey approximation.
    if contrast(theme.text, QColor(background)) >= 4.5:
        assert theme.panel.name() == background


def picture(tmp_path: Path, kind: str) -> Path:
    """A picture file: all white, all black, or stripes of every brightness with fine detail."""
    image = QImage(640, 360, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff" if kind == "white" else "#000000"))
    if kind == "stripes":
        painter = QPainter(image)
        for x in range(0, 640, 4):
            painter.fillRect(x, 0, 2, 360, QColor.fromHsv((x * 7) % 360, 60, 255 - (x % 256)))
        painter.fillRect(300, 100, 1, 1, QColor("#ffffff"))  # one bright pixel on black
        painter.end()
    path = tmp_path / f"{kind}.png"
    assert image.save(str(path), "PNG")  # type: ignore[call-overload]
    return path


def darkest_and_brightest(image: QImage) -> list[QColor]:
    colours = {image.pixel(x, y) for y in range(0, image.height(), 3) for x in range(image.width())}
    return [QColor(c) for c in colours]


@pytest.mark.parametrize("kind", ["white", "black", "stripes"])
@pytest.mark.parametrize("colour", [None, "#102a43", "#f0e6d2"])
@pytest.mark.parametrize("mode", ["dark", "light"])
def test_text_reads_on_every_spot_of_a_background_picture(
    qapp: QApplication, tmp_path: Path, mode: str, colour: str | None, kind: str
) -> None:
    path = str(picture(tmp_path, kind))
    branding = BrandingSettings(theme=mode, background=[colour, path] if colour else [path])
    theme = Theme.for_wall(WallSection(branding=branding))
    backdrop = theme.backdrop
    assert isinstance(backdrop, Backdrop)
    assert too_low(theme) == {}
    muted = theme.muted_on(theme.panel)
    shown = backdrop.pixmap(backdrop.picture.size()).toImage()
    low = {
        spot.name(): round(min(contrast(theme.text, spot), contrast(muted, spot)), 2)
        for spot in darkest_and_brightest(shown)
        if min(contrast(theme.text, spot), contrast(muted, spot)) < 4.5
    }
    assert low == {}
    if kind == "stripes":  # the picture still shows through the veil
        assert len({c.name() for c in darkest_and_brightest(shown)}) > 20
