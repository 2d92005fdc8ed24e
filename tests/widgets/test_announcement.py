"""The announcement panel: comms' message whole, its picture, and a QR code a phone can read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import segno
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from wall.engine.config import BrandingSettings, PanelSettings, WallSection
from wall.engine.moderation.decisions import PublishedAnnouncement
from widgets.announcement import AnnouncementPanel
from widgets.hub import Hub
from widgets.qr import QUIET_MODULES, QrCodeView, display_address
from widgets.text import ELLIPSIS
from widgets.window import WallWindow

from .conftest import current, labels_text, settle

URL = "https://intranet.maisonlumiere.example/rse?from=lobby"
IMAGE = "asset:demo/images/equipe.png"
ANNOUNCEMENT = PanelSettings(
    type="announcement",
    title="Rejoignez le réseau interne",
    text="Toute l'actualité de l'entreprise, en deux minutes avec votre badge.",
    image=IMAGE,
    qr=URL,
)


def announcement(window: WallWindow) -> AnnouncementPanel:
    panel = current(window)
    assert isinstance(panel, AnnouncementPanel)
    return panel


def read_qr(image: QImage, modules: int) -> list[list[bool]]:
    """The modules of the code in `image`, sampled at each module's centre: the code is found by its
    dark pixels inside the light square (whose quiet zone must be light all round, as phones need)."""

    def where(test: Callable[[int], bool], box: QRect) -> QRect:
        xs, ys = [], []
        for y in range(box.top(), box.bottom() + 1):
            for x in range(box.left(), box.right() + 1):
                if test(image.pixelColor(x, y).lightness()):
                    xs.append(x)
                    ys.append(y)
        return QRect(min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)

    light = where(lambda v: v > 200, image.rect())
    inner = light.adjusted(
        light.width() // 20, light.height() // 20, -light.width() // 20, -light.height() // 20
    )
    code = where(lambda v: v < 128, inner)
    size = code.width() / modules
    assert size == code.height() / modules
    assert size == int(size), "every module is a whole number of pixels"
    quiet = round(QUIET_MODULES * size)
    assert light.adjusted(quiet, quiet, -quiet, -quiet).contains(code), "a quiet zone of 4 modules"
    return [
        [
            image.pixelColor(
                int(code.left() + (col + 0.5) * size), int(code.top() + (row + 0.5) * size)
            ).lightness()
            < 128
            for col in range(modules)
        ]
        for row in range(modules)
    ]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_qr_code_on_screen_decodes_back_to_the_address(
    hub: Hub, open_window: Callable[..., WallWindow], theme: str
) -> None:
    wall = WallSection(branding=BrandingSettings(theme=theme))
    window = open_window(hub, wall, [ANNOUNCEMENT])
    panel = announcement(window)
    assert panel.qr.isVisibleTo(window)
    expected = [[bool(cell) for cell in row] for row in segno.make_qr(URL, error="m").matrix]
    drawn = read_qr(
        window.grab(QRect(panel.qr.mapTo(window, panel.qr.rect().topLeft()), panel.qr.size())).toImage(),
        len(expected),
    )
    assert drawn == expected
    assert panel.qr.module_size() >= 4  # big enough to be read from a few steps away


class ShownWindows(QObject):
    """The windows Qt shows, by class: on the lobby screen, each is a rectangle over the wall."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note a window being shown; let every event through."""
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget) and watched.isWindow():
            self.names.append(type(watched).__name__)
        return False


