"""The fans panel: big locale-formatted numbers, one tile per counter, an empty state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QFontMetricsF
from pytestqt.qtbot import QtBot

from wall.core.model import Count
from wall.engine.config import PanelSettings, WallSection
from widgets.fans import COUNT_UP_SECONDS, FansPanel, FanTile, counting_value, page_sizes
from widgets.hub import Hub
from widgets.rotator import FADE_MS
from widgets.theme import Role
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


# --- pages: never more than 4 tiles a screen, so the numbers keep 12 % of its height -------------


def accounts(count: int) -> list[Count]:
    """`count` counters with six-digit values (the widest the demo has), "@acct0"… in order."""
    return [make_count(182_340 + i, account=f"@acct{i}") for i in range(count)]


def six_counters(
    hub: Hub, wall: WallSection, open_window: Callable[..., WallWindow], panels: list[PanelSettings]
) -> tuple[WallWindow, FansPanel]:
    """A shown window whose first panel is a fans panel with 6 counters (2 pages of 3)."""
    hub.set_counts(accounts(6))
    window = open_window(hub, wall, panels)
    panel = current(window)
    assert isinstance(panel, FansPanel)
    return window, panel


def number_share(panel: FansPanel, height: int) -> float:
    """The cap height of the numbers on screen, as a share of the screen height."""
    sizes = {QFontMetricsF(tile.number_label.shown_font()).capHeight() for tile in panel.tiles}
    assert len(sizes) == 1, "tiles side by side show their numbers at one size"
    return sizes.pop() / height


def test_page_sizes_are_as_few_and_as_even_as_can_be() -> None:
    assert page_sizes(0) == []
    assert page_sizes(4) == [4]
    assert page_sizes(5) == [3, 2]
    assert page_sizes(6) == [3, 3]
    assert page_sizes(7) == [4, 3]
    assert page_sizes(12) == [4, 4, 4]
    assert page_sizes(7, 3) == [3, 2, 2]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6, 7, 12])
@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_many_counters_are_shown_a_page_at_a_time_with_numbers_at_12_percent(
    hub: Hub,
    wall_fr: WallSection,
    open_window: Callable[..., WallWindow],
    count: int,
    size: tuple[int, int],
) -> None:
    hub.set_counts(accounts(count))
    window = open_window(hub, wall_fr, [FANS])
    window.resize(*size)
    settle(hub, window)
    panel = current(window)
    assert isinstance(panel, FansPanel)
    pages = page_sizes(count)
    assert panel.page_count() == len(pages)
    assert panel.duration_ms() == len(pages) * 15_000  # each page stays the panel's duration
    seen: list[str] = []
    for page, tiles in enumerate(pages):
        assert panel.page() == page
        texts = [t for t in labels_text(panel) if t.startswith("@acct")]
        assert len(texts) == tiles == len(panel.tiles)
        seen += texts
        window.grab()
        assert number_share(panel, size[1]) >= 0.12, f"page {page}"
        panel.next_page()  # the window is shown: this one fades to the next page
        panel.turn().finish()
        settle(hub, window)
    assert seen == [f"@acct{i}" for i in range(count)]  # every counter once, in order


def test_a_portrait_screen_shows_one_column_with_numbers_as_wide_as_the_tiles(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts(accounts(6))
    window = open_window(hub, wall_fr, [FANS])
    window.resize(1080, 1920)
    settle(hub, window)
    window.grab()
    panel = current(window)
    assert isinstance(panel, FansPanel)
    assert panel.page_count() == 2 and len(panel.tiles) == 3
    assert len({tile.x() for tile in panel.tiles}) == 1  # one column
    # "182 340" cannot be 12 % of 1920 px high in 1080 px: it fills its tile's width instead,
    # twice the size a landscape-sized theme gives it.
    assert number_share(panel, 1920) >= 0.10
    tile = panel.tiles[0]
    width = QFontMetricsF(tile.number_label.shown_font()).horizontalAdvance(tile.number_label.text())
    assert width >= 0.9 * tile.number_label.width()


def test_a_page_turn_crossfades_from_the_old_page_to_the_new_one(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    window, panel = six_counters(hub, wall_fr, open_window, [FANS])
    ticker = Ticker()
    panel.set_ticker(ticker)
    before = window.grab().toImage()
    panel.next_page()
    turn = panel.turn()
    qtbot.waitUntil(turn.is_moving, timeout=2000)  # both pictures taken, a strip at a time
    overlay = turn.overlay()
    assert overlay.isVisible() and overlay.geometry() == panel.rect()
    # Under the overlay the tiles already show the second page…
    assert "@acct3" in labels_text(panel) and "@acct0" not in labels_text(panel)
    # …while the screen still shows the first one, then a blend, then the second page.
    assert window.grab().toImage() == before
    ticker.now += FADE_MS / 2000
    turn.step()
    halfway = window.grab().toImage()
    assert halfway != before
    ticker.now += FADE_MS / 1000
    turn.step()
    qtbot.waitUntil(lambda: not turn.is_turning(), timeout=2000)
    after = window.grab().toImage()
    assert after not in (before, halfway)
    assert panel.page() == 1


def test_off_screen_the_panel_goes_back_to_its_first_page(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window, panel = six_counters(hub, wall_fr, open_window, [FANS, PanelSettings(type="clock")])
    panel.next_page()
    panel.turn().finish()
    assert panel.page() == 1 and "@acct3" in labels_text(panel)
    window.rotator.advance()  # the clock comes on screen
    settle(hub, window)
    assert window.current_panel() is not panel
    assert panel.page() == 0 and "@acct0" in labels_text(panel)  # ready for its next time


def test_the_only_panel_starts_again_from_its_first_page(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window, panel = six_counters(hub, wall_fr, open_window, [FANS])
    panel.next_page()
    panel.turn().finish()
    panel.next_page()  # the last page stays: the rotator decides what comes next
    panel.turn().finish()
    assert panel.page() == 1
    window.rotator.advance()  # nothing else to show: the same panel, another round
    panel.turn().finish()
    assert window.current_panel() is panel and panel.page() == 0


def test_new_counters_do_not_delay_the_next_page(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    _, panel = six_counters(hub, wall_fr, open_window, [PanelSettings(type="fans", duration=3)])
    for step in range(4):  # a poll every 0.5 s, for 2 s
        qtbot.wait(500)
        hub.set_counts([make_count(182_340 + step * 10, account="@acct0"), *accounts(6)[1:]])
        settle(hub)
    qtbot.waitUntil(lambda: panel.page() == 1, timeout=2500)  # 3 s after it came on screen


def test_a_poll_during_a_page_turn_does_not_make_the_page_jump(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    window, panel = six_counters(hub, wall_fr, open_window, [FANS])
    before = window.grab().toImage()
    panel.next_page()
    counts = accounts(6)
    counts[4] = make_count(999_999, account="@acct4")  # a counter of the next page moves
    hub.set_counts(counts)
    settle(hub)
    # The poll came while the old page's picture was being taken: the old page stays until the turn.
    assert "@acct0" in labels_text(panel) and "@acct3" not in labels_text(panel)
    assert window.grab().toImage() == before
    qtbot.waitUntil(lambda: not panel.turn().is_turning() or panel.turn().is_moving(), timeout=2000)
    panel.turn().finish()
    assert panel.page() == 1 and "999\u202f999" in labels_text(panel)


def test_the_rotator_gives_the_panel_the_time_of_its_new_pages(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts(accounts(3))  # one page
    window = open_window(hub, wall_fr, [PanelSettings(type="fans", duration=3), PanelSettings(type="clock")])
    panel = current(window)
    assert isinstance(panel, FansPanel) and panel.duration_ms() == 3000
    window.rotator.start()
    started = time.monotonic()
    hub.set_counts(accounts(6))  # a poll brings three more: two pages, 6 s on screen
    settle(hub)
    qtbot.waitUntil(lambda: panel.page() == 1, timeout=4000)
    assert window.current_panel() is panel  # its second page is on screen…
    qtbot.waitUntil(lambda: window.current_panel() is not panel, timeout=5000)
    assert time.monotonic() - started >= 5.5  # …for its full time, counted from when it came


# --- issue 15: tiles that use the screen, a week's line that reads from 3 m ------------------------

SIZES = [(1920, 1080), (3840, 2160), (1080, 1920)]


def weekly_counters(count: int) -> tuple[list[Count], dict[str, list[Count]]]:
    """`count` six-digit counters "@acct0"…, each with a week of daily values rising to today's."""
    counts = accounts(count)
    history: dict[str, list[Count]] = {}
    for i, c in enumerate(counts):
        assert c.value is not None
        history |= week(c, [c.value - 7_000 + day * (900 + 100 * i) for day in range(6)])
    return counts, history


