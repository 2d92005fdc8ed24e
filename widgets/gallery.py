"""A post's pictures on its card (issue 15): up to four, laid out by their aspect ratios.

One picture fills the box; two sit side by side, or one above the other when that crops them less
(two wide pictures in a tall box); three are one large and two small; four are a 2x2 grid. Of the
arrangements that fit a count, the one that keeps the most of each picture wins, so faces are
cropped as little as the box allows. A single picture may also be *contained*: its tile takes the
picture's own shape, so nothing of it is cut (a portrait photo on a featured card).

Video posts show their poster with a small play mark; nothing plays: measured by `bench video`
(docs/video.md), QtMultimedia alone takes the wall from ~103 to ~147 MB PSS and a muted 480p loop
adds ~120 MB and drops frames of every transition on a software-rendered kiosk. The alt text of
each picture is the tile's accessible name, never drawn. A "+N" mark says how many pictures the
card does not show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPolygonF, QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from wall.core.model import Media, Post
from widgets.images import CoverImage
from widgets.pixmaps import PixmapCache

MAX_PICTURES = 4
VIDEO_KINDS = frozenset({"video", "gifv", "gif"})  # moving pictures: their poster is shown, marked
NOT_PICTURES = frozenset({"audio"})  # nothing to show (a Mastodon audio file has no poster)
PLAY_MARK_SHARE = 0.16  # of the tile's shorter side: discreet, yet seen from a few metres
MIN_PLAY_MARK = 18
MAX_PLAY_MARK = 160


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture a card may show: its URL (a video's poster), alt text and whether it is a video."""

    url: str
    alt: str = ""
    video: bool = False


def picture_of(media: Media) -> Picture | None:
    """What a card shows of `media`: a video's poster (`preview_url` when set, else `url`), a picture
    as it is, nothing for audio or a missing URL."""
    if media.kind in NOT_PICTURES:
        return None
    video = media.kind in VIDEO_KINDS
    url = (media.preview_url or media.url) if video else media.url
    return Picture(url, media.alt, video) if url else None


def pictures_of(post: Post) -> list[Picture]:
    """Every picture of `post` a card may show, in the post's order (none for sensitive posts)."""
    if post.sensitive or post.spoiler_text:
        return []
    return [picture for media in post.media if (picture := picture_of(media)) is not None]


def kept_share(ratio: float, width: int, height: int) -> float:
    """How much of a picture of aspect `ratio` (width / height) stays visible when it covers a box."""
    if width <= 0 or height <= 0 or ratio <= 0:
        return 0.0
    box = width / height
    return min(ratio, box) / max(ratio, box)


