"""Employees' consent on the lobby screen: required tag, opt-out, how authors are named, retention."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sources.rss import RssSettings
from tests.support.posts import make_post
from wall.core.model import Author, Media
from wall.engine.config import ConfigProblems, load_config
from wall.engine.consent import Consent, consent_for, first_initial, image_urls, shown_posts, split
from wall.engine.services import purge
from wall.engine.store import Store

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


ALICE = Author("Alice Martin", "@alice.martin:corp.example", "https://rse.example/avatar/alice.png")

# A colleague's post on the company network (what consent is about): Alice's, an hour before NOW.
internal = partial(
    make_post,
    text="Bravo à l'équipe #mur",
    kind="internal",
    source="rse",
    network="matrix",
    author=ALICE,
    created_at=NOW - timedelta(hours=1),
)


def rules(**values: Any) -> Consent:
    settings = RssSettings.model_validate(
        {"name": "rse", "type": "rss", "url": "https://rse.example/feed", "kind": "internal", **values}
    )
    return consent_for(settings)


# --- the required tag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags", "shown"),
    [
        ("Bravo à l'équipe #mur", (), True),
        ("Bravo à l'équipe #MUR !", (), True),
        ("Fin de chantier #Lobby", (), True),
        ("Un message sans tag", (), False),
        ("Le mur du fond est repeint", (), False),  # the word, not the tag
        ("Visite de la #murale du hall", (), False),  # another tag that starts the same
        ("Email: team#mur@corp", (), False),  # not a tag when glued to a word
        ("Sans tag dans le texte", ("mur",), True),  # the network's own tag field counts
        ("Sans tag dans le texte", ("#Lobby",), True),
    ],
)
def test_internal_posts_need_one_of_the_default_tags(text: str, tags: tuple[str, ...], shown: bool) -> None:
    consent = rules()
    assert consent.tags == ("mur", "lobby")
    assert (consent.refusal(internal(text=text, tags=tags), NOW) == "") is shown


def test_tags_are_configurable_or_can_be_switched_off() -> None:
    assert rules(require_tag="#accueil").tags == ("accueil",)
    assert rules(require_tag=["Accueil", "#mur", "mur"]).tags == ("accueil", "mur")
    assert rules(require_tag=False).refusal(internal(text="Un message sans tag"), NOW) == ""
    refused = rules(require_tag="accueil").refusal(internal(text="Bravo #mur"), NOW)
    assert refused == "no #accueil tag (require_tag)"


def test_public_sources_need_no_tag_and_show_full_names_by_default() -> None:
    consent = consent_for(
        RssSettings.model_validate({"name": "n", "type": "rss", "url": "https://x.example/f"})
    )
    assert consent == Consent()
    assert consent.refusal(internal(text="rien", created_at=NOW - timedelta(days=400)), NOW) == ""


# --- opt-out --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        "@alice.martin:corp.example",
        "alice.martin:corp.example",
        "alice.martin",
        "@Alice.Martin",
        "Alice Martin",
    ],
)
def test_opted_out_authors_are_matched_by_handle_or_full_name(entry: str) -> None:
    consent = rules(opt_out=[entry])
    assert consent.refusal(internal(), NOW) == "author opted out (opt_out)"
    assert consent.refusal(internal(author=Author("Bob Durand", "@bob:corp.example")), NOW) == ""


def test_opt_out_wins_over_the_tag() -> None:
    consent = rules(opt_out=["Alice Martin"], require_tag=False)
    assert consent.refusal(internal(text="no tag"), NOW) == "author opted out (opt_out)"


# --- names ----------------------------------------------------------------------------------------


def test_internal_authors_are_shown_as_first_name_and_initial_by_default() -> None:
    shown = rules().present(internal())
    assert shown.author == Author("Alice M.", "", "https://rse.example/avatar/alice.png")
    nameless = rules().present(internal(author=Author("", "@jean-pierre.dupont:corp.example")))
    assert nameless.author.name == "Jean-Pierre D."


def test_show_authors_full_and_none() -> None:
    assert rules(show_authors="full").present(internal()).author.name == "Alice Martin"
    anonymous = rules(show_authors="none").present(internal())
    assert anonymous.author == Author("")
    assert anonymous.text == internal().text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Alice Martin", "Alice M."),
        ("Alice", "Alice"),
        ("Marie-Claire de la Tour", "Marie-Claire T."),
        ("", ""),
    ],
)
def test_first_initial(name: str, shown: str) -> None:
    assert first_initial(name) == shown


def test_shown_posts_use_each_sources_rules() -> None:
    posts = [
        internal(source="rse"),
        internal("2", source="rse", text="sans tag"),
        internal(source="other", text="x"),
    ]
    shown = shown_posts(posts, {"rse": rules()}, NOW)
    assert [(p.source, p.author.name) for p in shown] == [("rse", "Alice M."), ("other", "Alice Martin")]


# --- retention ------------------------------------------------------------------------------------


def test_internal_posts_are_kept_seven_days_by_default() -> None:
    consent = rules()
    assert consent.refusal(internal(created_at=NOW - timedelta(days=6, hours=23)), NOW) == ""
    assert (
        consent.refusal(internal(created_at=NOW - timedelta(days=7, hours=1)), NOW)
        == "older than 7 days (retention_days)"
    )
    assert rules(retention_days=1.5).refusal(internal(created_at=NOW - timedelta(days=2)), NOW) == (
        "older than 1.5 days (retention_days)"
    )


# --- config errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('require_tag = "#"', "sources[0].require_tag: '#' is not a tag: write it like 'mur' or '#mur'"),
        ("require_tag = []", "sources[0].require_tag: is empty: write false to show posts without a tag"),
        (
            'opt_out = ["  "]',
            "sources[0].opt_out: has an empty entry: write each author's handle or full name",
        ),
        (
            'show_authors = "initials"',
            "sources[0].show_authors: 'initials' is not allowed: use one of 'full', 'first_initial' or",
        ),
        ("retention_days = 0", "sources[0].retention_days: 0 is too small: use a value above 0"),
    ],
)
def test_bad_consent_keys_name_the_field_and_the_fix(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "wall.toml"
    path.write_text(
        '[[sources]]\nname = "rse"\ntype = "rss"\nurl = "https://rse.example/feed"\n'
        f'kind = "internal"\n{line}\n'
    )
    with pytest.raises(ConfigProblems) as raised:
        load_config(path, env={})
    assert any(p.startswith(f"{path}: ") and message in p for p in raised.value.lines), raised.value.lines


# --- purge ----------------------------------------------------------------------------------------


def test_purge_removes_what_consent_and_retention_no_longer_allow(tmp_path: Path) -> None:
    from wall.core.model import Batch

    store = Store(tmp_path / "wall.sqlite3")
    shared = "https://rse.example/avatar/shared.png"
    kept = internal("kept", author=Author("Bob Durand", "@bob:corp.example", shared))
    alice = internal("alice", media=(Media("https://rse.example/media/1.jpg", "a cake"),))
    alice_shared = internal("alice2", author=replace(ALICE, avatar_url=shared))
    old = internal(
        "old", author=Author("Chloé Petit", "@chloe:corp.example"), created_at=NOW - timedelta(days=9)
    )
    public = internal(
        "public",
        source="news",
        created_at=NOW - timedelta(days=90),
        author=replace(ALICE, avatar_url="https://news.example/a.png"),
    )
    store.apply("rse", Batch(posts=(kept, alice, alice_shared, old)), now=NOW)
    store.apply("news", Batch(posts=(public,)), now=NOW)

    purged = purge(store, {"rse": rules(opt_out=["alice.martin"]), "news": Consent()}, NOW)

    assert purged.posts == 3
    assert purged.kinds == {"internal"}
    assert sorted(p.id for p in store.posts_of("rse")) == ["kept"]
    assert [p.id for p in store.posts_of("news")] == ["public"]
    # Pictures only the removed posts used are named for deletion; one a kept post shows is not.
    assert purged.image_urls == image_urls([alice, old]) - {shared}
    assert shared not in purged.image_urls
    assert purge(store, {"rse": rules(opt_out=["alice.martin"])}, NOW).posts == 0
    store.close()


def test_split_keeps_the_order() -> None:
    posts = [internal("a"), internal("b", text="sans tag"), internal("c", text="#lobby")]
    admitted, refused = split(posts, rules(), NOW)
    assert [p.id for p in admitted] == ["a", "c"]
    assert [p.id for p in refused] == ["b"]
