"""The header: brand or logo, the panel's title, the local time, and a discreet stale marker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.support.clock import NOW, SteppedClock
from wall.core.model import Health, SourceStatus
from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from widgets.hub import Hub
from widgets.window import WallWindow

from .conftest import labels_text, png_bytes, settle

MENTIONS = PanelSettings(type="mentions")


def test_stale_marker_names_the_stale_source_and_hides_when_it_recovers(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [MENTIONS])
    marker = window.header.stale_marker
    assert not marker.isVisibleTo(window)

    hub.set_statuses(
        [
            SourceStatus("bluesky-brand", "bluesky", Health.STALE, last_success=NOW),
            SourceStatus("masto", "mastodon", Health.OK, last_success=NOW),
        ]
    )
    settle(hub)
    assert marker.isVisibleTo(window)
    assert window.header.stale_label.text() == "Données anciennes\u00a0: bluesky-brand"

    hub.update_status(SourceStatus("bluesky-brand", "bluesky", Health.OK, last_success=NOW))
    settle(hub)
    assert not marker.isVisibleTo(window)


def test_clock_shows_local_time_and_date_of_the_configured_zone(
    hub: Hub, wall_fr: WallSection, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    paris = open_window(hub, wall_fr, [MENTIONS])
    assert paris.header.clock_label.text() == "14:30"
    assert paris.header.date_label.text() == "mardi 3 juin"
    montreal = open_window(hub, WallSection(timezone="America/Montreal", language="en"), [MENTIONS])
    assert montreal.header.clock_label.text() == "08:30"
    assert montreal.header.date_label.text() == "Tuesday 3 June"


def test_brand_name_and_panel_title_are_shown(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_en, [PanelSettings(type="fans", title="Our fans")])
    texts = labels_text(window.header)
    assert "ACME" in texts and "Our fans" in texts


def test_logo_file_replaces_the_brand_name(
    hub: Hub, tmp_path: Path, open_window: Callable[..., WallWindow]
) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(png_bytes(300, 100))
    window = open_window(hub, WallSection(branding=BrandingSettings(name="ACME", logo=str(logo))), [MENTIONS])
    assert window.header.has_logo_image()
    assert "ACME" not in labels_text(window.header)


@pytest.mark.qt_log_ignore("Cannot read file")  # Qt says why the SVG is unusable: expected here
def test_unreadable_logo_falls_back_to_the_brand_name(
    hub: Hub, tmp_path: Path, open_window: Callable[..., WallWindow]
) -> None:
    broken = tmp_path / "logo.svg"
    broken.write_text("<svg this is not svg")
    for path in (str(broken), str(tmp_path / "missing.png")):
        window = open_window(hub, WallSection(branding=BrandingSettings(name="ACME", logo=path)), [MENTIONS])
        assert not window.header.has_logo_image()
        assert "ACME" in labels_text(window.header)


LONG_TITLE = "Ce que nos clients et nos équipes disent de Maison Lumière cette semaine"


def test_a_long_title_on_a_portrait_screen_ends_with_an_ellipsis_after_a_whole_word(
    hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    wall = WallSection(branding=BrandingSettings(name="Maison Lumière"))
    window = open_window(hub, wall, [PanelSettings(type="mentions", title=LONG_TITLE)])
    window.resize(1080, 1920)
    settle(hub, window)
    title = window.header.title_label
    shown = title.text()
    assert title.full_text() == LONG_TITLE
    assert shown.endswith("…") and len(shown) > 5
    assert LONG_TITLE.startswith(shown[:-1])
    assert LONG_TITLE[len(shown) - 1] == " "  # cut between two words, never inside one
    # What is shown fits beside the clock, which stays whole.
    assert title.fontMetrics().horizontalAdvance(shown) <= title.width()
    assert title.geometry().right() < window.header.date_label.geometry().left()
    assert window.header.clock_label.text() == "14:30"
    assert window.header.logo_label.text() == "Maison Lumière"
    # On a landscape screen more of the same title shows.
    window.resize(1920, 1080)
    settle(hub, window)
    assert len(title.text()) > len(shown) and LONG_TITLE.startswith(title.text().rstrip("…"))


def test_a_long_brand_name_is_cut_after_a_word_and_leaves_the_title_room(
    hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    name = "Société Coopérative des Artisans Luminaires de la Région Hauts-de-France"
    window = open_window(hub, WallSection(branding=BrandingSettings(name=name)), [PanelSettings(type="fans")])
    window.resize(1080, 1920)
    settle(hub, window)
    brand = window.header.logo_label
    assert brand.text().endswith("…") and name.startswith(brand.text()[:-1])
    assert name[len(brand.text()) - 1] == " "
    assert brand.width() <= window.width() * 0.35
    assert window.header.title_label.text()  # the title still shows (whole or cut)


def test_the_header_clock_looks_again_just_after_the_minute_turns_not_every_second(
    qtbot: QtBot, hub: Hub, wall_fr: WallSection
) -> None:
    """Issue 14: the header showed minutes but woke the wall every second, on every panel."""
    stepped = SteppedClock(NOW + timedelta(seconds=45))
    window = WallWindow(hub, wall_fr, [MENTIONS], clock=stepped)
    qtbot.addWidget(window)
    window.rotator.stop()
    header = window.header
    assert header.clock_label.text() == "14:30"
    assert 15_000 <= header.next_refresh_ms() <= 15_100  # the rest of the minute, and a little
    stepped.advance(header.next_refresh_ms() / 1000)
    header.refresh_clock()  # what the timer does when it fires
    assert header.clock_label.text() == "14:31"
    assert 59_900 <= header.next_refresh_ms() <= 60_100
