"""`rss` source: RSS 2.0, Atom and JSON Feed 1.x, Google Alerts' Atom feeds included.

Fetching goes through `HttpFetcher` (conditional GET, size cap, error mapping); parsing is pure
(`parse_feed`). feedparser only ever receives a byte stream, so it never fetches or opens anything
itself (given a `str` or `bytes` it would try a URL or a file name first).
"""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree
from xml.parsers import expat

from pydantic import Field, field_validator

from sources.base import MALFORMED_JSON, HttpFetcher, SourceBase, SourceSettings, TransientError, redact_url
from sources.feed_pictures import (
    HtmlFindings,
    Sized,
    best_size,
    is_tracker,
    pixels,
    read_html,
    too_small,
    youtube_id,
    youtube_video,
)
from sources.payload import as_list, as_text, http_url, iso_time
from wall.core.model import Author, Batch, Media, Post, PostKind, as_utc, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK_RSS = "rss"
NETWORK_GOOGLE_ALERTS = "google-alerts"
MAX_MEDIA_PER_POST = 4  # a featured card lays out up to 4 pictures (issue 15); more only cost downloads
MAX_TAGS_PER_POST = 20
MIN_ENTRIES_READ = 200  # entries read at least (2 × max_items when larger): the rest is never parsed
# Feeds nest a few elements deep (rss > channel > item > media:group > media:content; an Atom entry's
# XHTML content a few more). 50,000 nested elements cost feedparser 2 s of CPU a poll, with stretches
# of 35-55 ms in which the GUI thread could not run (issue 12): deeper than this is not a feed.
MAX_XML_DEPTH = 64

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_GOOGLE_ALERTS_FEED_ID = re.compile(r"^tag:google\.com,2005:reader/user/[^/]+/state/com\.google/alerts/")
_GOOGLE_HOSTS = frozenset({"google.com", "www.google.com"})
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")
# An e-mail address with the brackets around it, as in "a@b.org (Name)" or "Name <a@b.org>".
_EMAIL_IN_NAME = re.compile(r"[(<]?\s*[^\s()<>@]+@[^\s()<>@]+\s*[)>]?")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")
_MRSS = "{http://search.yahoo.com/mrss/}"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTRY_END = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>")
_MAX_ID_CHARS = 256
_MAX_URL_CHARS = 2048


class RssSettings(SourceSettings):
    """A feed to poll: RSS 2.0, Atom (Google Alerts included) or JSON Feed."""

    type: Literal["rss"] = Field(description="RSS 2.0, Atom or JSON Feed")
    url: str = Field(description="Address of the feed, http:// or https://")
    network: str = Field(
        "",
        max_length=32,
        description="Label shown on cards; default 'google-alerts' for Google Alerts feeds, else 'rss'",
    )
    max_items: int = Field(50, ge=1, le=500, description="How many of the newest entries each poll keeps")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            # The query may carry a key (private feeds): never echo it back.
            raise ValueError(f"{redact_url(value)!r} is not a feed address: use an http:// or https:// URL")
        return value


