"""The fans panel: big locale-formatted numbers, one tile per counter, an empty state."""

from __future__ import annotations

from collections.abc import Callable

from wall.config import PanelSettings, WallSection
from wall.hub import Hub
from widgets.fans import FansPanel
from widgets.window import WallWindow

from .conftest import current, labels_text, make_count, settle

FANS = PanelSettings(type="fans")


def test_tile_shows_the_french_number_account_and_metric(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(180_000, label="Brand France")])
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel) and panel.has_content()
    texts = labels_text(panel)
    assert "180\u202f000" in texts  # narrow no-break space, as French typography wants
    assert "Brand France" in texts
    assert "abonnés" in texts


def test_english_wall_shows_english_numbers_and_words(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(180_000, account="@acme", metric="subscribers")])
    window = open_window(hub, wall_en, [FANS])
    texts = labels_text(current(window))
    assert "180,000" in texts and "subscribers" in texts and "@acme" in texts


def test_unknown_value_shows_a_dash(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(None)])
    window = open_window(hub, wall_fr, [FANS])
    assert "—" in labels_text(current(window))


def test_counts_arriving_later_replace_the_empty_message(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert not panel.has_content()
    assert panel.empty_label().isVisibleTo(window)
    assert "Les compteurs arrivent…" in labels_text(window)

    hub.set_counts([make_count(1_234_567)])
    settle(hub)
    assert panel.has_content()
    assert not panel.empty_label().isVisibleTo(window)
    assert "1\u202f234\u202f567" in labels_text(window)


def test_panel_keeps_only_its_sources_and_its_limit(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts(
        [
            make_count(100, source="masto", account="@one"),
            make_count(200, source="other", account="@two"),
            make_count(300, source="masto", account="@three"),
        ]
    )
    window = open_window(hub, wall_fr, [PanelSettings(type="fans", sources=["masto"], limit=1)])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    texts = labels_text(panel)
    assert "@one" in texts and "@two" not in texts and "@three" not in texts
    assert len(panel.tiles) == 1


def test_tiles_are_reused_when_a_number_changes(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(10, account="@a"), make_count(20, account="@b")])
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    tiles = list(panel.tiles)
    hub.set_counts([make_count(11, account="@a"), make_count(20, account="@b")])
    settle(hub)
    assert panel.tiles == tiles
    assert tiles[0].number_label.text() == "11"