def test_building_the_panel_shows_no_window_but_the_wall(
    qapp: QApplication, hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    # The code's card and the picture were shown before they had a parent: each became a window of
    # its own for a moment (Qt said "This plugin does not support propagateSizeHints()" offscreen).
    shown = ShownWindows()
    qapp.installEventFilter(shown)
    try:
        open_window(hub, wall_fr, [ANNOUNCEMENT])
    finally:
        qapp.removeEventFilter(shown)
    assert shown.names == ["WallWindow"]


def test_qr_view_draws_dark_on_light_with_whole_pixel_modules(qapp: Any) -> None:
    view = QrCodeView("https://example.org/charte")
    view.set_side(301)
    count = len(view.matrix()) + 2 * QUIET_MODULES
    assert view.width() % count == 0 and view.width() <= 301
    assert read_qr(view.grab().toImage(), len(view.matrix())) == [list(row) for row in view.matrix()]


def test_shows_headline_message_picture_and_address(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [ANNOUNCEMENT])
    panel = announcement(window)
    assert window.header.title_label.text() == "Annonce"
    texts = labels_text(panel)
    assert "Rejoignez le réseau interne" in texts
    assert ANNOUNCEMENT.text in texts
    assert "intranet.maisonlumiere.example/rse?from=lobby" in texts
    assert panel.picture.isVisibleTo(panel) and panel.picture.has_picture()
    for label in (panel.headline_label, panel.text_label, panel.address_label):
        assert label.text() == label.full_text()  # nothing elided, nothing cut
    assert display_address("https://example.org/") == "example.org"


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160), (1080, 1920)])
def test_laid_out_inside_the_screen_at_every_size(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow], width: int, height: int
) -> None:
    window = open_window(hub, wall_fr, [ANNOUNCEMENT])
    window.resize(width, height)
    settle(hub, window)
    panel = announcement(window)
    area = QRect(0, 0, panel.width(), panel.height())
    boxes = {
        name: QRect(widget.mapTo(panel, widget.rect().topLeft()), widget.size())
        for name, widget in (("card", panel.card), ("picture", panel.picture), ("code", panel.qr_card))
    }
    for name, box in boxes.items():
        assert area.contains(box), name
    assert not boxes["card"].intersects(boxes["picture"]) and not boxes["card"].intersects(boxes["code"])
    if height > width:
        assert boxes["picture"].bottom() < boxes["card"].top() < boxes["code"].top()
    else:
        assert boxes["card"].right() < boxes["picture"].left()
        assert boxes["picture"].bottom() < boxes["code"].top()
    qr = QRect(panel.qr.mapTo(panel.qr_card, panel.qr.rect().topLeft()), panel.qr.size())
    assert panel.qr_card.rect().contains(qr)
    for label in (panel.headline_label, panel.text_label, panel.address_label):
        assert label.text() == label.full_text()


