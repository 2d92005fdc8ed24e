"""Python's garbage collection runs on the GUI thread only (`wall.shell.gc.GuiThreadCollector`).

A Qt object destroyed by a collection in another thread leaves its timers registered, and Qt
later fires one at freed memory: the segfault this guards against was caught under gdb in
`QTimerInfoList::activateTimers`, while the test suite ran on a loaded machine.
"""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from wall.shell.gc import GC_CHECK_MS, GC_REST_CHECK_MS, GuiThreadCollector, collect_garbage_now


class Cycle:
    """Garbage only the cyclic collector frees, holding a Qt object with a running timer."""

    def __init__(self) -> None:
        self.me = self
        self.owner = QObject()
        self.timer = QTimer(self.owner)
        self.timer.start(1000)


def test_garbage_made_anywhere_is_collected_on_the_gui_thread(qapp: QApplication, qtbot: QtBot) -> None:
    collector = GuiThreadCollector()
    try:
        assert not gc.isenabled()
        where: list[bool] = []
        cycle = Cycle()
        weakref.finalize(cycle, lambda: where.append(threading.current_thread() is threading.main_thread()))
        del cycle

        kept: list[list[int]] = []

        def churn() -> None:  # a store or decoder thread allocating: Python would collect here
            kept.extend([] for _ in range(20 * gc.get_threshold()[0]))

        worker = threading.Thread(target=churn)
        worker.start()
        worker.join()
        assert where == []  # nothing was collected in the worker…
        qtbot.waitUntil(lambda: where == [True], timeout=3000)  # …the GUI thread did it
    finally:
        collector.deleteLater()


def test_a_collection_is_run_only_when_python_would_have_run_one() -> None:
    gc.collect()
    assert collect_garbage_now() == -1  # just collected: nothing due
    threshold0 = gc.get_threshold()[0]
    kept: list[list[int]] = [[] for _ in range(threshold0 + 10)]
    assert collect_garbage_now() >= 0
    assert kept


def test_at_rest_the_collector_stops_waking_every_frame_and_a_burst_brings_it_back(
    qapp: QApplication, qtbot: QtBot
) -> None:
    """Issue 14: a check a frame was 60 wakeups a second on an idle wall; a burst of posts must
    still be collected a frame at a time (short young collections, no stall)."""
    collector = GuiThreadCollector()
    try:
        gc.collect()
        qtbot.waitUntil(lambda: collector.interval_ms() >= GC_REST_CHECK_MS, timeout=10_000)
        where: list[bool] = []
        cycle = Cycle()
        weakref.finalize(cycle, lambda: where.append(threading.current_thread() is threading.main_thread()))
        del cycle
        kept: list[list[int]] = []
        worker = threading.Thread(target=lambda: kept.extend([] for _ in range(2 * gc.get_threshold()[0])))
        worker.start()
        worker.join()
        # Garbage made while the wall rests is still collected, on the GUI thread, without waiting
        # for the slow period, and the checks are a frame apart again while objects keep coming.
        qtbot.waitUntil(lambda: where == [True], timeout=GC_REST_CHECK_MS // 2)
        assert collector.interval_ms() == GC_CHECK_MS
    finally:
        collector.deleteLater()


def test_the_gui_threads_own_objects_are_collected_before_it_sleeps_without_checks_a_frame(
    qapp: QApplication, qtbot: QtBot
) -> None:
    """Issue 14: a featured card's turn makes objects on the GUI thread for about a second; a check
    every 16 ms through it was some 70 wakeups of its own a turn. The thread is awake for its frames
    anyway: what it makes is collected before it sleeps, and the timer stays slow."""
    collector = GuiThreadCollector()
    try:
        gc.collect()
        qtbot.waitUntil(lambda: collector.interval_ms() >= GC_REST_CHECK_MS, timeout=10_000)
        where: list[bool] = []
        kept: list[list[int]] = []

        def frame() -> None:  # a frame of a turn: a few hundred objects, and some garbage in cycles
            cycle = Cycle()
            weakref.finalize(
                cycle, lambda: where.append(threading.current_thread() is threading.main_thread())
            )
            del cycle
            kept.extend([] for _ in range(gc.get_threshold()[0] // 3))

        frames = QTimer()
        frames.timeout.connect(frame)
        frames.start(16)
        qtbot.waitUntil(lambda: len(where) >= 3, timeout=GC_REST_CHECK_MS // 2)  # collected, not piled up
        assert set(where) == {True}
        assert collector.interval_ms() > GC_CHECK_MS
        frames.stop()
    finally:
        collector.deleteLater()
