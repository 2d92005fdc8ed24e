"""Right-to-left posts (issue 7): Arabic and Hebrew start at the right of their card, French at the left."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from tests.support.clock import ago
from tests.support.posts import make_post
from wall.core.model import Author, Media
from wall.engine.config import PanelSettings, WallSection
from widgets.cards import PostCard
from widgets.hub import Hub
from widgets.posts import PostsPanel
from widgets.text import text_direction
from widgets.window import WallWindow

from .conftest import current, png_bytes, settle

MENTIONS = PanelSettings(type="mentions")
ARABIC = "شكراً لفريق الاستقبال"
HEBREW = "תודה רבה לצוות"
FRENCH = "Merci à l'équipe de l'accueil"
PHOTO = "https://example.org/photo.png"


def ink_span(image: QImage, area: QRect, background_lightness: int) -> tuple[int, int]:
    """Leftmost and rightmost columns of `area` where something is drawn (pixels unlike the background)."""
    columns = [
        x
        for x in range(area.left(), area.right() + 1)
        if any(
            abs(image.pixelColor(x, y).lightness() - background_lightness) > 90
            for y in range(area.top(), area.bottom() + 1, 2)
        )
    ]
    assert columns, f"nothing drawn in {area}"
    return columns[0], columns[-1]


def text_span(window: WallWindow, label: QLabel) -> tuple[float, float]:
    """Where the label's glyphs are, as fractions of the label's width (0 = its left edge)."""
    image = window.grab().toImage()
    box = QRect(label.mapTo(window, label.rect().topLeft()), label.size())
    card = label.parentWidget()
    assert card is not None
    surface = image.pixelColor(card.mapTo(window, card.rect().center()).x(), box.top() + 1).lightness()
    left, right = ink_span(image, box, surface)
    return (left - box.left()) / box.width(), (right - box.left()) / box.width()


def featured_card(window: WallWindow) -> PostCard:
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    return panel.featured


@pytest.mark.parametrize(
    ("text", "rtl"),
    [
        (ARABIC, True),
        (HEBREW, True),
        (FRENCH, False),
        ("شكراً Maison Lumière 🎉", True),  # a Latin brand name and an emoji inside Arabic
        (f"🎉 {HEBREW} !", True),  # a leading emoji is neutral: the first letter decides
        (f"Maison Lumière : {ARABIC}", False),
    ],
)
def test_post_text_starts_on_the_side_its_script_is_read_from(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], text: str, rtl: bool
) -> None:
    # with a picture below it, the text has a side (a post alone in its card is centred: issue 15)
    hub.add_image(PHOTO, png_bytes(400, 300))
    hub.set_posts("mention", [make_post(text=text, media=(Media(PHOTO),))])
    window = open_window(hub, wall_fr, [MENTIONS])
    label = featured_card(window).text_label
    assert label.text() == text  # whole, nothing reordered in the string itself
    left, right = text_span(window, label)
    if rtl:
        assert right > 0.97 and left > 0.3, (left, right)
        assert label.layoutDirection() == Qt.LayoutDirection.RightToLeft
    else:
        assert left < 0.03 and right < 0.9, (left, right)
        assert label.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_compact_cards_and_author_names_follow_their_own_script(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    posts = [
        make_post("1", text=FRENCH, created_at=ago(minutes=1)),
        make_post("2", text=HEBREW, author=Author("נועה כהן"), created_at=ago(minutes=2)),
        make_post("3", text="Merci à l'accueil", created_at=ago(minutes=3)),
    ]
    hub.set_posts("mention", posts)
    window = open_window(hub, wall_fr, [MENTIONS])
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    cards = {card.post().id: card for card in panel.cards() if card.post() is not None}  # type: ignore[union-attr]
    hebrew, french = cards["2"], cards["3"]
    assert not hebrew.featured and not french.featured
    h_left, h_right = text_span(window, hebrew.text_label)
    f_left, f_right = text_span(window, french.text_label)
    assert h_right > 0.97 and h_left > 0.4, (h_left, h_right)
    assert f_left < 0.03 and f_right < 0.9, (f_left, f_right)
    assert hebrew.name_label.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert french.name_label.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_a_card_reused_for_another_language_turns_around(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.add_image(PHOTO, png_bytes(400, 300))
    hub.set_posts("mention", [make_post("1", text=ARABIC, media=(Media(PHOTO),))])
    window = open_window(hub, wall_fr, [MENTIONS])
    label = featured_card(window).text_label
    assert text_span(window, label)[1] > 0.97
    hub.set_posts("mention", [make_post("2", text=FRENCH, media=(Media(PHOTO),))])
    settle(hub, window)
    assert featured_card(window).text_label is label
    assert text_span(window, label)[0] < 0.03


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        (ARABIC, Qt.LayoutDirection.RightToLeft),
        (HEBREW, Qt.LayoutDirection.RightToLeft),
        ("« 2025 » " + HEBREW, Qt.LayoutDirection.RightToLeft),
        ("#lobby " + ARABIC, Qt.LayoutDirection.LeftToRight),
        (FRENCH, Qt.LayoutDirection.LeftToRight),
        ("🎉 123", Qt.LayoutDirection.LeftToRight),
        ("", Qt.LayoutDirection.LeftToRight),
    ],
)
def test_direction_is_the_one_of_the_first_letter(text: str, direction: Qt.LayoutDirection) -> None:
    assert text_direction(text) == direction
