"""A short eased motion read from an injectable seconds clock, so tests step it instead of waiting.

Panel transitions (`widgets.rotator`) and the arrival of a new post (`widgets.posts`) use it: a
precise 16 ms timer asks for a frame, and the position is the eased share of the duration elapsed
on the clock, so a late frame catches up instead of slowing the motion down.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEasingCurve, QObject, Qt, QTimer, Signal

FRAME_MS = 16  # one frame at 60 Hz


class Tween(QObject):
    """Progress from 0 to 1 over `duration_ms`, eased; `progressed` on every frame, then `finished`."""

    progressed = Signal(float)
    finished = Signal()

    def __init__(
        self,
        duration_ms: int,
        easing: QEasingCurve.Type = QEasingCurve.Type.InOutQuad,
        *,
        ticker: Callable[[], float] = time.monotonic,
        frame_ms: int = FRAME_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._duration_ms = max(0, duration_ms)
        self._curve = QEasingCurve(easing)
        self._ticker = ticker
        self._started: float | None = None
        self._frames = QTimer(self)
        self._frames.setTimerType(Qt.TimerType.PreciseTimer)
        self._frames.setInterval(max(1, frame_ms))
        self._frames.timeout.connect(self.step)

    def duration_ms(self) -> int:
        """How long the motion lasts."""
        return self._duration_ms

    def frame_ms(self) -> int:
        """Milliseconds between two frames of the motion."""
        return self._frames.interval()

    def set_frame_ms(self, frame_ms: int) -> None:
        """Frames of later motions this far apart (a big screen's frames cost more than 16 ms)."""
        self._frames.setInterval(max(1, frame_ms))

    def set_easing(self, easing: QEasingCurve.Type) -> None:
        """The curve of later motions."""
        self._curve = QEasingCurve(easing)

    def set_ticker(self, ticker: Callable[[], float]) -> None:
        """The seconds clock the motion follows (tests move it by hand)."""
        self._ticker = ticker

    def is_running(self) -> bool:
        """True from `start()` until the end (or `stop()`)."""
        return self._started is not None

    def start(self) -> None:
        """Begin at 0 (emitted at once)."""
        self._started = self._ticker()
        self._frames.start()
        self.progressed.emit(0.0)

    def stop(self) -> None:
        """Stop where it is, without `finished`."""
        self._started = None
        self._frames.stop()

    def step(self) -> None:
        """One frame: emit the eased progress; at the end emit 1.0 then `finished`."""
        if self._started is None:
            return
        elapsed_ms = (self._ticker() - self._started) * 1000
        share = 1.0 if self._duration_ms == 0 else min(1.0, max(0.0, elapsed_ms / self._duration_ms))
        self.progressed.emit(self._curve.valueForProgress(share) if share < 1.0 else 1.0)
        if share >= 1.0:
            self.stop()
            self.finished.emit()
