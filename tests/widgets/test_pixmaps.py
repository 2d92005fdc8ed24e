"""Pictures kept in memory stay bounded in bytes, whatever number and size of pictures posts bring
(issue 12: a hostile run's scaled pictures filled 80 MB in five minutes when only counted)."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tests.widgets.conftest import png_bytes
from widgets.hub import MAX_IMAGE_BYTES, Hub
from widgets.images import CoverImage
from widgets.pixmaps import SCALED_CACHE_SCREENS, SOURCE_CACHE_SCREENS, PixmapCache


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
