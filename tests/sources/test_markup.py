"""Chat Markdown to plain text: what the lobby shows of a Mattermost message's markup."""

from __future__ import annotations

import pytest

from sources.base import text_hashtags
from sources.markup import (
    Shelf,
    drop_emphasis,
    markdown_hashtags,
    markdown_to_text,
    replace_emoji,
    split_hashtag_field,
)


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        (
            "**Bravo** à _toute_ l'équipe ~~hier~~ *aujourd'hui* __enfin__",
            "Bravo à toute l'équipe hier aujourd'hui enfin",
        ),
        ("***très*** important", "très important"),
        ("snake_case_name, 2*3*4 et a * b * c", "snake_case_name, 2*3*4 et a * b * c"),
        ("Voir [le programme](https://intranet.example.com/prog_2025) !", "Voir le programme !"),
        ("![le stand](https://img.example.com/stand.jpg) Photo", "le stand Photo"),
        ("Lien : <https://intranet.example.com/a_b_c_>", "Lien : https://intranet.example.com/a_b_c_"),
        ("# Titre\n## Sous-titre ##\n#mur reste", "Titre\nSous-titre\n#mur reste"),
        ("> une citation\n>> imbriquée\nla suite", "une citation\nimbriquée\nla suite"),
        ("- un\n* deux\n+ trois\n1. quatre", "• un\n• deux\n• trois\n1. quatre"),
        ("avant\n\n---\n\naprès", "avant\n\naprès"),
        ("| a | b |\n|---|:---:|\n| 1 | 2 |", "| a | b |\n| 1 | 2 |"),
        ("Le code `x = *1*` et ``a `b` c``", "Le code x = *1* et a `b` c"),
        (
            "avant\n```python\ndef f(*args):\n    return _x_\n```\naprès",
            "avant\ndef f(*args):\nreturn _x_\naprès",  # lines are trimmed
        ),
        ("\\*pas en italique\\* et \\#pas_un_titre", "*pas en italique* et #pas_un_titre"),
        (
            "Bravo :tada: :+1::skin-tone-4: :heart: :perroquet_custom: 12:30:45",
            "Bravo 🎉 👍 ❤️ :perroquet_custom: 12:30:45",
        ),
        ("<b>pas du HTML</b> & <script>", "<b>pas du HTML</b> & <script>"),
        ("texte \ue000 0 \ue001 avec marqueurs", "texte 0 avec marqueurs"),
        ("", ""),
    ],
)
def test_markdown_to_text(markdown: str, text: str) -> None:
    assert markdown_to_text(markdown) == text


def test_markdown_to_text_cleans_the_result() -> None:
    # The shared clean_text pass: controls and bidi overrides gone, blank lines collapsed.
    assert markdown_to_text("a\u202eb\x07\n\n\n\nc") == "ab\n\nc"
    assert markdown_to_text(None) == ""


def test_hashtags_are_found_outside_code_and_link_targets() -> None:
    text = (
        "#Mur `#code` ```\n#bloc\n``` [#lien](https://x.example/#ancre) https://x.example/p#frag C# #1 #mur"
    )

    assert markdown_hashtags(text) == ("mur", "lien")


def test_text_hashtags_need_a_letter_and_are_lowercased() -> None:
    assert text_hashtags("#Salon2025 #2025 #été &#39; a#b #mur_du_hall") == (
        "salon2025",
        "été",
        "mur_du_hall",
    )


def test_hashtag_field_is_split_on_spaces() -> None:
    assert split_hashtag_field("#mur  #Salon2025 #mur") == ("mur", "salon2025")
    assert split_hashtag_field("") == ()


def test_emphasis_markers_are_dropped_only_around_words() -> None:
    assert drop_emphasis("*gras* _it_ ~barré~", ("*", "_", "~")) == "gras it barré"
    assert drop_emphasis("file_name_here * pas *", ("*", "_")) == "file_name_here * pas *"


def test_unknown_shortcodes_stay() -> None:
    assert replace_emoji(":rocket: :nope: :fr:") == "🚀 :nope: 🇫🇷"


def test_shelf_gives_back_what_it_held_even_nested() -> None:
    shelf = Shelf(str.upper)
    inner = shelf.hold("code")
    outer = shelf.hold(f"[{inner}]")

    assert shelf.restore(f"a {outer} b") == "a [CODE] b"
