"""The store keeps what the wall showed across restarts, deduplicated and bounded."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.posts import make_post
from wall.core.model import Author, Batch, Count, Health, Post, PostKind, SourceStatus
from wall.engine.moderation.decisions import BlockedAuthor
from wall.engine.store import Store

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def post(n: int, source: str = "s", kind: PostKind = "mention", text: str = "hello") -> Post:
    """The `n`-th post of `source`, `n` minutes after T0 (a higher `n` is newer), its text ending in `n`."""
    return make_post(
        str(n),
        text=f"{text} {n}",
        kind=kind,
        source=source,
        network="rss",
        created_at=T0 + timedelta(minutes=n),
    )


def test_posts_survive_a_restart_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.apply("s", Batch(posts=(post(1), post(3), post(2))))
    store.close()
    again = Store(tmp_path / "w.db")
    assert [p.id for p in again.recent_posts("mention")] == ["3", "2", "1"]
    assert again.recent_posts("mention")[0].text == "hello 3"


def test_repolling_is_idempotent_and_edits_replace(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.apply("s", Batch(posts=(post(1),))).kinds == {"mention"}
    assert not store.apply("s", Batch(posts=(post(1),)))  # nothing changed: no repaint
    store.apply("s", Batch(posts=(post(1, text="edited"),)))
    assert [p.text for p in store.recent_posts("mention")] == ["edited 1"]


def test_a_post_keeps_its_first_seen_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.apply("s", Batch(posts=(post(1), post(5))))
    undated_again = replace(post(1), created_at=T0 + timedelta(hours=3))
    assert not store.apply("s", Batch(posts=(undated_again,)))
    assert [p.id for p in store.recent_posts("mention")] == ["5", "1"]


def test_deletion_removes_the_post(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.apply("s", Batch(posts=(post(1), post(2))))
    change = store.apply("s", Batch(deleted=("1",)))
    assert change.kinds == {"mention"}
    assert [p.id for p in store.recent_posts("mention")] == ["2"]


def test_each_source_is_capped(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db", max_posts_per_source=10)
    store.apply("s", Batch(posts=tuple(post(n) for n in range(25))))
    store.apply("t", Batch(posts=(post(0, source="t"),)))
    assert store.post_count("s") == 10 and store.post_count("t") == 1
    assert store.recent_posts("mention", 1)[0].id == "24"


def test_counts_latest_and_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    for minutes, value in ((0, 100), (15, 120), (30, 150)):
        count = Count("s", "mastodon", "brand", value, T0 + timedelta(minutes=minutes), "Brand")
        store.apply("s", Batch(counts=(count,)), now=T0)
    (latest,) = store.latest_counts()
    assert latest.value == 150 and latest.label == "Brand"
    history = store.count_history(T0 - timedelta(days=1))
    assert [c.value for c in history[latest.key]] == [100, 120, 150]


def test_status_and_cursor_persist(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.save_status(SourceStatus("s", "rss", Health.STALE, last_success=T0, last_error="HTTP 500"))
    store.save_state("s", {"since_id": "42"})
    store.close()
    again = Store(tmp_path / "w.db")
    (status,) = again.statuses()
    assert status.health is Health.STALE and status.last_error == "HTTP 500" and status.last_success == T0
    assert again.load_state("s") == {"since_id": "42"}


def test_forgetting_removed_sources(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.apply("old", Batch(posts=(post(1, source="old"),)))
    store.apply("kept", Batch(posts=(post(2, source="kept"),)))
    assert store.forget_sources(["kept"]) == 1
    assert [p.source for p in store.recent_posts("mention")] == ["kept"]


def test_disabling_a_source_takes_its_posts_and_counts_off(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.apply(
        "off", Batch(posts=(post(1, source="off"),), counts=(Count("off", "x", "acct", 5, T0),)), now=T0
    )
    store.save_state("off", {"cursor": "1"})
    store.apply("on", Batch(counts=(Count("on", "x", "acct", 9, T0),)), now=T0)
    store.forget_sources(["on"])
    assert store.recent_posts("mention") == []
    assert [c.source for c in store.latest_counts()] == ["on"]
    assert store.load_state("off") == {}


def test_an_unblock_is_kept_across_a_restart_and_audited(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    store.block_author(
        "@troll@bad.example", "Alice", post_key="s:1", network="mastodon", name="Troll", now=T0
    )
    store.block_author("Spam", "Bob", post_key="s:2", network="rss", name="Spam", now=T0 + timedelta(hours=1))
    assert store.blocked_author_list() == [
        BlockedAuthor("Spam", "Bob", T0 + timedelta(hours=1), "rss", "Spam", "s:2"),
        BlockedAuthor("@troll@bad.example", "Alice", T0, "mastodon", "Troll", "s:1"),
    ]
    assert store.unblock_author("@troll@bad.example", "Camille", now=T0 + timedelta(hours=2))
    assert not store.unblock_author("@troll@bad.example", "Camille")  # not blocked any more: no entry
    store.close()
    again = Store(tmp_path / "w.db")  # what a kill -9 leaves: every write is committed at once
    assert again.blocked_authors() == ["Spam"]
    entry = again.audit_log()[0]
    assert (entry.at, entry.who, entry.action, entry.post_key, entry.detail) == (
        T0 + timedelta(hours=2),
        "Camille",
        "unblock author",
        "s:1",
        "@troll@bad.example",
    )
    assert len(again.audit_log()) == 3


def test_a_block_made_before_the_list_existed_is_listed_from_the_audit_log(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "w.db")  # the table as the first moderation page wrote it
    old.executescript(
        "CREATE TABLE blocked_authors (author TEXT PRIMARY KEY, who TEXT NOT NULL, at REAL NOT NULL);"
        "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL, "
        "action TEXT NOT NULL, post_key TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');"
        f"INSERT INTO blocked_authors VALUES ('@troll@bad.example', 'Alice', {T0.timestamp()});"
        f"INSERT INTO audit (at, who, action, post_key, detail) "
        f"VALUES ({T0.timestamp()}, 'Alice', 'block author', 's:1', '@troll@bad.example');"
    )
    old.close()
    store = Store(tmp_path / "w.db")
    troll = replace(post(1), network="mastodon", author=Author("Troll", "@troll@bad.example"))
    store.apply("s", Batch(posts=(troll,)))
    assert store.blocked_author_list() == [
        BlockedAuthor("@troll@bad.example", "Alice", T0, "mastodon", "Troll", "s:1")
    ]
    assert store.unblock_author("@troll@bad.example", "Bob") and store.blocked_author_list() == []


def test_a_removed_source_leaves_the_screen_at_once_and_its_data_after_the_grace_period(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "w.db")
    store.apply(
        "off", Batch(posts=(post(1, source="off"),), counts=(Count("off", "x", "acct", 5, T0),)), now=T0
    )
    store.apply("on", Batch(posts=(post(2, source="on"),)), now=T0)
    assert store.retire_sources(["on"], now=T0) == []
    assert [p.source for p in store.recent_posts("mention")] == ["on"]  # off the screen…
    assert store.latest_counts() == []
    assert store.post_count("off") == 1  # …but kept: a reload never destroys
    assert store.retire_sources(["on", "off"], now=T0 + timedelta(days=3)) == []  # back in the config
    assert {p.source for p in store.recent_posts("mention")} == {"on", "off"}
    store.retire_sources(["on"], now=T0 + timedelta(days=4))
    assert store.retire_sources(["on"], now=T0 + timedelta(days=10)) == []  # 6 days out: still kept
    assert store.retire_sources(["on"], now=T0 + timedelta(days=11, hours=1)) == ["off"]
    assert store.post_count("off") == 0 and store.retired_sources() == {}
