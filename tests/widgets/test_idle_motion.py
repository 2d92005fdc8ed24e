"""What an idle wall wakes for, and how often its motions ask for a frame (issue 14).

Between transitions nothing on screen moves but the clock's minute, so no panel keeps a timer
faster than a second; a featured card's crossfade asks for 30 frames a second (a card turn seen
from metres away), and a 4K screen's transitions an even 30 rather than 60 with frames missed at
random. Real widgets offscreen; motions follow an injected clock, so no test measures time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer
from pytestqt.qtbot import QtBot

from wall.engine.config import PanelSettings, WallSection, load_config
from widgets.hub import Hub
from widgets.posts import PostsPanel
from widgets.rotator import FADE_MS
from widgets.window import WallWindow

from .conftest import current, make_count, settle
from .test_reference_images import demo_hub
from .test_transitions import Ticker, compact_texts, featured_text, featured_window, posts

UHD = (3840, 2160)
FRAME_60HZ_MS = 16
FRAME_30HZ_MS = 33


def running_timers(owner: QObject) -> list[QTimer]:
    """The timers under `owner` that will wake the GUI thread."""
    return [timer for timer in owner.findChildren(QTimer) if timer.isActive()]


def frame_intervals(owner: QObject) -> list[int]:
    """The periods of the repeating timers under `owner` now running faster than a second: a
    motion's frames (a posts panel's relative times are refreshed every 20 s)."""
    return [t.interval() for t in running_timers(owner) if not t.isSingleShot() and t.interval() < 1000]


@pytest.mark.parametrize("kind", ["fans", "mentions", "internal", "trends", "clock", "announcement"])
def test_a_panel_at_rest_keeps_no_timer_faster_than_a_second(
    open_window: Callable[..., WallWindow], kind: str
) -> None:
    """Issue 14: at most 10 wakeups a second between transitions; a panel's own timers (the
    clock's minute and drift, the relative times, the featured turn) wake it far less."""
    hub = demo_hub()
    extra = {"text": "Portes ouvertes samedi"} if kind == "announcement" else {}
    window = open_window(hub, WallSection(), [PanelSettings(type=kind, **extra)])
    settle(hub, window)
    panel = current(window)
    assert panel.panel_type() == kind and panel.has_content()
    fast = {
        f"{type(t.parent()).__name__}: {t.interval()} ms"
        for t in running_timers(window)
        if t.interval() < 1000
    }
    assert fast == set()


def test_a_featured_card_crossfades_at_30_frames_a_second_and_ends_on_the_next_post(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    _, panel, ticker = featured_window(hub, open_window)
    panel.feature_next()
    turn = panel.turn()
    qtbot.waitUntil(turn.is_moving, timeout=2000)
    assert frame_intervals(turn) == [FRAME_30HZ_MS]  # was 16: 60 frames a second for a card's fade
    ticker.now += FADE_MS / 1000 + 0.01
    turn.step()
    qtbot.waitUntil(lambda: not turn.is_turning(), timeout=2000)
    assert featured_text(panel) == ["Message numéro 2"]
    assert compact_texts(panel) == ["Message numéro 3", "Message numéro 1"]
    assert frame_intervals(turn) == []  # and once over, nothing asks for frames


def test_a_featured_card_slides_at_the_screens_rate_so_it_does_not_judder(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    _, panel, ticker = featured_window(hub, open_window, transition="slide")
    panel.feature_next()
    qtbot.waitUntil(panel.turn().is_moving, timeout=2000)
    assert frame_intervals(panel.turn()) == [FRAME_60HZ_MS]
    ticker.now += FADE_MS / 1000 + 0.01
    panel.turn().step()
    qtbot.waitUntil(lambda: not panel.turn().is_turning(), timeout=2000)
    assert featured_text(panel) == ["Message numéro 2"]


@pytest.mark.parametrize("transition", ["crossfade", "slide"])
def test_at_4k_transitions_move_at_an_even_30_frames_and_end_on_the_right_panel(
    open_window: Callable[..., WallWindow], qtbot: QtBot, transition: str
) -> None:
    hub = Hub()
    hub.set_counts([make_count()])
    hub.set_posts("mention", posts(3, 2, 1))
    panels = [PanelSettings(type="fans"), PanelSettings(type="mentions", limit=4)]
    window = open_window(hub, WallSection(transition=transition), panels)
    rotator = window.rotator
    ticker = Ticker()
    rotator.set_ticker(ticker)

    rotator.advance()  # 1920x1080: 60 frames a second, as before
    assert rotator.is_fading() and frame_intervals(rotator) == [FRAME_60HZ_MS]
    ticker.now += FADE_MS / 1000 + 0.01
    rotator.step_transition()
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=3000)

    window.resize(*UHD)
    settle(hub, window)
    rotator.advance()
    assert rotator.is_fading() and frame_intervals(rotator) == [FRAME_30HZ_MS]
    ticker.now += FADE_MS / 1000 + 0.01
    rotator.step_transition()
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=3000)
    assert current(window).panel_type() == "fans" and rotator.overlay().isHidden()

    panel = window.rotator.panels()[1]
    assert isinstance(panel, PostsPanel)
    rotator.advance()  # to the posts: at 4K its card turns move at 30 too, crossfade or slide
    ticker.now += FADE_MS / 1000 + 0.01
    rotator.step_transition()
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=3000)
    panel_ticker = Ticker()
    panel.set_ticker(panel_ticker)
    panel.shown_again()
    panel.feature_next()
    qtbot.waitUntil(panel.turn().is_moving, timeout=5000)
    assert frame_intervals(panel.turn()) == [FRAME_30HZ_MS]
    panel_ticker.now += FADE_MS / 1000 + 0.01
    panel.turn().step()
    qtbot.waitUntil(lambda: not panel.turn().is_turning(), timeout=5000)
    assert featured_text(panel) == ["Message numéro 2"]


def test_by_default_a_post_stays_featured_long_enough_to_read_it(tmp_path: Path) -> None:
    """A 280-character post is ~45 words: about 12 s at a lobby's reading pace (walls.io turns
    every 10-15 s); at 8 s the wall also turned half as often again as needed."""
    path = tmp_path / "wall.toml"
    path.write_text('[[panels]]\ntype = "mentions"\n[[panels]]\ntype = "internal"\n', encoding="utf-8")
    assert [panel.featured_seconds for panel in load_config(path, env={}).panels] == [12, 12]
