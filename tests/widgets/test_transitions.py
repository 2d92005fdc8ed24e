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
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.support.clock import ago
from tests.support.posts import make_post
from wall.core.model import Post
from wall.engine.config import ConfigProblems, PanelSettings, WallSection, load_config
from widgets.hub import Hub
from widgets.posts import ARRIVAL_MS, PostsPanel, arrival_shift
from widgets.rotator import FADE_MS
from widgets.window import WallWindow

from .conftest import current, labels_text, make_count, settle

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
    # The converted images are kept in names: `constBits()` points into them, and a temporary would
    # be freed before `bytes()` reads it (garbage pixels, or a segfault).
    first = a.convertToFormat(QImage.Format.Format_RGB32)
    second = b.convertToFormat(QImage.Format.Format_RGB32)
    one, two = bytes(first.constBits()), bytes(second.constBits())
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
    return [make_post(str(n), text=f"Message numéro {n}", created_at=ago(minutes=100 - n)) for n in numbers]


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


# --- the featured post's turns --------------------------------------------------------------------


def featured_window(
    hub: Hub,
    open_window: Callable[..., WallWindow],
    *,
    transition: str = "crossfade",
    **panel: object,
) -> tuple[WallWindow, PostsPanel, Ticker]:
    window = open_window(
        hub, WallSection(transition=transition), [PanelSettings(type="mentions", limit=4, **panel)]
    )
    panel_widget = current(window)
    assert isinstance(panel_widget, PostsPanel)
    ticker = Ticker()
    panel_widget.set_ticker(ticker)
    panel_widget.shown_again()  # on screen since the ticker's now
    return window, panel_widget, ticker


def on_screen(window: WallWindow, widget: QWidget) -> QImage:
    """What the screen shows where `widget` is."""
    return window.grab(QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())).toImage()


def featured_text(panel: PostsPanel) -> list[str]:
    return [text for text in labels_text(panel.featured) if text.startswith("Message")]


def compact_texts(panel: PostsPanel) -> list[str]:
    return [text for card in panel.compact for text in labels_text(card) if text.startswith("Message")]


