"""Quiet hours of content on the mentions panel (issue 15, "post shuffle"), with a stepped clock.

The hub gets the newest posts and the replay pool as the engine hands them over; the panel takes a
replay turn each time it leaves the screen (the rotator shows the clock panel, then comes back).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from tests.support.clock import NOW, SteppedClock, ago
from tests.support.posts import make_post
from wall.core.model import Media
from wall.engine.config import PanelSettings, WallSection
from wall.engine.replay import best_first
from widgets.hub import Hub
from widgets.mentions import MentionsPanel
from widgets.window import WallWindow

from .conftest import settle

PHOTO = Media("https://example.org/photo.png", "a photo")
NEWEST = [
    make_post("n1", text="Newest", created_at=ago(minutes=5)),
    make_post("n2", created_at=ago(minutes=6)),
]
OLDER = [
    make_post("o1", text="Photo two days ago", created_at=ago(days=2), media=(PHOTO,)),
    make_post("o2", text="Text yesterday", created_at=ago(days=1)),
    make_post("o3", text="Photo reply", created_at=ago(days=3), media=(PHOTO,), is_reply=True),
    make_post("o4", text="Text six days ago", created_at=ago(days=6)),
]
TOO_OLD = make_post("old", text="Eight days ago", created_at=ago(days=8), media=(PHOTO,))


class Wall:
    """A 1920x1080 window with a replaying mentions panel (2 cards) and a clock panel after it."""

    def __init__(self, qtbot: QtBot, clock: SteppedClock, replay: bool = True) -> None:
        self.hub, self.clock = Hub(), clock
        mentions = PanelSettings(
            type="mentions", limit=2, replay=replay, replay_after=timedelta(minutes=30), replay_days=7
        )
        self.hub.set_posts("mention", NEWEST)
        # What the engine hands over: what the screen may show today, at most 7 days old, best first.
        self.hub.set_replay_pool("mention", best_first([*NEWEST, *OLDER]))
        self.window = WallWindow(
            self.hub, WallSection(), [mentions, PanelSettings(type="clock")], clock=clock
        )
        qtbot.addWidget(self.window)
        self.window.rotator.stop()
        self.window.resize(1920, 1080)
        self.window.show()
        settle(self.hub)
        panel = self.window.current_panel()
        assert isinstance(panel, MentionsPanel)
        self.panel = panel

    def shown(self) -> list[str]:
        """The ids on the cards, featured first."""
        return [card.post().id for card in self.panel.cards() if card.post() is not None]  # type: ignore[union-attr]

    def round(self, minutes: float) -> list[str]:
        """`minutes` later, the clock panel has its turn and the mentions come back: what they show."""
        self.clock.advance(minutes=minutes)
        self.window.rotator.advance()
        assert self.window.current_panel() is not self.panel
        self.window.rotator.advance()
        assert self.window.current_panel() is self.panel
        settle(self.hub)
        return self.shown()


@pytest.fixture
def wall(qtbot: QtBot) -> Iterator[Wall]:
    yield Wall(qtbot, SteppedClock(NOW))


def test_quiet_for_less_than_replay_after_keeps_the_newest_cards(wall: Wall) -> None:
    assert wall.shown() == ["n1", "n2"]
    assert wall.round(minutes=10) == ["n1", "n2"]
    assert wall.round(minutes=14) == ["n1", "n2"]  # the newest post is 29 minutes old


def test_past_replay_after_other_recent_posts_take_turns_best_first_none_twice(wall: Wall) -> None:
    wall.clock.advance(minutes=24)
    turns = [wall.round(minutes=1), wall.round(minutes=1), wall.round(minutes=1)]
    # Pictures first (the reply with a photo before the texts), then newest first; the cards that
    # were on screen wait for the next round; nothing older than 7 days.
    assert turns[0] == ["o1", "o3"]
    assert turns[1] == ["o2", "o4"]
    assert turns[2] == ["o1", "o3"]  # every post has played: a new round
    assert wall.panel.featured_post() is not None and wall.panel.featured_post().id == "o1"  # type: ignore[union-attr]


def test_a_new_post_is_shown_and_featured_at_once_and_the_replay_stops(wall: Wall) -> None:
    assert wall.round(minutes=40) == ["o1", "o3"]
    wall.panel.feature_next()  # the second replayed post has its turn in the large card
    assert wall.panel.featured_post() == OLDER[2]
    fresh = make_post("new", text="Just posted", created_at=wall.clock.now)
    wall.hub.set_posts("mention", [fresh, *NEWEST])
    settle(wall.hub)
    assert wall.shown() == ["new", "n1"]  # at once: no turn needed
    assert wall.panel.featured_post() == fresh
    assert wall.round(minutes=5) == ["new", "n1"]  # quiet again only 30 minutes after it


def test_a_post_hidden_meanwhile_leaves_the_replay_at_once(wall: Wall) -> None:
    assert wall.round(minutes=40) == ["o1", "o3"]
    # A moderator hides o3: the engine hands over a pool without it.
    wall.hub.set_replay_pool("mention", best_first([*NEWEST, *OLDER[:2], OLDER[3]]))
    settle(wall.hub)
    assert wall.shown() == ["o1"]
    assert "o3" not in wall.round(minutes=1) + wall.round(minutes=1)


def test_posts_older_than_replay_days_never_replay(wall: Wall) -> None:
    wall.hub.set_replay_pool("mention", best_first([*NEWEST, *OLDER, TOO_OLD]))
    seen = [post for minutes in (40, 1, 1, 1) for post in wall.round(minutes=minutes)]
    assert "old" not in seen and {"o1", "o2", "o3", "o4"} <= set(seen)


def test_without_replay_the_newest_cards_stay_for_hours(qtbot: QtBot) -> None:
    wall = Wall(qtbot, SteppedClock(NOW), replay=False)
    assert wall.round(minutes=40) == ["n1", "n2"]
    assert wall.round(minutes=600) == ["n1", "n2"]


def test_a_panel_kept_on_screen_for_another_round_replays_too(qtbot: QtBot) -> None:
    hub, clock = Hub(), SteppedClock(NOW)
    hub.set_posts("mention", NEWEST)
    hub.set_replay_pool("mention", best_first([*NEWEST, *OLDER]))
    settings = PanelSettings(type="mentions", limit=2, replay=True)
    window = WallWindow(hub, WallSection(), [settings], clock=clock)
    qtbot.addWidget(window)
    window.rotator.stop()
    window.show()
    settle(hub)
    panel = window.current_panel()
    assert isinstance(panel, MentionsPanel)
    clock.advance(minutes=31)
    window.rotator.advance()  # the only panel: shown again
    settle(hub)
    assert [card.post().id for card in panel.cards()] == ["o1", "o3"]  # type: ignore[union-attr]
