"""The installed Qt binding must survive what the wall does all day: animations, many frames."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QVariantAnimation
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot


def test_running_animations_do_not_leak_references_to_none(qtbot: QtBot) -> None:
    # PySide6 6.12.0 drops a reference to None on every animation tick; on Python 3.11 None is
    # then deallocated and the wall aborts within a second of its first crossfade.
    app = QApplication.instance()
    assert app is not None
    seen: list[float] = []
    animation = QVariantAnimation()
    animation.setStartValue(1.0)
    animation.setEndValue(0.0)
    animation.setDuration(1000)
    animation.valueChanged.connect(lambda value: seen.append(float(value)))
    before = sys.getrefcount(None)
    animation.start()
    deadline = time.monotonic() + 1.1
    while time.monotonic() < deadline:
        app.processEvents()
    ticks = len(seen)
    assert ticks > 30
    # 6.12.0 loses one reference per tick; a sound binding stays within a few references.
    assert sys.getrefcount(None) > before - ticks // 2
