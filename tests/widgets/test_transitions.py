"""Motion: the slide between panels, and new posts sliding in on a posts panel on screen.

Real widgets offscreen; the motions follow an injected seconds clock (`Ticker`) the tests move by
hand, then ask for one frame, so every position is checked at a known time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from wall.config import ConfigProblems, PanelSettings, WallSection, load_config
from wall.hub import Hub
from wall.model import Post
from widgets.posts import ARRIVAL_MS, PostsPanel, arrival_shift
from widgets.rotator import FADE_MS
from widgets.window import WallWindow

from .conftest import current, labels_text, make_count, make_post, settle

PANELS = [PanelSettings(type="fans"), PanelSettings(type="mentions")]


class Ticker:
    """A seconds clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def differing(a: QImage, b: QImage, step: int = 16) -> float:
    """Share of sampled pixels that differ between two pictures of the same size."""
    assert a.size() == b.size()
    points = [(x, y) for x in range(0, a.width(), step) for y in range(0, a.height(), step)]
    return sum(a.pixel(x, y) != b.pixel(x, y) for x, y in points) / len(points)


def visibly_differing(a: QImage, b: QImage, levels: int = 24) -> int:
    """Pixels whose colours differ by more than `levels` in a channel.

    Text first painted after a change can land a fraction of a pixel away from later paints (Qt
    lays a label out again), and grid rows differ by a pixel in height: both move a colour by a
    few levels on an antialiased edge, which nobody sees; a card out of place moves it by far more.
    """
    assert a.size() == b.size()
    one = bytes(a.convertToFormat(QImage.Format.Format_RGB32).constBits())
    two = bytes(b.convertToFormat(QImage.Format.Format_RGB32).constBits())
    stride, count = a.width() * 4, 0
    for row in range(0, len(one), stride):
        if one[row : row + stride] == two[row : row + stride]:
            continue  # most rows: compared at C speed
        count += sum(
            max(abs(one[i] - two[i]), abs(one[i + 1] - two[i + 1]), abs(one[i + 2] - two[i + 2])) > levels
            for i in range(row, row + stride, 4)
        )
    return count


# --- slide between panels -------------------------------------------------------------------------


def test_slide_moves_the_old_screen_out_left_and_the_new_one_in_from_the_right(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, WallSection(transition="slide"), PANELS)
    rotator = window.rotator
    assert rotator.transition() == "slide"
    ticker = Ticker()
    rotator.set_ticker(ticker)
    overlay = rotator.overlay()
    width = rotator.width()
    before = rotator.grab().toImage()
    finished: list[bool] = []
    rotator.transition_finished.connect(lambda: finished.append(True))

    rotator.advance()
    assert rotator.is_fading() and current(window).panel_type() == "mentions"
    assert (overlay.outgoing_x(), overlay.incoming_x()) == (0, width)  # t = 0: still the old screen
    assert differing(rotator.grab().toImage(), before) == 0

    ticker.now += FADE_MS / 2000
    rotator.step_transition()
    assert (overlay.outgoing_x(), overlay.incoming_x()) == (-width // 2, width // 2)  # eased, symmetric
    middle = rotator.grab().toImage()

    ticker.now += FADE_MS / 2000 + 0.01
    rotator.step_transition()
    assert overlay.outgoing_x() is None and overlay.incoming_x() == 0  # the new screen, in place
    qtbot.waitUntil(lambda: not rotator.is_fading(), timeout=3000)  # uncovered strip by strip
    assert overlay.isHidden() and overlay.incoming_x() is None and finished == [True]
    after = rotator.grab().toImage()
    assert "Superbe accueil dans votre agence de Lille" in labels_text(window)

    # Halfway, the left half shows the right half of the old screen, the right half the new screen's left.
    half = width // 2
    left = [(x, y) for x in range(8, half - 8, 24) for y in range(8, middle.height() - 8, 24)]
    assert all(middle.pixel(x, y) == before.pixel(x + half, y) for x, y in left)
    assert all(middle.pixel(x + half, y) == after.pixel(x, y) for x, y in left)


def test_slide_positions_follow_the_eased_clock(hub: Hub, open_window: Callable[..., WallWindow]) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, WallSection(transition="slide"), PANELS)
    rotator = window.rotator
    ticker = Ticker()
    rotator.set_ticker(ticker)
    rotator.advance()
    seen: list[int] = []
    for _ in range(5):
        ticker.now += FADE_MS / 6000
        rotator.step_transition()
        x = rotator.overlay().incoming_x()
        assert x is not None
        seen.append(x)
    steps = [a - b for a, b in zip([rotator.width(), *seen], seen, strict=False)]
    assert all(step > 0 for step in steps)  # always moving left
    assert steps[0] < steps[2] > steps[4]  # slow, fast, slow


def test_crossfade_stays_the_default_and_does_not_move_the_pictures(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, wall_fr, PANELS)
    rotator = window.rotator
    assert wall_fr.transition == "crossfade" and rotator.transition() == "crossfade"
    ticker = Ticker()
    rotator.set_ticker(ticker)
    rotator.advance()
    ticker.now += FADE_MS / 2000
    rotator.step_transition()
    assert (rotator.overlay().outgoing_x(), rotator.overlay().incoming_x()) == (0, 0)


