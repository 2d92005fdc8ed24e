"""A fleet's kiosk seen from the collector's page (issue 16), the Qt half: when the windows last
painted a frame, the small JPEG of the screen, and the discreet marker while the fleet link is down.
The heartbeats themselves are sent by `wall.engine.fleet.health.KioskHealth` (no Qt)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QTimer

from wall.core.model import Health, SourceStatus, utcnow
from wall.engine.fleet.receiver import KioskReceiver
from wall.shell.grab import grab_jpeg  # not desk.py: it loads the web server
from widgets.hub import Hub
from widgets.window import WallWindow

SCREENSHOT_WIDTH_PX = 480  # ~20-40 KB as JPEG: far under a NATS message's 1 MB
LINK_CHECK_MS = 1000
LINK_MARKER_AFTER_S = 5.0  # a boot's first connection, or a blip, puts no marker on screen
# The name the stale-data marker shows while the kiosk cannot hear the collector.
LINK_MARKER = {"fr": "réseau", "en": "network"}


class FrameClock(QObject):
    """When a window last painted. Watches the windows themselves, not the application: a Python
    call per window update (Qt sends the top-level window an UpdateRequest for every repaint of
    any of its widgets), not per Qt event like `PaintProbe`."""

    _FRAME_EVENTS = (QEvent.Type.Paint, QEvent.Type.UpdateRequest)

    def __init__(self) -> None:
        super().__init__()
        self._last: float | None = None  # time.monotonic(): a clock set by NTP does not move it

    def watch(self, windows: list[WallWindow]) -> None:
        """Follow these windows (call again with new windows after a reload)."""
        for window in windows:
            window.removeEventFilter(self)
            window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note the time of each frame; never consumes the event."""
        if event.type() in self._FRAME_EVENTS:
            self._last = time.monotonic()
        return False

    def last_frame(self) -> datetime | None:
        """The wall-clock time of the last frame, or None before the first."""
        if self._last is None:
            return None
        return utcnow() - timedelta(seconds=time.monotonic() - self._last)


def screenshot(windows: Callable[[], list[WallWindow]]) -> bytes | None:
    """The first window as a small JPEG (None without a window)."""
    shown = windows()
    return grab_jpeg(shown[0], SCREENSHOT_WIDTH_PX) if shown else None


class LinkMarker(QObject):
    """Shows the stale-data marker (the header's, with the name "réseau") while the kiosk's fleet
    link is down, removes it when the link is back, and tells `on_change` (`wall status`)."""

    def __init__(
        self, receiver: KioskReceiver, hub: Hub, language: str, on_change: Callable[[], object]
    ) -> None:
        super().__init__()
        self._receiver = receiver
        self._hub = hub
        self._name = LINK_MARKER.get(language, LINK_MARKER["en"])
        self._on_change = on_change
        self._shown = False
        self._seen: tuple[bool, datetime | None] = (False, None)
        self._started = utcnow()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(LINK_CHECK_MS)

    def check(self) -> None:
        """Bring the marker and `wall status` in line with the link."""
        state = self._receiver.state
        if (state.connected, state.since) != self._seen:
            self._seen = (state.connected, state.since)
            self._on_change()  # `wall status` learns at once
        since = state.since or self._started
        down = not state.connected and (utcnow() - since).total_seconds() >= LINK_MARKER_AFTER_S
        if down == self._shown:
            return
        self._shown = down
        if down:
            self._hub.update_status(SourceStatus(self._name, "fleet", Health.STALE))
        else:
            self._hub.set_statuses([s for s in self._hub.statuses() if s.source != self._name])

    def stop(self) -> None:
        """No more checks."""
        self._timer.stop()