class RssSource(SourceBase):
    """Polls one feed; each poll returns the feed's newest entries (the store drops the ones it has)."""

    network: ClassVar[str] = NETWORK_RSS

    def __init__(
        self, settings: RssSettings, http: HttpFetcher, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.settings = settings
        self.http = http
        self._clock = clock

    async def poll(self) -> Batch:
        """Fetch the feed (conditionally) and parse it; a 304 gives `Batch(not_modified=True)`."""
        fetched = await self.http.get(self.settings.url, headers={"Accept": _ACCEPT})
        if fetched.not_modified:
            return Batch(not_modified=True)
        if not 200 <= fetched.status < 300:
            # A 3xx reaches us only if the shared client does not follow redirects.
            raise TransientError(f"unexpected HTTP {fetched.status} from {redact_url(fetched.url)}")
        # feedparser is pure Python: in a worker thread a big feed no longer freezes the event loop
        # (and the GUI sharing it) for the whole parse.
        posts = await asyncio.to_thread(
            parse_feed,
            fetched.content,
            source=self.settings.name,
            kind=self.settings.kind,
            network=self.settings.network,
            now=self._clock(),
            max_items=self.settings.max_items,
            url=fetched.url,
        )
        return Batch(posts=tuple(posts))

    def state(self) -> dict[str, Any]:
        """Nothing to keep: a feed is read whole each time and the store deduplicates."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Accepts (and ignores) what `state()` returned."""


def parse_feed(
    content: bytes,
    *,
    source: str,
    kind: PostKind,
    network: str = "",
    now: datetime | None = None,
    max_items: int = 50,
    url: str = "",
) -> list[Post]:
    """Posts from an RSS, Atom or JSON Feed body, newest first, at most `max_items`.

    `url` (where the body came from) resolves relative links and names the feed in errors;
    a body that is not a feed raises `TransientError`. An empty `network` is auto-detected.
    """
    ctx = _Context(source=source, kind=kind, network=network, now=as_utc(now or utcnow()), base=url)
    # Only the first entries are read (a feed of 100,000 entries cost 16 s of CPU a poll when all
    # were parsed to keep 50, issue 12): feeds list their newest first, and a small unordered feed
    # is still read whole.
    read = max(MIN_ENTRIES_READ, 2 * max_items)
    if _looks_like_json(content):
        posts = _parse_json_feed(content, ctx, read)
    else:
        posts = _parse_xml_feed(first_entries(content, read), ctx)
    posts.sort(key=lambda post: post.created_at, reverse=True)
    return _unique_ids(posts)[:max_items]


@dataclass(frozen=True, slots=True)
class _Context:
    """What every entry of one parse shares."""

    source: str
    kind: PostKind
    network: str
    now: datetime
    base: str


def _not_a_feed(ctx: _Context, reason: str) -> TransientError:
    where = redact_url(ctx.base) if ctx.base else "the body"
    return TransientError(f"not a feed: {where} is not RSS, Atom or JSON Feed ({reason})")


def _looks_like_json(content: bytes) -> bool:
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _unique_ids(posts: list[Post]) -> list[Post]:
    # Some feeds repeat an entry; one batch must not carry two posts with the same key.
    seen: set[str] = set()
    unique = []
    for post in posts:
        if post.id not in seen:
            seen.add(post.id)
            unique.append(post)
    return unique


# --- RSS and Atom (feedparser) -------------------------------------------------------------------


class _Enough(Exception):
    """Raised from expat's handler when the entries wanted have all been read."""


def first_entries(content: bytes, limit: int) -> bytes:
    """An RSS or Atom document cut after its `limit`-th entry (`<item>`, `<entry>`), the elements
    still open closed, so feedparser reads no more than can be kept. A document whose elements nest
    deeper than MAX_XML_DEPTH is refused (`TransientError`) before feedparser sees it.

    expat finds where that entry ends (in C, stopping there); a document expat cannot read is cut
    after the `limit`-th closing tag instead, and feedparser's tolerant parser reads the rest. A
    document with fewer entries, or not in an ASCII-compatible encoding, is returned whole.
    """
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in content[:4]:
        return content  # UTF-16 or UTF-32: byte searches below would not find the tags
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    open_tags: list[str] = []
    found = 0
    cut = -1

    def start(name: str, attributes: object) -> None:
        open_tags.append(name)
        if len(open_tags) > MAX_XML_DEPTH:
            raise _TooDeep

    def end(name: str) -> None:
        nonlocal found, cut
        open_tags.pop()
        if _is_entry(name) and not any(_is_entry(tag) for tag in open_tags):
            found += 1
            if found >= limit:
                cut = content.find(b">", parser.CurrentByteIndex) + 1
                raise _Enough

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(content, True)
    except _Enough:
        closing = "".join(f"</{tag}>" for tag in reversed(open_tags))
        return content[:cut] + closing.encode("utf-8")
    except _TooDeep:
        raise _too_deep() from None
    except expat.ExpatError:
        ends = _ENTRY_END.finditer(content)
        last = next((match for number, match in enumerate(ends, 1) if number >= limit), None)
        cut_content = content[: last.end()] if last else content
        _check_depth(cut_content)  # feedparser's tolerant parser would read it all
        return cut_content
    return content


class _TooDeep(Exception):
    """Raised from expat's handler when elements nest deeper than MAX_XML_DEPTH."""


def _too_deep() -> TransientError:
    return TransientError(f"not a feed: elements nested more than {MAX_XML_DEPTH} deep")


_OPEN_OR_CLOSE = re.compile(rb"<(/?)([A-Za-z_][^\s/>]*)[^>]*?(/?)>")
_NOT_MARKUP = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
# HTML's elements that never close: a malformed feed's escaped-less HTML is full of them.
_VOID = frozenset(b"area base br col embed hr img input meta param source track wbr".split())
LOOSE_DEPTH_FACTOR = 4  # a tolerant parser's depth counts unclosed HTML tags too: more room


def _check_depth(content: bytes) -> None:
    """Refuse a document expat cannot read whose tags nest deeper than LOOSE_DEPTH_FACTOR ×
    MAX_XML_DEPTH, counted as a tolerant parser would: an opening tag opens, a closing tag closes,
    `<x/>`, HTML's void elements, comments and CDATA sections do neither."""
    depth = 0
    for match in _OPEN_OR_CLOSE.finditer(_NOT_MARKUP.sub(b"", content)):
        if match.group(1):
            depth = max(0, depth - 1)
        elif not match.group(3) and match.group(2).lower() not in _VOID:
            depth += 1
            if depth > LOOSE_DEPTH_FACTOR * MAX_XML_DEPTH:
                raise _too_deep()


def _is_entry(name: str) -> bool:
    return name.rpartition(":")[2] in ("item", "entry")


@dataclass(frozen=True, slots=True)
class _FeedInfo:
    """Feed-level facts entries fall back on."""

    author_name: str  # for entries without an author: the feed's author, else its title
    avatar_url: str
    language: str | None
    google_alerts: bool
    network: str


def _parse_xml_feed(content: bytes, ctx: _Context) -> list[Post]:
    # Imported with the first feed, not with the config: a wall without an RSS source never loads
    # its 36 modules (~0.9 MB of Python heap for good, issue 14).
    import feedparser

    headers = {"content-location": ctx.base} if ctx.base else None
    # Relative addresses in an item's HTML are resolved here against the item's own link (where that
    # HTML is published), not by feedparser against the feed's address.
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, resolve_relative_uris=False)
    if not parsed.entries:
        if not parsed.get("version"):
            raise _not_a_feed(ctx, "no feed element found")
        exc = parsed.get("bozo_exception")
        # Encoding and content-type warnings are harmless; a syntax error may have hidden entries.
        if parsed.get("bozo") and not isinstance(exc, feedparser.ThingsNobodyCaresAboutButMe):
            raise _not_a_feed(ctx, f"malformed: {exc}")
        return []
    feed = parsed.feed
    google = _is_google_alerts(feed)
    info = _FeedInfo(
        author_name=_display_name(feed.get("author")) or clean_text(feed.get("title")),
        avatar_url=_feed_avatar(feed, ctx.base),
        language=_language(feed.get("language")),
        google_alerts=google,
        network=ctx.network or (NETWORK_GOOGLE_ALERTS if google else NETWORK_RSS),
    )
    hints = _media_hints(content)
    return [post for entry in parsed.entries if (post := _entry_post(entry, info, hints, ctx)) is not None]


