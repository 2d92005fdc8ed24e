"""Test-wide setup: Qt runs offscreen on a 1920x1080 virtual screen, in French, with no user config."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={ROOT / 'assets/qt/offscreen-1920x1080.json'}"
os.environ.setdefault("QT_API", "pyside6")
os.environ.pop("WALL_CONFIG", None)
for key in [k for k in os.environ if k.startswith("WALL_") and not k.startswith("WALL_SYNAPSE_")]:
    del os.environ[key]

from wall.shell.gc import collect_garbage_now  # noqa: E402 (after the environment Qt reads is set)


@pytest.fixture(autouse=True, scope="session")
def _collect_on_the_main_thread_only() -> Iterator[None]:
    """As `wall run` does (`wall.shell.gc.GuiThreadCollector`): Python's automatic garbage collection,
    which runs in whatever thread allocates, would destroy Qt objects kept by reference cycles in
    the store's or an HTTP test server's thread, and Qt would later fire their timers at freed
    memory. The tests collect between tests, on the main thread, as often as Python would."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    collect_garbage_now()
