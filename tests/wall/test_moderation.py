"""What the moderation rules let through to the lobby screen, and the reason given when they don't."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support.posts import FRESH, make_post
from wall.core.model import Author, Media, Post
from wall.engine.moderation.rules import DEFAULT_BLOCKED_WORDS, ModerationSettings, Moderator, Verdict, merged

T0 = FRESH  # when a post was written, unless the test says otherwise
NOW = T0 + timedelta(days=1)


def judge(post: Post, **settings: Any) -> Verdict:
    return Moderator(ModerationSettings(**settings)).judge(post, now=NOW)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # whole words only: no Scunthorpe problem
        ("Merci pour le contact, à bientôt", ""),
        ("Grand concours ce soir !", ""),
        ("Le consommateur d'abord", ""),
        ("Scunthorpe United wins", ""),
        ("Rendez-vous à la Comic-Con", ""),
        ("Notre député visite le site", ""),
        ("Une salopette bleue", ""),
        ("Shiitake and shitake risotto", ""),
        ("Le train est en retard", ""),
        ("Pique-nique géant vendredi", ""),
        ("Pros and cons of remote work", ""),
        ("S E C O N D floor", ""),
        # French insults, accents and leetspeak
        ("quel con", "blocked word: con"),
        ("Quel CON !!", "blocked word: con"),
        ("t'es con", "blocked word: con"),
        ("Bande de connards", "blocked word: connard"),
        ("Connârd", "blocked word: connard"),
        ("c0nn4rd", "blocked word: connard"),
        ("quel coooon", "blocked word: con"),
        ("quel c.o.n", "blocked word: con"),
        ("quel c o n", "blocked word: con"),
        ("t'es c o n et moche", "blocked word: con"),
        ("x c o n", ""),
        ("quel co\u200bn", "blocked word: con"),
        ("#connard", "blocked word: connard"),
        ("ENCULÉS", "blocked word: enculé"),
        ("nique ta mere", "blocked word: nique ta mère"),
        # English
        ("this is shit", "blocked word: shit"),
        ("$h1t service", "blocked word: shit"),
        ("what the fuuuck", "blocked word: fuck"),
        ("bitches", "blocked word: bitch"),
    ],
)
def test_blocked_words_table(text: str, reason: str) -> None:
    verdict = judge(make_post(text=text))
    assert verdict == Verdict(shown=not reason, reason=reason)


def test_blocked_words_in_spoiler_and_author_name() -> None:
    assert judge(make_post(spoiler_text="gros con")).reason == "blocked word: con"
    assert judge(make_post(author=Author("Le Connard", "@x@y.example"))).reason == "blocked word: connard"


def test_custom_words_extend_or_replace_the_default_list() -> None:
    grève = make_post(text="Grève demain à l'usine")
    assert judge(grève).shown
    assert judge(grève, blocked_words=["greve"]).reason == "blocked word: greve"
    assert not judge(make_post(text="quel con")).shown
    assert judge(make_post(text="quel con"), use_default_words=False).shown
    assert judge(make_post(text="Acme Rivale est mieux"), blocked_words=["Acme Rivale"]).shown is False


def test_default_list_is_a_short_french_and_english_list() -> None:
    assert 30 <= len(DEFAULT_BLOCKED_WORDS) <= 80
    assert {"con", "connard", "shit", "fuck"} <= set(DEFAULT_BLOCKED_WORDS)


@pytest.mark.parametrize(
    "entry", ["@troll@bad.example", "troll@bad.example", "@troll", "troll", "TROLL", "Trolly McTroll"]
)
def test_blocked_author_by_handle_with_or_without_at_and_domain_or_by_name(entry: str) -> None:
    post = make_post(author=Author("Trolly McTroll", "@Troll@bad.example"))
    assert judge(post, blocked_authors=[entry]) == Verdict(False, "blocked author")


def test_blocked_author_with_other_domain_is_someone_else() -> None:
    post = make_post(author=Author("Troll", "@troll@good.example"))
    assert judge(post, blocked_authors=["@troll@bad.example"]).shown


def test_a_boost_by_a_blocked_author_is_hidden() -> None:
    post = make_post(boosted_by=Author("Troll", "@troll@bad.example"))
    assert judge(post, blocked_authors=["@troll"]).reason == "blocked author"


def test_an_author_unblocked_from_the_page_passes_again_but_not_one_the_config_blocks() -> None:
    troll, spammer = Author("Troll", "@troll@bad.example"), Author("Spam Bot", "@bot@bad.example")
    moderator = Moderator(
        ModerationSettings(blocked_authors=["@bot"]), blocked_authors=["@troll@bad.example"]
    )
    moderator.block("Spam Bot")  # blocked on the page too
    assert moderator.judge(make_post(author=troll), now=NOW).reason == "blocked author"
    moderator.unblock("@troll@bad.example")
    moderator.unblock("Spam Bot")
    moderator.unblock("@nobody")  # never blocked: nothing happens
    assert moderator.judge(make_post("2", author=troll), now=NOW) == Verdict(True)
    assert moderator.judge(make_post("3", author=spammer), now=NOW).reason == "blocked author"
    assert moderator.blocked_by_settings(spammer) and not moderator.blocked_by_settings(troll)


def test_trusted_author_bypasses_every_rule() -> None:
    official = Author("Acme", "@acme@mastodon.social")
    post = make_post(text="Merde, quel lancement ! https://acme.example", author=official, is_reply=True)
    rules: dict[str, Any] = {"hide_replies": True, "hide_links": True, "mode": "pre", "min_length": 500}
    assert not judge(post, **rules).shown
    assert judge(post, trusted_authors=["@ACME@mastodon.social"], **rules) == Verdict(True)


def test_trust_needs_the_handle_not_a_copied_name_or_another_instance() -> None:
    impostor = make_post(text="merde", author=Author("Acme", "@acme@evil.example"))
    assert not judge(impostor, trusted_authors=["@acme@mastodon.social"]).shown
    assert not judge(impostor, trusted_authors=["acme"]).shown
    assert not judge(impostor, trusted_authors=["Acme"]).shown


@pytest.mark.parametrize(
    ("fields", "settings", "reason"),
    [
        ({"is_reply": True}, {"hide_replies": True}, "reply"),
        ({"boosted_by": Author("Bob", "@bob@x.example")}, {"hide_boosts": True}, "boost"),
        ({"text": "Voir https://example.org"}, {"hide_links": True}, "link"),
        ({"text": "Voir www.example.org"}, {"hide_links": True}, "link"),
        ({"text": "Top"}, {"min_length": 10}, "too short"),
        ({"language": "de"}, {"languages": ["fr", "en"]}, "language: de"),
        ({"sensitive": True}, {"sensitive": "hide_post"}, "sensitive"),
    ],
)
def test_rules_hide_with_a_reason(fields: dict[str, Any], settings: dict[str, Any], reason: str) -> None:
    post = make_post(**fields)
    assert judge(post).shown  # nothing hidden by default
    assert judge(post, **settings) == Verdict(False, reason)


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "Pas de lien ici, www ni http"},
        {"language": None},
        {"language": "fr-CA"},
        {"language": "EN"},
    ],
)
def test_rules_let_through(fields: dict[str, Any]) -> None:
    settings = {"hide_links": True, "languages": ["fr", "en"], "min_length": 10}
    assert judge(make_post(**fields), **settings) == Verdict(True)


def test_sensitive_media_hidden_but_post_shown_by_default() -> None:
    post = make_post(sensitive=True, media=(Media("https://x.example/a.png"),))
    assert judge(post) == Verdict(True, "sensitive: media hidden", hide_media=True)


def test_flood_cap_keeps_the_first_posts_in_a_rolling_hour_and_is_idempotent() -> None:
    moderator = Moderator(ModerationSettings(max_per_author_per_hour=2))
    posts = [
        make_post(str(i), text=f"message numéro {i}", created_at=T0 + timedelta(minutes=10 * i))
        for i in range(4)
    ]
    posts.append(make_post("late", text="le lendemain", created_at=T0 + timedelta(hours=2)))
    other = make_post("bob", text="autre personne", author=Author("Bob", "@bob@x.example"), created_at=T0)
    # Newest first, as a timeline page arrives: the earliest posts still win the slots.
    first = moderator.judge_many([*reversed(posts), other], now=NOW)
    flood = Verdict(False, "flood: more than 2 posts in an hour by @camille@mastodon.social")
    assert [first[p.key] for p in posts] == [Verdict(True), Verdict(True), flood, flood, Verdict(True)]
    assert first[other.key] == Verdict(True)
    again = moderator.judge_many([*posts, other], now=NOW)
    assert again == first


def test_duplicate_text_from_another_post_is_hidden_and_rejudging_is_stable() -> None:
    moderator = Moderator(ModerationSettings())
    original = make_post("1", text="Gagnez un iPhone !!! ")
    copy = make_post("2", text="gagnez un IPHONE", author=Author("Spam", "@spam@x.example"))
    photo_a, photo_b = make_post("3", text=""), make_post("4", text="")
    for _ in range(2):
        assert moderator.judge(original) == Verdict(True)
        assert moderator.judge(copy) == Verdict(False, "duplicate text")
        assert moderator.judge(photo_a).shown and moderator.judge(photo_b).shown
    assert Moderator(ModerationSettings(hide_duplicates=False)).judge_many([original, copy]) == {
        original.key: Verdict(True),
        copy.key: Verdict(True),
    }


def test_forgetting_a_deleted_post_frees_its_text() -> None:
    moderator = Moderator(ModerationSettings())
    first, second = make_post("1", text="Bonjour"), make_post("2", text="Bonjour")
    moderator.judge(first)
    assert not moderator.judge(second).shown
    moderator.forget(first.key)
    assert moderator.judge(second).shown


def test_pre_mode_holds_mentions_but_internal_posts_follow_the_rules() -> None:
    assert judge(make_post(kind="mention"), mode="pre") == Verdict(False, "awaiting approval")
    assert judge(make_post(kind="internal"), mode="pre") == Verdict(True)
    assert judge(make_post(text="quel con", kind="internal"), mode="pre").reason == "blocked word: con"


def test_per_source_override_replaces_keys_and_lists() -> None:
    base = ModerationSettings(blocked_words=["grève"], hide_links=True, languages=["fr"])
    override = merged(base, {"blocked_words": ["rival"], "mode": "pre"})
    assert override.blocked_words == ["rival"]
    assert override.mode == "pre" and override.hide_links and override.languages == ["fr"]
    assert base.mode == "post"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"hide_retweets": True}, "hide_retweets"),
        ({"mode": "manual"}, "mode"),
        ({"min_length": -1}, "min_length"),
        ({"sensitive": "blur"}, "sensitive"),
        ({"blocked_words": ["!!"]}, "blocked_words"),
        ({"languages": ["français"]}, "languages"),
        ({"trusted_authors": ["@"]}, "trusted_authors"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ModerationSettings.model_validate(data)
    assert field in str(caught.value)
    with pytest.raises(ValidationError):
        merged(ModerationSettings(), data)


def test_posts_the_store_no_longer_keeps_are_forgotten() -> None:
    moderator = Moderator(ModerationSettings(max_per_author_per_hour=2))
    old = [make_post(str(i), text=f"message {i}", created_at=T0 + timedelta(minutes=i)) for i in range(2)]
    assert all(v.shown for v in moderator.judge_many(old, now=NOW).values())
    assert moderator.remembered() == 2
    moderator.retain([])  # both purged from the store (retention, or over its cap)
    assert moderator.remembered() == 0
    # Their text and their flood slots are free again: a repost in the same hour is shown.
    again = make_post("new", text="message 0", created_at=T0 + timedelta(minutes=3))
    assert moderator.judge(again, now=NOW) == Verdict(True)
    kept = make_post("1", text="message 1", created_at=T0 + timedelta(minutes=1))
    moderator.retain([again.key, kept.key])
    assert moderator.remembered() == 1
