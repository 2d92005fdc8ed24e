"""The moderation page's list of posts (issues 5 and 15; pure, Qt-free): the filters by status, source
and network, and each post with its text, its pictures' thumbnails and its buttons.

The same HTML is the whole page's posts section and, alone, what `GET /queue` answers to the page's
script (`assets/web/page.js`), which merges it into the open page every few seconds.
Thumbnails come from the page itself (`/pictures/<digest>`, the wall's own cache of prepared pictures),
never from the post's remote address: a moderator's browser must not call strangers' servers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from wall.core.model import Post, SourceStatus
from wall.engine.images import cache_file
from wall.engine.moderation.decisions import QUEUE_FILTERS, QueueFilter, QueueItem, author_key
from wall.web.wording import esc, local_time, text

FILTERS: tuple[QueueFilter, ...] = ("awaiting", "shown", "hidden", "all")
MAX_THUMBNAILS = 4  # as many as the featured card shows (issue 15)
MAX_FILTER_CHARS = 100  # a source's name or a network in the query; longer is no known one
THUMBNAIL_PX = 96
MAX_LISTED = 200  # posts on the page; the store keeps more


@dataclass(frozen=True, slots=True)
class QueueView:
    """Which posts the queue lists: a status, and one source and one network ("" for every one)."""

    show: QueueFilter = "all"
    source: str = ""
    network: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> QueueView:
        """The view a query string or a form asks for; unknown statuses read as "all"."""
        show = params.get("show", "all")
        return cls(
            show if show in QUEUE_FILTERS else "all",
            params.get("source", "").strip()[:MAX_FILTER_CHARS],
            params.get("network", "").strip()[:MAX_FILTER_CHARS],
        )

    def query(self, show: QueueFilter | None = None) -> str:
        """This view as a query string (with another status when `show` is given)."""
        pairs = {"show": show or self.show, "source": self.source, "network": self.network}
        return urlencode({k: v for k, v in pairs.items() if v})

    def lists(self, post: Post) -> bool:
        """True when `post` is from the view's source and network."""
        return (not self.source or post.source == self.source) and (
            not self.network or post.network == self.network
        )


def view_fields(view: QueueView) -> str:
    """Hidden form fields that bring the moderator back to the same view after an action."""
    pairs = {"show": view.show, "source": view.source, "network": view.network}
    return "".join(
        f'<input type="hidden" name="{name}" value="{esc(value)}">' for name, value in pairs.items() if value
    )


def picture_digest(url: str) -> str:
    """The name under which the page serves a picture: its file name in the wall's picture cache."""
    return cache_file(Path(), url).name


def listed_items(items: Iterable[QueueItem], view: QueueView, limit: int = MAX_LISTED) -> list[QueueItem]:
    """The posts the view lists, newest first, at most `limit`."""
    return [i for i in items if view.lists(i.post) and view.show in ("all", i.status)][:limit]


def queue_section(
    *,
    lang: str,
    zone: ZoneInfo,
    csrf: str,
    view: QueueView,
    items: Sequence[QueueItem],
    statuses: Sequence[SourceStatus] = (),
    cached: Collection[str] = (),
    limit: int = MAX_LISTED,
) -> str:
    """The posts section: filters, one tab per status with its count, the posts of the view.
    `cached`: the picture URLs the wall has prepared bytes of (the others show a note instead)."""
    mine = [i for i in items if view.lists(i.post)]
    counts = Counter(item.status for item in mine)
    listed = listed_items(mine, view, limit)
    tabs = "".join(
        f'<a href="/?{esc(view.query(f))}"{" aria-current=page" if f == view.show else ""}>'
        f"{esc(text('filter.' + f, lang))} ({len(mine) if f == 'all' else counts[f]})</a>"
        for f in FILTERS
    )
    posts = "".join(_post(item, lang, zone, csrf, view, cached) for item in listed)
    return (
        f'<section class="posts" id="posts" aria-labelledby="posts-title" data-view="{esc(view.query())}">'
        f'<h2 id="posts-title">{esc(text("posts", lang))}</h2>{_filter_form(lang, view, items, statuses)}'
        f'<nav class="filters" aria-label="{esc(text("filter.status", lang))}">{tabs}</nav>'
        + (f'<ul class="queue">{posts}</ul>' if posts else f'<p class="none">{esc(text("none", lang))}</p>')
        + "</section>"
    )


