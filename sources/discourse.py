"""Discourse (a forum used as the company's internal network): the latest posts across the site.

Fetching is `DiscourseSource.poll`; parsing is pure (`parse_post`, `parse_cooked`, `category_ids`,
`classify_error`) and tested on payloads shaped as Discourse documents them (its API schemas).

What is read, and why:
- `GET /posts.json` lists the latest regular posts of the whole site, newest id first, 50 a page,
  older pages with `before=<post id>`. One request a poll covers a quiet forum; after a busy spell
  the source pages back to its cursor (the highest post id seen), at most `max_pages` pages.
- `category` filters that list by each post's `category_id`: no extra request per poll, whereas
  reading `/c/{slug}/{id}.json` then `/t/{id}/posts.json` would cost one request per topic. The
  category (slug or id) is resolved once per start with `/categories.json?include_subcategories=true`
  and **includes its subcategories** (at any depth the answer lists them).
- Edits and deletions: `/posts.json` has no change feed, so every poll re-reads the newest page (it
  is read anyway) and compares it with the posts the source has already shown (id -> `updated_at`
  and `version`, kept in `state()`): a changed one is sent again, one gone from the id range that was
  read (deleted, hidden after flags, moved to a private category or out of `category`) or now
  `hidden` / `deleted_at` / `user_deleted` goes in `Batch.deleted`. Changes to posts older than the
  pages read in a poll are not noticed.
- Only regular posts are shown (`post_type == 1`): whispers, moderator actions and small actions never.
- `cooked` is HTML: hashtags (`a.hashtag-cooked`) become `#slug` and tags, emoji images their alt text
  (the emoji, or `:name:` on older forums), quotes one line `« … » (@user)`, link previews (oneboxes)
  their title, and uploaded images `Media` (the lightbox original, with its alt text), without the
  file name and size line Discourse puts under them.
- A topic's first post (`post_number == 1`) starts with the topic's title; any later post of a topic
  is a reply (`is_reply`), whether or not it answers one post (`reply_to_post_number`).
- Errors come as `{"errors": [...], "error_type": "..."}`; a 429 carries `Retry-After` and
  `extras.wait_seconds`. The body's own text is never copied into messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from html.parser import HTMLParser
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    RateLimited,
    RecentWindow,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    parse_retry_after,
    raise_for_status,
    redact_url,
    secret_value,
    text_hashtags,
)
from sources.payload import as_int, as_list, as_text, http_url, iso_time, json_object
from wall.core.model import Author, Batch, Media, Post, PostKind, utcnow
from wall.core.text import clean_text, html_to_text

NETWORK = "discourse"
AVATAR_SIZE_PX = 240  # one of the sizes Discourse serves; a card shows the avatar at about 64 px
REGULAR_POST = 1  # post_type: 1 regular, 2 moderator action, 3 small action, 4 whisper
EDIT_GRACE = timedelta(seconds=60)  # version 1 with updated_at later than this: a "ninja" edit
QUOTE_MAX_CHARS = 200
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0

_CATEGORY = re.compile(r"^[\w-]{1,100}$")
_TAG_SLUG = re.compile(r"^[^\W_][\w-]*$")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
_DROPPED = frozenset({"script", "style", "svg", "noscript", "template", "iframe", "video", "audio"})
_BLOCKS = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr"})
_NOT_MEDIA = frozenset({"emoji", "avatar", "site-icon", "thumbnail"})


class DiscourseSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "discourse"`: the latest posts of a forum, or of one category."""

    type: Literal["discourse"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(120, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(description="The forum, e.g. https://forum.example.com")
    api_key: SecretStr | None = Field(None, description="API key (optional: public forums answer without)")
    api_username: str = Field("system", min_length=1, description="User the API key acts as")
    category: str = Field("", description="Only this category (slug or id) and its subcategories")
    max_pages: int = Field(4, ge=1, le=20, description="Pages of 50 posts read per poll at most")

    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example="https://forum.example.com", secret="api_key")

    @field_validator("category")
    @classmethod
    def _check_category(cls, value: str) -> str:
        category = value.strip().strip("/")
        if category and not _CATEGORY.match(category):
            raise ValueError(f"{value!r} is not a category: give its slug ('vie-interne') or its id ('12')")
        return category

    @field_validator("api_username")
    @classmethod
    def _check_username(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty: give the user the API key acts as, e.g. 'system'")
        return value.strip()


class DiscourseSource(SourceBase):
    """Polls `/posts.json`: posts newer than the cursor, plus edits and deletions of those shown."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: DiscourseSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._window = RecentWindow()
        self._categories: frozenset[int] | None = None

    def __repr__(self) -> str:
        return (
            f"DiscourseSource(name={self.settings.name!r}, base_url={self.settings.base_url!r}, "
            f"category={self.settings.category!r})"
        )

    async def poll(self) -> Batch:
        """New posts, edited posts already shown, and ids of shown posts that went away."""
        categories = await self._category_filter()
        raw = await self._read_latest()
        by_id: dict[int, dict[str, Any]] = {}
        for item in raw:
            pid = post_id(item)
            if pid is not None:
                by_id.setdefault(pid, item)
        found = {
            pid: (
                self._parse(item) if categories is None or item.get("category_id") in categories else None,
                post_signature(item),
            )
            for pid, item in by_id.items()
        }
        return self._window.changes(found)

    def state(self) -> dict[str, Any]:
        """The highest post id read and the posts shown in the last window, to resume after a restart."""
        return self._window.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; malformed entries are dropped."""
        self._window.restore(state)

    # -- fetching ---------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if key := secret_value(self.settings.api_key):
            headers["Api-Key"] = key
            headers["Api-Username"] = self.settings.api_username
        return headers

    async def _get_json(
        self, path: str, params: Mapping[str, Any] | None, *, what: str
    ) -> tuple[Any, Fetched]:
        fetched = await self.http.get(
            f"{self.settings.base_url}{path}",
            params=params,
            headers=self._headers(),
            conditional=False,  # a 304 has no body; the answers are small and change often
            raise_errors=False,
        )
        if fetched.status >= 400:
            raise classify_error(fetched, what=what, has_key=self.settings.api_key is not None)
        return fetched.json(), fetched

    async def _read_latest(self) -> list[Any]:
        """`latest_posts` of the newest page, then of older pages until the cursor is reached."""
        items: list[Any] = []
        before: int | None = None
        for _ in range(self.settings.max_pages):
            params = {"before": before} if before is not None else None
            payload, fetched = await self._get_json("/posts.json", params, what="the latest posts")
            page = latest_posts(payload, shown=redact_url(fetched.url))
            items.extend(page)
            ids = [pid for item in page if (pid := post_id(item)) is not None]
            if self._window.cursor is None or not ids or min(ids) <= self._window.cursor:
                break
            before = min(ids)
        return items

    async def _category_filter(self) -> frozenset[int] | None:
        if not self.settings.category:
            return None
        if self._categories is None:
            wanted = self.settings.category
            try:
                payload, fetched = await self._get_json(
                    "/categories.json", {"include_subcategories": "true"}, what=f"category {wanted!r}"
                )
            except ConfigError:
                raise ConfigError(
                    f"discourse categories not found at {self.settings.base_url}: check `base_url`"
                ) from None
            found = category_ids(payload, wanted, shown=redact_url(fetched.url))
            if found is None:
                raise ConfigError(
                    f"discourse category {wanted!r} not found on {self.settings.base_url}: check `category` "
                    "(its slug, as in /c/<slug>, or its id); a private category needs `api_key`"
                )
            self._categories = found
        return self._categories

    def _parse(self, item: Any) -> Post | None:
        return parse_post(
            item, source=self.settings.name, kind=self.settings.kind, base_url=self.settings.base_url
        )


# -- pure helpers ---------------------------------------------------------------------------------------


_END = object()


def latest_posts(payload: Any, *, shown: str) -> list[Any]:
    """The `latest_posts` list of a `/posts.json` answer; anything else is a TransientError."""
    items = payload.get("latest_posts") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise TransientError(f"unexpected answer from {shown}: no `latest_posts` list")
    return items


def post_id(item: Any) -> int | None:
    """The post's id, when `item` is a post object with one."""
    return as_int(item.get("id")) if isinstance(item, dict) else None


def post_signature(item: Mapping[str, Any]) -> str:
    """What changes when a post is edited: `updated_at` and `version`."""
    return f"{as_text(item.get('updated_at'))}|{as_int(item.get('version')) or 0}"


def category_ids(payload: Any, wanted: str, *, shown: str = "/categories.json") -> frozenset[int] | None:
    """The id of the category named `wanted` (slug or id) and of all its subcategories, from a
    `/categories.json?include_subcategories=true` answer; None when it is not listed."""
    listing = payload.get("category_list") if isinstance(payload, dict) else None
    categories = listing.get("categories") if isinstance(listing, dict) else None
    if not isinstance(categories, list):
        raise TransientError(f"unexpected answer from {shown}: no `category_list.categories` list")
    children: dict[int, set[int]] = {}
    match: int | None = None
    for category in _walk_categories(categories):
        cid = as_int(category.get("id"))
        if cid is None:
            continue
        if match is None and (
            str(cid) == wanted or as_text(category.get("slug")).casefold() == wanted.casefold()
        ):
            match = cid
        subs = children.setdefault(cid, set())
        for sub in as_list(category.get("subcategory_ids")):
            if (sid := as_int(sub)) is not None:
                subs.add(sid)
        for sub in as_list(category.get("subcategory_list")):
            if isinstance(sub, dict) and (sid := as_int(sub.get("id"))) is not None:
                subs.add(sid)
        if (parent := as_int(category.get("parent_category_id"))) is not None:
            children.setdefault(parent, set()).add(cid)
    if match is None:
        return None
    found = {match}
    todo = [match]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


def _walk_categories(items: Sequence[Any]) -> Iterator[dict[str, Any]]:
    # Depth first with a stack of iterators, not recursion: a hostile answer may nest deeper than
    # Python's recursion limit.
    stack: list[Iterator[Any]] = [iter(items)]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, dict):
            yield item
            subs = item.get("subcategory_list")
            if isinstance(subs, list):
                stack.append(iter(subs))


@dataclass(frozen=True, slots=True)
class Cooked:
    """A post's `cooked` HTML read for the wall."""

    text: str
    media: tuple[Media, ...]
    tags: tuple[str, ...]


class _CookedReader(HTMLParser):
    """Reduces Discourse's cooked HTML to the few tags `html_to_text` needs, collecting images and tags."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.buffers: list[list[str]] = [[]]
        self.stack: list[tuple[str, str, dict[str, str]]] = []  # (tag, role, attributes)
        self.media: list[Media] = []
        self.tags: list[str] = []
        self.onebox_titles: list[str] = []

    # The role of an element decides what happens to it and to what it contains.
    def _role(self, tag: str, attrs: dict[str, str]) -> str:
        classes = set(attrs.get("class", "").split())
        roles = {role for _, role, _ in self.stack}
        if "skip" in roles or tag in _DROPPED:
            return "skip"
        if tag == "a" and classes & {"hashtag-cooked", "hashtag"}:
            return "hashtag"
        if tag == "aside" and "quote" in classes:
            return "quote"
        if tag == "aside" and "onebox" in classes:
            return "onebox"
        if "quote" in roles and tag == "div" and "title" in classes:
            return "skip"  # the quoted author's avatar and name: said once after the quote
        if "onebox" in roles and tag in ("h3", "h4") and not self.onebox_titles[-1]:
            return "title"
        if tag == "div" and "meta" in classes and "lightbox" in roles:
            return "skip"  # file name, size and dimensions under an image
        if tag == "a" and "lightbox" in classes:
            return "lightbox"
        return "keep"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "img":
            self._image(values)
            return
        if tag == "br":
            if not any(role == "skip" for _, role, _ in self.stack):
                self.buffers[-1].append("<br>")
            return
        if tag in _VOID:
            return
        role = self._role(tag, values)
        if role in ("hashtag", "quote", "onebox", "title"):
            self.buffers.append([])
        if role == "onebox":
            self.onebox_titles.append("")
        self.stack.append((tag, role, values))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not any(open_tag == tag for open_tag, _, _ in self.stack):
            return  # a stray end tag
        while self.stack:
            open_tag, role, values = self.stack.pop()
            self._close(open_tag, role, values)
            if open_tag == tag:
                return

    def _close(self, tag: str, role: str, values: dict[str, str]) -> None:
        if role == "hashtag":
            inner = html_to_text("".join(self.buffers.pop()))
            slug = (
                values.get("data-slug")
                or inner.lstrip("#")
                or values.get("href", "").rstrip("/").rsplit("/", 1)[-1]
            )
            slug = slug.strip()
            if _TAG_SLUG.match(slug):
                self.tags.append(slug.casefold())
                self.buffers[-1].append(escape(f"#{slug}"))
            else:
                self.buffers[-1].append(escape(inner))
        elif role == "quote":
            quoted = " ".join(html_to_text("".join(self.buffers.pop())).split())
            if len(quoted) > QUOTE_MAX_CHARS:
                quoted = quoted[: QUOTE_MAX_CHARS - 1].rstrip() + "…"
            who = clean_text(values.get("data-username", ""))
            if quoted:
                line = f"«\u00a0{quoted}\u00a0»" + (f" (@{who})" if who else "")
                self.buffers[-1].append(f"<p>{escape(line)}</p>")
        elif role == "title":
            title = html_to_text("".join(self.buffers.pop()))
            self.onebox_titles[-1] = self.onebox_titles[-1] or title
        elif role == "onebox":
            self.buffers.pop()
            title = self.onebox_titles.pop() or values.get("data-onebox-src", "")
            if title:
                self.buffers[-1].append(f"<p>{escape(title)}</p>")
        elif role == "keep" and tag in _BLOCKS:
            self.buffers[-1].append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not any(role == "skip" for _, role, _ in self.stack):
            self.buffers[-1].append(escape(data, quote=False))

    def _image(self, values: dict[str, str]) -> None:
        roles = {role for _, role, _ in self.stack}
        if "skip" in roles:
            return
        classes = set(values.get("class", "").split())
        if "emoji" in classes:
            alt = values.get("alt") or values.get("title") or ""
            self.buffers[-1].append(escape(alt))
            return
        if classes & _NOT_MEDIA or roles & {"quote", "onebox", "title", "hashtag"}:
            return
        src = http_url(values.get("src"), base=f"{self.base_url}/")
        lightbox = next((v for _, role, v in reversed(self.stack) if role == "lightbox"), None)
        original = http_url(lightbox.get("href"), base=f"{self.base_url}/") if lightbox else ""
        if not (original or src):
            return
        alt = clean_text(values.get("alt") or "")
        self.media.append(
            Media(
                url=original or src,
                alt=alt,
                kind="image",
                preview_url=src if original and src != original else "",
            )
        )

    def result(self) -> Cooked:
        while self.stack:
            self._close(*self.stack.pop())
        while len(self.buffers) > 1:  # an unclosed quote or hashtag: keep what it said
            inner = self.buffers.pop()
            self.buffers[-1].extend(inner)
        text = html_to_text("".join(self.buffers[0]))
        return Cooked(text=text, media=tuple(self.media), tags=tuple(self.tags))


def parse_cooked(cooked: str, *, base_url: str) -> Cooked:
    """Plain text, images and hashtags of a post's `cooked` HTML (see the module docstring)."""
    reader = _CookedReader(base_url)
    reader.feed(cooked)
    reader.close()
    return reader.result()


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def is_shown(item: Mapping[str, Any]) -> bool:
    """False for posts the wall never shows: not regular (whispers...), hidden or deleted."""
    return (
        item.get("post_type", REGULAR_POST) == REGULAR_POST
        and item.get("hidden") is not True
        and item.get("deleted_at") is None
        and item.get("user_deleted") is not True
    )


def parse_post(item: Any, *, source: str, kind: PostKind, base_url: str) -> Post | None:
    """A Post from one `latest_posts` entry; None when it is malformed or must not be shown."""
    if not isinstance(item, dict) or not is_shown(item):
        return None
    pid = post_id(item)
    created_at = iso_time(item.get("created_at"))
    username = clean_text(as_text(item.get("username")))
    if pid is None or created_at is None or not username:
        return None
    cooked = parse_cooked(as_text(item.get("cooked")), base_url=base_url)
    text = cooked.text
    post_number = as_int(item.get("post_number")) or 0
    title = clean_text(as_text(item.get("topic_title")))
    if post_number == 1 and title:
        text = clean_text(f"{title}\n\n{text}") if text else title
    if not text and not cooked.media:
        return None
    updated_at = iso_time(item.get("updated_at"))
    version = as_int(item.get("version")) or 1
    edited = updated_at is not None and (version > 1 or updated_at - created_at > EDIT_GRACE)
    avatar = as_text(item.get("avatar_template")).replace("{size}", str(AVATAR_SIZE_PX))
    return Post(
        id=str(pid),
        source=source,
        network=NETWORK,
        kind=kind,
        author=Author(
            name=clean_text(as_text(item.get("name"))) or username,
            handle=f"@{username}",
            avatar_url=http_url(avatar, base=f"{base_url}/"),
        ),
        text=text,
        created_at=created_at,
        url=http_url(item.get("post_url"), base=f"{base_url}/"),
        media=cooked.media,
        edited_at=updated_at if edited else None,
        is_reply=post_number > 1 or item.get("reply_to_post_number") is not None,
        tags=_unique([*cooked.tags, *text_hashtags(text)]),
    )


def classify_error(fetched: Fetched, *, what: str, has_key: bool) -> SourceError:
    """The error a Discourse error answer means (messages are written here, never copied)."""
    shown = redact_url(fetched.url)
    body = json_object(fetched.content)
    error_type = body.get("error_type") if isinstance(body.get("error_type"), str) else ""
    detail = f"HTTP {fetched.status}" + (
        f", {error_type}" if error_type and _TAG_SLUG.match(error_type) else ""
    )
    if fetched.status == 429 or error_type == "rate_limit":
        wait = parse_retry_after(fetched.headers.get("retry-after"))
        if wait is None:
            extras = body.get("extras")
            seconds = extras.get("wait_seconds") if isinstance(extras, dict) else None
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
                wait = float(seconds)
        wait = DEFAULT_RATE_LIMIT_WAIT_SECONDS if wait is None else wait
        return RateLimited(
            f"discourse rate limit reading {what} at {shown} ({detail}): wait {wait:.0f} s", wait
        )
    if fetched.status in (401, 403):
        hint = (
            "check `api_key` and `api_username` (a key allowed to read posts and categories)"
            if has_key
            else "the forum needs a login: set `api_key` (and `api_username`)"
        )
        return AuthError(f"discourse refused {what} at {shown} ({detail}): {hint}")
    if fetched.status in (404, 410):
        return ConfigError(f"discourse: {what} not found at {shown} ({detail}): check `base_url`")
    try:
        raise_for_status(fetched.status, fetched.headers, shown)
    except SourceError as exc:
        return exc
    return TransientError(f"unexpected HTTP {fetched.status} from {shown}")  # pragma: no cover
