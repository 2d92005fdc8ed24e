"""Mention and internal cards: who, what, when, pictures, and nothing remote ever rendered as markup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.support.clock import NOW, ago
from tests.support.posts import make_post
from wall.core.i18n import relative_time
from wall.core.model import Author, Media
from wall.engine.config import PanelSettings, WallSection
from widgets.cards import PostCard
from widgets.hub import Hub
from widgets.internal import InternalPanel
from widgets.posts import PostsPanel
from widgets.text import ELLIPSIS
from widgets.window import WallWindow

from .conftest import current, labels_text, png_bytes, settle

MENTIONS = PanelSettings(type="mentions")
PHOTO = "https://example.org/photo.png"
WITH_AVATAR = Author("Camille Dupont", "@camille@mastodon.social", "https://example.org/avatar/1.png")


def posts_panel(window: WallWindow) -> PostsPanel:
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    return panel


def featured(window: WallWindow) -> PostCard:
    card = posts_panel(window).featured
    assert card.isVisibleTo(window)
    return card


def test_card_shows_author_text_and_french_relative_time(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, wall_fr, [MENTIONS])
    texts = labels_text(featured(window))
    assert "Camille Dupont" in texts
    assert "@camille@mastodon.social" in texts
    assert "Superbe accueil dans votre agence de Lille" in texts
    assert "il y a 5\u00a0min" in texts
    assert featured(window).mark.network() == "mastodon"


def test_english_wall_says_minutes_ago(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, wall_en, [MENTIONS])
    shown = featured(window).time_label.text()
    assert shown == relative_time(NOW - timedelta(minutes=5), NOW, "en")
    assert shown.startswith("5 min") and shown.endswith("ago")


def test_remote_markup_is_shown_literally_never_as_rich_text(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    markup = '<b>bold</b><img src="file:///etc/passwd">'
    hub.set_posts(
        "mention", [make_post(text=markup, author=Author("<i>Eve</i>")), make_post("2", text=markup)]
    )
    window = open_window(hub, wall_fr, [MENTIONS])
    card = featured(window)
    assert card.text_label.textFormat() == Qt.TextFormat.PlainText
    assert card.text_label.text() == markup
    assert "<i>Eve</i>" in labels_text(card)
    formats = {label.textFormat() for label in window.findChildren(QLabel)}
    assert formats == {Qt.TextFormat.PlainText}


def test_first_post_is_featured_and_the_next_ones_compact_up_to_the_limit(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    posts = [make_post(str(i), text=f"Message {i}", created_at=ago(minutes=i + 1)) for i in range(6)]
    hub.set_posts("mention", posts)
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions", limit=4)])
    panel = posts_panel(window)
    cards = panel.cards()
    assert [card.post() for card in cards] == posts[:4]
    assert cards[0].featured and not any(card.featured for card in cards[1:])
    assert cards[0].height() > cards[1].height()
    assert "Message 4" not in labels_text(window)


def test_panel_shows_only_its_sources(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post("1", source="other", text="Ailleurs"), make_post("2", text="Ici")])
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions", sources=["masto"])])
    assert [post.text for post in posts_panel(window).shown_posts()] == ["Ici"]
    assert "Ailleurs" not in labels_text(window)


def test_long_text_is_elided_on_a_word_boundary(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    text = "Un très long message qui raconte une visite en agence avec beaucoup de détails. " * 30
    hub.set_posts("mention", [make_post(text=text)])
    window = open_window(hub, wall_fr, [MENTIONS])
    shown = featured(window).text_label.text()
    assert shown.endswith(ELLIPSIS)
    kept = shown[: -len(ELLIPSIS)]
    assert text.startswith(kept) and text[len(kept)] in " ."
    assert featured(window).text_label.full_text() == text


def test_pictures_show_once_loaded_and_avatar_starts_as_initials(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    requested: list[str] = []
    hub.set_image_requester(requested.append)
    post = make_post(author=WITH_AVATAR, media=(Media(PHOTO, "une photo"),))
    hub.set_posts("mention", [post])
    window = open_window(hub, wall_fr, [MENTIONS])
    card = featured(window)
    assert set(requested) == {PHOTO, post.author.avatar_url}
    assert not card.image.isVisibleTo(window)
    assert not card.avatar.has_picture()

    hub.add_image(PHOTO, png_bytes(400, 300))
    hub.add_image(post.author.avatar_url, png_bytes(64, 64, "#cc3366"))
    settle(hub, window)
    assert card.image.isVisibleTo(window) and card.image.has_picture()
    assert card.avatar.has_picture()


def test_broken_image_bytes_are_skipped(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    post = make_post(author=WITH_AVATAR, media=(Media(PHOTO),))
    hub.add_image(PHOTO, b"\x89PNG this is not an image")
    hub.add_image(post.author.avatar_url, b"GIF89a broken")
    hub.set_posts("mention", [post])
    window = open_window(hub, wall_fr, [MENTIONS])
    card = featured(window)
    assert window.context.pixmaps.is_broken(PHOTO)  # it was decoded, and refused
    assert not card.image.isVisibleTo(window)
    assert not card.avatar.has_picture()
    assert "Superbe accueil dans votre agence de Lille" in labels_text(card)
    window.grab()  # painting a card with a broken picture must not fail either


def test_sensitive_post_shows_no_picture_and_a_discreet_note(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.add_image(PHOTO, png_bytes())
    hub.set_posts(
        "mention",
        [
            make_post("1", media=(Media(PHOTO),), sensitive=True, text="Texte visible"),
            make_post(
                "2", media=(Media(PHOTO),), sensitive=True, spoiler_text="Spoiler du film", text="La fin"
            ),
        ],
    )
    window = open_window(hub, wall_fr, [MENTIONS])
    first, second = posts_panel(window).cards()
    for card in (first, second):
        assert not card.image.isVisibleTo(window) and not card.image.has_picture()
        assert PHOTO not in card.image_urls()
        assert "Contenu masqué" in labels_text(card)
    assert "Texte visible" in labels_text(first)
    assert "Spoiler du film" in labels_text(second) and "La fin" not in labels_text(second)


def test_unchanged_posts_leave_the_cards_alone_and_edits_update_them(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    original = [make_post("1", text="Avant"), make_post("2")]
    hub.set_posts("mention", original)
    window = open_window(hub, wall_fr, [MENTIONS])
    panel = posts_panel(window)
    cards = panel.cards()

    hub.set_posts("mention", [replace(post) for post in original])  # equal copies, as a new poll brings
    settle(hub)
    assert panel.cards() == cards
    assert cards[0].post() is original[0]  # not even re-set

    edited = replace(original[0], text="Après", edited_at=NOW)
    hub.set_posts("mention", [edited, original[1]])
    settle(hub)
    assert panel.cards() == cards
    assert cards[0].post() is edited
    assert "Après" in labels_text(cards[0])


def test_internal_panel_is_set_visibly_apart(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post()])
    hub.set_posts("internal", [make_post(kind="internal", source="rse", network="matrix")])
    mentions = open_window(hub, wall_fr, [MENTIONS])
    internal = open_window(hub, wall_fr, [PanelSettings(type="internal")])
    panel = current(internal)
    assert isinstance(panel, InternalPanel) and panel.featured.internal
    assert panel.title() == "Dans l'entreprise"
    corner = (5, 200)  # panel margin, below the header
    assert mentions.grab().toImage().pixelColor(*corner) != internal.grab().toImage().pixelColor(*corner)
    card = panel.featured.grab().toImage()
    plain = posts_panel(mentions).featured.grab().toImage()
    middle = (card.width() // 2, card.height() - 5)
    assert card.pixelColor(*middle) != plain.pixelColor(*middle)


def test_empty_panel_says_so(hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]) -> None:
    window = open_window(hub, wall_fr, [MENTIONS, PanelSettings(type="internal")])
    assert not posts_panel(window).has_content()
    assert "Aucune mention pour l'instant" in labels_text(window)


def test_portrait_screen_puts_the_featured_post_on_top_of_the_others(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts(
        "mention",
        [make_post(str(i), text=f"Message numéro {i}", created_at=ago(minutes=i + 1)) for i in range(5)],
    )
    window = open_window(hub, wall_fr, [MENTIONS])
    panel = posts_panel(window)
    assert not panel.is_portrait()
    first, second = panel.cards()[:2]
    assert first.geometry().right() < second.mapTo(panel, second.rect().topLeft()).x()  # side by side

    window.resize(1080, 1920)
    settle(hub, window)
    assert panel.is_portrait()
    top = first.mapTo(panel, first.rect().bottomLeft())
    below = second.mapTo(panel, second.rect().topLeft())
    assert top.y() < below.y()  # the others come below the featured post
    assert first.width() > 0.9 * panel.width()  # which takes the whole width
    assert all(card.isVisibleTo(window) and card.height() > 100 for card in panel.cards())

    window.resize(1920, 1080)
    settle(hub, window)
    assert not panel.is_portrait()


def test_a_short_featured_post_is_as_large_on_a_portrait_screen_as_on_a_landscape_one(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts(
        "mention", [make_post("1", text="Bravo Lille !"), make_post("2", created_at=ago(minutes=9))]
    )
    window = open_window(hub, wall_fr, [MENTIONS])
    panel = posts_panel(window)
    landscape = panel.featured.text_label.font().pixelSize()
    window.resize(1080, 1920)
    settle(hub, window)
    portrait = panel.featured.text_label.font().pixelSize()
    # The portrait theme is sized for 1080 px of width (3/4 of the landscape one): the short post
    # still grows to the landscape size, instead of staying 3/4 as large in a card as big.
    assert panel.is_portrait() and portrait >= 0.95 * landscape
    assert "Bravo Lille !" in labels_text(panel.featured)
