"""Issue 15, photos first: every picture of a post, laid out by their shapes, video posters, and a post
without a picture set large in its card.

The featured card of each layout is compared with its reference picture at 1920x1080, 3840x2160 and
1080x1920 (the mechanism of `test_reference_images`; render them again with UPDATE_REFERENCE_IMAGES=1).
The pictures are drawn here (a coloured field with a white disc), so a crop shows as a cut disc.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from tests.support.posts import make_post
from wall.core.model import Media, Post
from wall.engine.config import PanelSettings, WallSection
from widgets.cards import PostCard
from widgets.gallery import PLAY_MARK_SHARE, PictureTile, arrange, contained, picture_of
from widgets.hub import Hub
from widgets.pixmaps import SCALED_CACHE_SCREENS, SOURCE_CACHE_SCREENS
from widgets.posts import PostsPanel
from widgets.text import ELLIPSIS
from widgets.window import WallWindow

from .conftest import clock, current, labels_text, png_bytes, settle
from .test_reference_images import REFERENCES, WALLS, changed_from_reference, demo_hub, half

MENTIONS = PanelSettings(type="mentions")
SIZES = ("1920x1080", "3840x2160", "1080x1920")
# (width, height, colour) of the pictures the layouts are made of
SHAPES = {
    "landscape": (1200, 800, "#3366cc"),
    "wide": (1600, 700, "#2a9d8f"),
    "portrait": (800, 1200, "#c2577f"),
    "square": (900, 900, "#e9a23b"),
    "poster": (1280, 720, "#8e5bd6"),
}


def url(shape: str, number: int = 1) -> str:
    """A picture's address: its shape is in its name."""
    return f"https://media.example.org/{shape}-{number}.png"


def picture(shape: str, number: int = 1, alt: str = "") -> Media:
    """A picture of one of SHAPES."""
    return Media(url(shape, number), alt or f"{shape} picture {number}")


SHORT = "Très belle vitrine à Bordeaux"
LONG = (
    "Un long message pour tester la mise en page : je suis passé hier au centre de Quimper pour un bruit "
    "bizarre à l'avant gauche, le technicien a trouvé une rotule usée, m'a montré la pièce, expliqué le "
    "devis ligne par ligne et proposé de revenir la semaine suivante pour ne pas bloquer ma journée. "
    "Service impeccable du début à la fin, je recommande sans hésiter à tous mes proches. Merci encore "
    "à toute l'équipe, et à Maëlle à l'accueil qui m'a offert un café pendant l'attente. #MaisonLumière"
)
TEXT = "Superbe accueil dans votre agence de Lille"
LAYOUTS: dict[str, tuple[str, tuple[Media, ...]]] = {
    "1-picture": (TEXT, (picture("landscape"),)),
    "2-pictures": (TEXT, (picture("landscape"), picture("portrait"))),
    "3-pictures": (TEXT, (picture("landscape"), picture("square"), picture("portrait"))),
    "4-pictures": (
        TEXT,
        (picture("landscape"), picture("portrait"), picture("square"), picture("landscape", 2)),
    ),
    "portrait": (TEXT, (picture("portrait"),)),
    "square": (TEXT, (picture("square"),)),
    "video": (TEXT, (Media("https://media.example.org/clip.mp4", "", "video", url("poster")),)),
    "text-short": (SHORT, ()),
    "text-long": (LONG, ()),
}


def load_pictures(hub: Hub, posts: list[Post]) -> None:
    """Give the hub the bytes of every picture of `posts`, drawn in the shape their address names."""
    for post in posts:
        for media in post.media:
            shown = picture_of(media)
            assert shown is not None
            shape = shown.url.rsplit("/", 1)[-1].rsplit("-", 1)[0]
            width, height, colour = SHAPES[shape]
            hub.add_image(shown.url, png_bytes(width, height, colour))


