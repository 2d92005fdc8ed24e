"""The clock panel: the wall's time and date in its language and zone, on black, drifting a little."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from babel.dates import format_time
from PySide6.QtCore import QRect, Qt
from pytestqt.qtbot import QtBot

from tests.support.clock import NOW, SteppedClock
from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from widgets.clock import BACKGROUND, DRIFT_FRACTION, TICK_MS, ClockPanel, drift
from widgets.hub import Hub
from widgets.window import WallWindow

from .conftest import settle

CLOCK = PanelSettings(type="clock")


@pytest.fixture
def stepped() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def clock_window(qtbot: QtBot, hub: Hub, stepped: SteppedClock) -> Iterator[WallWindow]:
    window = build(qtbot, hub, WallSection(), stepped)
    yield window


def build(
    qtbot: QtBot, hub: Hub, wall: WallSection, clock: SteppedClock, size: tuple[int, int] = (1920, 1080)
) -> WallWindow:
    window = WallWindow(hub, wall, [CLOCK], clock=clock)
    qtbot.addWidget(window)
    window.rotator.stop()
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(*size)
    window.show()
    settle(hub, window)
    return window


def clock_panel(window: WallWindow) -> ClockPanel:
    panel = window.current_panel()
    assert isinstance(panel, ClockPanel)
    return panel


def test_shows_the_time_and_date_of_the_wall_in_french(clock_window: WallWindow) -> None:
    panel = clock_panel(clock_window)
    assert panel.time_label.text() == "14:30"  # 12:30 UTC in Paris, summer time
    assert panel.date_label.text() == "Mardi 3 juin 2025"
    assert panel.has_content()
    assert clock_window.header.title_label.text() == "Bienvenue"


def test_english_wall_in_another_time_zone(qtbot: QtBot, hub: Hub, stepped: SteppedClock) -> None:
    wall = WallSection(language="en", timezone="America/New_York")
    window = build(qtbot, hub, wall, stepped)
    panel = clock_panel(window)
    assert panel.time_label.text() == "08:30"
    assert panel.date_label.text() == "Tuesday, June 3, 2025"


def test_the_minute_changes_with_the_injected_clock(clock_window: WallWindow, stepped: SteppedClock) -> None:
    panel = clock_panel(clock_window)
    stepped.now = NOW + timedelta(hours=10, minutes=1)
    panel.tick()
    assert panel.time_label.text() == "00:31"
    assert panel.date_label.text() == "Mercredi 4 juin 2025"


def test_drift_stays_within_a_few_percent_of_the_screen() -> None:
    width, height = 1920, 1080
    offsets = [drift(seconds, width, height) for seconds in range(0, 2 * 86_400, 37)]
    assert max(abs(dx) for dx, _ in offsets) <= DRIFT_FRACTION * width
    assert max(abs(dy) for _, dy in offsets) <= DRIFT_FRACTION * height
    # it really moves: close to the bounds in both directions over two days
    assert max(dx for dx, _ in offsets) > 0.9 * DRIFT_FRACTION * width
    assert min(dy for _, dy in offsets) < -0.9 * DRIFT_FRACTION * height
    # slowly: under a pixel a second on a 4K screen
    steps = [abs(drift(s + 1, 3840, 2160)[0] - drift(s, 3840, 2160)[0]) for s in range(0, 3600, 7)]
    assert max(steps) < 1.5


def test_the_face_follows_the_injected_clock_and_stays_on_screen(
    clock_window: WallWindow, stepped: SteppedClock
) -> None:
    panel = clock_panel(clock_window)
    centre = panel.content.rect().center()
    seen = set()
    for minute in range(0, 60, 3):
        stepped.now = NOW + timedelta(minutes=minute)
        panel.tick()
        face = panel.face_rect()
        seen.add((face.x(), face.y()))
        assert QRect(0, 0, panel.width(), panel.height()).contains(face)
        offset = panel.face.geometry().center() - centre
        assert abs(offset.x()) <= DRIFT_FRACTION * panel.content.width() + 1
        assert abs(offset.y()) <= DRIFT_FRACTION * panel.content.height() + 1
    assert len(seen) > 10  # it moved
    stepped.now = NOW
    panel.tick()
    first = panel.face_rect()
    panel.tick()
    assert panel.face_rect() == first  # same instant, same place: nothing moves without the clock


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1080, 1920)])
def test_big_time_whole_at_every_size(
    qtbot: QtBot, hub: Hub, stepped: SteppedClock, size: tuple[int, int]
) -> None:
    window = build(qtbot, hub, WallSection(), stepped, size)
    panel = clock_panel(window)
    for label in panel.labels():
        assert label.width() >= label.sizeHint().width()
        assert label.height() >= label.sizeHint().height()
    type_height = min(size[1], size[0] * 3 // 4)
    assert panel.time_label.fontMetrics().capHeight() >= 0.2 * type_height


def test_background_is_dark_on_the_light_theme_too(qtbot: QtBot, hub: Hub, stepped: SteppedClock) -> None:
    wall = WallSection(branding=BrandingSettings(theme="light"))
    window = build(qtbot, hub, wall, stepped)
    panel = clock_panel(window)
    assert panel.background() == BACKGROUND
    image = panel.grab().toImage()
    assert image.pixelColor(5, 5).lightness() < 20
    assert image.pixelColor(image.width() - 5, image.height() - 5).lightness() < 20


def test_the_clock_wakes_for_its_next_pixel_or_minute_and_never_off_screen(
    clock_window: WallWindow, stepped: SteppedClock
) -> None:
    """Issue 14: the face was looked at every second, on screen or not (an idle wall's wakeups)."""
    panel = clock_panel(clock_window)
    for _ in range(5):
        wait = panel.next_tick_ms()
        assert wait is not None and TICK_MS < wait <= 60_100
        before = panel.face_rect()
        stepped.advance(wait / 1000)
        panel.tick()  # what the timer does when it fires
        moved = panel.face_rect().topLeft() - before.topLeft()
        assert abs(moved.x()) <= 1 and abs(moved.y()) <= 1  # the drift still creeps, never jumps
    panel.hide()  # another panel's turn
    assert panel.next_tick_ms() is None
    stepped.advance(minutes=7)
    panel.show()
    assert panel.next_tick_ms() is not None
    assert panel.time_label.text() == format_time(stepped.now.astimezone(panel.zone), "HH:mm", locale="fr")