def test_a_wrong_transition_is_reported_with_the_allowed_values(tmp_path: Path) -> None:
    path = tmp_path / "wall.toml"
    path.write_text('[wall]\ntransition = "wipe"\n', encoding="utf-8")
    with pytest.raises(ConfigProblems) as caught:
        load_config(path, env={})
    assert f"{path}: wall.transition: 'wipe' is not allowed: use one of 'crossfade' or 'slide'" in (
        caught.value.lines
    )
    path.write_text('[wall]\ntransition = "slide"\n', encoding="utf-8")
    assert load_config(path, env={}).wall.transition == "slide"


# --- new posts sliding in -------------------------------------------------------------------------


def posts(*numbers: int) -> list[Post]:
    """Posts numbered like their arrival: a higher number is newer, and comes first."""
    return [make_post(str(n), text=f"Message numéro {n}", minutes_ago=100 - n) for n in numbers]


def mentions_window(
    hub: Hub, wall: WallSection, open_window: Callable[..., WallWindow], limit: int
) -> tuple[WallWindow, PostsPanel, Ticker]:
    window = open_window(hub, wall, [PanelSettings(type="mentions", limit=limit)])
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    ticker = Ticker()
    panel.set_ticker(ticker)
    return window, panel, ticker


@pytest.mark.parametrize(("limit", "arrived"), [(4, 1), (4, 2), (7, 1), (3, 1)])
def test_new_posts_slide_in_from_the_old_picture_to_the_new_layout(
    hub: Hub,
    wall_fr: WallSection,
    open_window: Callable[..., WallWindow],
    limit: int,
    arrived: int,
) -> None:
    # limit 7 puts the compact cards in two columns: one leaves the bottom of the first, enters the second
    old = list(range(limit + 2, 2, -1))[:limit]
    hub.set_posts("mention", posts(*old))
    window, panel, ticker = mentions_window(hub, wall_fr, open_window, limit)
    before = panel.grab().toImage()

    new = [old[0] + n for n in range(arrived, 0, -1)] + old
    hub.set_posts("mention", posts(*new))
    settle(hub, window)
    assert [post.text for post in panel.shown_posts()] == [f"Message numéro {n}" for n in new[:limit]]
    assert panel.is_arriving()
    assert visibly_differing(panel.grab().toImage(), before) == 0  # no frame jumps to the new layout

    ticker.now += ARRIVAL_MS / 2000
    panel.step_arrival()
    middle = panel.grab().toImage()
    moving = [piece for piece in panel.arrival_overlay().pieces() if piece.start != piece.end]
    assert moving and all(
        piece.position(0.5) != piece.start and piece.position(0.5) != piece.end for piece in moving
    )

    ticker.now += ARRIVAL_MS / 2000 - 0.001
    panel.step_arrival()
    nearly_done = panel.grab().toImage()
    ticker.now += 0.01
    panel.step_arrival()
    assert not panel.is_arriving()
    after = panel.grab().toImage()
    assert f"Message numéro {new[0]}" in labels_text(panel.featured)
    assert differing(middle, before) > 0.02 and differing(middle, after) > 0.02
    assert visibly_differing(nearly_done, after) == 0  # the last frame is the new layout


def test_the_featured_post_crossfades_as_the_cards_slide_down_one_slot(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window, panel, ticker = mentions_window(hub, wall_fr, open_window, 4)
    hub.set_posts("mention", posts(4, 3, 2, 1))
    settle(hub, window)
    pieces = panel.arrival_overlay().pieces()
    first, second, third = (QRect(card.mapTo(panel, QPoint(0, 0)), card.size()) for card in panel.compact)
    slot = second.y() - first.y()
    featured = [piece for piece in pieces if piece.source.size() == panel.featured.size()]
    assert [piece.opacity for piece in featured] == [(1.0, 1.0), (1.0, 0.0)]  # old fading out over the new
    assert featured[0].picture is not featured[1].picture
    slid = {(piece.start.y(), piece.end.y()) for piece in pieces if piece.start != piece.end}
    assert slid == {(first.y(), second.y()), (second.y(), third.y()), (first.y() - slot, first.y())}
    entering = [piece for piece in pieces if piece.end == first.topLeft()]
    assert len(entering) == 1 and entering[0].start.y() < first.y() - first.height()
    ticker.now += 1
    panel.step_arrival()
    assert not panel.is_arriving()


def test_edits_and_deletions_update_at_once(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window, panel, _ = mentions_window(hub, wall_fr, open_window, 4)
    hub.set_posts("mention", posts(3, 1))
    settle(hub, window)
    assert not panel.is_arriving()
    assert [post.id for post in panel.shown_posts()] == ["3", "1"]


def test_a_panel_off_screen_updates_at_once(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", posts(2, 1))
    window = open_window(hub, wall_fr, PANELS)
    assert current(window).panel_type() == "fans"
    mentions = window.rotator.panels()[1]
    assert isinstance(mentions, PostsPanel) and not mentions.isVisible()
    hub.set_posts("mention", posts(3, 2, 1))
    settle(hub, window)
    assert not mentions.is_arriving()
    assert mentions.featured.post() == posts(3)[0]


def test_arrival_shift_counts_posts_pushed_down_only() -> None:
    assert arrival_shift(posts(2, 1), posts(3, 2, 1)) == 1
    assert arrival_shift(posts(2, 1), posts(4, 3, 2)) == 2  # the oldest one pushed out
    assert arrival_shift(posts(3, 2, 1), posts(3, 1)) == 0  # a deletion
    assert arrival_shift(posts(2, 1), posts(2, 1)) == 0
    assert arrival_shift([], posts(1)) == 0
    assert arrival_shift(posts(2, 1), posts(4, 3)) == 0  # nothing left to slide
