"""Trends from a known set of posts: what counts, what is left out, and shares that add up."""

from __future__ import annotations

from tests.support.clock import NOW, ago
from tests.support.posts import make_post
from wall.engine.trends import NetworkShare, Term, compute_trends, excluded_keys, whole_percents, words_of

POSTS = [
    make_post("1", text="Super atelier à Lyon #MaisonLumière #Vélo", network="mastodon"),
    make_post("2", text="Atelier vélo génial, merci ! #velo #maisonlumiere", network="bluesky"),
    make_post("3", text="L'atelier de Lille répare les vélos #Vélo #Vélo #Vélo", network="mastodon"),
    make_post(
        "4",
        text="Click & collect: ordered at 9, picked up at 11. Smooth! https://t.example/x @maisonlumiere",
        network="x",
    ),
    # outside the 24 h:
    make_post("5", text="Old news about the atelier #vélo", network="mastodon", created_at=ago(hours=25)),
]


def test_hashtags_are_counted_once_a_post_whatever_their_case() -> None:
    trends = compute_trends(POSTS, NOW)
    assert trends.total == 4
    assert trends.hashtags[0] == Term("#Vélo", 2)  # posts 1 and 3; `#velo` without accent is another
    assert Term("#velo", 1) in trends.hashtags
    assert {Term("#MaisonLumière", 1), Term("#maisonlumiere", 1)} <= set(trends.hashtags)
    assert len(trends.hashtags) == 4


def test_words_leave_out_stop_words_links_handles_numbers_and_hashtags() -> None:
    trends = compute_trends(POSTS, NOW)
    words = {term.text: term.posts for term in trends.words}
    assert words["atelier"] == 3  # "L'atelier" counts as atelier; the 25 h old post does not count
    shown = {term.text for term in compute_trends(POSTS, NOW, top=50).words}
    assert not shown & {"les", "the", "at", "https", "maisonlumiere", "11", "merci", "vélo", "velo"}
    assert words_of("C'est l'équipe de Lyon qu'on aime, https://x.example/a @bob 2025") == {
        "équipe",
        "lyon",
        "aime",
    }


def test_exclude_removes_the_brand_name_and_its_hashtag() -> None:
    trends = compute_trends(POSTS, NOW, exclude=["Maison Lumière"], top=50)
    tags = {term.text.casefold() for term in trends.hashtags}
    assert "#maisonlumière" not in tags
    assert "#maisonlumiere" in tags  # without the accent it is another spelling: list it too to hide it
    assert excluded_keys(["#MaisonLumière", "Maison Lumière"]) == {"maisonlumière", "maison", "lumière"}


def test_network_shares_and_whole_percentages_add_up_to_100() -> None:
    trends = compute_trends(POSTS, NOW)
    assert trends.networks == (
        NetworkShare("mastodon", 2, 0.5, 50),
        NetworkShare("bluesky", 1, 0.25, 25),
        NetworkShare("x", 1, 0.25, 25),
    )
    three = compute_trends([make_post(n, text=n, network=n) for n in "abc"], NOW)
    assert [share.percent for share in three.networks] == [34, 33, 33]
    assert whole_percents([1, 1, 1]) == [34, 33, 33]
    assert whole_percents([2, 1]) == [67, 33]
    assert whole_percents([0, 0]) == [0, 0]


def test_no_post_in_the_last_24_hours_means_no_trends() -> None:
    empty = compute_trends([make_post(text="#old", created_at=ago(hours=30))], NOW)
    assert not empty
    assert empty.total == 0 and empty.hashtags == () and empty.networks == ()


def test_top_limits_each_list_and_ties_go_to_the_most_recent() -> None:
    posts = [make_post(str(i + 1), text=f"#t{i} mot{i}", created_at=ago(hours=10 - i)) for i in range(8)]
    trends = compute_trends(posts, NOW, top=3)
    assert [term.text for term in trends.hashtags] == ["#t7", "#t6", "#t5"]
    assert len(trends.words) == 3


def test_tags_given_by_the_source_count_like_hashtags_in_the_text() -> None:
    trends = compute_trends(
        [make_post("1", text="Photo du jour", tags=("Lyon",)), make_post("2", text="#lyon")], NOW
    )
    assert trends.hashtags == (Term("#Lyon", 2),)