def fans_window(
    hub: Hub,
    wall: WallSection,
    open_window: Callable[..., WallWindow],
    count: int,
    size: tuple[int, int],
) -> tuple[WallWindow, FansPanel]:
    """A window of `size` showing a fans panel of `count` weekly counters, painted once."""
    hub.set_counts(*weekly_counters(count))
    window = open_window(hub, wall, [FANS])
    window.resize(*size)
    settle(hub, window)
    window.grab()
    panel = current(window)
    assert isinstance(panel, FansPanel)
    return window, panel


def ink_span(tile: FanTile, colour: QColor) -> tuple[int, int]:
    """The leftmost and rightmost columns of the number's box where `colour` (the digits) is painted."""
    image = tile.grab().toImage()
    box = tile.number_label.geometry()
    columns = [
        x
        for x in range(box.left(), box.right() + 1)
        if any(
            abs(image.pixelColor(x, y).lightness() - colour.lightness()) < 24
            for y in range(box.top(), box.bottom() + 1, 3)
        )
    ]
    assert columns, "the number is painted"
    return columns[0], columns[-1]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("size", SIZES)
def test_tiles_fill_the_panel_with_their_numbers_centred(
    hub: Hub,
    wall_fr: WallSection,
    open_window: Callable[..., WallWindow],
    count: int,
    size: tuple[int, int],
) -> None:
    window, panel = fans_window(hub, wall_fr, open_window, count, size)
    area = panel.content.width() * panel.content.height()
    for page in range(panel.page_count()):
        tiles = panel.tiles
        columns = len({tile.x() for tile in tiles})
        rows = len({tile.y() for tile in tiles})
        assert columns * rows == len(tiles), f"page {page}: every row full, no hole in the grid"
        for tile in tiles:
            assert tile.width() <= panel.content.width() / columns + 1, "no tile wider than its share"
            assert tile.height() <= panel.content.height() / rows + 1
        widths, heights = [tile.width() for tile in tiles], [tile.height() for tile in tiles]
        assert max(widths) - min(widths) <= 2 and max(heights) - min(heights) <= 2, "tiles of one size"
        assert sum(tile.width() * tile.height() for tile in tiles) >= 0.85 * area, "the tiles fill the panel"
        for tile in tiles:
            left, right = ink_span(tile, panel.theme.text)
            assert abs((left + right) / 2 - tile.width() / 2) <= 0.03 * tile.width(), "number centred"
            # What the number counts is apart from the number, the week's band and the tile's edge.
            metric = tile.metric_label.geometry()
            assert not metric.intersects(tile.sparkline.geometry())
            assert not metric.intersects(tile.number_label.geometry())
            assert metric.bottom() <= tile.height() - panel.theme.px(0.02)
        panel.next_page()
        panel.turn().finish()
        settle(hub, window)


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160)])
def test_a_lone_counter_is_shown_large(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], size: tuple[int, int]
) -> None:
    _, panel = fans_window(hub, wall_fr, open_window, 1, size)
    assert number_share(panel, size[1]) >= 0.2  # not the 12 % of a tile among four