def open_at(qtbot: QtBot, hub: Hub, size: str, wall: WallSection | None = None) -> WallWindow:
    """A shown window of `size` with the mentions panel."""
    width, height = (int(n) for n in size.split("x"))
    window = WallWindow(hub, wall or WALLS["fr"], [MENTIONS], fade_ms=0, clock=clock)
    qtbot.addWidget(window)
    window.rotator.stop()
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(width, height)
    window.show()
    settle(hub, window)
    return window


def show(hub: Hub, window: WallWindow, posts: list[Post]) -> PostCard:
    """Put `posts` on the panel (the first featured) and return the featured card once laid out."""
    load_pictures(hub, posts)
    hub.set_posts("mention", posts)
    settle(hub, window)
    settle(hub, window)  # the pictures' shapes decide the layout, then the tiles are scaled
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    return panel.featured


@pytest.mark.parametrize("size", SIZES)
def test_featured_layouts_look_like_their_references(qtbot: QtBot, tmp_path: Path, size: str) -> None:
    """1 to 4 pictures, portrait, square and landscape, a video poster, a text alone (short and long)."""
    hub = Hub()
    window = open_at(qtbot, hub, size)
    failures = []
    for name, (text, media) in LAYOUTS.items():
        others = [make_post("other", text="Un autre message", media=(picture("square", 9),))]
        card = show(hub, window, [make_post(name, text=text, media=media), *others])
        reference = REFERENCES / f"post-{name}-{size}-fr.png"
        if failure := changed_from_reference(half(card.grab().toImage()), reference, tmp_path):
            failures.append(failure)
    assert not failures, f"changed (see {tmp_path}): {failures}"


# --- what a person sees, asserted on the widgets -------------------------------------------------


def test_each_picture_keeps_its_alt_text_and_extra_ones_are_counted(qtbot: QtBot) -> None:
    """Six pictures: the featured card shows four, each named by its alt text (never drawn), and
    "+2"; a compact card shows one and "+N" for the rest."""
    hub = Hub()
    window = open_at(qtbot, hub, "1920x1080")
    six = tuple(picture("landscape", n, alt=f"Photo {n} de la vitrine") for n in range(1, 7))
    three = (picture("square", 1, alt="Le comptoir"), picture("portrait", 1), picture("landscape", 9))
    card = show(hub, window, [make_post("six", media=six), make_post("three", media=three)])
    tiles = card.image.tiles()
    assert [tile.accessibleName() for tile in tiles] == [f"Photo {n} de la vitrine" for n in range(1, 5)]
    assert all(tile.has_picture() and tile.isVisibleTo(window) for tile in tiles)
    assert "+2" in labels_text(card)
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    compact = panel.compact[0]
    assert [tile.accessibleName() for tile in compact.image.tiles()] == ["Le comptoir"]
    assert "+2" in labels_text(compact)
    shown = " ".join(labels_text(window))
    assert "Photo 1" not in shown and "Le comptoir" not in shown  # alt text is not drawn


def test_a_single_picture_has_no_more_mark(qtbot: QtBot) -> None:
    hub = Hub()
    window = open_at(qtbot, hub, "1920x1080")
    card = show(hub, window, [make_post("one", media=(picture("landscape"),)), make_post("two")])
    assert not [text for text in labels_text(window) if text.startswith("+")]
    assert len(card.image.tiles()) == 1


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("shape", ["portrait", "square"])
def test_an_upright_picture_is_shown_whole_beside_the_text(qtbot: QtBot, size: str, shape: str) -> None:
    """Not a band cropped out of a portrait (faces cut): the tile has the picture's own shape."""
    hub = Hub()
    window = open_at(qtbot, hub, size)
    card = show(hub, window, [make_post("p", media=(picture(shape),)), make_post("other")])
    (tile,) = card.image.tiles()
    width, height, _ = SHAPES[shape]
    assert abs(tile.width() / tile.height() - width / height) < 0.01
    assert card.shows_beside()
    text_right = card.text_label.mapTo(card, card.text_label.rect().topRight()).x()
    assert tile.mapTo(card, tile.rect().topLeft()).x() > text_right