def _entry_post(entry: Any, info: _FeedInfo, hints: _MediaHints, ctx: _Context) -> Post | None:
    link = _feed_url(_unwrap_google_redirect(entry.get("link") or ""), ctx.base)
    title = _detail_text(entry.get("title_detail"), entry.get("title"))
    body = _entry_body(entry)
    # A Google Alert's title is the headline and its content a snippet around the match: show both.
    text = "\n".join(part for part in (title, body) if part) if info.google_alerts else body or title
    media = _entry_media(entry, link, hints, ctx.base)
    if not text and not media:
        return None  # a blank card looks broken
    published = _struct_time_utc(entry.get("published_parsed"))
    # dict.get: feedparser's own `get("updated…")` silently (and with a warning) returns `published`.
    updated = _struct_time_utc(dict.get(entry, "updated_parsed"))
    created_at = min(published or updated or ctx.now, ctx.now)
    edited_at = min(updated, ctx.now) if published and updated and updated > published else None
    author_name = _display_name(entry.get("author"))
    if info.google_alerts:
        # Alerts have an empty <author>; the site that published the page is what readers want.
        author_name = _site_name(link) or author_name
    raw_date = entry.get("published") or dict.get(entry, "updated") or ""
    return Post(
        id=_post_id(entry.get("id"), link, f"{title}\x00{raw_date}"),
        source=ctx.source,
        network=info.network,
        kind=ctx.kind,
        author=Author(author_name or info.author_name, "", info.avatar_url),
        text=text,
        created_at=created_at,
        url=link,
        media=media,
        sensitive=_is_adult(entry.get("media_rating")),
        language=_entry_language(entry) or info.language,
        edited_at=edited_at,
        tags=_tags(tag.get("label") or tag.get("term") for tag in entry.get("tags") or ()),
    )


