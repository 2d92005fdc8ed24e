"""Pictures of a feed item that are not declared as media: the first suitable `<img>` of its HTML,
YouTube links as videos, and the rules that tell a photo from a tracking pixel or an icon.

Pure helpers for `sources.rss` (issue 15, "photos first"); kept apart so that module stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sources.payload import http_url
from wall.core.model import Media
from wall.core.text import clean_text

MIN_PICTURE_PX = 100  # a declared width or height below this is an icon, a button or a tracking pixel
MAX_PICTURE_SIDE_PX = 1600  # the wall scales pictures to this side (wall.engine.images.MAX_SIDE_PX)
MAX_HTML_CHARS = 200_000  # an item's picture and links are near its top; a hostile body stops here
MAX_URL_CHARS = 2048

# YouTube's documented still of a video (the Data API's `thumbnails.high`, 480x360): it exists for
# every public video, so a link is enough to show a poster.
YOUTUBE_POSTER = "https://i.ytimg.com/vi/{id}/hqdefault.jpg"
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = frozenset(
    {"youtube.com", "www.youtube.com", "m.youtube.com", "youtube-nocookie.com", "www.youtube-nocookie.com"}
)
# Paths whose next segment is the video id: embeds, Shorts, live, and the old `/v/` player URL that
# YouTube's own channel feeds still put in `media:content`.
_YOUTUBE_ID_PATHS = frozenset({"embed", "shorts", "live", "v"})
_YTIMG = re.compile(r"^(?:i\d?|img)\.ytimg\.com$|^img\.youtube\.com$")


def _tracker(host: str, path: str) -> bool:
    """Images that are never a post's picture, each seen in real feeds:

    - WordPress.com's stats pixel `https://pixel.wp.com/b.gif?host=…&feed=1` (1x1, in every item of
      a WordPress.com feed; `stats.wordpress.com/b.gif` is its older address);
    - WordPress.com's comment buttons `http://feeds.wordpress.com/1.0/comments/<blog>/<post>/`
      (no width or height given);
    - FeedBurner's item pixel `feeds.feedburner.com/~r/<Feed>/~4/<id>` and FeedFlare buttons `/~ff/`;
    - the author's Gravatar that WordPress.com feeds add as a `media:content` of each item
      (`https://0.gravatar.com/avatar/<hash>?s=96…`);
    - WordPress's emoji images `s.w.org/images/core/emoji/…`, sized by CSS to 1em.
    """
    return (
        host in ("pixel.wp.com", "stats.wordpress.com")
        or (host == "feeds.wordpress.com" and path.startswith("/1.0/"))
        or (host == "feeds.feedburner.com" and path.startswith(("/~r/", "/~ff/")))
        or ((host == "gravatar.com" or host.endswith(".gravatar.com")) and path.startswith("/avatar/"))
        or (host == "s.w.org" and path.startswith("/images/core/emoji/"))
    )


def is_tracker(url: str) -> bool:
    """True for a URL shaped like a known tracking pixel, button, avatar or emoji (see `_tracker`)."""
    parts = urlsplit(url)
    return _tracker((parts.hostname or "").rstrip("."), parts.path)


def pixels(value: Any) -> int | None:
    """A declared width or height (`480`, `"480"`, `"480px"`), None when absent or relative (`50%`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*(\d{1,6})(?:\.\d*)?\s*(?:px)?\s*", value)
    return int(match.group(1)) if match else None


def too_small(width: Any, height: Any) -> bool:
    """True when a declared side is under MIN_PICTURE_PX (1x1 pixels, 16-96 px icons)."""
    sides = (pixels(width), pixels(height))
    return any(side is not None and side < MIN_PICTURE_PX for side in sides)


@dataclass(frozen=True, slots=True)
class Sized:
    """A candidate picture and its declared size (0 when not declared)."""

    url: str
    width: int = 0
    height: int = 0
    default: bool = False  # Media RSS `isDefault="true"`


def best_size(candidates: Iterable[Sized]) -> Sized | None:
    """The copy of one picture to show among several sizes (a `media:group`): the largest whose
    sides fit the wall's MAX_PICTURE_SIDE_PX, else the default or first of unknown size, else the
    largest (a picture bigger than the screen is scaled down, a small one would be blurred)."""
    known = [c for c in candidates if c.width and c.height]
    unknown = [c for c in candidates if not (c.width and c.height)]
    fitting = [c for c in known if max(c.width, c.height) <= MAX_PICTURE_SIDE_PX]
    if fitting:
        return max(fitting, key=lambda c: c.width * c.height)
    if unknown:
        return next((c for c in unknown if c.default), unknown[0])
    return max(known, key=lambda c: c.width * c.height, default=None)


def youtube_id(url: str) -> str | None:
    """The video id of a YouTube watch, short, embed or Shorts link, or of one of its stills."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    segments = [s for s in parts.path.split("/") if s]
    candidate = ""
    if host == "youtu.be" and segments:
        candidate = segments[0]
    elif host in _YOUTUBE_HOSTS:
        if segments == ["watch"]:
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        elif len(segments) >= 2 and segments[0] in _YOUTUBE_ID_PATHS:
            candidate = segments[1]
    elif _YTIMG.match(host) and len(segments) >= 3 and segments[0] in ("vi", "vi_webp"):
        candidate = segments[1]
    return candidate if _YOUTUBE_ID.match(candidate) else None


def youtube_video(video_id: str, alt: str = "") -> Media:
    """A YouTube video as the wall shows it: its documented still, marked as a video.

    `url` is the still too (as for X's videos): a card that does not know videos yet still shows a
    picture, and nothing downloads a web page expecting an image.
    """
    poster = YOUTUBE_POSTER.format(id=video_id)
    return Media(poster, alt, "video", poster)


@dataclass(slots=True)
class HtmlFindings:
    """What an item's HTML offers: its first suitable picture, and the YouTube videos it links to."""

    picture: Media | None = None
    videos: list[str] = field(default_factory=list)  # YouTube ids, first seen first


class _Enough(Exception):
    """Raised to stop reading an item's HTML once a picture and enough videos are found."""


class _HtmlReader(HTMLParser):
    def __init__(self, base: str, max_videos: int) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.max_videos = max_videos
        self.found = HtmlFindings()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: Mapping[str, str] = {name: value or "" for name, value in attrs}
        if tag == "img" and self.found.picture is None:
            self.found.picture = _html_picture(values, self.base)
        elif tag in ("a", "iframe"):
            target = values.get("href" if tag == "a" else "src", "")
            video = youtube_id(http_url(target, base=self.base, max_chars=MAX_URL_CHARS))
            if video and video not in self.found.videos:
                self.found.videos.append(video)
        if self.found.picture is not None and len(self.found.videos) >= self.max_videos:
            raise _Enough


def _html_picture(values: Mapping[str, str], base: str) -> Media | None:
    url = http_url(values.get("src"), base=base, max_chars=MAX_URL_CHARS)
    if not url or is_tracker(url) or too_small(values.get("width"), values.get("height")):
        return None
    if "wp-smiley" in values.get("class", "").split():  # WordPress emoji served from the blog itself
        return None
    return Media(url, clean_text(values.get("alt", "")))


def read_html(fragments: Iterable[str], base: str, *, max_videos: int = 4) -> HtmlFindings:
    """The first suitable `<img>` and the YouTube links of an item's HTML fragments, in order.

    Relative addresses resolve against `base` (the item's link, else the feed's address); images
    declared smaller than MIN_PICTURE_PX and known trackers are skipped.
    """
    findings = HtmlFindings()
    budget = MAX_HTML_CHARS
    for fragment in fragments:
        if budget <= 0:
            break
        reader = _HtmlReader(base, max_videos)
        reader.found.picture = findings.picture
        reader.found.videos = findings.videos
        try:
            reader.feed(fragment[:budget])
            reader.close()
        except _Enough:
            pass
        budget -= len(fragment)
        findings = reader.found
        if findings.picture is not None and len(findings.videos) >= max_videos:
            break
    return findings
