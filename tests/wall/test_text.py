"""Remote HTML becomes plain text a card can show safely."""

from __future__ import annotations

from wall.core.text import MAX_TEXT_CHARS, clean_text, html_to_text


def test_markup_dropped_entities_decoded_paragraphs_kept() -> None:
    html = '<p>Merci &amp; bravo à <a href="https://x">@équipe</a> 🎉</p><p>2e ligne<br>3e</p>'
    assert html_to_text(html) == "Merci & bravo à @équipe 🎉\n2e ligne\n3e"


def test_scripts_styles_and_images_vanish_with_their_content() -> None:
    html = '<script>alert("x")</script><style>p{}</style><img src="file:///etc/passwd">Salut'
    assert html_to_text(html) == "Salut"


def test_escaped_markup_stays_literal_text() -> None:
    assert html_to_text("&lt;b&gt;not bold&lt;/b&gt;") == "<b>not bold</b>"


def test_bidi_overrides_and_zalgo_neutralised() -> None:
    assert clean_text("abc\u202edef") == "abcdef"
    zalgo = "Z" + "\u0301\u0302\u0303\u0304\u0305" * 10
    assert len(clean_text(zalgo)) <= 3


def test_huge_text_is_bounded() -> None:
    text = clean_text("a" * 100_000)
    assert len(text) == MAX_TEXT_CHARS and text.endswith("…")


def test_french_no_break_spaces_are_kept() -> None:
    assert html_to_text("<p>1&nbsp;200 collaborateurs&nbsp;!</p>") == "1\u00a0200 collaborateurs\u00a0!"