def test_a_long_message_is_elided_on_a_word(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    text = "Une annonce beaucoup trop longue pour tenir sur l'écran du hall d'accueil. " * 8
    title = "Un titre bien trop long " * 3
    image = ANNOUNCEMENT.image
    settings = PanelSettings(type="announcement", title=title, text=text.strip(), image=image, qr=URL)
    window = open_window(hub, wall_fr, [settings])
    panel = announcement(window)
    for label, full in ((panel.text_label, text.strip()), (panel.headline_label, title.strip())):
        shown = label.text()
        assert shown.endswith(ELLIPSIS)
        kept = shown[: -len(ELLIPSIS)]
        assert full.startswith(kept) and full[len(kept)] in " ."


def test_without_picture_nor_code_the_message_takes_the_width(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [PanelSettings(type="announcement", text="Bonne année à tous !")])
    panel = announcement(window)
    assert not panel.qr_card.isVisibleTo(panel) and not panel.picture.isVisibleTo(panel)
    assert panel.card.width() > 0.9 * panel.width()


def test_a_missing_picture_is_left_out(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    settings = PanelSettings(type="announcement", text="Bonjour", image="/nonexistent/picture.png", qr=URL)
    window = open_window(hub, wall_fr, [settings])
    panel = announcement(window)
    assert not panel.picture.isVisibleTo(panel)
    assert panel.qr_card.isVisibleTo(panel)
    assert not panel.headline_label.isVisibleTo(panel)


@dataclass(frozen=True)
class BarePanel:
    """A panel entry with none of the announcement keys (what other callers may pass)."""

    type: str = "announcement"
    duration: float = 10
    title: str = ""
    sources: list[str] = field(default_factory=list)
    limit: int = 5
    milestones: tuple[int, ...] = ()


def test_without_a_message_the_panel_is_empty_and_skipped(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [BarePanel(), ANNOUNCEMENT])
    bare = window.rotator.panels()[0]
    assert isinstance(bare, AnnouncementPanel)
    assert not bare.has_content()
    assert current(window) is window.rotator.panels()[1]


DRILL = PublishedAnnouncement(
    "Exercice incendie à 15 h", "Sortie par l'escalier B.", "https://intra.example/feu"
)


def test_a_published_announcement_replaces_the_configured_one_until_withdrawn(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [ANNOUNCEMENT])
    panel = announcement(window)
    hub.set_announcement(DRILL)
    settle(hub, window)
    texts = labels_text(panel)
    assert DRILL.title in texts and DRILL.text in texts and "intra.example/feu" in texts
    assert ANNOUNCEMENT.text not in texts and ANNOUNCEMENT.title not in texts
    assert panel.qr.data() == DRILL.qr and panel.qr.isVisibleTo(panel)
    assert not panel.picture.isVisibleTo(panel)  # the configured picture illustrates the configured text
    assert panel.card.width() > 0.5 * panel.width()  # laid out again without the picture
    assert window.header.title_label.text() == "Annonce"

    hub.set_announcement(PublishedAnnouncement("", "Bonne année à tous !"))  # no title, no code
    settle(hub, window)
    assert labels_text(panel) == ["Bonne année à tous !"]
    assert not panel.qr_card.isVisibleTo(panel) and panel.card.width() > 0.9 * panel.width()

    hub.set_announcement(None)  # withdrawn: the config's message, picture and code again
    settle(hub, window)
    texts = labels_text(panel)
    assert ANNOUNCEMENT.title in texts and ANNOUNCEMENT.text in texts
    assert panel.picture.isVisibleTo(panel) and panel.qr.data() == URL


def test_without_an_announcement_panel_a_published_one_joins_every_playlist(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    window = open_window(hub, wall_fr, [PanelSettings(type="clock"), PanelSettings(type="mentions")])
    window.set_playlist([1])
    assert window.rotator.playlist() == [1] and len(window.rotator.panels()) == 2
    hub.set_announcement(DRILL)
    extra = window.rotator.panels()[2]
    assert isinstance(extra, AnnouncementPanel) and extra.has_content()
    assert window.rotator.playlist() == [1, 2]
    assert current(window) is extra  # the mentions panel had nothing to show
    window.set_playlist([0])  # the schedule's lunchtime playlist: still in the rotation
    assert window.rotator.playlist() == [0, 2]
    hub.set_announcement(PublishedAnnouncement("", "Deuxième annonce"))
    assert len(window.rotator.panels()) == 3 and extra.text_label.full_text() == "Deuxième annonce"
    hub.set_announcement(None)
    assert not extra.has_content()
    window.rotator.advance()
    assert current(window) is not extra  # skipped while nothing is published
    window.set_playlist(None)
    assert window.rotator.playlist() == [0, 1, 2]


def test_without_a_picture_the_code_is_larger_with_its_address_centred_under_it(
    hub: Hub, wall_fr: WallSection, open_window: Callable[..., WallWindow]
) -> None:
    windows = [open_window(hub, wall_fr, [ANNOUNCEMENT.model_copy(update={"image": i})]) for i in (IMAGE, "")]
    with_picture, alone = (announcement(window) for window in windows)
    assert not alone.picture.isVisibleTo(alone)
    # The code has the whole column: half the screen's height instead of 28 %.
    assert alone.qr.width() >= 0.5 * 1080 * 0.95 > 1.5 * with_picture.qr.width()
    for panel in (with_picture, alone):
        code = panel.qr.mapTo(panel, panel.qr.rect().center())
        label = panel.address_label
        drawn = label.fontMetrics().horizontalAdvance(label.text())
        left = label.mapTo(panel, label.rect().topLeft()).x() + (label.width() - drawn) // 2
        assert label.alignment() & Qt.AlignmentFlag.AlignHCenter
        assert abs(left + drawn // 2 - code.x()) <= 4  # the address is centred under the code
