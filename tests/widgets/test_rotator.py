"""The rotation: one panel at a time, empty panels skipped, a crossfade, never a blank screen."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QObject, QSize
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.support.posts import make_post
from wall.engine.config import PanelSettings, WallSection
from widgets.hub import Hub
from widgets.rotator import STRIP_PIXELS, strip_step_ms, strips_for
from widgets.window import WallWindow

from .conftest import current, labels_text, make_count, settle
from .test_transitions import Ticker

PANELS = [PanelSettings(type="fans"), PanelSettings(type="mentions"), PanelSettings(type="internal")]


@dataclass(frozen=True)
class QuickPanel:
    """A `[[panels]]` entry with a duration below the config's minimum, to watch the timer rotate."""

    type: str
    duration: float = 0.05
    title: str = ""
    sources: Sequence[str] = field(default_factory=list)
    limit: int = 3
    milestones: Sequence[int] = ()


def test_empty_panel_is_skipped_and_advance_moves_on(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", [make_post()])
    hub.set_posts("internal", [make_post(kind="internal")])
    window = open_window(hub, wall_fr, PANELS)
    rotator = window.rotator
    assert current(window).panel_type() == "mentions"  # fans has nothing yet
    with qtbot.waitSignal(rotator.panel_changed) as changed:
        rotator.advance()
    assert changed.args == ["internal"]
    assert window.header.title_label.text() == "Dans l'entreprise"
    rotator.advance()
    assert current(window).panel_type() == "mentions"


def test_crossfade_runs_and_completes(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", [make_post()])
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, PANELS, fade_ms=200)
    rotator = window.rotator
    rotator.advance()
    assert rotator.is_fading()
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=3000)
    assert current(window).panel_type() == "mentions"
    assert "Superbe accueil dans votre agence de Lille" in labels_text(window)


def test_with_no_content_the_first_panel_stays_with_its_message(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, PANELS)
    assert current(window).panel_type() == "fans"
    window.rotator.advance()
    assert current(window).panel_type() == "fans"
    assert "Les compteurs arrivent…" in labels_text(window)


def test_content_arriving_elsewhere_leaves_the_empty_panel_at_once(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, PANELS)
    hub.set_posts("internal", [make_post(kind="internal", text="Bienvenue aux nouveaux")])
    settle(hub)
    assert current(window).panel_type() == "internal"


def test_timer_rotates_after_each_panel_duration(hub: Hub, wall_fr: WallSection, qtbot: QtBot) -> None:
    hub.set_posts("mention", [make_post()])
    hub.set_posts("internal", [make_post(kind="internal")])
    window = WallWindow(hub, wall_fr, [QuickPanel("mentions"), QuickPanel("internal")], fade_ms=0)
    qtbot.addWidget(window)
    seen: list[str] = []
    window.rotator.panel_changed.connect(seen.append)
    qtbot.waitUntil(lambda: seen[:3] == ["internal", "mentions", "internal"], timeout=3000)


def test_timed_crossfade_blends_from_the_old_screen_to_the_new_one(
    hub: Hub, wall_fr: WallSection, qtbot: QtBot
) -> None:
    # The pictures are taken ahead of the switch (in strips) and the new panel is uncovered strip
    # by strip: what people see must still go from exactly the old screen to exactly the new one.
    hub.set_posts("mention", [make_post()])
    hub.set_counts([make_count()])
    window = WallWindow(
        hub, wall_fr, [QuickPanel("fans", duration=1.5), QuickPanel("mentions", duration=60)], fade_ms=300
    )
    qtbot.addWidget(window)
    window.resize(960, 540)
    window.show()
    qtbot.waitExposed(window)
    settle(hub)
    rotator = window.rotator
    assert current(window).panel_type() == "fans"
    before = rotator.grab().toImage()
    qtbot.waitUntil(rotator.is_fading, timeout=5000)
    first_blend = rotator.grab().toImage()
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=5000)
    assert current(window).panel_type() == "mentions"
    after = rotator.grab().toImage()
    assert after != before
    assert "Superbe accueil dans votre agence de Lille" in labels_text(window)
    # The first blended frame is still (nearly) the old screen, not the new one.
    differs_from_before = sum(
        first_blend.pixel(x, y) != before.pixel(x, y) for x in range(0, 960, 40) for y in range(0, 500, 40)
    )
    differs_from_after = sum(
        first_blend.pixel(x, y) != after.pixel(x, y) for x in range(0, 960, 40) for y in range(0, 500, 40)
    )
    assert differs_from_before < differs_from_after


class _Uncovering(QObject):
    """The heights of the transition's overlay as it uncovers the panel, and its own repaints meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.heights: list[int] = []
        self.repaints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(watched, QWidget):
            self.heights.append(watched.height())
        elif event.type() == QEvent.Type.Paint and self.heights:
            self.repaints += 1
        return False


def test_pictures_are_taken_in_more_strips_on_a_bigger_screen() -> None:
    assert [
        strips_for(QSize(*size)) for size in ((1920, 1080), (1080, 1920), (2560, 1440), (3840, 2160))
    ] == [
        4,
        4,
        8,
        16,
    ]
    assert strip_step_ms(4) == 20 and strip_step_ms(16) == 5  # ready as soon as at 1080p


def test_on_a_4k_screen_each_frame_uncovers_no_more_than_a_quarter_of_a_1080p_screen(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    # Each step of the uncovering is a frame in which the live panel paints what was uncovered: at 4K
    # a quarter of the screen was 40 ms of software painting, two dropped frames, and the rest of
    # the overlay was painted again in every one of them (issue 14).
    hub.set_posts("mention", [make_post()])
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, PANELS)
    window.resize(3840, 2160)
    settle(hub, window)
    rotator = window.rotator
    ticker = Ticker()
    rotator.set_ticker(ticker)
    watcher = _Uncovering()
    rotator.advance()
    rotator.overlay().installEventFilter(watcher)
    ticker.now += 1.0
    rotator.step_transition()  # the crossfade is over: the uncovering starts
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=5000)
    assert current(window).panel_type() == "mentions"
    steps = [a - b for a, b in itertools.pairwise([rotator.height(), *watcher.heights])]
    assert steps and max(steps) * rotator.width() <= STRIP_PIXELS + rotator.width()  # rows rounded up
    # A frame paints the uncovered strip of the panel, nothing more (the one repaint of the overlay is
    # the motion's last frame, painted with the first strip; it was a repaint a strip before).
    assert watcher.repaints <= 1


def test_a_new_panel_list_is_taken_live_and_the_old_panels_leave_the_rotation(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    """A fleet's playlist changed on the collector (issue 16): the running window rotates through
    the new panels, with a transition from what was on screen, and never shows an old one again."""
    hub.set_posts("mention", [make_post()])
    hub.set_posts("internal", [make_post(kind="internal")])
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions")], fade_ms=200)
    old = current(window)
    assert old.panel_type() == "mentions"

    with qtbot.waitSignal(window.rotator.panel_changed) as changed:
        window.set_panels([PanelSettings(type="internal"), PanelSettings(type="fans")])
    assert changed.args == ["internal"]
    assert window.rotator.is_fading()  # from the old screen, not a jump
    settle(hub, window)
    assert [p.panel_type() for p in window.rotator.panels()] == ["internal", "fans"]
    assert window.header.title_label.text() == "Dans l'entreprise"
    shown = []
    for _ in range(4):
        window.rotator.advance()
        shown.append(current(window).panel_type())
    assert shown == ["fans", "internal", "fans", "internal"]
    assert old not in window.rotator.panels()
    qtbot.waitUntil(lambda: not window.rotator.is_fading())
