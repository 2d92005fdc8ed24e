"""Pictures by URL, decoded and scaled off the GUI thread.

The hub hands out *encoded* bytes. Decoding a 1600-pixel JPEG takes ~15 ms and a smooth scale to a
card ~3 ms, so both run in a small thread pool: `QImageReader.read()` and `QImage.scaled()` release
the GIL, whereas `QImage.fromData` keeps it. Only `QPixmap.fromImage` (~0.1 ms) runs on the GUI
thread. Broken bytes are remembered so they are not decoded again; the card shows no picture.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Collection, Mapping
from typing import TypeVar

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QSize, Qt, QThread, QThreadPool, Signal
from PySide6.QtGui import QGuiApplication, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from widgets.hub import Hub

# Full-size decodes are big (a phone photo is 7.7 MB decoded) and only needed to make a new size:
# the cards show the scaled ones, kept longer, so the last decode alone is kept (for its other
# sizes, asked for right after). A picture needed at a size not kept is decoded again (about 15 ms,
# off the GUI thread). Keeping 6 (two screens' worth) cost `bench soak` 9.6 MB at the end of 3 days
# (159.5 -> 149.9 MB) for 36 decodes instead of 61 in 432 rotations (issue 14).
SOURCE_CACHE_PICTURES = 1
SCALED_CACHE_PICTURES = 64
# Counts alone are no bound: 64 scaled pictures of a featured card's size are 80 MB at 1920x1080,
# which a hostile run filled in five minutes (issue 12). Both caches are also bounded in bytes, as
# many full screens of pixels as this (at least one picture each is kept).
SOURCE_CACHE_SCREENS = 2
# Scaled pictures: the panel on screen and the next one's (a card shows at most a screen of pixels).
# With a post of 4 pictures, 4 screens kept ~11 MB of variants no card showed: `bench memory` 155.6
# MB after 1,000 rotations at 4, 144.8 at 2, frames unchanged (max 18-20 ms). A scaled picture a
# card holds (the last one it painted) stays in memory whatever the cache does: dropping it frees
# nothing and has it scaled again. So the byte bound is on the others only: one screen of them (the
# next panel's). `bench soak` had 11.8 of its 15.8 MB of scaled pictures held by no card after 3
# days; with this 6.2 of 11.8 (7.3 of 11.9 after 7 days), 55 scales in 3 days as before (issue 14).
SCALED_CACHE_SCREENS = 1
# ...and once a transition between panels is over (`release_spare`), a quarter of one. The bound
# above must hold pictures made and not yet painted (a gallery's four tiles arrive one by one, and
# a smaller bound dropped them before they were painted, to make them again). The large card's turn
# waits for its pictures under its cover (`widgets.turn`), so the large sizes of posts featured
# before are not needed to show them at once; a quarter screen keeps the thumbnails and avatars of
# posts moving between cards. `bench soak`: 4-5 MB fewer at the end of a week (issue 14).
SPARE_AFTER_TRANSITION_SCREENS = 0.25
# The size of every picture decoded, for layouts by aspect ratio (issue 15): a few bytes each, kept
# after the decode itself is dropped, so a card laid out once need not decode its pictures again.
KNOWN_SIZES = 512
_FALLBACK_SCREEN = QSize(1920, 1080)
K = TypeVar("K")
DECODER_THREADS = 1  # the lobby PC may have two cores: leave one to the GUI thread


# What the picture loader hands over (`wall.engine.images`), known by its first bytes. Told the
# format, Qt reads with that one handler; not told, it loads every image plug-in to ask each whether
# it can read the bytes (SVG, TIFF, WebP, ICNS, TGA...), and they stay mapped: 1.3 MB of resident
# code for a wall that only ever shows PNG and JPEG (issue 14, `bench soak`).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", b"png"),
    (b"\xff\xd8\xff", b"jpeg"),
    (b"GIF8", b"gif"),
    (b"BM", b"bmp"),
)


def image_format(data: bytes) -> bytes:
    """The Qt format name of encoded image bytes, from their signature (b"" when unknown: Qt guesses)."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return b"webp"
    return b""