def test_a_landscape_picture_keeps_the_cover_layout_below_the_text(qtbot: QtBot) -> None:
    hub = Hub()
    window = open_at(qtbot, hub, "1920x1080")
    card = show(hub, window, [make_post("l", media=(picture("landscape"),)), make_post("other")])
    (tile,) = card.image.tiles()
    assert not card.shows_beside()
    assert tile.mapTo(card, tile.rect().topLeft()).y() > card.text_label.geometry().bottom()
    assert tile.width() > 0.8 * card.width()


def test_a_video_shows_its_poster_with_a_play_mark(qtbot: QtBot) -> None:
    """The poster is `preview_url` (the video file itself is never asked for); a mark is painted on it."""
    hub = Hub()
    asked: list[str] = []
    hub.set_image_requester(asked.append)
    window = open_at(qtbot, hub, "1920x1080")
    video = Media("https://media.example.org/clip.mp4", "Un essai sur route", "video", url("poster"))
    card = show(hub, window, [make_post("v", media=(video,)), make_post("other")])
    (tile,) = card.image.tiles()
    assert tile.is_video() and tile.has_picture() and tile.accessibleName() == "Un essai sur route"
    assert "https://media.example.org/clip.mp4" not in asked
    assert_play_mark(window, tile)


def assert_play_mark(window: WallWindow, tile: PictureTile) -> None:
    """A play mark is painted on the poster's centre: a dark disc around a white triangle."""
    drawn = tile.grab().toImage()
    poster = window.context.pixmaps.scaled(tile.url(), tile.size())
    assert poster is not None
    x, y = tile.width() // 2, tile.height() // 2
    diameter = min(tile.width(), tile.height()) * PLAY_MARK_SHARE
    ring = (round(x - 0.38 * diameter), y)  # inside the disc, left of the triangle
    assert QColor(drawn.pixel(*ring)).lightness() < QColor(poster.toImage().pixel(*ring)).lightness() - 40
    assert QColor(drawn.pixel(x + 2, y)).lightness() > 200  # the triangle


def test_a_post_without_picture_is_centred_and_large_and_a_long_one_shrinks_before_it_is_cut(
    qtbot: QtBot,
) -> None:
    hub = Hub()
    window = open_at(qtbot, hub, "1920x1080")
    card = show(hub, window, [make_post("s", text=SHORT), make_post("other")])
    label = card.text_label
    short_size = label.font().pixelSize()
    assert label.text() == SHORT
    assert (
        label.alignment() & Qt.AlignmentFlag.AlignVCenter
        and label.alignment() & Qt.AlignmentFlag.AlignHCenter
    )
    middle = label.mapTo(card, label.rect().center()).y()
    assert abs(middle - card.height() * 0.55) < card.height() * 0.12  # in the card's middle, not its top

    medium = LONG[: LONG.index(" Service")]
    card = show(hub, window, [make_post("m", text=medium), make_post("other")])
    assert label.text() == medium  # shrunk to fit whole rather than cut
    assert label.font().pixelSize() < short_size

    card = show(hub, window, [make_post("l", text=LONG * 2), make_post("other")])
    shown = label.text()
    assert shown.endswith(ELLIPSIS)  # the last resort
    kept = shown[: -len(ELLIPSIS)]
    assert (LONG * 2).startswith(kept) and (LONG * 2)[len(kept)] in " .,"  # never mid-word


# --- the arrangement, by the numbers -------------------------------------------------------------


def test_two_wide_pictures_are_stacked_in_a_tall_box_and_side_by_side_in_a_wide_one() -> None:
    tall = arrange([2.2, 2.2], 900, 800, 10)
    assert tall == [QRect(0, 0, 900, 395), QRect(0, 405, 900, 395)]
    wide = arrange([0.75, 1.0], 1000, 500, 10)
    assert wide == [QRect(0, 0, 495, 500), QRect(505, 0, 495, 500)]