def contained(ratio: float, box: QRect) -> QRect:
    """The largest rectangle of aspect `ratio` inside `box`, centred in it."""
    if ratio <= 0 or box.isEmpty():
        return QRect(box)
    width = min(box.width(), round(box.height() * ratio))
    height = min(box.height(), round(width / ratio))
    return QRect(box.x() + (box.width() - width) // 2, box.y() + (box.height() - height) // 2, width, height)


def _candidates(count: int, width: int, height: int, gap: int) -> list[list[QRect]]:
    """The arrangements of `count` tiles in a `width`x`height` box, the first picture the large one."""
    half_w, half_h = (width - gap) // 2, (height - gap) // 2
    right, bottom = width - half_w, height - half_h  # the second half takes the odd pixel
    if count <= 1:
        return [[QRect(0, 0, width, height)]]
    if count == 2:
        side_by_side = [QRect(0, 0, half_w, height), QRect(half_w + gap, 0, right - gap, height)]
        stacked = [QRect(0, 0, width, half_h), QRect(0, half_h + gap, width, bottom - gap)]
        return [side_by_side, stacked]
    if count == 3:
        large_left = [
            QRect(0, 0, half_w, height),
            QRect(half_w + gap, 0, right - gap, half_h),
            QRect(half_w + gap, half_h + gap, right - gap, bottom - gap),
        ]
        large_top = [
            QRect(0, 0, width, half_h),
            QRect(0, half_h + gap, half_w, bottom - gap),
            QRect(half_w + gap, half_h + gap, right - gap, bottom - gap),
        ]
        return [large_left, large_top]
    return [
        [
            QRect(0, 0, half_w, half_h),
            QRect(half_w + gap, 0, right - gap, half_h),
            QRect(0, half_h + gap, half_w, bottom - gap),
            QRect(half_w + gap, half_h + gap, right - gap, bottom - gap),
        ]
    ]


def arrange(ratios: Sequence[float], width: int, height: int, gap: int) -> list[QRect]:
    """Tiles for pictures of these aspect `ratios` (at most four) in a box, `gap` pixels apart: of the
    arrangements for their number, the one that keeps the most of the pictures (the first wins a tie)."""
    ratios = list(ratios)[:MAX_PICTURES]
    if not ratios:
        return []
    best: list[QRect] = []
    best_kept = -1.0
    for tiles in _candidates(len(ratios), width, height, gap):
        kept = sum(kept_share(r, t.width(), t.height()) for r, t in zip(ratios, tiles, strict=True))
        if kept > best_kept + 1e-9:
            best, best_kept = tiles, kept
    return best


class MoreMark(QLabel):
    """The "+N" mark over the last picture shown: how many of the post's pictures the card leaves out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def paintEvent(self, event: QPaintEvent) -> None:
        """A dark rounded patch under white text, readable on any picture."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        shape = QPainterPath()
        radius = self.height() / 2
        shape.addRoundedRect(QRectF(self.rect()), radius, radius)
        painter.fillPath(shape, QColor(0, 0, 0, 170))
        painter.end()
        super().paintEvent(event)


class PictureTile(CoverImage):
    """One picture of a post, cropped to cover its tile; a video's poster gets a play mark. Its alt
    text is its accessible name (screen readers, tests), not drawn."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._video = False
        self.more = MoreMark(self)
        self.more.hide()

    def set_content(self, picture: Picture, cache: PixmapCache, radius: int) -> None:
        """Show `picture` (its alt text kept as the accessible name)."""
        self._video = picture.video
        self.setAccessibleName(picture.alt)
        self.setAccessibleDescription("video" if picture.video else "picture")
        self.set_picture(picture.url, cache, radius)

    def has_picture(self) -> bool:
        """True when the picture is ready at the tile's size (its decode may have been dropped since:
        four phone photos do not fit the decode budget at once, and need not)."""
        cache, url = self._cache, self.url()
        return cache is not None and bool(url) and cache.scaled(url, self.size()) is not None

    def is_video(self) -> bool:
        """True when the tile shows a video's poster (with the play mark)."""
        return self._video

    def set_more(self, hidden_pictures: int, font: QFont) -> None:
        """Show "+N" over the tile (0: no mark)."""
        self.more.setVisible(hidden_pictures > 0)
        if hidden_pictures > 0:
            self.more.setText(f"+{hidden_pictures}")
            self.more.setFont(font)
            palette = self.more.palette()
            palette.setColor(self.more.foregroundRole(), QColor("#ffffff"))
            self.more.setPalette(palette)
            self._place_more()

    def _place_more(self) -> None:
        hint = self.more.fontMetrics().boundingRect(self.more.text())
        height = round(hint.height() * 1.5)
        width = max(height, hint.width() + height)
        margin = max(4, round(min(self.width(), self.height()) * 0.05))
        self.more.setGeometry(self.width() - width - margin, self.height() - height - margin, width, height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the "+N" mark in the corner."""
        super().resizeEvent(event)
        if not self.more.isHidden():
            self._place_more()

    def paintEvent(self, event: QPaintEvent) -> None:
        """The picture, and over a video's poster a play triangle in a translucent circle."""
        super().paintEvent(event)
        if not self._video or not self.has_picture():
            return
        side = min(self.width(), self.height())
        diameter = max(MIN_PLAY_MARK, min(MAX_PLAY_MARK, round(side * PLAY_MARK_SHARE)))
        centre = QPointF(self.width() / 2, self.height() / 2)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawEllipse(centre, diameter / 2, diameter / 2)
        r = diameter * 0.22  # the triangle's optical centre sits a little right of the circle's
        triangle = QPolygonF(
            [
                QPointF(centre.x() - r * 0.75, centre.y() - r),
                QPointF(centre.x() - r * 0.75, centre.y() + r),
                QPointF(centre.x() + r * 1.15, centre.y()),
            ]
        )
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawPolygon(triangle)


class MediaGallery(QWidget):
    """The pictures of one post in one box, arranged by `arrange`; only decoded pictures take a tile
    (a picture still loading or broken leaves the others the room)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles = [PictureTile(self) for _ in range(MAX_PICTURES)]
        self._pictures: list[Picture] = []
        self._cache: PixmapCache | None = None
        self._radius = 16
        self._gap = 8
        self._left_out = 0
        self._more_font = QFont()
        self._contain = False
        for tile in self._tiles:
            tile.hide()

    def set_pictures(
        self,
        pictures: Sequence[Picture],
        cache: PixmapCache,
        *,
        radius: int,
        gap: int,
        left_out: int = 0,
        more_font: QFont | None = None,
    ) -> None:
        """Show these pictures (at most four); `left_out` more are counted in a "+N" mark."""
        self._pictures = list(pictures)[:MAX_PICTURES]
        self._cache, self._radius, self._gap = cache, radius, gap
        self._left_out = left_out + max(0, len(pictures) - MAX_PICTURES)
        if more_font is not None:
            self._more_font = more_font
        self._relayout()

    def set_contain(self, contain: bool) -> None:
        """Show a single picture whole, in its own shape, centred in the box (else it covers the box)."""
        if contain != self._contain:
            self._contain = contain
            self._relayout()

    def urls(self) -> set[str]:
        """URLs of the pictures shown or waited for."""
        return {picture.url for picture in self._pictures}

    def ready(self) -> list[tuple[Picture, QSize]]:
        """The pictures decoded so far (in the post's order), with their sizes."""
        if self._cache is None:
            return []
        found = []
        for picture in self._pictures:
            size = self._cache.picture_size(picture.url)
            if size is not None and not size.isEmpty() and not self._cache.is_broken(picture.url):
                found.append((picture, size))
        return found

    def has_picture(self) -> bool:
        """True when at least one picture is there to show."""
        return any(tile.has_picture() for tile in self.tiles())

    def tiles(self) -> list[PictureTile]:
        """The tiles in use, in the post's order."""
        return [tile for tile in self._tiles if not tile.isHidden()]

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Arrange the tiles for the new size."""
        super().resizeEvent(event)
        self._relayout()

    def _relayout(self) -> None:
        ready = self.ready() if self._cache is not None else []
        ratios = [size.width() / size.height() for _, size in ready]
        box = QRect(0, 0, self.width(), self.height())
        if self._contain and len(ratios) == 1:
            places = [contained(ratios[0], box)]
        else:
            places = arrange(ratios, box.width(), box.height(), self._gap)
        for index, tile in enumerate(self._tiles):
            if index >= len(ready) or self._cache is None:
                tile.hide()
                tile.set_more(0, self._more_font)
                continue
            picture, _ = ready[index]
            tile.setGeometry(places[index])
            tile.show()
            tile.set_content(picture, self._cache, self._radius)
            last = index == len(ready) - 1
            tile.set_more(self._left_out if last else 0, self._more_font)