def _filter_form(
    lang: str, view: QueueView, items: Iterable[QueueItem], statuses: Iterable[SourceStatus]
) -> str:
    """A plain GET form: the choices are the sources and networks configured or seen in the store."""
    items, statuses = list(items), list(statuses)
    sources = {i.post.source for i in items} | {s.source for s in statuses} | {view.source}
    networks = {i.post.network for i in items} | {s.network for s in statuses} | {view.network}

    def select(name: str, chosen: str, options: Iterable[tuple[str, str]]) -> str:
        listed = "".join(
            f'<option value="{esc(value)}"{" selected" if value == chosen else ""}>{esc(label)}</option>'
            for value, label in options
        )
        return (
            f"<label>{esc(text('filter.' + name, lang))} "
            f'<select name="{"show" if name == "status" else name}">{listed}</select></label>'
        )

    return (
        f'<form method="get" action="/" class="filter-form" role="search" '
        f'aria-label="{esc(text("filter.legend", lang))}">'
        + select("status", view.show, ((f, text("filter." + f, lang)) for f in FILTERS))
        + select("source", view.source, _choices(text("filter.any_source", lang), sources))
        + select("network", view.network, _choices(text("filter.any_network", lang), networks))
        + f'<button type="submit">{esc(text("filter.apply", lang))}</button></form>'
    )


def _choices(every: str, values: Iterable[str]) -> list[tuple[str, str]]:
    """ "Every one" first, then the values in order, each its own label."""
    return [("", every), *((value, value) for value in sorted(set(values) - {""}))]


def _post(
    item: QueueItem, lang: str, zone: ZoneInfo, csrf: str, view: QueueView, cached: Collection[str]
) -> str:
    post, status = item.post, item.status
    reason = item.verdict.reason if item.verdict else ""
    if item.decision is not None:
        reason = ""  # a person decided: the rules' reason no longer explains what the screen does
    alt = ""
    if post.media:
        first = post.media[0].alt.strip()
        alt = text("alt", lang, alt="\x00") if first else text("no_alt", lang)
        alt = esc(alt).replace("\x00", f"<bdi>{esc(first)}</bdi>")
        alt = f'<p class="alt">{alt}</p>'
    actions = ["approve"] if status != "shown" else []
    actions += ["hide"] if status != "hidden" else []
    actions += ["unpin"] if item.pinned else (["pin"] if status != "hidden" else [])
    actions += ["block"] if author_key(post) else []
    buttons = "".join(
        f'<button type="submit" name="action" value="{a}">{esc(text(a, lang))}</button>' for a in actions
    )
    badge = f' <span class="pinned">{esc(text("pinned", lang))}</span>' if item.pinned else ""
    handle = post.author.handle
    handle = f' <span class="handle"><bdi>{esc(handle)}</bdi></span>' if handle else ""
    when = esc(local_time(post.created_at, lang, zone))
    return (
        f'<li class="post {status}" data-key="{esc(post.key)}">'
        f'<p class="meta"><span class="source">{esc(post.source)} · {esc(post.network)}</span> '
        f'<span class="author"><bdi>{esc(post.author.name)}</bdi></span>{handle} '
        f'<time datetime="{esc(post.created_at.isoformat())}">{when}</time></p>'
        f'<div class="body"><div class="words"><p class="text" dir="auto"><bdi>{esc(post.text)}</bdi></p>'
        f"{alt}</div>{_thumbnails(post, lang, cached)}</div>"
        f'<p class="verdict"><span class="status">{esc(text("status." + status, lang))}</span>{badge}'
        + (f' — <span class="reason">{esc(reason)}</span>' if reason else "")
        + "</p>"
        f'<form method="post" action="/act"><input type="hidden" name="csrf" value="{esc(csrf)}">'
        f'<input type="hidden" name="key" value="{esc(post.key)}">{view_fields(view)}{buttons}</form></li>'
    )


def _thumbnails(post: Post, lang: str, cached: Collection[str]) -> str:
    """Up to MAX_THUMBNAILS of the post's pictures, each with its alt text, then how many more."""
    if not post.media:
        return ""
    shown = []
    for media in post.media[:MAX_THUMBNAILS]:
        alt = media.alt.strip() or text("no_alt", lang)
        if media.url in cached:
            shown.append(
                f'<li><img src="/pictures/{picture_digest(media.url)}" alt="{esc(alt)}" '
                f'width="{THUMBNAIL_PX}" height="{THUMBNAIL_PX}" loading="lazy" decoding="async"></li>'
            )
        else:  # a remote address is never put in the page: a note stands in until the wall has it
            shown.append(f'<li class="missing">{esc(text("picture.missing", lang))}</li>')
    more = len(post.media) - MAX_THUMBNAILS
    extra = f'<li class="more">{esc(text("pictures.more", lang, count=str(more)))}</li>' if more > 0 else ""
    return f'<ul class="pictures" aria-label="{esc(text("pictures", lang))}">{"".join(shown)}{extra}</ul>'
