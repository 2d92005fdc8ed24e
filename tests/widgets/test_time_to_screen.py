"""Issue 14, what a passer-by sees: content from the first frame, and new posts within seconds
whatever panel is up, calmly (one card for a burst), never over a panic or a closed screen, and
never a post that pre-moderation holds. Real widgets offscreen, a real hub, a real store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.support.clock import NOW
from tests.support.posts import make_post
from wall.core.model import Batch, Post
from wall.engine.config import PanelSettings, WallSection
from wall.engine.moderation.rules import ModerationSettings, Moderator
from wall.engine.store import open_resilient
from widgets.hub import Hub
from widgets.notice import GATHER_MS, excerpt
from widgets.window import WallWindow

from .conftest import clock, current, labels_text, make_count, settle

FANS_FIRST = [PanelSettings(type="fans"), PanelSettings(type="mentions"), PanelSettings(type="internal")]
CLOCK_FIRST = [PanelSettings(type="clock"), *FANS_FIRST]
DEADLINE_MS = 2_000  # issue 14: a new post is seen within 2 s, whatever panel is up
NEW_TEXT = "Nouvelle boutique à Nantes, bravo !"


def fresh(post_id: str, text: str = NEW_TEXT, *, kind: str = "mention", seconds: int = 0) -> Post:
    """A post written just now (after everything the screen already had)."""
    return make_post(post_id, text=text, kind=kind, created_at=NOW - timedelta(seconds=seconds))  # type: ignore[arg-type]


class ShowCounter(QObject):
    """Counts how many times a widget appears (a card sliding in again would be flicker)."""

    def __init__(self) -> None:
        super().__init__()
        self.shown = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Count Show events."""
        if event.type() == QEvent.Type.Show:
            self.shown += 1
        return False


def wait_past_gathering(qtbot: QtBot, hub: Hub) -> None:
    """Let the hub deliver and the card's gathering time pass (what it would have shown, it has)."""
    hub.flush()
    qtbot.wait(GATHER_MS + 200)


# --- the first frame -------------------------------------------------------------------------------
def test_first_painted_frame_shows_stored_posts_not_the_clock(hub: Hub, qtbot: QtBot) -> None:
    """As `wall run` does: windows built on an empty hub, the store fills the hub, then they show."""
    window = WallWindow(hub, WallSection(), CLOCK_FIRST, clock=clock)
    qtbot.addWidget(window)
    window.rotator.stop()
    hub.set_posts("mention", [make_post("1"), make_post("2", text="Merci pour l'accueil à Lyon")])
    hub.flush()  # the engine filled the hub from the store before the windows show
    first: list[tuple[str, list[str]]] = []
    window.first_frame.connect(lambda: first.append((current(window).panel_type(), labels_text(window))))
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitUntil(lambda: bool(first), timeout=2000)
    panel, texts = first[0]
    assert panel == "mentions"
    assert "Superbe accueil dans votre agence de Lille" in texts
    assert not window.rotator.is_fading()  # painted as is, not a crossfade from the clock


def test_clock_never_opens_the_show_while_counts_exist(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, CLOCK_FIRST)
    assert current(window).panel_type() == "fans"
    assert "180\u202f000" in labels_text(window)


