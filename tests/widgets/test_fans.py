"""The fans panel: big locale-formatted numbers, one tile per counter, an empty state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from wall.config import PanelSettings, WallSection
from wall.hub import Hub
from wall.model import Count
from widgets.fans import COUNT_UP_SECONDS, FansPanel, FanTile, counting_value
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


class Ticker:
    """A seconds clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tiles_are_reused_when_a_number_changes(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(10, account="@a"), make_count(20, account="@b")])
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    tiles = list(panel.tiles)
    ticker = Ticker()
    panel.set_ticker(ticker)
    hub.set_counts([make_count(11, account="@a"), make_count(20, account="@b")])
    settle(hub)
    assert panel.tiles == tiles
    ticker.now += COUNT_UP_SECONDS
    tiles[0].advance()
    assert tiles[0].number_label.text() == "11"


def week(count: Count, values: list[int]) -> dict[str, list[Count]]:
    """A counter's history: one value a day, the last one yesterday."""
    days = len(values)
    return {
        count.key: [
            replace(count, value=v, observed_at=count.observed_at - timedelta(days=days - i))
            for i, v in enumerate(values)
        ]
    }


def test_tile_shows_todays_change_and_the_weeks_line(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    count = make_count(180_000, label="Brand France")
    hub.set_counts([count], week(count, [170_000, 172_000, 175_000, 176_000, 177_000, 178_796]))
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    assert "+1\u202f204 aujourd'hui" in labels_text(panel)
    tile = panel.tiles[0]
    assert tile.sparkline.isVisibleTo(window)
    assert tile.sparkline.values() == (170_000, 172_000, 175_000, 176_000, 177_000, 178_796, 180_000)
    points = tile.sparkline.points()
    assert points[0].x() < points[-1].x() and points[0].y() > points[-1].y()  # rising: up and to the right
    assert min(p.y() for p in points) >= 0 and max(p.y() for p in points) <= tile.sparkline.height()


def test_english_change_and_a_loss_is_shown_plainly(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    count = make_count(9_988)
    hub.set_counts([count], week(count, [10_000]))
    window = open_window(hub, wall_en, [FANS])
    texts = labels_text(current(window))
    assert "\u221212 today" in texts
    assert all("+" not in text for text in texts)


def test_no_change_line_without_yesterday_and_no_line_with_one_day(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(42)])
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    assert not any("aujourd'hui" in text for text in labels_text(panel))
    assert not panel.tiles[0].sparkline.isVisibleTo(window)


def test_a_crossed_milestone_is_celebrated_on_its_tile(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    crossed = make_count(200_150, account="@brand")
    quiet = make_count(5_000, source="yt", account="@other")
    hub.set_counts([crossed, quiet], {**week(crossed, [199_900]), **week(quiet, [4_990])})
    panel_settings = PanelSettings(type="fans", milestones=[100_000, 200_000])
    window = open_window(hub, wall_fr, [panel_settings])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    celebrated, other = panel.tiles
    assert celebrated.metric_label.text() == "🎉 200\u202f000 abonnés\u00a0!"
    assert other.metric_label.text() == "abonnés"
    assert "+250 aujourd'hui" in labels_text(celebrated) and "+10 aujourd'hui" in labels_text(other)
    trend = celebrated.trend()
    assert trend is not None and trend.milestone == 200_000
    # The celebrating tile is painted brighter than its neighbour.
    image = window.grab().toImage()

    def tile_colour(tile: FanTile) -> QColor:
        centre = tile.mapTo(window, tile.rect().bottomLeft()) + QPoint(tile.width() // 2, -4)
        return image.pixelColor(centre)

    assert tile_colour(celebrated) != tile_colour(other)


def test_a_new_value_is_counted_up_to_not_jumped_to(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count(180_000)])
    window = open_window(hub, wall_fr, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    ticker = Ticker()
    panel.set_ticker(ticker)
    tile = panel.tiles[0]

    hub.set_counts([make_count(181_000)])
    settle(hub, window)
    assert tile.shown_value() == 180_000  # the count starts from what was on screen
    seen: list[int] = []
    for _ in range(8):
        ticker.now += 0.2
        tile.advance()
        value = tile.shown_value()
        assert value is not None
        seen.append(value)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)  # always rising, never stuck
    assert 180_000 < seen[0] < seen[1] < 181_000
    assert seen[0] - 180_000 > seen[1] - seen[0]  # fast first, then slowing down onto the value
    assert seen[-1] == 181_000
    assert "181\u202f000" in labels_text(panel)

    # A value arriving mid-count continues from the number on screen.
    hub.set_counts([make_count(182_000)])
    settle(hub, window)
    ticker.now += 0.1
    tile.advance()
    value = tile.shown_value()
    assert value is not None and 181_000 < value < 182_000


def test_counting_value_eases_out_and_ends_exactly() -> None:
    assert counting_value(0, 1000, 0.0) == 0
    assert counting_value(0, 1000, 0.8) > 500  # half the time, well past half the way
    assert counting_value(0, 1000, COUNT_UP_SECONDS) == 1000
    assert counting_value(1000, 900, 99.0) == 900
