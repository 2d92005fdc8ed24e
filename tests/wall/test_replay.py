"""Quiet hours of content (issue 15, "post shuffle"): the configuration, the choice of what replays,
and the pool the engine hands the screen from a real SQLite store, through to the mentions panel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtWidgets import QApplication

from tests.support.clock import NOW, SteppedClock, ago
from tests.support.posts import make_post
from wall.core.model import Author, Batch, Media, Post
from wall.engine.config import ConfigProblems, load_config, parse_config
from wall.engine.engine import Engine
from wall.engine.replay import ReplayTurns, best_first
from wall.engine.services import make_client, open_store
from wall.engine.store import Store
from widgets.hub import Hub
from widgets.mentions import MentionsPanel
from widgets.window import WallWindow

PHOTO = Media("https://img.example/photo.jpg", "a photo")
MALLORY = Author("Mallory Martin", "@mallory@masto.example")
BOB = Author("Bob", "@bob@masto.example")


# --- the configuration ------------------------------------------------------------------------


def problems(tmp_path: Path, panel: str) -> list[str]:
    path = tmp_path / "wall.toml"
    path.write_text(f"[[panels]]\n{panel}\n", encoding="utf-8")
    with pytest.raises(ConfigProblems) as refused:
        load_config(path, env={})
    return refused.value.lines


def test_replay_is_read_from_a_mentions_panel(tmp_path: Path) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(
        '[[panels]]\ntype = "mentions"\nreplay = true\nreplay_after = "1h30m"\nreplay_days = 3\n',
        encoding="utf-8",
    )
    (panel,) = load_config(path, env={}).panels
    assert panel.replay and panel.replay_after == timedelta(minutes=90) and panel.replay_days == 3
    default = parse_config({"panels": [{"type": "mentions"}]}).panels[0]
    assert not default.replay and default.replay_after == timedelta(minutes=30) and default.replay_days == 7


@pytest.mark.parametrize(
    ("panel", "line"),
    [
        (
            'type = "internal"\nreplay = true',
            "wall.toml: panels[0].replay: internal posts are never replayed: an employee agreed to be "
            "on the lobby screen when they posted, not again days later: remove it "
            "(replay is for mentions panels)",
        ),
        (
            'type = "fans"\nreplay = true',
            "wall.toml: panels[0].replay: is only read by mentions panels: remove it, "
            'or set type = "mentions"',
        ),
        (
            'type = "mentions"\nreplay = true\nreplay_after = 30',
            "wall.toml: panels[0].replay_after: 30 has no unit: write it with its unit, "
            'e.g. replay_after = "30m" (also "2h", "1h30m", "90s")',
        ),
        (
            'type = "mentions"\nreplay = true\nreplay_after = "half an hour"',
            "wall.toml: panels[0].replay_after: 'half an hour' is not a duration: write it with its unit, "
            'e.g. replay_after = "30m" (also "2h", "1h30m", "90s")',
        ),
        (
            'type = "mentions"\nreplay = true\nreplay_after = "10s"',
            "wall.toml: panels[0].replay_after: '10s' is out of range: use between 1 minute and 24 hours "
            '(e.g. replay_after = "30m")',
        ),
        (
            'type = "mentions"\nreplay = true\nreplay_days = 0',
            "wall.toml: panels[0].replay_days: 0 is below the minimum of 1: use a value of at least 1",
        ),
        (
            'type = "mentions"\nreplay_after = "2h"',
            "wall.toml: panels[0].replay_after: is set while replay is off: add replay = true, or remove it",
        ),
        (
            'type = "internal"\nreplay_days = 3',
            "wall.toml: panels[0].replay_days: is only read by mentions panels with replay = true: remove it",
        ),
    ],
)
def test_a_wrong_replay_setting_names_the_file_the_field_and_the_fix(
    tmp_path: Path, panel: str, line: str
) -> None:
    lines = problems(tmp_path, panel)
    assert lines == [line.replace("wall.toml", str(tmp_path / "wall.toml"))]


# --- the choice (pure) --------------------------------------------------------------------------


def test_best_first_is_pictures_then_originals_then_newest() -> None:
    text_new = make_post("text-new", created_at=ago(hours=1))
    text_old = make_post("text-old", created_at=ago(days=2))
    photo_old = make_post("photo-old", created_at=ago(days=5), media=(PHOTO,))
    photo_reply = make_post("photo-reply", created_at=ago(hours=2), media=(PHOTO,), is_reply=True)
    text_reply = make_post("text-reply", created_at=ago(minutes=30), is_reply=True)
    ranked = best_first([text_reply, text_old, photo_reply, text_new, photo_old])
    assert [p.id for p in ranked] == ["photo-old", "photo-reply", "text-new", "text-old", "text-reply"]


def test_no_post_plays_twice_before_all_have_played_whatever_the_pool_size() -> None:
    newest = [make_post("n", created_at=ago(hours=2))]
    pool = best_first([*newest, *(make_post(f"p{i}", created_at=ago(hours=3 + i)) for i in range(5))])
    turns = ReplayTurns(timedelta(minutes=30), days=7)
    shown: list[str] = []
    for _ in range(6):
        turns.next_turn(newest, pool, 2, NOW)
        shown += [p.id for p in turns.cards(newest, pool, 2, NOW).posts]
    # the newest card had its time before the replay: the first round replays the others first
    assert shown[:5] == ["p0", "p1", "p2", "p3", "p4"]
    assert len(shown) == 12
    for start in range(len(shown) - 5):  # any six cards in a row: every post of the pool once
        assert len(set(shown[start : start + 6])) == 6, shown


# --- the pool, from a real store ----------------------------------------------------------------


@dataclass
class Wall:
    store: Store
    hub: Hub
    engine: Engine
    clock: SteppedClock
    client: httpx.AsyncClient

    def arrive(self, source: str, *posts: Post) -> None:
        verdicts = self.engine.moderators[source].judge_many(posts)
        self.store.apply(source, Batch(posts=posts), verdicts=verdicts, now=self.clock())


def config(tmp_path: Path, *, replay: bool = True, opt_out: list[str] | None = None) -> Any:
    return parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "sources": [
                {"name": "news", "type": "rss", "url": "http://127.0.0.1:9/feed", "opt_out": opt_out or []},
                {
                    "name": "forum",
                    "type": "rss",
                    "url": "http://127.0.0.1:9/f",
                    "moderation": {"mode": "pre"},
                },
                {"name": "rse", "type": "rss", "url": "http://127.0.0.1:9/r", "kind": "internal"},
            ],
            "panels": [
                {"type": "mentions", "limit": 2, "replay": replay, "replay_after": "30m"},
                {"type": "internal"},
            ],
        }
    )


@pytest.fixture
async def wall(tmp_path: Path, qapp: QApplication) -> AsyncIterator[Wall]:
    clock = SteppedClock(NOW)
    first = config(tmp_path)
    store, hub, client = open_store(first), Hub(), make_client(first)
    engine = Engine(first, store, hub, client, clock=clock)
    parts = Wall(store, hub, engine, clock, client)
    parts.arrive(
        "news",
        make_post("n1", text="Newest", source="news", created_at=ago(minutes=5)),
        make_post("n2", text="Second newest", source="news", created_at=ago(minutes=6)),
        make_post("o1", text="Photo of the new shop", source="news", created_at=ago(days=2), media=(PHOTO,)),
        make_post("o2", text="Nice people", source="news", created_at=ago(days=1)),
        make_post("hidden", text="Hidden by comms", source="news", created_at=ago(days=1), media=(PHOTO,)),
        make_post("bob", text="By a blocked author", source="news", author=BOB, created_at=ago(days=1)),
        make_post("mallory", text="Opted out since", source="news", author=MALLORY, created_at=ago(days=1)),
        make_post("old", text="Eight days ago", source="news", created_at=ago(days=8), media=(PHOTO,)),
    )
    parts.arrive("forum", make_post("pending", text="Awaits approval", source="forum", media=(PHOTO,)))
    parts.arrive("rse", make_post("inside", text="Team lunch #mur", source="rse", kind="internal"))
    store.decide("news:hidden", "hide", "Alice", now=clock())
    await engine.stop()
    # Mallory opted out after her post was stored; Bob is blocked from the moderation page.
    later = config(tmp_path, opt_out=["@mallory@masto.example"])
    engine = Engine(later, store, hub, client, clock=clock)
    parts.engine = engine
    assert await engine.block_author("news:bob", "Alice")
    engine.fill_screen_from_store()
    hub.flush()
    try:
        yield parts
    finally:
        hub.flush()
        await engine.stop()
        await client.aclose()
        store.close()


async def test_the_pool_holds_only_what_the_screen_may_show_today_best_first(wall: Wall) -> None:
    assert [p.id for p in wall.hub.replay_pool("mention")] == ["o1", "n1", "n2", "o2"]
    assert wall.hub.replay_pool("internal") == []  # internal posts never replay
    assert await wall.engine.act("news:o2", "hide", "Alice")
    wall.hub.flush()
    assert [p.id for p in wall.hub.replay_pool("mention")] == ["o1", "n1", "n2"]


async def test_hidden_pending_blocked_and_opted_out_posts_never_replay_on_the_panel(
    wall: Wall, qapp: QApplication
) -> None:
    panels = wall.engine.config.effective_panels()
    window = WallWindow(wall.hub, wall.engine.config.wall, panels, clock=wall.clock)
    try:
        window.rotator.stop()
        window.show()
        wall.hub.flush()
        panel = window.current_panel()
        assert isinstance(panel, MentionsPanel)
        wall.clock.advance(minutes=40)
        seen: list[str] = []
        for _ in range(4):
            window.rotator.advance()  # the internal panel
            window.rotator.advance()  # the mentions again: a replay turn was taken meanwhile
            wall.hub.flush()
            seen += [card.post().id for card in panel.cards()]  # type: ignore[union-attr]
        assert seen[:2] == ["o1", "o2"]  # the newest cards had their time: the others first
        assert set(seen) == {"o1", "o2", "n1", "n2"}

        # A post approved from the page is new on the screen: it ends the replay at once.
        wall.arrive("forum", make_post("fresh", text="Just in", source="forum", created_at=wall.clock()))
        assert await wall.engine.act("forum:fresh", "approve", "Alice")
        wall.hub.flush()
        assert [card.post().id for card in panel.cards()] == ["fresh", "n1"]  # type: ignore[union-attr]
    finally:
        window.close()
