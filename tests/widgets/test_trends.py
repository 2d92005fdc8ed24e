"""The trends panel: the numbers of a known set of posts, in words people read, never cut."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLabel

from tests.support.clock import ago
from tests.support.posts import make_post
from wall.core.model import Post
from wall.engine.config import PanelSettings, WallSection
from widgets.hub import Hub
from widgets.text import ELLIPSIS
from widgets.trends import TrendCard, TrendsPanel
from widgets.window import WallWindow

from .conftest import current, labels_text, settle

TRENDS = PanelSettings(type="trends", exclude=["Maison Lumière"])
SIZES = [(1920, 1080), (3840, 2160), (1080, 1920)]


def mentions() -> list[Post]:
    return [
        make_post("1", text="Super atelier à Lyon #MaisonLumière #Vélo", network="mastodon"),
        make_post("2", text="Atelier vélo génial #Vélo", network="bluesky", created_at=ago(minutes=30)),
        make_post(
            "3", text="Un atelier à Lille, bravo #Lille", network="mastodon", created_at=ago(minutes=60)
        ),
        make_post("4", text="Smooth click and collect", network="instagram", created_at=ago(minutes=90)),
        make_post("5", text="#Vieux message d'hier", network="x", created_at=ago(hours=30)),
    ]


def trends_panel(window: WallWindow) -> TrendsPanel:
    panel = current(window)
    assert isinstance(panel, TrendsPanel)
    return panel


def rows_text(card: TrendCard) -> list[tuple[str, str]]:
    return [(row.name_label.text(), row.value_label.text()) for row in card.shown_rows()]


def resize(hub: Hub, window: WallWindow, width: int, height: int) -> None:
    window.resize(width, height)
    settle(hub, window)


def test_shows_top_hashtags_words_and_network_shares_in_french(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", mentions())
    window = open_window(hub, wall_fr, [TRENDS])
    panel = trends_panel(window)
    assert window.header.title_label.text() == "Tendances sur 24\u00a0h"
    assert rows_text(panel.hashtags_card) == [("#Vélo", "2"), ("#Lille", "1")]  # the brand is excluded
    assert rows_text(panel.words_card)[0] == ("atelier", "3")
    assert rows_text(panel.networks_card) == [
        ("Mastodon", "50\u00a0%"),
        ("Bluesky", "25\u00a0%"),
        ("Instagram", "25\u00a0%"),
    ]
    marks = [row.mark.network() for row in panel.networks_card.shown_rows()]
    assert marks == ["mastodon", "bluesky", "instagram"]
    assert all(row.mark.isVisibleTo(panel) for row in panel.networks_card.shown_rows())
    assert not any(row.mark.isVisibleTo(panel) for row in panel.hashtags_card.shown_rows())
    assert "Sur 4 messages" in labels_text(panel)
    bars = [row.bar.fraction() for row in panel.networks_card.shown_rows()]
    assert bars == [0.5, 0.25, 0.25]


def test_english_wall_formats_percentages_the_english_way(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", mentions())
    window = open_window(hub, wall_en, [TRENDS])
    panel = trends_panel(window)
    assert rows_text(panel.networks_card)[0] == ("Mastodon", "50%")
    assert "Out of 4 posts" in labels_text(panel)
    assert [card.title_label.text() for card in panel.cards()] == ["Hashtags", "Words", "By network"]


def test_no_post_in_24_hours_leaves_the_panel_empty_and_skipped(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post(created_at=ago(hours=25))])
    hub.set_counts([])
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions"), TRENDS])
    trends = window.rotator.panels()[1]
    assert isinstance(trends, TrendsPanel)
    assert not trends.has_content()
    assert trends.empty_label().text() == "Pas encore de tendance sur les dernières 24\u00a0h"
    window.rotator.advance()
    assert current(window).panel_type() == "mentions"


def test_internal_posts_count_only_when_the_panel_names_their_source(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post("1", text="#Public")])
    hub.set_posts(
        "internal", [make_post("2", kind="internal", source="rse", network="matrix", text="#Interne")]
    )
    every = PanelSettings(type="trends")
    named = PanelSettings(type="trends", sources=["masto", "rse"])
    window = open_window(hub, wall_fr, [every, named])
    first, second = window.rotator.panels()
    assert isinstance(first, TrendsPanel) and isinstance(second, TrendsPanel)
    assert [t.text for t in first.trends().hashtags] == ["#Public"]
    assert {t.text for t in second.trends().hashtags} == {"#Public", "#Interne"}


def test_new_posts_and_passing_time_update_the_numbers(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", mentions()[:1])
    window = open_window(hub, wall_fr, [TRENDS])
    panel = trends_panel(window)
    assert panel.trends().total == 1
    hub.set_posts("mention", mentions())
    settle(hub, window)
    assert panel.trends().total == 4


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_text_is_whole_and_inside_its_card_at_every_size(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], width: int, height: int
) -> None:
    posts = mentions() + [
        make_post(str(10 + i), text=f"#Sujet{i} thème{i}", network=n, created_at=ago(minutes=100 + i))
        for i, n in enumerate(["facebook", "youtube", "linkedin", "rss", "matrix"])
    ]
    hub.set_posts("mention", posts)
    window = open_window(hub, wall_fr, [PanelSettings(type="trends", limit=6)])
    resize(hub, window, width, height)
    panel = trends_panel(window)
    assert panel.is_portrait() == (height > width)
    area = QRect(0, 0, panel.width(), panel.height())
    for card in panel.cards():
        box = QRect(card.mapTo(panel, card.rect().topLeft()), card.size())
        assert area.contains(box), (card.title_label.text(), box, area)
        assert len(card.shown_rows()) == 6  # the 7 networks show as 5 and "Autres"
        for row in card.shown_rows():
            assert row.name_label.text() == row.name_label.full_text()
            assert row.value_label.width() >= row.value_label.sizeHint().width()
            inside = QRect(row.mapTo(card, row.rect().topLeft()), row.size())
            assert card.rect().contains(inside)
        footer = card.footer_label
        assert not footer.isVisibleTo(card) or card.rect().contains(footer.geometry())
    assert rows_text(panel.networks_card)[-1][0] == "Autres"
    assert sum(int(value.split("\u00a0")[0]) for _, value in rows_text(panel.networks_card)) == 100


def test_a_hashtag_too_long_for_its_card_is_elided_not_cut(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    long_tag = "#" + "Incroyablementlongmotclé" * 4
    hub.set_posts("mention", [make_post(text=long_tag)])
    window = open_window(hub, wall_fr, [TRENDS])
    row = trends_panel(window).hashtags_card.shown_rows()[0]
    assert row.name_label.full_text() == long_tag
    shown = row.name_label.text()
    assert shown.endswith(ELLIPSIS)
    assert long_tag.startswith(shown[: -len(ELLIPSIS)].replace("\u200b", ""))


def test_labels_are_plain_text(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post(text="#Chocolat <b>gras</b> <i>texte</i>")])
    window = open_window(hub, wall_fr, [TRENDS])
    panel = trends_panel(window)
    assert {label.textFormat() for label in panel.findChildren(QLabel)} == {Qt.TextFormat.PlainText}
    assert rows_text(panel.hashtags_card) == [("#Chocolat", "1")]
