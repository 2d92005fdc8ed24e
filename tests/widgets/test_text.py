"""Long remote texts are cut cleanly: on a word boundary, never inside a glyph, with an ellipsis."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from widgets.text import ELLIPSIS, ZWSP, elide_to_fit, grapheme_cuts


def metrics() -> QFontMetrics:
    font = QFont()
    font.setFamilies(["Noto Sans", "DejaVu Sans", "Noto Color Emoji"])
    font.setPixelSize(40)
    return QFontMetrics(font)


def test_short_text_is_shown_whole(qapp: QApplication) -> None:
    assert elide_to_fit("Bravo à toute l'équipe", metrics(), 1000, 200) == "Bravo à toute l'équipe"


def test_long_text_is_cut_after_a_whole_word(qapp: QApplication) -> None:
    text = "Merci pour l'accueil chaleureux de ce matin, votre équipe a été formidable du début à la fin " * 3
    shown = elide_to_fit(text, metrics(), 600, 130)
    assert shown.endswith(ELLIPSIS)
    kept = shown[: -len(ELLIPSIS)]
    assert text.startswith(kept)
    assert text[len(kept)] in " ,"  # the next character starts a new word: no word was cut
    assert len(kept) < len(text) / 2


def test_a_word_wider_than_the_box_wraps_and_is_cut_between_graphemes(qapp: QApplication) -> None:
    family = "👨\u200d👩\u200d👧"
    text = "Lien : " + ("https://example.org/" + family) * 20
    shown = elide_to_fit(text, metrics(), 300, 130)
    kept = shown[: -len(ELLIPSIS)].replace(ZWSP, "")  # invisible break opportunities inside the URL
    assert shown.endswith(ELLIPSIS) and text.startswith(kept)
    assert len(kept) in grapheme_cuts(text)
    assert metrics().horizontalAdvance(kept) > 300  # the URL wrapped onto a second line instead of vanishing


def test_grapheme_cuts_never_split_emoji_or_accents(qapp: QApplication) -> None:
    text = "a👍🏽e\u0301👨\u200d👩\u200d👧b"
    assert grapheme_cuts(text) == [1, 3, 5, 10]


def test_nothing_fits_in_an_empty_box(qapp: QApplication) -> None:
    assert elide_to_fit("Bonjour", metrics(), 0, 100) == ""


def test_a_url_wraps_after_its_slashes_and_is_cut_there(qapp: QApplication) -> None:
    text = "Lien : https://example.org/un/chemin/vraiment/tres/long/qui/ne/tient/pas/sur/deux/lignes/du/tout"
    shown = elide_to_fit(text, metrics(), 400, 110)
    kept = shown[: -len(ELLIPSIS)]
    assert text.startswith(kept) and "https://example.org/" in kept
    assert kept.endswith("/")
