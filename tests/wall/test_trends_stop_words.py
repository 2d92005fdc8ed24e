"""The trends panel's words carry topics, not filler (issue 15): stop words of French and English
from the `stopwordsiso` package, and the brand still left out."""

from __future__ import annotations

from tests.support.clock import NOW
from tests.support.posts import make_post
from wall.core.model import Post
from wall.engine.trends import compute_trends, stop_words_for, words_of

BRAND = ["Maison Lumière"]

FRENCH = [
    make_post(
        "f1",
        text="Petit message pour remercier l'équipe de l'atelier de Lyon, toujours aussi accueillante "
        "aujourd’hui !",
        language="fr",
    ),
    make_post(
        "f2",
        text="Mise en service du nouvel atelier pneus chez Maison Lumière : encore merci à l'équipe, "
        "car c'était rapide",
        language="fr-FR",
    ),
    make_post("f3", text="Un message de bienvenue à l'accueil, et voilà notre atelier pneus tout neuf #Lyon"),
]

ENGLISH = [
    make_post(
        "e1",
        text="Just wanted to say thanks, the team at Maison Lumière fixed my car really quickly today",
        language="en",
    ),
    make_post(
        "e2", text="Great message from the Lumière team: the new car wash is open this week", language="en-GB"
    ),
    make_post("e3", text="Honestly the best car service I've ever had, the team was amazing", language="en"),
]


def shown_words(posts: list[Post], top: int = 50) -> dict[str, int]:
    return {term.text: term.posts for term in compute_trends(posts, NOW, exclude=BRAND, top=top).words}


def test_french_trends_show_topics_not_filler_nor_the_brand() -> None:
    words = shown_words(FRENCH)

    assert list(shown_words(FRENCH, top=3).items()) == [("atelier", 3), ("pneus", 2), ("équipe", 2)]
    filler = {"message", "mise", "aujourd’hui", "voilà", "toujours", "merci", "encore", "neuf", "car"}
    assert not filler & words.keys()
    assert not {"maison", "lumière"} & words.keys()


def test_english_trends_show_topics_not_filler_nor_the_brand() -> None:
    words = shown_words(ENGLISH)

    # `car` is a French stop word ("because") but the topic of these English posts.
    assert list(shown_words(ENGLISH, top=2).items()) == [("car", 3), ("team", 3)]
    filler = {"message", "just", "wanted", "say", "thanks", "really", "quickly", "today", "i've", "great"}
    assert not filler & words.keys()
    assert "lumière" not in words


def test_both_lists_apply_whatever_the_language_tag_says() -> None:
    # The demo tags every post with an emoji as French; sources' tags are often as wrong.
    assert words_of("Tried the new click & collect service today", language="fr") == {"collect", "service"}
    assert words_of("Mise en place du message car the new atelier") == {"atelier"}
    assert words_of("Mise en place du message car the new atelier", language="en-US") == {"car", "atelier"}
    assert stop_words_for("fr") == stop_words_for(None) > stop_words_for("en")