def _is_google_alerts(feed: Any) -> bool:
    return bool(_GOOGLE_ALERTS_FEED_ID.match(feed.get("id") or ""))


def _unwrap_google_redirect(link: str) -> str:
    """The real target of a `https://www.google.com/url?...&url=<REAL>&...` link (else `link`)."""
    parts = urlsplit(link.strip())
    if (parts.hostname or "") in _GOOGLE_HOSTS and parts.path == "/url":
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            if query.get(key):
                return query[key][0]
    return link


def _site_name(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _detail_text(detail: Any, fallback: Any) -> str:
    """Plain text of a feedparser text construct, honouring its declared type."""
    if detail:
        value = detail.get("value") or ""
        return clean_text(value) if detail.get("type") == "text/plain" else html_to_text(value)
    return html_to_text(fallback) if isinstance(fallback, str) else ""


def _entry_body(entry: Any) -> str:
    # feedparser copies the content into `summary` when there is no summary, without its detail.
    if entry.get("summary_detail"):
        return _detail_text(entry["summary_detail"], None)
    contents = entry.get("content") or ()
    if contents:
        return _detail_text(contents[0], None)
    return _detail_text(None, entry.get("summary"))


def _entry_language(entry: Any) -> str | None:
    details = [entry.get("summary_detail"), *(entry.get("content") or ()), entry.get("title_detail")]
    for detail in details:
        if detail and (language := _language(detail.get("language"))):
            return language
    return None


def _display_name(raw: Any) -> str:
    """A person's name without any e-mail address: the lobby is no place to publish one.

    RSS writes authors as "a@b.org (Name)"; feedparser's own split truncates long TLDs, so the
    raw string is cleaned here instead.
    """
    if not isinstance(raw, str):
        return ""
    name = clean_text(_EMAIL_IN_NAME.sub(" ", raw)).strip()
    if name.startswith("(") and name.endswith(")"):
        name = name[1:-1].strip()
    return name


def _feed_avatar(feed: Any, base: str) -> str:
    image = feed.get("image") or {}
    for candidate in (feed.get("icon"), feed.get("logo"), image.get("href"), image.get("url")):
        if url := _feed_url(candidate, base):
            return url
    return ""


def _entry_media(entry: Any, link: str, hints: _MediaHints, base: str) -> tuple[Media, ...]:
    """A feed item's pictures, in this order of trust: Media RSS (`media:content`, one copy of each
    `media:group`, a video's `media:thumbnail` as its poster) and image enclosures; else the item's
    thumbnails; else the first suitable `<img>` of its HTML. YouTube links become videos."""
    declared: list[Media] = []
    posters = [thumb for thumb in entry.get("media_thumbnail") or () if isinstance(thumb, dict)]
    used_posters: set[str] = set()
    slots: list[Media | list[Sized]] = []  # a group's sizes are one slot, resolved once all are seen
    group_slots: dict[int, list[Sized]] = {}
    for content in entry.get("media_content") or ():
        if not isinstance(content, dict):
            continue
        raw = as_text(content.get("url")).strip()
        if _is_video(content.get("type"), content.get("medium")):
            poster = hints.posters.get(raw) or _unused_poster(posters, used_posters)
            used_posters.add(poster)
            if poster:
                slots.append(_video(poster, base, hints.alts.get(raw) or hints.alts.get(poster, "")))
        elif _is_image(content.get("type"), content.get("medium"), raw) and not too_small(
            content.get("width"), content.get("height")
        ):
            sized = Sized(
                raw,
                pixels(content.get("width")) or 0,
                pixels(content.get("height")) or 0,
                as_text(content.get("isdefault")).lower() == "true",
            )
            group = hints.groups.get(raw)
            if group is None:
                slots.append([sized])
            elif group in group_slots:
                group_slots[group].append(sized)
            else:
                slots.append(group_slots.setdefault(group, [sized]))
    for enclosure in entry.get("enclosures") or ():
        if _is_image(enclosure.get("type"), None, enclosure.get("href")):
            slots.append(_media(enclosure.get("href"), base, hints.alts, enclosure.get("title")))
    for slot in slots:
        if isinstance(slot, Media):
            declared.append(slot)
        elif chosen := best_size(slot):
            declared.append(_media(chosen.url, base, hints.alts, None))
    if not _pictures(declared):
        # Thumbnails are smaller copies of the media above; use them only when nothing else is an image.
        spare = [thumb for thumb in posters if as_text(thumb.get("url")).strip() not in used_posters]
        sizes = [
            Sized(as_text(t.get("url")).strip(), pixels(t.get("width")) or 0, pixels(t.get("height")) or 0)
            for t in spare
            if not too_small(t.get("width"), t.get("height"))
        ]
        if chosen := best_size(sizes):
            declared.append(_media(chosen.url, base, hints.alts, None))
    link_videos = _youtube_ids(entry_link.get("href") for entry_link in entry.get("links") or ())
    html = read_html(_entry_html(entry), link or base)
    return _assemble(declared, [*_youtube_ids([link]), *link_videos], html)


def _assemble(declared: list[Media], link_videos: list[str], html: HtmlFindings) -> tuple[Media, ...]:
    """Declared media, then the videos the item links to, then (when there is no picture yet) the
    first picture of its HTML and then the videos its HTML links to; no tracker, no duplicate, at
    most MAX_MEDIA_PER_POST."""
    found = [media for media in declared if not is_tracker(media.url)]
    known = {video for media in found if (video := youtube_id(media.url) or youtube_id(media.preview_url))}
    for video in link_videos:
        if video not in known:
            known.add(video)
            found.append(youtube_video(video))
    if html.picture is not None and not _pictures(found):
        found.append(html.picture)
    found.extend(youtube_video(video) for video in html.videos if video not in known)
    return _unique_media(found)


def _pictures(media: Iterable[Media]) -> bool:
    return any(item.url for item in media)


def _unused_poster(thumbnails: list[dict[str, Any]], used: set[str]) -> str:
    """The item's next `media:thumbnail` not yet taken by another video."""
    return next((url for t in thumbnails if (url := as_text(t.get("url")).strip()) not in used), "")


def _video(poster: str, base: str, alt: str) -> Media:
    """A video shown by its poster: `url` is the poster too, so a card that does not know videos
    still shows a picture and never downloads the video expecting an image (as X's videos)."""
    safe = _feed_url(poster, base)
    return Media(safe, clean_text(alt), "video", safe)


def _youtube_ids(urls: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for url in urls:
        video = youtube_id(url) if isinstance(url, str) else None
        if video and video not in found:
            found.append(video)
    return found


def _entry_html(entry: Any) -> list[str]:
    """The item's HTML: `content:encoded` or Atom `content`, then `description` or Atom `summary`."""
    details = [*(entry.get("content") or ()), entry.get("summary_detail")]
    return [
        value
        for detail in details
        if detail
        and detail.get("type") in ("text/html", "application/xhtml+xml")
        and isinstance(value := detail.get("value"), str)
    ]


def _media(url: Any, base: str, alts: Mapping[str, str], alt: Any) -> Media:
    safe = _feed_url(url, base)
    text = clean_text(alt) if isinstance(alt, str) else ""
    return Media(safe, text or alts.get(safe, "") or alts.get(str(url or "").strip(), ""))


def _unique_media(media: Iterable[Media]) -> tuple[Media, ...]:
    seen: set[str] = set()
    kept: list[Media] = []
    for item in media:
        if item.url and item.url not in seen and len(kept) < MAX_MEDIA_PER_POST:
            seen.add(item.url)
            kept.append(item)
    return tuple(kept)


def _is_image(mime: Any, medium: Any, url: Any) -> bool:
    if isinstance(mime, str) and mime:
        return mime.lower().startswith("image/")
    if isinstance(medium, str) and medium:
        return medium.lower() == "image"
    # Untyped enclosures are common; trust the file name then.
    return isinstance(url, str) and urlsplit(url.strip()).path.lower().endswith(_IMAGE_SUFFIXES)


def _is_video(mime: Any, medium: Any) -> bool:
    # YouTube's channel feeds type their player URL as Flash: it is the video all the same.
    if isinstance(mime, str) and mime:
        return mime.lower().startswith("video/") or mime.lower() == "application/x-shockwave-flash"
    return isinstance(medium, str) and medium.lower() == "video"


def _is_adult(rating: Any) -> bool:
    """Media RSS `<media:rating>adult</media:rating>` marks content not for all audiences."""
    return bool(rating) and str(rating.get("content", "")).strip().lower() == "adult"


@dataclass(frozen=True, slots=True)
class _MediaHints:
    """What feedparser loses of Media RSS, by media URL (as written in the feed)."""

    alts: Mapping[str, str]  # `media:description` / `media:title` of the media or of its group
    groups: Mapping[str, int]  # a `media:content` in a `media:group`: the group's number
    posters: Mapping[str, str]  # a video's `media:thumbnail` (its own, else its group's)


_NO_HINTS = _MediaHints({}, {}, {})


def _media_hints(content: bytes) -> _MediaHints:
    """Alt text, groups and posters of Media RSS items.

    feedparser folds `media:description`/`media:title` into the entry's own text and title and
    flattens `media:group`, so these are read here with a second, tolerant pass (skipped when the
    feed has no Media RSS).
    """
    # A DOCTYPE can declare entities; alt text is not worth parsing those a second time.
    if b"search.yahoo.com/mrss" not in content or _DOCTYPE.search(content):
        return _NO_HINTS
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return _NO_HINTS
    alts: dict[str, str] = {}
    for parent in root.iter():
        parent_alt = _mrss_alt(parent)
        for child in parent:
            is_media = child.tag in (f"{_MRSS}content", f"{_MRSS}thumbnail")
            if is_media and (url := child.get("url")) and (alt := _mrss_alt(child) or parent_alt):
                alts.setdefault(url.strip(), alt)
    groups: dict[str, int] = {}
    posters: dict[str, str] = {}
    for number, group in enumerate(root.iter(f"{_MRSS}group")):
        shared = _thumbnail_url(group)
        for item in group.findall(f"{_MRSS}content"):
            if url := (item.get("url") or "").strip():
                groups.setdefault(url, number)
                if poster := _thumbnail_url(item) or shared:
                    posters.setdefault(url, poster)
    for item in root.iter(f"{_MRSS}content"):
        if (url := (item.get("url") or "").strip()) and (poster := _thumbnail_url(item)):
            posters.setdefault(url, poster)
    return _MediaHints(alts, groups, posters)


def _thumbnail_url(element: ElementTree.Element) -> str:
    thumbnail = element.find(f"{_MRSS}thumbnail")
    return (thumbnail.get("url") or "").strip() if thumbnail is not None else ""


def _mrss_alt(element: ElementTree.Element) -> str:
    for name in ("description", "title"):
        child = element.find(f"{_MRSS}{name}")
        if child is not None and (text := html_to_text(child.text)):
            return text
    return ""


def _struct_time_utc(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


# --- JSON Feed (https://www.jsonfeed.org/version/1.1/) -------------------------------------------


def _parse_json_feed(content: bytes, ctx: _Context, max_items: int) -> list[Post]:
    try:
        doc = json.loads(content)
    except MALFORMED_JSON as exc:
        raise _not_a_feed(ctx, f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict) or not as_text(doc.get("version")).startswith(_JSON_FEED_VERSION):
        raise _not_a_feed(ctx, "JSON without a JSON Feed version")
    items = doc.get("items")
    if not isinstance(items, list):
        raise _not_a_feed(ctx, "JSON Feed without items")
    feed_author = _json_author(doc)
    info = _FeedInfo(
        author_name=feed_author.name or clean_text(as_text(doc.get("title"))),
        avatar_url=feed_author.avatar_url
        or _feed_url(as_text(doc.get("icon")), ctx.base)
        or _feed_url(as_text(doc.get("favicon")), ctx.base),
        language=_language(doc.get("language")),
        google_alerts=False,
        network=ctx.network or NETWORK_RSS,
    )
    return [
        post
        for item in items[:max_items]
        if isinstance(item, dict) and (post := _json_item_post(item, info, ctx)) is not None
    ]


def _json_item_post(item: Mapping[str, Any], info: _FeedInfo, ctx: _Context) -> Post | None:
    link = _feed_url(as_text(item.get("url")) or as_text(item.get("external_url")), ctx.base)
    title = clean_text(as_text(item.get("title")))
    text = (
        clean_text(as_text(item.get("summary")))
        or html_to_text(as_text(item.get("content_html")))
        or clean_text(as_text(item.get("content_text")))
        or title
    )
    media = _json_media(item, link, ctx.base)
    if not text and not media:
        return None
    published = iso_time(item.get("date_published"))
    modified = iso_time(item.get("date_modified"))
    author = _json_author(item)
    raw_id = item.get("id")
    # The spec says a string, but numeric ids are common in the wild.
    usable_id = raw_id if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    return Post(
        id=_post_id(usable_id, link, f"{title}\x00{as_text(item.get('date_published'))}"),
        source=ctx.source,
        network=info.network,
        kind=ctx.kind,
        author=Author(author.name or info.author_name, "", author.avatar_url or info.avatar_url),
        text=text,
        created_at=min(published or modified or ctx.now, ctx.now),
        url=link,
        media=media,
        language=_language(item.get("language")) or info.language,
        edited_at=min(modified, ctx.now) if published and modified and modified > published else None,
        tags=_tags(as_list(item.get("tags"))),
    )


def _json_author(obj: Mapping[str, Any]) -> Author:
    """The first named author: `authors` (1.1) or `author` (1.0); avatar kept only if http(s)."""
    candidates = [*as_list(obj.get("authors")), obj.get("author")]
    for person in candidates:
        if isinstance(person, dict) and (name := _display_name(person.get("name"))):
            return Author(name, "", _feed_url(as_text(person.get("avatar"))))
    return Author("")


def _json_media(item: Mapping[str, Any], link: str, base: str) -> tuple[Media, ...]:
    """`image`, `banner_image` and image attachments; else the first suitable `<img>` of
    `content_html`. YouTube links (`url`, `external_url`, links in `content_html`) become videos."""
    declared = [Media(_feed_url(as_text(item.get(key)), base)) for key in ("image", "banner_image")]
    for attachment in as_list(item.get("attachments")):
        if isinstance(attachment, dict) and _is_image(as_text(attachment.get("mime_type")), None, ""):
            alt = clean_text(as_text(attachment.get("title")))
            declared.append(Media(_feed_url(as_text(attachment.get("url")), base), alt))
    links = _youtube_ids([item.get("url"), item.get("external_url")])
    html = read_html([as_text(item.get("content_html"))], link or base)
    return _assemble(declared, links, html)


# --- shared helpers ------------------------------------------------------------------------------


def _feed_url(value: Any, base: str = "") -> str:
    """`value` as an http(s) URL resolved on the feed's address, or '' (also when it is longer than
    any link a feed needs: a hostile feed may put megabytes in one attribute)."""
    return http_url(value, base=base, max_chars=_MAX_URL_CHARS)


def _post_id(raw_id: Any, link: str, fallback: str) -> str:
    """The entry's own id, else its link, else a stable hash of its title and date."""
    candidate = clean_text(str(raw_id)) if raw_id is not None else ""
    candidate = candidate or link
    if not candidate or len(candidate) > _MAX_ID_CHARS:
        candidate = "sha256:" + hashlib.sha256((candidate or fallback).encode()).hexdigest()[:32]
    return candidate


def _tags(values: Iterable[Any]) -> tuple[str, ...]:
    kept: dict[str, str] = {}
    for value in values:
        tag = clean_text(value) if isinstance(value, str) else ""
        if tag and tag.casefold() not in kept and len(kept) < MAX_TAGS_PER_POST:
            kept[tag.casefold()] = tag
    return tuple(kept.values())


def _language(value: Any) -> str | None:
    """A plausible BCP 47 tag (`fr`, `fr-FR`), else None."""
    if not isinstance(value, str):
        return None
    tag = value.strip()
    return tag if _LANGUAGE_TAG.match(tag) else None
