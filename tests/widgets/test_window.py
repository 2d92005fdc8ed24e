"""The window: never blank, full screen on its output, no cursor, and a first-frame signal."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage
from pytestqt.qtbot import QtBot

from wall.engine.config import PanelSettings, WallSection
from widgets.hub import Hub
from widgets.window import WallWindow, burn_in_offset

from .conftest import clock, labels_text, settle

PANELS = [PanelSettings(type="fans"), PanelSettings(type="mentions"), PanelSettings(type="internal")]


def distinct_colours(image: QImage, step: int = 24) -> int:
    """How many different colours a grid of sample points sees (1 means a uniform, blank image)."""
    return len(
        {image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)}
    )


def test_with_every_panel_empty_the_screen_still_says_something(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, PANELS)
    image = window.grab().toImage()
    assert image.size() == QSize(1920, 1080)
    assert distinct_colours(image) > 3
    texts = labels_text(window)
    assert "Les compteurs arrivent…" in texts and "Notre communauté" in texts and "14:30" in texts


def test_first_frame_is_announced_once(hub: Hub, wall_fr: WallSection, qtbot: QtBot) -> None:
    window = WallWindow(hub, wall_fr, PANELS, clock=clock)
    qtbot.addWidget(window)
    frames: list[None] = []
    window.first_frame.connect(lambda: frames.append(None))
    with qtbot.waitSignal(window.first_frame, timeout=3000):
        window.resize(640, 360)
        window.show()
    window.repaint()
    window.grab()
    qtbot.waitUntil(lambda: not window.isHidden())
    assert frames == [None]


def test_place_on_fills_the_screen_or_opens_a_1280x720_window(
    hub: Hub, wall_fr: WallSection, qtbot: QtBot
) -> None:
    screen = QGuiApplication.primaryScreen()
    full = WallWindow(hub, wall_fr, PANELS, clock=clock)
    qtbot.addWidget(full)
    full.place_on(screen, fullscreen=True)
    assert full.geometry() == screen.geometry() and full.isFullScreen()
    assert full.cursor().shape() == Qt.CursorShape.BlankCursor

    windowed = WallWindow(hub, wall_fr, PANELS, clock=clock)
    qtbot.addWidget(windowed)
    windowed.place_on(screen, fullscreen=False)
    assert windowed.size() == QSize(1280, 720) and not windowed.isFullScreen()
    assert screen.geometry().contains(windowed.geometry())


def test_text_sizes_follow_the_window_height(hub: Hub, wall_fr: WallSection, qtbot: QtBot) -> None:
    window = WallWindow(hub, wall_fr, PANELS, clock=clock)
    qtbot.addWidget(window)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1920, 1080)
    window.show()
    big = window.header.clock_label.font().pixelSize()
    window.resize(1280, 720)
    small = window.header.clock_label.font().pixelSize()
    assert big >= 40 and abs(small - big * 720 / 1080) <= 1


def test_portrait_screen_keeps_words_whole_in_the_header(hub: Hub, qtbot: QtBot) -> None:
    wall = WallSection.model_validate({"branding": {"name": "Maison Lumière"}})
    landscape = WallWindow(hub, wall, [PanelSettings(type="mentions")], clock=clock)
    portrait = WallWindow(hub, wall, [PanelSettings(type="mentions")], clock=clock)
    for window, size in ((landscape, QSize(1920, 1080)), (portrait, QSize(1080, 1920))):
        qtbot.addWidget(window)
        window.rotator.stop()
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(size)
        window.show()
    hub.flush()
    QGuiApplication.processEvents()
    assert portrait.header.logo_label.text() == "Maison Lumière"  # not elided on a 1080 px wide screen
    # Text on a portrait screen is sized like a landscape screen of its width, not by its tall height.
    assert portrait.header.clock_label.font().pixelSize() < landscape.header.clock_label.font().pixelSize()


def test_burn_in_shift_moves_everything_a_few_pixels_around_a_loop(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [PanelSettings(type="fans")])
    offsets = [burn_in_offset(step, 4) for step in range(9)]
    assert offsets[0] == (0, 0) and burn_in_offset(9, 4) == (0, 0)  # a loop
    assert len(set(offsets)) == 9 and all(abs(dx) <= 4 and abs(dy) <= 4 for dx, dy in offsets)

    window.set_shift(0, 0, 4)
    settle(hub, window)
    home = window.header.mapTo(window, window.header.rect().topLeft())
    for dx, dy in offsets[1:]:
        window.set_shift(dx, dy, 4)
        settle(hub, window)
        moved = window.header.mapTo(window, window.header.rect().topLeft())
        assert (moved.x() - home.x(), moved.y() - home.y()) == (dx, dy)
        assert window.shift() == (dx, dy)
        assert window.header.width() == 1920 - 8  # the same size, only moved
