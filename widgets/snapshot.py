"""Render one panel to an image without a display (`wall snapshot`, the demo, the docs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from wall.core.model import utcnow
from widgets.hub import Hub
from widgets.settings import PanelLook, WallLook
from widgets.window import WallWindow

_SETTLE_ROUNDS = 3  # layout, then the elided texts that depend on it, then the repaint


def render_panel(
    hub: Hub,
    wall: WallLook,
    panel: PanelLook,
    size: QSize,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> QImage:
    """The whole window (header included) showing only `panel`, rendered offscreen at `size`."""
    app = QApplication.instance()
    if app is None:
        raise RuntimeError(
            "render_panel needs a QApplication (use QT_QPA_PLATFORM=offscreen without a display)"
        )
    hub.flush()
    window = WallWindow(hub, wall, [panel], clock=clock, fade_ms=0)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(size)
    window.show()
    try:
        for _ in range(_SETTLE_ROUNDS):
            app.processEvents()
            hub.flush()
        window.grab()  # painting asks for the pictures at their final sizes…
        window.wait_for_pictures()  # …which are decoded and scaled off the GUI thread
        app.processEvents()
        return window.grab().toImage()
    finally:
        window.rotator.stop()
        window.close()
        window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def save_png(image: QImage, path: str | Path) -> None:
    """Write `image` as a PNG file; raises OSError when it cannot be written."""
    target = Path(path)
    if not image.save(str(target), "PNG"):  # type: ignore[call-overload]  # stubs say bytes, runtime wants str
        raise OSError(f"{target}: cannot write the PNG image (check the folder exists and is writable)")