def test_each_post_takes_its_turn_in_the_large_card_with_a_crossfade(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window, panel, ticker = featured_window(hub, open_window)
    assert featured_text(panel) == ["Message numéro 3"]
    before = panel.grab().toImage()

    panel.feature_next()
    turn = panel.turn()
    qtbot.waitUntil(turn.is_moving, timeout=2000)
    # Underneath, the next post is featured and the others stay newest first…
    assert featured_text(panel) == ["Message numéro 2"]
    assert compact_texts(panel) == ["Message numéro 3", "Message numéro 1"]
    # …while the screen still shows the newest one: nothing jumps.
    assert visibly_differing(on_screen(window, panel), before) == 0
    ticker.now += FADE_MS / 2000
    turn.step()
    middle = panel.grab().toImage()
    ticker.now += FADE_MS / 1000
    turn.step()
    qtbot.waitUntil(lambda: not turn.is_turning(), timeout=2000)
    after = panel.grab().toImage()
    change = differing(before, after, step=2)
    assert change > 0
    assert differing(middle, before, step=2) > change / 2 and differing(middle, after, step=2) > change / 2

    for expected in ("Message numéro 1", "Message numéro 3"):  # the oldest, then the newest again
        ticker.now += 4
        panel.feature_next()
        turn.finish()
        assert featured_text(panel) == [expected]


def test_with_slide_the_featured_card_slides_and_the_others_crossfade(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window, panel, ticker = featured_window(hub, open_window, transition="slide")
    card = QRect(panel.featured.mapTo(panel, QPoint(0, 0)), panel.featured.size())
    kept = QRect(panel.compact[1].mapTo(panel, QPoint(0, 0)), panel.compact[1].size())  # post 1 stays
    before = panel.grab().toImage()
    panel.feature_next()
    turn = panel.turn()
    qtbot.waitUntil(turn.is_moving, timeout=2000)
    overlay = turn.overlay()
    assert (overlay.outgoing_x(), overlay.incoming_x()) == (card.x(), card.right() + 1)
    ticker.now += FADE_MS / 2000
    turn.step()
    half = card.width() // 2
    assert overlay.outgoing_x() == card.x() - half and overlay.incoming_x() == card.x() + card.width() - half
    # Only the featured card slides: the card beside it that keeps its post does not move at all.
    frame = on_screen(window, panel)
    assert visibly_differing(frame.copy(kept), before.copy(kept)) == 0
    assert differing(frame.copy(card), before.copy(card), step=2) > 0.01  # its text moved by half a card


def test_no_turn_in_the_panels_last_seconds_on_screen(
    hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    _, panel, ticker = featured_window(hub, open_window, duration=15)
    ticker.now += 13.5  # 1.5 s left: the rotator is about to take its picture of the panel
    panel.feature_next()
    assert not panel.turn().is_turning() and featured_text(panel) == ["Message numéro 3"]
    panel.shown_again()  # the only panel, another round: turns go on
    panel.feature_next()
    panel.turn().finish()
    assert featured_text(panel) == ["Message numéro 2"]


def test_a_new_post_is_featured_at_once_even_when_an_older_one_was(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window, panel, ticker = featured_window(hub, open_window)
    panel.feature_next()
    panel.turn().finish()
    assert featured_text(panel) == ["Message numéro 2"]
    before = on_screen(window, panel)

    hub.set_posts("mention", posts(4, 3, 2, 1))
    settle(hub)
    # The cards are not in arrival order, so they do not slide down: a transition instead.
    assert not panel.is_arriving() and panel.turn().is_turning()
    assert visibly_differing(on_screen(window, panel), before) == 0
    qtbot.waitUntil(panel.turn().is_moving, timeout=2000)
    ticker.now += 1
    panel.turn().step()
    qtbot.waitUntil(lambda: not panel.turn().is_turning(), timeout=2000)
    assert featured_text(panel) == ["Message numéro 4"]
    assert compact_texts(panel) == ["Message numéro 3", "Message numéro 2", "Message numéro 1"]


def test_an_edit_keeps_the_featured_post_and_off_screen_the_turns_wait(
    hub: Hub, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window = open_window(
        hub, WallSection(), [PanelSettings(type="mentions", limit=4), PanelSettings(type="clock")]
    )
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    panel.set_ticker(Ticker())
    panel.shown_again()
    panel.feature_next()
    panel.turn().finish()
    edited = posts(3, 2, 1)
    edited[1] = make_post("2", text="Message numéro 2, corrigé", created_at=ago(minutes=98))
    hub.set_posts("mention", edited)
    settle(hub)
    assert featured_text(panel) == ["Message numéro 2, corrigé"]
    window.rotator.advance()  # the clock comes on screen
    settle(hub, window)
    assert not panel.isVisible() and featured_text(panel) == ["Message numéro 2, corrigé"]
    hub.set_posts("mention", [make_post("5", text="Message numéro 5", created_at=ago(minutes=1)), *edited])
    settle(hub)
    assert featured_text(panel) == ["Message numéro 5"]  # off screen too, the newest comes first


def test_featured_posts_turn_on_their_own_every_featured_seconds(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    window = open_window(hub, WallSection(), [PanelSettings(type="mentions", limit=4, featured_seconds=4)])
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    qtbot.wait(3000)
    assert featured_text(panel) == ["Message numéro 3"]
    qtbot.waitUntil(lambda: featured_text(panel) == ["Message numéro 2"], timeout=2500)


def test_featured_seconds_is_checked_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "wall.toml"
    path.write_text('[[panels]]\ntype = "mentions"\nfeatured_seconds = 0\n', encoding="utf-8")
    assert load_config(path, env={}).panels[0].featured_seconds == 0
    for body, words in (
        ('type = "mentions"\nfeatured_seconds = 2', "between 4 and 600"),
        ('type = "fans"\nfeatured_seconds = 10', "only read by mentions and internal panels"),
    ):
        path.write_text(f"[[panels]]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigProblems) as problem:
            load_config(path, env={})
        message = str(problem.value)
        assert "wall.toml" in message and "featured_seconds" in message and words in message


def test_in_the_panels_last_seconds_a_new_post_is_featured_at_once(
    hub: Hub, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_posts("mention", posts(3, 2, 1))
    _, panel, ticker = featured_window(hub, open_window, duration=15)
    panel.feature_next()
    panel.turn().finish()
    ticker.now += 14  # 1 s left: the rotator is taking its pictures of the panel
    with qtbot.waitSignal(panel.content_changed, timeout=1000):  # …and is told to take them again
        hub.set_posts("mention", posts(4, 3, 2, 1))
        settle(hub)
    assert not panel.turn().is_turning() and not panel.is_arriving()
    assert featured_text(panel) == ["Message numéro 4"]