def test_with_nothing_yet_the_clock_fills_in_and_is_left_when_posts_come(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    window = open_window(hub, wall_fr, CLOCK_FIRST, fade_ms=200)
    assert current(window).panel_type() == "clock"  # never blank: the time, not an empty panel
    hub.set_posts("mention", [make_post()])
    settle(hub)
    assert current(window).panel_type() == "mentions"
    assert window.rotator.is_fading()  # a normal transition, not a jump
    qtbot.waitUntil(lambda: not window.rotator.is_fading(), timeout=3000)
    assert "Superbe accueil dans votre agence de Lille" in labels_text(window)


def test_the_configured_announcement_is_a_filler_too(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    hub.set_posts("mention", [make_post()])
    panels = [PanelSettings(type="announcement", text="Badge obligatoire"), PanelSettings(type="mentions")]
    window = open_window(hub, wall_fr, panels)
    assert current(window).panel_type() == "mentions"


# --- new posts within seconds ----------------------------------------------------------------------
def test_new_post_is_readable_within_two_seconds_while_fans_are_up(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    assert current(window).panel_type() == "fans"
    hub.set_posts("mention", [fresh("new"), make_post()])  # the hub's own coalescing timer delivers it
    qtbot.waitUntil(lambda: NEW_TEXT in labels_text(window), timeout=DEADLINE_MS)
    assert current(window).panel_type() == "fans"  # over the fans panel, which keeps its turn
    assert "Nouveau" in labels_text(window)
    assert "Camille Dupont" in labels_text(window.notice)


def test_a_burst_of_fifty_posts_in_three_seconds_is_one_calm_grouped_card(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    hub.set_posts("mention", [make_post()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    appearances = ShowCounter()
    window.notice.installEventFilter(appearances)
    headlines: list[str] = []
    posts = [make_post()]
    for n in range(50):  # one every 60 ms: 3 s
        posts.insert(0, fresh(f"b{n}", f"Message {n} de la rafale", seconds=60 - n))
        hub.set_posts("mention", list(posts))
        qtbot.wait(60)
        headline = window.notice.headline.text()
        if window.notice.isVisible() and (not headlines or headlines[-1] != headline):
            headlines.append(headline)
    qtbot.waitUntil(lambda: window.notice.headline.text() == "50 nouvelles publications", timeout=DEADLINE_MS)
    assert appearances.shown == 1  # the card came once and stayed: no second slide, no flicker
    assert len(headlines) <= 5  # the count changes at most about once a second, not 50 times
    assert "Message 49 de la rafale" in labels_text(window)  # the newest, to read


def test_three_posts_together_say_so(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    hub.set_posts(
        "mention", [fresh("c", "Troisième", seconds=1), fresh("b", seconds=2), fresh("a", seconds=3)]
    )
    hub.set_posts("internal", [])
    qtbot.waitUntil(lambda: "3 nouvelles publications" in labels_text(window), timeout=DEADLINE_MS)
    assert "Troisième" in labels_text(window)


def test_in_english_when_the_wall_is(
    hub: Hub, wall_en: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_en, FANS_FIRST)
    hub.set_posts("internal", [fresh("i1", "Welcome to our new colleagues", kind="internal")])
    hub.set_posts("mention", [fresh("m1", seconds=1)])
    qtbot.waitUntil(lambda: "2 new posts" in labels_text(window), timeout=DEADLINE_MS)


def test_not_new_restart_fill_edit_and_unblock_show_nothing(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    stored = fresh("stored", "Déjà là avant le redémarrage")
    hub.set_posts("mention", [stored])
    window = open_window(hub, wall_fr, FANS_FIRST)
    wait_past_gathering(qtbot, hub)
    assert not window.notice.isVisible()  # the store's posts are what the screen had
    hub.set_posts("mention", [make_post("stored", text="Déjà là, corrigé", created_at=stored.created_at)])
    wait_past_gathering(qtbot, hub)
    assert not window.notice.isVisible()  # an edit
    hub.set_posts("mention", [])  # an author blocked…
    wait_past_gathering(qtbot, hub)
    hub.set_posts("mention", [stored])  # …and unblocked
    wait_past_gathering(qtbot, hub)
    assert not window.notice.isVisible()
    assert "Déjà là avant le redémarrage" not in labels_text(window)


def test_the_card_leaves_once_the_posts_panel_shows_the_post(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST, fade_ms=200)
    hub.set_posts("mention", [fresh("new")])
    qtbot.waitUntil(window.notice.isVisible, timeout=DEADLINE_MS)
    window.rotator.advance()  # a crossfade to the mentions panel
    assert current(window).panel_type() == "mentions"
    qtbot.waitUntil(lambda: not window.notice.isVisible(), timeout=DEADLINE_MS)


# --- never over a panic or a closed screen, never what moderation holds --------------------------
def test_nothing_is_shown_during_a_panic_nor_after_it(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    window.set_panic(True)
    hub.set_posts("mention", [fresh("new")])
    wait_past_gathering(qtbot, hub)
    assert NEW_TEXT not in labels_text(window)
    window.set_panic(False)
    wait_past_gathering(qtbot, hub)
    assert not window.notice.isVisible()  # old news by then: it does not pop up afterwards


def test_panic_during_the_card_removes_it_and_closed_hours_show_nothing(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    hub.set_posts("mention", [fresh("new")])
    qtbot.waitUntil(window.notice.isVisible, timeout=DEADLINE_MS)
    window.set_panic(True)
    assert NEW_TEXT not in labels_text(window)
    assert window.notice.isHidden()
    window.set_panic(False)
    window.set_sleeping(True, clock=True)
    hub.set_posts("mention", [fresh("night", "Posté la nuit"), fresh("new")])
    wait_past_gathering(qtbot, hub)
    assert "Posté la nuit" not in labels_text(window)
    assert window.notice.isHidden()


def test_a_post_held_by_pre_moderation_never_shows(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot, tmp_path: Path
) -> None:
    """The hub gets what the engine gets from a real store: pre-moderation holds the mention."""
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    store = open_resilient(tmp_path / "wall.sqlite3")
    try:
        held = fresh("held", "Une mention que personne n'a encore relue")
        colleague = fresh("ok", "Pot de départ de Jeanne à 17 h", kind="internal", seconds=1)
        verdicts = Moderator(ModerationSettings(mode="pre")).judge_many([held, colleague], now=NOW)
        store.apply("masto", Batch(posts=(held, colleague)), now=NOW, verdicts=verdicts)
        for kind in ("mention", "internal"):
            hub.set_posts(kind, store.recent_posts(kind))  # as `Engine._refresh` does
    finally:
        store.close()
    qtbot.waitUntil(lambda: "Pot de départ de Jeanne à 17 h" in labels_text(window), timeout=DEADLINE_MS)
    assert "Une mention que personne n'a encore relue" not in labels_text(window)
    assert window.notice.headline.text() == "Nouveau"  # one post announced, not two


def test_a_post_hidden_while_on_the_card_leaves_it_at_once(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], qtbot: QtBot
) -> None:
    hub.set_counts([make_count()])
    window = open_window(hub, wall_fr, FANS_FIRST)
    hub.set_posts("mention", [fresh("new")])
    qtbot.waitUntil(lambda: NEW_TEXT in labels_text(window), timeout=DEADLINE_MS)
    hub.set_posts("mention", [])  # hidden from the moderation page
    hub.flush()
    QApplication.processEvents()
    assert NEW_TEXT not in labels_text(window)


def test_excerpt_cuts_long_posts_at_a_word() -> None:
    text = "Bravo " * 60
    cut = excerpt(text, 40)
    assert cut.endswith("…") and len(cut) <= 41 and "  " not in cut
