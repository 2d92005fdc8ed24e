"""Real widgets offscreen, fed by a real Hub with real Post/Count objects, and a fixed clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.support.clock import NOW
from wall.core.model import Count
from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from widgets.hub import Hub
from widgets.panel import Panel
from widgets.window import WallWindow


def clock() -> datetime:
    """The tests' fixed clock."""
    return NOW


def png_bytes(width: int = 64, height: int = 48, colour: str = "#3366cc") -> bytes:
    """A small PNG made in memory: a coloured rectangle with a white disc (so it is not uniform)."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    painter = QPainter(image)
    painter.setBrush(QColor("#ffffff"))
    painter.drawEllipse(width // 4, height // 4, width // 2, height // 2)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # stubs say bytes, runtime wants str
    return bytes(buffer.data().data())


def make_count(
    value: int | None = 180_000, *, source: str = "masto", account: str = "@brand", **extra: object
) -> Count:
    """An audience count as a source would build it."""
    return Count(source=source, network="mastodon", account=account, value=value, observed_at=NOW, **extra)  # type: ignore[arg-type]


def labels_text(widget: QWidget) -> list[str]:
    """The text of every visible label under `widget` (what a person can read)."""
    return [
        label.text() for label in widget.findChildren(QLabel) if label.isVisibleTo(widget) and label.text()
    ]


@pytest.fixture
def hub() -> Hub:
    """A real hub whose signals the tests flush by hand."""
    return Hub()


@pytest.fixture
def wall_fr() -> WallSection:
    """The default `[wall]` table: French, Paris, dark theme."""
    return WallSection()


@pytest.fixture
def wall_en() -> WallSection:
    """An English wall."""
    return WallSection(language="en", branding=BrandingSettings(name="ACME"))


@pytest.fixture
def open_window(qtbot: QtBot) -> Iterator[Callable[..., WallWindow]]:
    """Build a shown 1920x1080 window with the given panels (the rotation timer stopped)."""

    def build(hub: Hub, wall: WallSection, panels: list[PanelSettings], **kwargs: object) -> WallWindow:
        window = WallWindow(hub, wall, panels, clock=clock, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.rotator.stop()
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(1920, 1080)
        window.show()
        settle(hub, window)
        return window

    yield build


def settle(hub: Hub, window: WallWindow | None = None) -> None:
    """Deliver the hub's pending signals, let Qt lay out and repaint, and wait for the window's pictures."""
    hub.flush()
    for _ in range(3):
        QApplication.processEvents()
    if window is not None:
        assert window.wait_for_pictures()


def current(window: WallWindow) -> Panel:
    """The panel on screen (asserting there is one)."""
    panel = window.current_panel()
    assert panel is not None
    return panel
