"""People's moderation decisions hold: re-judging, restarts and new rules never undo them (issue 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytest_httpserver import HTTPServer

from tests.support.posts import make_post
from tests.support.screen import RecordingScreen
from wall.core.model import Author, Batch, Media, Post
from wall.engine.config import WallConfig, parse_config
from wall.engine.engine import Engine
from wall.engine.moderation.decisions import Decision, PublishedAnnouncement, status_of
from wall.engine.moderation.rules import (
    AWAITING_APPROVAL,
    BLOCKED_AUTHOR,
    ModerationSettings,
    Moderator,
    Verdict,
)
from wall.engine.services import make_client, open_store
from wall.engine.store import Store
from wall.shell.desk import WallDesk
from wall.shell.windows import build_windows
from widgets.hub import Hub

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PRE = ModerationSettings(mode="pre")
FAN = Author("Fan", "@fan@masto.example")
PICTURE = Media("https://img.example/a.png", "a red bicycle")


def mention(n: int, text: str = "Bravo", *, author: Author = FAN) -> Post:
    """The `n`-th mention of the news source, `n` minutes after T0, with a described picture."""
    return make_post(
        str(n),
        text=f"{text} {n}",
        source="news",
        author=author,
        created_at=T0 + timedelta(minutes=n),
        media=(PICTURE,),
    )


def judged(store: Store, moderator: Moderator, *posts: Post) -> None:
    store.apply("news", Batch(posts=posts), verdicts=moderator.judge_many(posts), now=T0)


def on_screen(store: Store) -> list[str]:
    return [p.id for p in store.recent_posts("mention")]


def test_pre_moderation_waits_for_a_person_and_their_decisions_hold(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    moderator = Moderator(PRE)
    judged(store, moderator, mention(1), mention(2), mention(3))
    assert on_screen(store) == []
    assert [i.post.id for i in store.queue("awaiting")] == ["3", "2", "1"]

    assert store.decide("news:1", "approve", "Alice", now=T0) == "mention"
    assert store.decide("news:2", "approve", "Alice", now=T0) == "mention"
    assert on_screen(store) == ["2", "1"]
    store.decide("news:2", "hide", "Bob", now=T0)
    assert on_screen(store) == ["1"]
    assert store.decide("news:404", "approve", "Alice", now=T0) is None  # not stored: nothing recorded

    # The rules judge everything again at start, and the source sends the posts again: no change.
    store.set_verdicts(Moderator(PRE).judge_many(store.posts_of("news")))
    judged(store, Moderator(PRE), mention(1), mention(2), mention(3))
    assert on_screen(store) == ["1"]
    store.close()
    again = Store(tmp_path / "w.db")  # a restart (the database is WAL, synchronous=FULL)
    assert on_screen(again) == ["1"]
    assert [i.post.id for i in again.queue("awaiting")] == ["3"]
    assert [i.post.id for i in again.queue("hidden")] == ["2"]
    assert [(a.who, a.action, a.post_key) for a in again.audit_log()] == [
        ("Bob", "hide", "news:2"),
        ("Alice", "approve", "news:2"),
        ("Alice", "approve", "news:1"),
    ]


def test_a_hidden_post_stays_hidden_even_when_the_rules_allow_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    judged(store, Moderator(ModerationSettings()), mention(1), mention(2))
    assert on_screen(store) == ["2", "1"]
    store.decide("news:2", "hide", "Alice")
    judged(store, Moderator(ModerationSettings()), mention(2, "Bravo, edited"))  # an edit comes in
    assert on_screen(store) == ["1"]


def test_pinned_posts_come_first_and_unpinned_ones_take_their_place_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    judged(store, Moderator(ModerationSettings()), mention(1), mention(2), mention(3))
    store.decide("news:1", "pin", "Alice")
    assert on_screen(store) == ["1", "3", "2"]
    assert [i.pinned for i in store.queue()] == [False, False, True]
    store.decide("news:1", "approve", "Alice", action="unpin")
    assert on_screen(store) == ["3", "2", "1"]
    assert store.audit_log()[0].action == "unpin"


def test_a_deleted_post_takes_its_decision_along(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    judged(store, Moderator(PRE), mention(1))
    store.decide("news:1", "approve", "Alice")
    store.apply("news", Batch(deleted=("1",)))
    judged(store, Moderator(PRE), mention(1))  # the same id comes back: a person must look again
    assert on_screen(store) == []


def test_panic_is_kept_across_restarts_and_audited(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert not store.panic()
    store.set_panic(True, "Alice")
    store.close()
    again = Store(tmp_path / "w.db")
    assert again.panic()
    again.set_panic(False, "Bob")
    assert not again.panic()
    assert [(a.who, a.action) for a in again.audit_log()] == [("Bob", "panic off"), ("Alice", "panic on")]


# --- the running Engine: real RSS over HTTP; what the screen shows, at once (no Qt needed) -----------------

RSS = "application/rss+xml"
FEED_ITEMS = (
    ("a", "Marie", "Bravo pour le nouveau magasin"),
    ("b", "Troll", "Votre magasin est nul"),
    ("c", "Paul", "Super accueil ce matin"),
)


def feed(*items: tuple[str, str, str]) -> str:
    entries = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><author>{who}@example.org ({who})</author>'
        f"<description>{text}</description><pubDate>Mon, 23 Nov 2026 08:0{n}:00 GMT</pubDate></item>"
        for n, (guid, who, text) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{entries}</channel></rss>'


def config_for(tmp_path: Path, url: str, mode: str = "pre") -> WallConfig:
    return parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "moderation": {"mode": mode},
            "sources": [{"name": "news", "type": "rss", "url": url}],
        },
        env={},
    )


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def shown_ids(hub: Hub) -> list[str]:
    return [p.id for p in hub.posts("mention")]


async def test_actions_reach_the_hub_at_once_and_survive_a_restart(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(*FEED_ITEMS), content_type=RSS)
    config = config_for(tmp_path, httpserver.url_for("/feed"))
    store, screen, client = open_store(config), RecordingScreen(), make_client(config)
    engine = Engine(config, store, screen, client)
    (source,) = engine.sources
    await engine.poller.poll_once(source)
    assert store.post_count() == 3 and screen.ids() == []  # pre-moderation: nothing on screen yet

    assert await engine.act("news:a", "approve", "Alice")
    assert screen.ids() == ["a"]  # in the screen already: the screen repaints within 150 ms
    assert await engine.act("news:c", "approve", "Alice")
    assert await engine.act("news:a", "pin", "Alice")
    assert screen.ids() == ["a", "c"]
    assert await engine.act("news:c", "hide", "Bob")
    assert screen.ids() == ["a"]
    assert not await engine.act("news:zzz", "approve", "Alice")

    # Block an author: their stored posts go, even an approved one, and later ones never come.
    assert await engine.act("news:b", "approve", "Alice")
    assert screen.ids() == ["a", "b"]
    assert await engine.act("news:b", "block", "Alice")
    assert screen.ids() == ["a"]
    assert store.blocked_authors() == ["Troll"]
    await engine.stop()

    # Restart: a new Engine re-judges every stored post with the rules, and polls the feed again.
    engine = Engine(config, store, screen, client)
    screen.set_posts("mention", [])
    engine.fill_screen_from_store()
    assert screen.ids() == ["a"]
    engine.start()
    await until(lambda: store.meta("schema_version") is not None and _polled(store))
    await asyncio.sleep(0.2)
    assert screen.ids() == ["a"]
    later = make_post(
        "d", text="Encore moi", source="news", network="rss", author=Author("Troll"), created_at=T0
    )
    assert engine.moderators["news"].judge(later).reason == "blocked author"
    audit = [(a.who, a.action, a.post_key, a.detail) for a in store.audit_log()]
    assert audit[0] == ("Alice", "block author", "news:b", "Troll")
    assert ("Alice", "pin", "news:a", "") in audit and ("Bob", "hide", "news:c", "") in audit
    await engine.stop()
    await client.aclose()
    store.close()


TROLL_ITEMS = (
    ("a", "Marie", "Bravo pour le nouveau magasin"),
    ("b", "Troll", "Votre magasin est nul"),
    ("c", "Troll", "Quel con ce vendeur"),  # a blocked word: hidden by the rules, block or not
    ("d", "Troll", "Je reviens demain"),  # hidden by a person
    ("e", "Troll", "Le parking est plein"),
)


async def test_unblocking_brings_back_only_what_every_other_rule_and_decision_allows(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(*TROLL_ITEMS), content_type=RSS)
    config = config_for(tmp_path, httpserver.url_for("/feed"), mode="post")
    store, screen, client = open_store(config), RecordingScreen(), make_client(config)
    engine = Engine(config, store, screen, client)
    await engine.poller.poll_once(engine.sources[0])
    assert screen.ids() == ["e", "d", "b", "a"]
    assert await engine.act("news:d", "hide", "Bob")
    assert await engine.act("news:b", "block", "Alice")
    assert screen.ids() == ["a"]
    (blocked,) = await engine.blocked_authors()
    assert (blocked.author, blocked.who, blocked.network, blocked.post_key) == (
        "Troll",
        "Alice",
        "rss",
        "news:b",
    )
    assert not blocked.in_config

    assert await engine.unblock_author("Troll", "Camille")
    assert screen.ids() == ["e", "b", "a"]  # on the screen at once; the word and the hide still hold
    reasons = {i.post.id: (i.status, i.verdict.reason if i.verdict else "") for i in store.queue()}
    assert reasons["c"] == ("hidden", "blocked word: con") and reasons["d"][0] == "hidden"
    assert store.blocked_authors() == [] and await engine.blocked_authors() == []
    assert not await engine.unblock_author("Troll", "Camille")  # no longer blocked: nothing to do
    entry = store.audit_log()[0]
    assert (entry.who, entry.action, entry.post_key, entry.detail) == (
        "Camille",
        "unblock author",
        "news:b",
        "Troll",
    )
    assert [a.action for a in store.audit_log()].count("unblock author") == 1
    await engine.stop()

    engine = Engine(config, store, screen, client)  # a restart: the unblock holds
    screen.set_posts("mention", [])
    engine.fill_screen_from_store()
    engine.start()
    await until(lambda: _polled(store))
    await asyncio.sleep(0.2)
    assert screen.ids() == ["e", "b", "a"]
    later = make_post(
        "f", text="Encore moi", source="news", network="rss", author=Author("Troll"), created_at=T0
    )
    assert engine.moderators["news"].judge(later).shown
    await engine.stop()
    await client.aclose()
    store.close()


async def test_unblocking_on_the_page_leaves_an_author_the_config_blocks_hidden(tmp_path: Path) -> None:
    config = parse_config(
        {
            "storage": {"state_dir": str(tmp_path / "state")},
            "moderation": {"blocked_authors": ["@troll"]},
            "sources": [{"name": "news", "type": "rss", "url": "http://127.0.0.1:9/feed"}],
        },
        env={},
    )
    store, screen, client = open_store(config), RecordingScreen(), make_client(config)
    engine = Engine(config, store, screen, client)
    posts = (mention(1, author=Author("Troll", "@troll@masto.example")), mention(2))
    store.apply("news", Batch(posts=posts), verdicts=engine.moderators["news"].judge_many(posts))
    assert await engine.act("news:1", "block", "Alice")
    (blocked,) = await engine.blocked_authors()
    assert blocked.author == "@troll@masto.example" and blocked.name == "Troll" and blocked.in_config
    assert await engine.unblock_author("@troll@masto.example", "Alice")
    assert screen.ids() == ["2"]  # wall.toml still blocks them
    await engine.stop()
    await client.aclose()
    store.close()


def _polled(store: Store) -> bool:
    return any(s.last_success is not None for s in store.statuses())


async def test_panic_switches_every_window_to_the_branded_screen(
    tmp_path: Path, httpserver: HTTPServer, qapp: QApplication
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(*FEED_ITEMS), content_type=RSS)
    config = config_for(tmp_path, httpserver.url_for("/feed"), mode="post")
    store, hub, client = open_store(config), Hub(), make_client(config)
    engine = Engine(config, store, hub, client)
    await engine.poller.poll_once(engine.sources[0])
    windows = build_windows(config, hub)
    for window in windows:
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        window.resize(1280, 720)
        window.show()
    desk = WallDesk(store, lambda: engine, lambda: windows)
    try:
        hub.flush()
        assert windows[0].rotator.isVisible() and shown_ids(hub) == ["c", "b", "a"]
        await desk.set_panic(True, "Alice")
        assert store.panic() and await desk.panic()
        window = windows[0]
        assert window.panic_active() and window.brand_screen.isVisible()
        assert not window.rotator.isVisible() and not window.header.isVisible()  # no posts, no clock
        calm = window.grab().toImage()
        colours = {calm.pixel(x, y) for x in range(0, 1280, 16) for y in range(0, 720, 16)}
        assert len(colours) < 20  # a plain background with the brand name, not a wall of cards
        await desk.set_panic(False, "Alice")
        assert not window.panic_active() and window.rotator.isVisible() and window.header.isVisible()
        assert [a.action for a in await desk.audit_log()] == ["panic off", "panic on"]
    finally:
        for window in windows:
            window.close()
        desk.close()
        await engine.stop()
        await client.aclose()
        store.close()


def test_a_published_announcement_is_kept_until_withdrawn_and_every_change_is_audited(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.set_announcement(None, "Alice", T0)  # nothing published: nothing to withdraw, nothing logged
    assert store.announcement() is None and store.audit_log() == []
    drill = PublishedAnnouncement(
        "Exercice", "Sortie par l'escalier B", "https://intra.example/f", "Alice", T0
    )
    store.set_announcement(drill, "Alice", T0)
    store.close()
    again = Store(tmp_path / "w.db")  # a restart
    assert again.announcement() == drill
    again.set_announcement(None, "Bob", T0 + timedelta(hours=1))
    assert again.announcement() is None
    assert [(a.who, a.action, a.detail) for a in again.audit_log()] == [
        ("Bob", "withdraw announcement", "Exercice"),
        ("Alice", "publish announcement", "Exercice — Sortie par l'escalier B — https://intra.example/f"),
    ]
    again.close()


async def test_the_hourly_purge_lets_the_moderators_forget_what_the_store_dropped(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed").respond_with_data(feed(*FEED_ITEMS), content_type=RSS)
    config = config_for(tmp_path, httpserver.url_for("/feed"), mode="post")
    config = config.model_copy(
        update={"storage": config.storage.model_copy(update={"max_posts_per_source": 2})}
    )
    store, screen, client = open_store(config), RecordingScreen(), make_client(config)
    engine = Engine(config, store, screen, client)
    try:
        await engine.poller.poll_once(engine.sources[0])
        assert store.post_count() == 2  # the store keeps 2 a source: the oldest is gone
        assert engine.moderators["news"].remembered() == 3
        await engine.purge()
        assert engine.moderators["news"].remembered() == 2
    finally:
        await engine.stop()
        await client.aclose()
        store.close()


VERDICTS: dict[str, Verdict | None] = {
    "not judged": None,
    "allowed": Verdict(True),
    "allowed without its picture": Verdict(True, "sensitive media", hide_media=True),
    "blocked word": Verdict(False, "blocked word: con"),
    "awaiting approval": Verdict(False, AWAITING_APPROVAL),
    "blocked author": Verdict(False, BLOCKED_AUTHOR),
}
DECISIONS: tuple[Decision | None, ...] = (None, "approve", "hide", "pin")


def test_the_store_and_status_of_agree_on_what_is_shown_in_every_combination(tmp_path: Path) -> None:
    """ "Is this post shown?" is written twice, in SQL for the screen (`store._SHOWN`) and in Python for
    the page (`decisions.status_of`): every verdict with every decision gives the same answer."""
    store = Store(tmp_path / "w.db")
    expected: dict[str, bool] = {}
    n = 0
    for label, verdict in VERDICTS.items():
        for decision in DECISIONS:
            n += 1
            post = mention(n, f"{label} / {decision}")
            store.apply(
                "news", Batch(posts=(post,)), verdicts={post.key: verdict} if verdict else None, now=T0
            )
            if decision is not None:
                store.decide(post.key, decision, "Alice", now=T0)
            expected[post.key] = status_of(verdict, decision) == "shown"
    shown = {p.key for p in store.recent_posts("mention", 100)}
    assert {key for key, on in expected.items() if on} == shown
    assert 0 < len(shown) < len(expected)  # both answers occur
