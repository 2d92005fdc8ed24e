"""Pictures of what a window shows: the moderation page's PNG and a fleet kiosk's JPEG. Apart from
`desk.py` so that a kiosk's screenshots do not load the moderation page's web server (aiohttp,
~10 MB of a kiosk's memory: `python -m bench.fleet --kiosk-rss 3`)."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QIODevice, Qt

from widgets.window import WallWindow

SCREEN_PICTURE_WIDTH_PX = 960  # the moderation page's picture of the wall


def grab_png(window: WallWindow, width: int = SCREEN_PICTURE_WIDTH_PX) -> bytes:
    """What `window` shows, as a PNG at most `width` pixels wide."""
    return _grab(window, width, "PNG")


def grab_jpeg(window: WallWindow, width: int, quality: int = 70) -> bytes:
    """What `window` shows, as a small JPEG (the fleet page's picture of a kiosk's screen)."""
    return _grab(window, width, "JPEG", quality)


def _grab(window: WallWindow, width: int, kind: str, quality: int = -1) -> bytes:
    picture = window.grab()
    if picture.width() > width:
        picture = picture.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    picture.save(buffer, kind, quality)
    return bytes(buffer.data().data())
