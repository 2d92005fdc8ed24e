"""Python's garbage collection on the GUI thread only, and the interpreter settings that keep the GUI
thread on time (measured in `make bench`: stall and frames)."""

from __future__ import annotations

import gc
import sys
import time

from PySide6.QtCore import QAbstractEventDispatcher, QObject, QTimer

SWITCH_INTERVAL_S = 0.0002


def tune_for_smooth_frames() -> None:
    """Runtime settings that keep the GUI thread on time (measured in `make bench`: stall).

    - The store and image threads hold the GIL in turns with the GUI thread; a frame crosses between
      Qt and Python (every Python `paintEvent`, every PySide call) dozens of times and, while another
      thread runs Python (the store thread judges a flood's posts for about a second a poll), waits
      up to the switch interval each time: 5 ms by default, 1 ms gave 20-30 ms frames in `bench
      stall` (issue 14), 0.2 ms keeps them under 17 ms for a little more switching while both run.
    - A full garbage collection walks every object, and after start-up there are hundreds of thousands
      (Qt wrappers, pydantic schemas, modules): 15-25 ms, a visible hitch. Freezing what exists after
      start-up takes it out of every later collection.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()


GC_CHECK_MS = 16  # a frame: young generations stay as small as Python keeps them, each collection short
# At rest (issue 14: <= 10 wakeups a second) a check a frame is 60 wakeups for nothing. The check
# backs off, doubling, to this while no collection is due when it looks.
GC_REST_CHECK_MS = 2_000
# Objects counted at the GUI thread's next sleep beyond this share of Python's first threshold piled
# up faster than the GUI thread's own work makes them (another thread, a flood): checks a frame apart.
PILED_UP = 1.5
# A full collection walks every object made since start-up (10,000 posts: 20-25 ms, a dropped
# frame); Python itself runs one only when the long-lived objects grew by a quarter, which its
# counters do not tell: at most one a minute, younger generations in between.
FULL_COLLECTION_EVERY_S = 60.0
_last_full = [time.monotonic()]


def collect_garbage_now(*, now: float | None = None) -> int:
    """Run the collection Python's own thresholds call for, if any, in this thread (a full one at
    most every FULL_COLLECTION_EVERY_S); returns the generation collected (-1: none was due)."""
    threshold0, threshold1, threshold2 = gc.get_threshold()
    count0, count1, count2 = gc.get_count()
    if count0 <= threshold0:
        return -1
    generation = 2 if count2 > threshold2 else 1 if count1 > threshold1 else 0
    now = time.monotonic() if now is None else now
    if generation == 2:
        if now - _last_full[0] < FULL_COLLECTION_EVERY_S:
            generation = 1
        else:
            _last_full[0] = now
    gc.collect(generation)
    return generation


class GuiThreadCollector(QObject):
    """Python's cyclic garbage collection, on the GUI thread only.

    Python collects in whichever thread allocates when its thresholds are crossed: the store's
    thread and the picture decoders' too. A Qt object that only a reference cycle kept alive (a
    window or panel dropped at a config reload) is then destroyed outside the GUI thread: Qt cannot
    unregister its timers there and later fires one at freed memory (a segfault, seen in the test
    suite under load). Automatic collection is switched off; a timer collects as Python would have.

    The GUI thread's own objects (a transition's frames, a featured card's turn) are collected just
    before it sleeps, when a collection is due: it is awake then anyway, so this costs no wakeup (a
    check every 16 ms through each card turn, about 1.2 s with its pictures, was some 70 wakeups of
    its own a turn, issue 14). The timer is for objects other threads make while the GUI thread
    sleeps (the store thread judging a flood): it checks every frame while it finds a collection
    due, or while the objects pile up between two sleeps, and backs off to GC_REST_CHECK_MS.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(GC_CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        dispatcher = QAbstractEventDispatcher.instance()
        if dispatcher is not None:  # None before a Q*Application exists: the timer alone then
            dispatcher.aboutToBlock.connect(self._before_sleep)

    def interval_ms(self) -> int:
        """Milliseconds between two checks now: a frame while busy, up to GC_REST_CHECK_MS at rest."""
        return self._timer.interval()

    def check(self) -> int:
        """Collect if due, and choose the next check: a frame if a collection was due, else later."""
        generation = collect_garbage_now()
        self._set_busy(generation >= 0)
        return generation

    def _set_busy(self, busy: bool) -> None:
        interval = GC_CHECK_MS if busy else min(GC_REST_CHECK_MS, self._timer.interval() * 2)
        if interval != self._timer.interval():
            self._timer.setInterval(interval)  # the running timer starts its new period now

    def _before_sleep(self) -> None:
        # Only the counts are read unless a collection is due (the loop sleeps hundreds of times a
        # second in a transition).
        count, threshold = gc.get_count()[0], gc.get_threshold()[0]
        if count <= threshold:
            return
        piled_up = count > PILED_UP * threshold
        collect_garbage_now()
        if piled_up and self._timer.interval() > GC_CHECK_MS:
            self._set_busy(True)
            self._timer.start()  # a frame from now, not from the slow period's start
