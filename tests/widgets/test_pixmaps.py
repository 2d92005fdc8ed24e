"""Pictures kept in memory stay bounded in bytes, whatever number and size of pictures posts bring
(issue 12: a hostile run's scaled pictures filled 80 MB in five minutes when only counted)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.support.posts import make_post
from tests.widgets.conftest import clock, current, png_bytes, settle
from wall.core.model import Media, PostKind
from wall.engine.config import PanelSettings, WallSection
from wall.shell.windows import keep_memory_low
from widgets.hub import MAX_IMAGE_BYTES, Hub
from widgets.images import CoverImage
from widgets.pixmaps import SCALED_CACHE_SCREENS, SOURCE_CACHE_SCREENS, PixmapCache
from widgets.posts import PostsPanel
from widgets.window import WallWindow


def test_decoded_and_scaled_pictures_stay_within_a_few_screens_of_pixels(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(640, 360)
    hub = Hub()
    cache = PixmapCache(hub, window)
    urls = [f"https://img.example/{n}.png" for n in range(30)]
    for n, url in enumerate(urls):
        hub.add_image(url, png_bytes(1200, 900, f"#{(n * 8) % 256:02x}3366"))
    card = QSize(600, 340)  # a featured card's picture: each scaled copy is most of a screen
    for url in urls:
        cache.scaled(url, card)
        qtbot.waitUntil(lambda: cache.scaled(url, card) is not None, timeout=5000)  # noqa: B023
    screen = 640 * 360 * window.devicePixelRatioF() ** 2 * 4
    decoded = 1200 * 900 * 4
    # Without the byte bound: 6 decoded (26 MB) and 30 scaled (24 MB) pictures.
    assert cache.cached_bytes() <= SCALED_CACHE_SCREENS * screen + max(SOURCE_CACHE_SCREENS * screen, decoded)
    # What was shown last is still at hand (a card turning back to it needs no new decode).
    assert cache.scaled(urls[-1], card) is not None
    assert cache.has_picture(urls[-1])


def test_the_hub_keeps_encoded_pictures_within_its_byte_budget(qtbot: QtBot) -> None:
    hub = Hub()
    asked: list[str] = []
    hub.set_image_requester(asked.append)
    big = b"\x89PNG" + bytes(3 * 1024 * 1024)  # prepared pictures are checked bytes: size is what counts
    urls = [f"https://img.example/{n}.png" for n in range(20)]
    for url in urls:
        hub.add_image(url, big)
    assert hub.image_bytes() <= MAX_IMAGE_BYTES
    assert hub.image(urls[-1]) == big
    assert hub.image(urls[0]) is None and asked == [urls[0]]  # dropped, so asked for again


def test_one_full_size_decode_is_kept_and_earlier_pictures_still_come_at_a_new_size(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(1920, 1080)
    hub = Hub()
    cache = PixmapCache(hub, window)
    colours = [f"#{n * 30:02x}6633" for n in range(8)]
    urls = [f"https://img.example/{n}.png" for n in range(8)]
    for url, colour in zip(urls, colours, strict=True):
        hub.add_image(url, png_bytes(800, 600, colour))
    card = QSize(600, 340)
    for url in urls:  # a page of posts with a picture each, shown on their cards
        cache.scaled(url, card)
        qtbot.waitUntil(lambda: cache.scaled(url, card) is not None, timeout=5000)  # noqa: B023
    # The cards have their scaled pictures; of the full-size decodes (1.9 MB each), only the last
    # one is kept (it was the last six: 11 MB, most of it never used again).
    assert cache.cache_report()["decoded_bytes"] == 800 * 600 * 4
    # The first post still counts as having its picture (its layout keeps the picture's place)...
    assert cache.has_picture(urls[0])
    # ...and when it turns into a compact card, its picture comes at that size: decoded again.
    compact = QSize(200, 120)
    qtbot.waitUntil(lambda: cache.scaled(urls[0], compact) is not None, timeout=5000)
    shown = cache.scaled(urls[0], compact)
    assert shown is not None and shown.size() == compact
    assert shown.toImage().pixelColor(2, 2).name() == colours[0]


def test_a_card_keeps_its_picture_while_pictures_no_card_shows_are_dropped(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(640, 360)
    hub = Hub()
    cache = PixmapCache(hub, window)
    card = CoverImage(window)
    card.setGeometry(20, 10, 600, 340)
    window.show()
    shown_url = "https://img.example/shown.png"
    hub.add_image(shown_url, png_bytes(1200, 900, "#aa3366"))
    card.set_picture(shown_url, cache, radius=8)
    qtbot.waitUntil(lambda: cache.scaled(shown_url, card.size()) is not None, timeout=5000)
    card.repaint()  # the card paints its picture, and holds it
    # Twenty more pictures come through at a card's size (posts scrolling by on other panels).
    for n in range(20):
        url = f"https://img.example/{n}.png"
        hub.add_image(url, png_bytes(1200, 900, f"#{n * 12:02x}6633"))
        cache.scaled(url, card.size())
        qtbot.waitUntil(lambda: cache.scaled(url, card.size()) is not None, timeout=5000)  # noqa: B023
    scales = cache.cache_report()["scales"]
    card.repaint()
    # The card's picture is still at hand: no new scale (it was dropped with the oldest before).
    assert cache.scaled(shown_url, card.size()) is not None
    assert cache.cache_report()["scales"] == scales
    assert card.grab().toImage().pixelColor(300, 20).name() == "#aa3366"
    # Of the others, no more than a screen's worth is kept for later.
    screen = 640 * 360 * window.devicePixelRatioF() ** 2 * 4
    assert cache.cache_report()["scaled_bytes_kept_for_later"] <= SCALED_CACHE_SCREENS * screen


def _picture_colour(panel: PostsPanel) -> str:
    """The colour at the top middle of the featured card's first picture, as painted."""
    tiles = panel.featured.image.tiles()
    assert tiles and tiles[0].has_picture()
    return tiles[0].grab().toImage().pixelColor(tiles[0].width() // 2, 4).name()


def test_after_a_turn_between_panels_no_full_size_picture_is_kept_and_each_panel_keeps_its_own(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    photos: dict[PostKind, tuple[str, str]] = {
        "mention": ("https://img.example/vitrine.png", "#3366cc"),
        "internal": ("https://img.example/potager.png", "#2a9d8f"),
    }
    for kind, (url, colour) in photos.items():
        hub.add_image(url, png_bytes(1600, 1000, colour))  # 6.1 MB once decoded at full size
        hub.set_posts(kind, [make_post(kind, kind=kind, media=(Media(url, "Une photo"),))])
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions"), PanelSettings(type="internal")])
    keep_memory_low(window)  # as `wall run` does for each window
    cache = window.context.pixmaps
    mentions = current(window)
    assert isinstance(mentions, PostsPanel) and _picture_colour(mentions) == "#3366cc"
    window.rotator.advance()  # to the internal posts, with the crossfade
    qtbot.waitUntil(lambda: not window.rotator.is_fading(), timeout=5000)
    settle(hub, window)
    internal = current(window)
    assert isinstance(internal, PostsPanel) and internal is not mentions
    # The panel now on screen shows its picture; no full-size decode is kept for later (the last one
    # was, until a size nobody asked for again).
    assert _picture_colour(internal) == "#2a9d8f"
    assert cache.cache_report()["decoded_bytes"] == 0
    # Back to the mentions: their card still has its picture at its size, nothing is decoded again.
    decodes = cache.cache_report()["decodes"]
    window.rotator.advance()
    qtbot.waitUntil(lambda: not window.rotator.is_fading(), timeout=5000)
    settle(hub, window)
    assert current(window) is mentions and _picture_colour(mentions) == "#3366cc"
    assert cache.cache_report()["decodes"] == decodes


def _open_two_panels(
    open_window: Callable[..., WallWindow], hub: Hub, wall: WallSection
) -> tuple[WallWindow, PostsPanel]:
    """A wall of mentions then internal posts (text only), as `wall run` builds it; the mentions shown."""
    hub.set_posts("internal", [make_post("note", kind="internal", text="Réunion à 14 h")])
    window = open_window(hub, wall, [PanelSettings(type="mentions"), PanelSettings(type="internal")])
    keep_memory_low(window)
    window.grab()  # painted once: each card holds the pictures it shows
    mentions = current(window)
    assert isinstance(mentions, PostsPanel)
    return window, mentions


def _turn(qtbot: QtBot, hub: Hub, window: WallWindow) -> None:
    """The next panel, with its crossfade, painted."""
    window.rotator.advance()
    qtbot.waitUntil(lambda: not window.rotator.is_fading(), timeout=5000)
    settle(hub, window)
    window.grab()


def _update(hub: Hub, window: WallWindow) -> None:
    settle(hub, window)
    settle(hub, window)  # the pictures' shapes decide the layout, then the tiles are scaled
    window.grab()


def test_a_gallery_laid_out_again_as_its_pictures_arrive_keeps_only_the_sizes_it_shows(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    hub.set_image_requester(lambda url: None)  # the pictures arrive when the test says
    first, second = "https://img.example/vitrine.png", "https://img.example/comptoir.png"
    hub.add_image(first, png_bytes(1200, 800, "#3366cc"))
    hub.set_posts("mention", [make_post("photos", media=(Media(first, "1"), Media(second, "2")))])
    window, mentions = _open_two_panels(open_window, hub, wall_fr)
    assert [tile.url() for tile in mentions.featured.image.tiles()] == [first]  # the whole box
    hub.add_image(second, png_bytes(800, 1200, "#2a9d8f"))  # the second one arrives: two tiles
    _update(hub, window)
    tiles = mentions.featured.image.tiles()
    assert [tile.url() for tile in tiles] == [first, second] and all(tile.has_picture() for tile in tiles)
    cache = window.context.pixmaps
    scales = cache.cache_report()["scales"]
    _turn(qtbot, hub, window)
    # The first picture at the size of the whole box (1.6 MB at 1920x1080) is shown nowhere now.
    assert cache.cache_report()["scaled_bytes_kept_for_later"] == 0
    _turn(qtbot, hub, window)  # back to the mentions: both pictures as they were, none scaled again
    assert current(window) is mentions and all(tile.has_picture() for tile in mentions.featured.image.tiles())
    assert cache.cache_report()["scales"] == scales


def test_an_edited_post_that_lost_pictures_keeps_none_of_them_in_memory(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    urls = [f"https://img.example/{n}.png" for n in range(4)]
    for n, url in enumerate(urls):
        hub.add_image(url, png_bytes(1200, 800, f"#{n * 40:02x}6633"))
    hub.set_posts("mention", [make_post("photos", media=tuple(Media(url, "") for url in urls))])
    window, mentions = _open_two_panels(open_window, hub, wall_fr)
    assert len(mentions.featured.image.tiles()) == 4
    # The author kept only the first picture (a Mastodon edit): one tile is left.
    hub.set_posts("mention", [make_post("photos", media=(Media(urls[0], ""),))])
    _update(hub, window)
    assert [tile.url() for tile in mentions.featured.image.tiles()] == [urls[0]]
    _turn(qtbot, hub, window)
    assert window.context.pixmaps.pictures_kept() & set(urls[1:]) == set()
    _turn(qtbot, hub, window)
    assert all(tile.has_picture() for tile in mentions.featured.image.tiles())


def test_a_post_gone_from_the_wall_leaves_no_picture_in_memory(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    gone, new = "https://img.example/gone.png", "https://img.example/new.png"
    hub.add_image(gone, png_bytes(1200, 800, "#3366cc"))
    hub.add_image(new, png_bytes(1200, 800, "#2a9d8f"))
    older = make_post("older", media=(Media(new, ""),), created_at=clock() - timedelta(hours=1))
    hub.set_posts("mention", [make_post("old", media=(Media(gone, ""),)), older])
    window, mentions = _open_two_panels(open_window, hub, wall_fr)
    assert _picture_colour(mentions) == "#3366cc"
    # Moderated away (or deleted, or past its retention): the next post takes the large card.
    hub.set_posts("mention", [older])
    _update(hub, window)
    assert _picture_colour(mentions) == "#2a9d8f"
    _turn(qtbot, hub, window)
    assert gone not in window.context.pixmaps.pictures_kept()
    _turn(qtbot, hub, window)
    assert _picture_colour(mentions) == "#2a9d8f"


def test_the_large_card_turning_back_to_a_post_has_all_its_pictures_at_hand(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    four = [f"https://img.example/{n}.png" for n in range(4)]
    for n, url in enumerate([*four, "https://img.example/one.png"]):
        hub.add_image(url, png_bytes(1200, 800, f"#{n * 40:02x}6633"))
    carousel = make_post("carousel", media=tuple(Media(url, "") for url in four))
    single = make_post("single", media=(Media("https://img.example/one.png", ""),), created_at=clock())
    hub.set_posts("mention", [carousel, single])
    window, mentions = _open_two_panels(open_window, hub, wall_fr)
    ticker = _Seconds()
    mentions.set_ticker(ticker)
    mentions.shown_again()
    assert mentions.featured_post() == carousel and len(mentions.featured.image.tiles()) == 4
    mentions.feature_next()  # the single picture in the large card: three of its tiles are hidden
    mentions.turn().finish()
    _update(hub, window)
    window.context.pixmaps.release_spare()  # as at the end of a turn between panels
    screen = _turned_screen(qtbot, window, mentions, ticker)  # and back to the carousel
    assert mentions.featured_post() == carousel
    for n, tile in enumerate(mentions.featured.image.tiles()):
        top = tile.mapTo(mentions.featured, QPoint(tile.width() // 2, 4))
        assert screen.pixelColor(top).name() == f"#{n * 40:02x}6633"  # in the turn, not after it


def test_a_post_pushed_off_the_cards_by_newer_ones_leaves_no_picture_in_memory(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    hub = Hub()
    old = "https://img.example/old.png"
    hub.add_image(old, png_bytes(1200, 800, "#3366cc"))
    first = make_post("first", media=(Media(old, ""),), created_at=clock() - timedelta(hours=1))
    hub.set_posts("mention", [first])
    hub.set_posts("internal", [make_post("note", kind="internal", text="Réunion à 14 h")])
    panels = [PanelSettings(type="mentions", limit=2), PanelSettings(type="internal")]
    window = open_window(hub, wall_fr, panels)
    keep_memory_low(window)
    window.grab()
    mentions = current(window)
    assert isinstance(mentions, PostsPanel) and _picture_colour(mentions) == "#3366cc"
    # Two newer posts fill the panel's two cards; the first is still among the hub's posts.
    newer = [make_post(f"new-{n}", text=f"Nouveau message {n}") for n in range(2)]
    hub.set_posts("mention", [*newer, first])
    _update(hub, window)
    assert first not in mentions.shown_posts()
    _turn(qtbot, hub, window)
    assert old not in window.context.pixmaps.pictures_kept()


def test_compact_cards_show_their_pictures_at_one_size_so_a_post_moving_down_is_not_scaled_again(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    """The column's rows differ by a pixel when its height does not divide evenly: a thumbnail as
    tall as its own card was then 200 or 201 px, and each post that moved a slot down was scaled
    again, its old size kept as a spare."""
    hub = Hub()
    posts = []
    for n in range(6):
        url = f"https://img.example/{n}.png"
        hub.add_image(url, png_bytes(800, 800, "#3366cc"))
        posts.append(
            make_post(f"p{n}", media=(Media(url, str(n)),), created_at=clock() - timedelta(minutes=n))
        )
    hub.set_posts("mention", posts)
    window = open_window(hub, wall_fr, [PanelSettings(type="mentions")])
    window.grab()
    mentions = current(window)
    assert isinstance(mentions, PostsPanel)
    shown = [card for card in mentions.compact if not card.isHidden()]
    assert len(shown) >= 3
    sizes = [(card.image.width(), card.image.height()) for card in shown]
    assert len(set(sizes)) == 1, sizes


class _Seconds:
    """A seconds clock the test moves by hand (the turn's motion follows it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _turned_screen(qtbot: QtBot, window: WallWindow, panel: PostsPanel, ticker: _Seconds) -> QImage:
    """Turn the large card to the next post and return the screen once its crossfade is complete,
    before the panel itself is uncovered: what the turn shows (its picture of after the change)."""
    panel.feature_next()
    turn = panel.turn()
    qtbot.waitUntil(turn.is_moving, timeout=5000)
    ticker.now += 10  # the crossfade's end: the overlay shows the picture taken after the change
    turn.step()
    card = panel.featured
    return window.grab(QRect(card.mapTo(window, QPoint(0, 0)), card.size())).toImage()


def test_the_large_card_turning_to_a_post_shows_its_pictures_in_the_turn_itself(
    qtbot: QtBot, open_window: Callable[..., WallWindow], wall_fr: WallSection
) -> None:
    """A post first featured by a turn (until then in a small card, its pictures never made at the
    large card's size) showed its pictures only after the turn, popping in; the turn now waits,
    covered, for them. So the wall need not keep the large sizes of every post featured before."""
    hub = Hub()
    colours = ["#cc3366", "#33cc66", "#3366cc", "#cccc33"]
    four = [f"https://img.example/{n}.png" for n in range(4)]
    for url, colour in zip(four, colours, strict=True):
        hub.add_image(url, png_bytes(1200, 800, colour))
    carousel = make_post("carousel", media=tuple(Media(url, "") for url in four), created_at=clock())
    single = make_post("single", text="Sans photo, le plus récent")
    hub.set_posts("mention", [single, carousel])
    window, mentions = _open_two_panels(open_window, hub, wall_fr)
    ticker = _Seconds()
    mentions.set_ticker(ticker)
    mentions.shown_again()  # on screen since the ticker's now: the turn is not in the last seconds
    assert mentions.featured_post() == single
    window.context.pixmaps.release_spare()  # as at the end of a transition between panels

    screen = _turned_screen(qtbot, window, mentions, ticker)

    assert mentions.featured_post() == carousel
    tiles = mentions.featured.image.tiles()
    assert len(tiles) == 4
    for tile, colour in zip(tiles, colours, strict=True):
        top = tile.mapTo(mentions.featured, QPoint(tile.width() // 2, 4))
        assert screen.pixelColor(top).name() == colour  # the picture, not the card's surface