@pytest.mark.parametrize("count", [1, 3, 4])
@pytest.mark.parametrize("size", SIZES)
def test_the_weeks_line_has_a_band_of_its_tile_with_its_extremes_labelled(
    hub: Hub,
    wall_fr: WallSection,
    open_window: Callable[..., WallWindow],
    count: int,
    size: tuple[int, int],
) -> None:
    _, panel = fans_window(hub, wall_fr, open_window, count, size)
    body = QFontMetricsF(panel.theme.font(Role.BODY)).capHeight()
    for tile in panel.tiles:
        line = tile.sparkline
        assert line.isVisibleTo(panel)
        assert line.height() >= tile.height() / 4, "a band of the tile, not a corner"
        assert line.width() >= tile.width() / 4
        values = line.values()
        high, low = f"{max(values):,}".replace(",", "\u202f"), f"{min(values):,}".replace(",", "\u202f")
        assert labels_text(line) == [high, low]  # the highest above the lowest, as French writes them
        for label in (line.max_label, line.min_label):
            assert QFontMetricsF(label.font()).capHeight() >= body - 0.5, "read from 3 m like body text"
            assert line.rect().contains(label.geometry()), "labels inside the band"
        points = line.points()
        top, bottom = min(p.y() for p in points), max(p.y() for p in points)
        assert abs(line.max_label.geometry().center().y() - top) <= 2  # each label level with its value
        assert abs(line.min_label.geometry().center().y() - bottom) <= 2
        assert max(p.x() for p in points) < line.max_label.geometry().left()  # the line never under them


def test_english_walls_label_the_weeks_extremes_in_english(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    count = make_count(9_988)
    hub.set_counts([count], week(count, [10_500, 10_000]))
    window = open_window(hub, wall_en, [FANS])
    panel = current(window)
    assert isinstance(panel, FansPanel)
    assert labels_text(panel.tiles[0].sparkline) == ["10,500", "9,988"]
