"""`[wall.branding]` font and background on real windows (issue 7)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QFontInfo, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QApplication

from tests.support.posts import make_post
from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from widgets.clock import BACKGROUND as CLOCK_BACKGROUND
from widgets.hub import Hub
from widgets.theme import Role, Theme, contrast
from widgets.window import WallWindow

from .conftest import current

MENTIONS = PanelSettings(type="mentions")
SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")


def test_a_font_file_shipped_by_comms_is_used_with_the_wall_fonts_behind_it(
    qapp: QApplication, tmp_path: Path, hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    font = tmp_path / "brand-font.ttf"
    shutil.copy(SERIF, font)
    wall = WallSection(branding=BrandingSettings(name="ACME", font=str(font)))
    theme = Theme.for_wall(wall, 1080)
    families = theme.font(Role.BODY).families()
    assert families[0] == "DejaVu Serif"
    assert "Noto Color Emoji" in families  # emoji still show
    # The brand font is sized by its own capitals: the lobby's type scale holds.
    assert QFontMetricsF(theme.font(Role.BODY)).capHeight() >= 0.035 * 1080 * 0.98
    assert QFontMetricsF(theme.font(Role.BIG_NUMBER)).capHeight() >= 0.12 * 1080 * 0.98
    hub.set_posts("mention", [make_post(text="Merci 🎉")])
    window = open_window(hub, wall, [MENTIONS])
    assert QFontInfo(window.header.logo_label.font()).family() == "DejaVu Serif"
    assert QFontInfo(window.header.title_label.font()).family() == "DejaVu Serif"


def test_an_installed_family_is_asked_for_by_name(qapp: QApplication) -> None:
    theme = Theme.for_wall(WallSection(branding=BrandingSettings(font="DejaVu Serif")))
    assert theme.font(Role.TITLE).families()[0] == "DejaVu Serif"
    assert QFontInfo(theme.font(Role.TITLE)).family() == "DejaVu Serif"


def test_without_font_and_background_the_look_is_the_default(qapp: QApplication) -> None:
    theme = Theme.for_wall(WallSection())
    assert theme.font(Role.BODY).families()[:2] == ["Noto Sans", "DejaVu Sans"]
    assert (theme.window.name(), theme.panel.name()) == ("#000000", "#0b0d12")
    assert theme.backdrop is None


def panel_spot(window: WallWindow) -> QColor:
    """A pixel of the panel background, in the gap left of the first card."""
    image = window.grab().toImage()
    panel = current(window)
    spot = panel.mapTo(window, QPoint(3, panel.height() // 2))
    return image.pixelColor(spot)


def test_a_background_colour_fills_the_panels_and_the_header_band(
    hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, WallSection(branding=BrandingSettings(background=["#102a43"])), [MENTIONS])
    assert panel_spot(window).name() == "#102a43"
    band = window.grab().toImage().pixelColor(window.width() // 2, 2)
    assert band.name() == window.theme.window.name() != "#000000"
    assert contrast(window.theme.text, band) >= 4.5


def bright_picture(tmp_path: Path) -> Path:
    """A sunny photo stand-in: white with pale yellow and sky-blue bands."""
    image = QImage(800, 450, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    for index, colour in enumerate(("#fff6c0", "#bfe4ff", "#ffffff", "#ffe0e0")):
        painter.fillRect(index * 200, 0, 100, 450, QColor(colour))
    painter.end()
    path = tmp_path / "hall.png"
    assert image.save(str(path), "PNG")  # type: ignore[call-overload]
    return path


def test_a_background_picture_is_drawn_behind_the_cards_veiled_for_the_text(
    hub: Hub, tmp_path: Path, open_window: Callable[..., WallWindow]
) -> None:
    path = bright_picture(tmp_path)
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, WallSection(branding=BrandingSettings(background=[str(path)])), [MENTIONS])
    panel = current(window)
    image = window.grab().toImage()
    origin = panel.mapTo(window, QPoint(0, 0))
    column = [image.pixelColor(origin.x() + x, origin.y() + 4) for x in range(0, panel.width(), 5)]
    assert len({c.name() for c in column}) > 2  # the bands show through
    assert min(contrast(window.theme.text, c) for c in column) >= 4.5  # white text reads everywhere
    # The rotator's crossfade pictures (panel.grab) carry the picture too.
    grabbed = panel.grab().toImage().pixelColor(4, 4)
    assert grabbed == image.pixelColor(origin.x() + 4, origin.y() + 4)


def test_a_dark_picture_is_lightened_on_the_light_theme(
    hub: Hub, tmp_path: Path, open_window: Callable[..., WallWindow]
) -> None:
    image = QImage(320, 180, QImage.Format.Format_RGB32)
    image.fill(QColor("#050510"))
    path = tmp_path / "night.png"
    assert image.save(str(path), "PNG")  # type: ignore[call-overload]
    hub.set_posts("mention", [make_post()])
    wall = WallSection(branding=BrandingSettings(theme="light", background=[str(path)]))
    window = open_window(hub, wall, [MENTIONS])
    spot = panel_spot(window)
    assert spot.lightness() > 150
    assert contrast(window.theme.text, spot) >= 4.5


def test_the_quiet_clock_stays_black_over_a_background_picture(
    hub: Hub, tmp_path: Path, open_window: Callable[..., WallWindow]
) -> None:
    path = bright_picture(tmp_path)
    window = open_window(
        hub, WallSection(branding=BrandingSettings(background=[str(path)])), [PanelSettings(type="clock")]
    )
    assert panel_spot(window) == CLOCK_BACKGROUND
