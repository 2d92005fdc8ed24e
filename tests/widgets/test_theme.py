"""Text sizes read from 3–5 m, and colours follow the branding."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QApplication

from wall.config import BrandingSettings, WallSection
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
    pairs = {
        "header name": (theme.accent_text if theme.dark else theme.text, theme.window),
        "header text": (theme.text, theme.window),
        "header date": (theme.muted, theme.window),
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
    low = {name: round(contrast(fg, bg), 2) for name, (fg, bg) in pairs.items() if contrast(fg, bg) < 4.5}
    assert low == {}


def test_contrast_is_the_wcag_ratio(qapp: QApplication) -> None:
    assert contrast(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert contrast(QColor("#e4002b"), QColor("#000000")) < 4.5  # why the brand colour is adjusted