def test_three_pictures_are_one_large_and_two_and_four_a_grid() -> None:
    three = arrange([1.5, 1.0, 0.7], 1000, 600, 10)
    assert three[0].height() == 600 and three[1].height() == three[2].height() == 295
    four = arrange([1.5, 0.7, 1.0, 1.5], 1000, 600, 10)
    assert {(r.width(), r.height()) for r in four} == {(495, 295)}
    assert arrange([1.0] * 6, 100, 100, 0) == arrange([1.0] * 4, 100, 100, 0)


def test_a_contained_picture_keeps_its_shape() -> None:
    assert contained(0.5, QRect(0, 0, 800, 600)) == QRect(250, 0, 300, 600)
    assert contained(2.0, QRect(10, 10, 400, 400)) == QRect(10, 110, 400, 200)


def test_audio_is_not_a_picture_and_a_video_without_poster_uses_its_url() -> None:
    assert picture_of(Media("https://a.example/x.mp3", kind="audio")) is None
    still = picture_of(Media("https://a.example/poster.jpg", kind="video"))
    assert still is not None and still.url == "https://a.example/poster.jpg" and still.video
    image = picture_of(
        Media("https://a.example/full.jpg", kind="image", preview_url="https://a.example/s.jpg")
    )
    assert image is not None and image.url == "https://a.example/full.jpg" and not image.video


# --- memory: four big pictures stay within the picture budgets -----------------------------------


def test_four_big_pictures_are_shown_within_the_picture_budgets(qtbot: QtBot) -> None:
    """Phone-size pictures (1600x1200, 7.7 MB decoded each): more than the decode budget holds at
    once; they are all shown, the decoding settles and the caches keep to their bytes."""
    hub = Hub()
    window = open_at(qtbot, hub, "1920x1080")
    big = [f"https://media.example.org/big-{n}.png" for n in range(4)]
    for n, address in enumerate(big):
        hub.add_image(address, png_bytes(1600, 1200, ["#3366cc", "#cc3366", "#33cc66", "#cccc33"][n]))
    hub.set_posts("mention", [make_post("big", media=tuple(Media(a) for a in big)), make_post("other")])
    settle(hub, window)
    assert window.wait_for_pictures()
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    tiles = panel.featured.image.tiles()
    assert len(tiles) == 4 and all(tile.has_picture() for tile in tiles)
    window.grab()
    assert window.wait_for_pictures()
    pixmaps = window.context.pixmaps
    assert not pixmaps.is_busy()  # no decode evicting another in a loop
    screen = 1920 * 1080 * 4
    assert pixmaps.cached_bytes() <= (SOURCE_CACHE_SCREENS + SCALED_CACHE_SCREENS) * screen


# --- the demo ------------------------------------------------------------------------------------


def test_the_demo_mentions_show_a_carousel_a_video_poster_and_a_portrait_photo(qtbot: QtBot) -> None:
    hub = demo_hub()
    window = open_at(qtbot, hub, "1920x1080")
    panel = current(window)
    assert isinstance(panel, PostsPanel)
    carousel = panel.featured.image.tiles()
    assert len(carousel) == 4 and all(tile.has_picture() for tile in carousel)
    videos = [tile for card in panel.cards() for tile in card.image.tiles() if tile.is_video()]
    assert videos and videos[0].has_picture()
    assert_play_mark(window, videos[0])
    portraits = [
        p for p in hub.posts("mention") if any("velo" in m.url for m in p.media)
    ]  # Ana's bike: shown whole when featured
    assert portraits
    while panel.featured_post() != portraits[0]:
        panel.feature_next()
        panel.turn().finish()
    settle(hub, window)
    assert panel.featured.shows_beside()
