"""Text sizes read from 3–5 m, and colours follow the branding."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QApplication

from wall.config import BrandingSettings, WallSection
from widgets.theme import Role, Theme


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