def decode_image(data: bytes) -> QImage:
    """Decode encoded image bytes (a null QImage when they are not a readable picture)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    # With a format named, Qt still tries the others if that one cannot read the bytes.
    reader = QImageReader(buffer, image_format(data))
    reader.setAutoTransform(True)  # honour EXIF orientation
    return reader.read()


def cover_scaled(image: QImage, size: QSize) -> QImage:
    """`image` scaled to cover `size`, cropped to its centre."""
    scaled = image.scaled(
        size, Qt.AspectRatioMode.KeepAspectRatioByExpanding, Qt.TransformationMode.SmoothTransformation
    )
    x = max(0, (scaled.width() - size.width()) // 2)
    y = max(0, (scaled.height() - size.height()) // 2)
    return scaled.copy(x, y, size.width(), size.height())


class _Results(QObject):
    """Carries worker results to the GUI thread (queued signals)."""

    decoded = Signal(str, QImage)
    scaled = Signal(str, QSize, QImage)


class PixmapCache(QObject):
    """Decoded pictures by URL and their cover-scaled versions, least recently used dropped first.

    `pixmap_ready(url)` is emitted when a decode or a scale of `url` finishes: ask again then.
    """

    pixmap_ready = Signal(str)

    def __init__(self, hub: Hub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The pool is created first so it is destroyed first: its destructor waits for running
        # jobs, which still need `_results` to report to.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(DECODER_THREADS)
        # Pictures may wait, frames may not: on a two-core lobby PC a decode at normal priority
        # competes with the GUI thread and costs it a frame now and then (measured).
        self._pool.setThreadPriority(QThread.Priority.IdlePriority)
        self._results = _Results(self)
        self._results.decoded.connect(self._on_decoded)
        self._results.scaled.connect(self._on_scaled)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shut_down)
        self._hub = hub
        self._sources: OrderedDict[str, QImage] = OrderedDict()
        self._scaled: OrderedDict[tuple[str, int, int], QPixmap] = OrderedDict()
        self._source_bytes = 0
        self._scaled_bytes = 0
        # Sizes a picture was shown at by a widget since resized with it (a gallery laid out again as
        # its other pictures arrive): dropped as soon as no widget paints them any more.
        self._superseded: set[tuple[str, int, int]] = set()
        self._broken: set[str] = set()
        self._sizes: OrderedDict[str, QSize] = OrderedDict()
        self._jobs: set[tuple[str, int, int]] = set()  # (url, 0, 0) is a decode, else a scale
        # Work done since start: a budget too small for what is on screen shows as the same pictures
        # decoded or scaled again and again (`bench soak` prints these beside the memory).
        self._decodes = 0
        self._scales = 0
        self._spare_hits = 0  # pictures asked for that only the cache held: what keeping them spared

    def has_picture(self, url: str) -> bool:
        """True when `url` was decoded (even if that decode was dropped since: its sizes get decoded
        again when asked for); otherwise it gets asked for (hub) or decoded (pool)."""
        if url in self._sizes and url not in self._broken:
            self._sizes.move_to_end(url)
            return True
        return self._source(url) is not None

    def picture_size(self, url: str) -> QSize | None:
        """The size of the picture at `url` once it was decoded (even if the decode was dropped since);
        otherwise None, and it gets asked for (hub) or decoded (pool)."""
        size = self._sizes.get(url)
        if size is not None:
            self._sizes.move_to_end(url)
            return size
        return None if self._source(url) is None else self._sizes.get(url)

    def scaled(self, url: str, size: QSize) -> QPixmap | None:
        """`url` covering `size` exactly, when ready; otherwise None and it gets prepared."""
        key = (url, size.width(), size.height())
        self._superseded.discard(key)  # shown at that size again
        if key in self._scaled and not _held_elsewhere(self._scaled, key):
            self._spare_hits += 1
        pixmap = self._scaled.get(key)
        if pixmap is not None:
            self._scaled.move_to_end(key)
            return pixmap
        source = self._source(url)
        if source is not None and size.width() > 0 and size.height() > 0 and key not in self._jobs:
            self._jobs.add(key)
            self._scales += 1
            done = self._results.scaled
            self._pool.start(lambda: done.emit(url, size, cover_scaled(source, size)))
        return None

    def supersede(self, url: str, size: QSize) -> None:
        """A widget showing `url` at `size` was resized: that size is dropped once nothing paints it
        (unless it is asked for again first)."""
        key = (url, size.width(), size.height())
        if key in self._scaled or key in self._jobs:
            self._superseded.add(key)

    def is_broken(self, url: str) -> bool:
        """True when the bytes for `url` could not be decoded."""
        return url in self._broken

    def retry(self, url: str) -> None:
        """New bytes arrived for `url`: decode them next time even if the last ones were broken."""
        self._broken.discard(url)

    def is_busy(self) -> bool:
        """True while pictures are being decoded or scaled."""
        return bool(self._jobs)

    def shut_down(self) -> None:
        """Drop queued jobs and wait for running ones (before the application and Python go away)."""
        self._pool.clear()
        self._pool.waitForDone()

    def wait_until_idle(self, timeout_ms: int = 5000) -> bool:
        """Block until every job is done and delivered (snapshots, tests); False on timeout."""
        self._pool.waitForDone(timeout_ms)
        QApplication.processEvents()
        return not self._jobs

    def _source(self, url: str) -> QImage | None:
        if not url or url in self._broken:
            return None
        image = self._sources.get(url)
        if image is not None:
            self._sources.move_to_end(url)
            return image
        key = (url, 0, 0)
        if key not in self._jobs:
            data = self._hub.image(url)
            if data is not None:
                self._jobs.add(key)
                self._decodes += 1
                done = self._results.decoded
                self._pool.start(lambda: done.emit(url, decode_image(data)))
        return None

    def _on_decoded(self, url: str, image: QImage) -> None:
        self._jobs.discard((url, 0, 0))
        if image.isNull():
            self._broken.add(url)
        else:
            old = self._sources.pop(url, None)
            self._source_bytes += image.sizeInBytes() - (old.sizeInBytes() if old is not None else 0)
            self._sources[url] = image
            self._sizes.pop(url, None)
            self._sizes[url] = image.size()
            if len(self._sizes) > KNOWN_SIZES:
                self._sizes.popitem(last=False)
            budget = SOURCE_CACHE_SCREENS * self._screen_bytes()
            while len(self._sources) > 1 and (
                len(self._sources) > SOURCE_CACHE_PICTURES or self._source_bytes > budget
            ):
                self._source_bytes -= self._sources.popitem(last=False)[1].sizeInBytes()
        self.pixmap_ready.emit(url)

    def _on_scaled(self, url: str, size: QSize, image: QImage) -> None:
        key = (url, size.width(), size.height())
        self._jobs.discard(key)
        old = self._scaled.pop(key, None)
        pixmap = QPixmap.fromImage(image)
        self._scaled_bytes += _pixmap_bytes(pixmap) - (_pixmap_bytes(old) if old is not None else 0)
        self._scaled[key] = pixmap
        while len(self._scaled) > SCALED_CACHE_PICTURES:
            self._scaled_bytes -= _pixmap_bytes(self._scaled.popitem(last=False)[1])
        self._drop_spare_pictures(SCALED_CACHE_SCREENS * self._screen_bytes(), keep=key)
        self.pixmap_ready.emit(url)

    def _drop_spare_pictures(self, budget: int, keep: tuple[str, int, int] | None = None) -> int:
        """Drop the superseded sizes no card holds, then the least recently used scaled pictures no
        card holds until those left (`keep`, just made, always among them) weigh at most `budget`."""
        self._drop_superseded()  # `keep` too, when its widget asked for another size meanwhile
        spare = [key for key in self._scaled if key != keep and not _held_elsewhere(self._scaled, key)]
        kept = [keep] if keep is not None and keep in self._scaled else []
        spare_bytes = sum(_pixmap_bytes(self._scaled[key]) for key in (*spare, *kept))
        dropped = 0
        for key in spare:  # least recently used first
            if spare_bytes <= budget:
                break
            size = _pixmap_bytes(self._scaled.pop(key))
            spare_bytes -= size
            dropped += size
        self._scaled_bytes -= dropped
        return dropped

    def release_spare(self, on_cards: Collection[str] | None = None) -> int:
        """Drop what no card needs: the full-size decodes no job waits for, the sizes no widget
        shows any more, and the pictures not among `on_cards` (those of the posts the cards show,
        on screen or not; by default those of every post the hub holds); returns the bytes dropped.

        Called when a transition between panels ends: the panel on screen has its pictures at their
        sizes, and a decode kept until then (a phone photo is 7.7 MB) would only serve a size asked
        for later, which decodes again (about 15 ms, off the GUI thread)."""
        waiting = {url for url, _, _ in self._jobs}
        dropped = 0
        for url in [url for url in self._sources if url not in waiting]:
            dropped += self._sources.pop(url).sizeInBytes()
        self._source_bytes -= dropped
        live = self._hub.picture_urls() if on_cards is None else on_cards
        gone = [key for key in self._scaled if key[0] not in live and not _held_elsewhere(self._scaled, key)]
        for key in gone:
            removed = _pixmap_bytes(self._scaled.pop(key))
            self._scaled_bytes -= removed
            dropped += removed
        dropped += self._drop_superseded()
        # The spares' bound is otherwise applied only as new sizes are made: a wall whose panels
        # make none for a while kept its last turns' large sizes until then.
        return dropped + self._drop_spare_pictures(int(SPARE_AFTER_TRANSITION_SCREENS * self._screen_bytes()))

    def pictures_kept(self) -> set[str]:
        """The addresses of the pictures kept in memory, decoded or at some size."""
        return {*self._sources, *(url for url, _, _ in self._scaled)}

    def _drop_superseded(self) -> int:
        self._superseded &= self._scaled.keys() | self._jobs  # (the bounds may have dropped some)
        dropped = 0
        done = [key for key in self._superseded if key in self._scaled]
        for key in [key for key in done if not _held_elsewhere(self._scaled, key)]:
            self._superseded.discard(key)
            dropped += _pixmap_bytes(self._scaled.pop(key))
        self._scaled_bytes -= dropped
        return dropped

    def cached_bytes(self) -> int:
        """Bytes of the decoded and scaled pictures this cache keeps."""
        return self._source_bytes + self._scaled_bytes

    def cache_report(self) -> dict[str, int]:
        """What the cache holds (bytes of full-size decodes and of scaled pictures) and the work it
        did since start (decodes and scales started), for the memory benches."""
        alone = sum(
            _pixmap_bytes(self._scaled[key]) for key in self._scaled if not _held_elsewhere(self._scaled, key)
        )
        return {
            "decoded_bytes": self._source_bytes,
            "scaled_bytes": self._scaled_bytes,
            "scaled_bytes_kept_for_later": alone,
            "decodes": self._decodes,
            "scales": self._scales,
            "spare_hits": self._spare_hits,
        }

    def spare_sizes(self) -> dict[str, int]:
        """Bytes of the scaled pictures no card holds, by size ("1011x468"), for the memory benches."""
        found: dict[str, int] = {}
        for key in self._scaled:
            if not _held_elsewhere(self._scaled, key):  # (no local name may hold the pixmap here)
                name = f"{key[1]}x{key[2]}"
                found[name] = found.get(name, 0) + _pixmap_bytes(self._scaled[key])
        return found

    def _screen_bytes(self) -> int:
        """Bytes of one full screen of pixels: the window this cache serves, else the primary screen."""
        owner = self.parent()
        size = owner.size() if isinstance(owner, QWidget) and owner.width() > 1 else QSize()
        ratio = owner.devicePixelRatioF() if isinstance(owner, QWidget) else 1.0
        if size.isEmpty():
            screen = QGuiApplication.primaryScreen()
            size = screen.size() if screen is not None else _FALLBACK_SCREEN
            ratio = screen.devicePixelRatio() if screen is not None else 1.0
        return int(size.width() * size.height() * ratio * ratio * 4)


def _references(mapping: Mapping[K, object], key: K) -> int:
    return sys.getrefcount(mapping[key])


# What a value only its dict holds counts, on this interpreter (measured the same way, once).
_ALONE = _references({0: object()}, 0)


def _held_elsewhere(mapping: Mapping[K, object], key: K) -> bool:
    """True when something besides `mapping` holds the value at `key` (a card keeps the very
    pixmap `scaled()` returned, as the last one it painted)."""
    return _references(mapping, key) > _ALONE


def _pixmap_bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(1, pixmap.depth() // 8)
