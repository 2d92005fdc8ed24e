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

from wall.shell.gc import GuiThreadCollector, collect_garbage_now


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
