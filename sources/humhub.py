"""HumHub (an enterprise social network) through its REST API module: the latest posts.

Fetching is `HumHubSource.poll`; parsing is pure (`parse_post`, `richtext_to_text`, `parse_time`)
and tested on payloads shaped as the REST module documents them (`docs/swagger/post.yaml`,
`content.yaml`, `file.yaml`, `common.yaml`).

What is read, and why:
- `GET /api/v1/post` (every post the token's user may read) or, with `container`, `GET
  /api/v1/post/container/{id}` (one space or profile). Both answer `{"total", "page", "pages",
  "links", "results"}`, newest first (by `content.created_at`), paged with `page` (from 1) and
  `limit`. The source asks for the page numbers itself: the `links` use Yii's `per-page`, not `limit`.
- The token goes in `Authorization: Bearer <token>` (a JWT from `/api/v1/auth/login` or an access
  token created in the module's settings): never in a URL.
- Cursor: the highest post id seen (ids grow with creation). Without one, only the first page is
  read; with one, pages are read until they reach it, at most `max_pages`.
- Edits and deletions: each poll re-reads the first page anyway and compares it with the posts the
  source has already shown (id -> `updated_at`): a changed one is sent again, and one gone from the
  ids read (deleted, or no longer readable) or now not shown (archived, hidden, a draft, deleted in
  HumHub >= 1.14 where `state` is 100, made private) goes in `Batch.deleted`.
- Shown: published posts (`state` 1) that are neither `archived` nor `hidden`, with visibility
  public (1); private ones (0, members of the space only) only with `include_private = true`,
  since the lobby is seen by visitors; owner-only ones (2) never.
- `message` is HumHub's Markdown-ish richtext: mentions `[Name](mention:guid "url")` become `@Name`,
  links their text, images and files drop out of the text, Markdown marks are removed.
- Topics (`content.topics`) are the post's tags, with the `#words` of the text.
- Images attached (`content.files` with an `image/*` type) are `Media` loaded from
  `/api/v1/file/download/{id}`, which needs the token: `image_headers` gives it for URLs of the
  HumHub site only. Their alt text is the one written in the richtext image, if any.
- Dates have no offset (`"2022-04-13 05:15:43"`): they are in the HumHub server's time zone,
  `timezone` in the config (UTC by default).
- The author has a display name, a guid and a profile URL (`/u/<username>`, whose last part is the
  handle); the API gives no avatar (`image_url` is used if a version adds it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    HttpFetcher,
    RecentWindow,
    SourceBase,
    SourceSettings,
    TransientError,
    bearer_for,
    check_api_root,
    raise_for_status,
    redact_url,
    required_secret,
    secret_value,
    text_hashtags,
)
from sources.payload import as_dict, as_int, as_text, http_url
from wall.core.model import Author, Batch, Media, Post, PostKind, as_utc, utcnow
from wall.core.text import clean_text

NETWORK = "humhub"
PUBLISHED = 1  # content `state`: 1 published, 10 draft, 20 scheduled, 100 deleted (HumHub >= 1.14)
VISIBILITY_PRIVATE, VISIBILITY_PUBLIC = 0, 1  # 2 is "owner only"
EDIT_GRACE = timedelta(seconds=60)

_ESCAPABLE = "\\`*_{}[]()#+-.!>~|<"
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|<])")
_PROTECTED = {ord(c): chr(0xE000 + ord(c)) for c in _ESCAPABLE}
_UNPROTECT = {0xE000 + ord(c): c for c in _ESCAPABLE}
_TITLE = r'(?:\s+"[^"]*")?'
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*([^)\s]*)" + _TITLE + r"\s*\)")
_LINK = re.compile(r"\[([^\]]*)\]\(\s*([^)\s]*)" + _TITLE + r"\s*\)")
_FENCE = re.compile(r"(?m)^\s*(```|~~~).*$")
_HEADING = re.compile(r"(?m)^ {0,3}#{1,6}[ \t]+")
_QUOTE = re.compile(r"(?m)^ {0,3}>[ \t]?")
_BULLET = re.compile(r"(?m)^([ \t]*)[-*+][ \t]+")
_RULE = re.compile(r"(?m)^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")
_EMPHASIS = (
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"__(?=\S)(.+?)(?<=\S)__"),
    re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"),
    re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"),
    re.compile(r"`([^`\n]*)`"),
)
_PROFILE = re.compile(r"/u/([^/?#]+)/?$")


class HumHubSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "humhub"`: the latest posts of a HumHub, or of one space."""

    type: Literal["humhub"] = Field(description="Which adapter reads this source")
    kind: PostKind = Field("internal", description="mention (public) or internal (RSE)")
    interval: float = Field(120, ge=15, le=86400, description="Seconds between polls")
    base_url: str = Field(description="The HumHub site, e.g. https://social.example.com")
    token: SecretStr | None = Field(None, description="REST API token (JWT or access token), sent as Bearer")
    container: int | None = Field(None, ge=1, description="Content container id of the one space to show")
    include_private: bool = Field(False, description="Also show posts visible to the space's members only")
    timezone: str = Field("UTC", description="Time zone of the HumHub server (its dates have no offset)")
    limit: int = Field(20, ge=1, le=50, description="Posts asked per page")
    max_pages: int = Field(5, ge=1, le=50, description="Pages read per poll at most")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example="https://social.example.com", secret="token")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone: write it as 'Europe/Paris' or 'UTC'") from None
        return value.strip()


class HumHubSource(SourceBase):
    """Polls HumHub's posts: new ones since the cursor, plus edits and deletions of those shown."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: HumHubSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)
        self._window = RecentWindow()

    def __repr__(self) -> str:
        return (
            f"HumHubSource(name={self.settings.name!r}, base_url={self.settings.base_url!r}, "
            f"container={self.settings.container!r})"
        )

    def image_headers(self, url: str) -> dict[str, str]:
        """The Authorization header for a picture of this HumHub (attached files need the token)."""
        return bearer_for(url, self.settings.base_url, secret_value(self.settings.token))

    async def poll(self) -> Batch:
        """New posts, edited posts already shown, and ids of shown posts that went away."""
        by_id: dict[int, dict[str, Any]] = {}
        for item in await self._read_pages():
            pid = post_id(item)
            if pid is not None:
                by_id.setdefault(pid, item)
        found = {pid: (self._parse(item), post_signature(item)) for pid, item in by_id.items()}
        return self._window.changes(found)

    def state(self) -> dict[str, Any]:
        """The highest post id read and the posts shown in the last window, to resume after a restart."""
        return self._window.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; malformed entries are dropped."""
        self._window.restore(state)

    # -- fetching ---------------------------------------------------------------------------------

    async def _read_pages(self) -> list[Any]:
        """`results` of the first page, then of the next ones until the cursor is reached."""
        token = required_secret(self.settings.token, self.settings, "token")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        base = self.settings.base_url
        container = self.settings.container
        url = f"{base}/api/v1/post/container/{container}" if container else f"{base}/api/v1/post"
        items: list[Any] = []
        for page in range(1, self.settings.max_pages + 1):
            fetched = await self.http.get(
                url,
                params={"page": page, "limit": self.settings.limit},
                headers=headers,
                conditional=False,
                raise_errors=False,
            )
            shown = redact_url(fetched.url)
            if fetched.status >= 400:
                self._raise(fetched.status, fetched.headers, shown)
            payload = fetched.json()
            results = payload.get("results") if isinstance(payload, dict) else None
            if not isinstance(results, list):
                raise TransientError(f"unexpected answer from {shown}: no `results` list")
            results = results[: self.settings.limit]  # what was asked for, whatever the server sent
            items.extend(results)
            ids = [pid for item in results if (pid := post_id(item)) is not None]
            pages = payload.get("pages")
            if self._window.cursor is None or not ids or min(ids) <= self._window.cursor:
                break
            if isinstance(pages, int) and page >= pages:
                break
        return items

    def _raise(self, status: int, headers: Any, shown: str) -> None:
        if status in (401, 403):
            raise AuthError(
                f"humhub refused the token at {shown} (HTTP {status}): check `token` (a JWT from "
                "/api/v1/auth/login or an access token of the REST module) and that the REST API is "
                "enabled for its user"
            )
        if status in (404, 410):
            if self.settings.container:
                raise ConfigError(
                    f"humhub container {self.settings.container} not found at {shown} (HTTP {status}): "
                    "check `container` (the space's content container id, a number)"
                )
            raise ConfigError(
                f"humhub posts not found at {shown} (HTTP {status}): check `base_url` and that the "
                "REST API module is enabled"
            )
        raise_for_status(status, headers, shown)

    def _parse(self, item: Any) -> Post | None:
        return parse_post(
            item,
            source=self.settings.name,
            kind=self.settings.kind,
            base_url=self.settings.base_url,
            zone=self.zone,
            include_private=self.settings.include_private,
        )


# -- pure helpers ---------------------------------------------------------------------------------------


def parse_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A HumHub date (`"2022-04-13 05:15:43"`, in the server's time zone, or ISO 8601 with an offset)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=zone)
    return as_utc(stamp)


def post_id(item: Any) -> int | None:
    """The post's id, when `item` is a post object with one."""
    return as_int(item.get("id")) if isinstance(item, dict) else None


def post_signature(item: Mapping[str, Any]) -> str:
    """What changes when a post is edited: its content's `updated_at`."""
    metadata = as_dict(as_dict(item.get("content")).get("metadata"))
    return as_text(metadata.get("updated_at"))


def richtext_to_text(message: str) -> tuple[str, dict[str, str]]:
    """Plain text of a HumHub richtext message, and the alt text of its images by file guid."""
    text = _ESCAPE.sub(lambda m: m.group(1).translate(_PROTECTED), message.replace("\r\n", "\n"))
    alts: dict[str, str] = {}

    def image(match: re.Match[str]) -> str:
        alt, target = match.group(1), match.group(2)
        if target.startswith("file-guid:") and alt.strip():
            alts[target.removeprefix("file-guid:")] = clean_text(alt.translate(_UNPROTECT))
        return ""

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1).strip(), match.group(2)
        if target.startswith("mention:"):
            return "@" + label.lstrip("@") if label else ""
        if target.startswith("oembed:"):
            return label or unquote(target.removeprefix("oembed:"))
        return label or target

    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    text = _FENCE.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub(r"\1• ", text)
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    return clean_text(text.translate(_UNPROTECT)), alts


def parse_topics(items: Any) -> list[str]:
    """Names of a content's topics, lowercased, without '#'."""
    if not isinstance(items, list):
        return []
    names = (" ".join(clean_text(as_text(t.get("name"))).split()) for t in items if isinstance(t, dict))
    return [name.lstrip("#").casefold() for name in names if name.lstrip("#")]


def parse_files(items: Any, *, base_url: str, alts: Mapping[str, str]) -> tuple[Media, ...]:
    """Images among a content's files, loaded through the API (`/api/v1/file/download/{id}`)."""
    if not isinstance(items, list):
        return ()
    media: list[Media] = []
    for item in items:
        if not isinstance(item, dict) or not as_text(item.get("mime_type")).startswith("image/"):
            continue
        file_id = as_int(item.get("id"))
        url = f"{base_url}/api/v1/file/download/{file_id}" if file_id is not None else ""
        url = url or http_url(item.get("url"), base=f"{base_url}/")
        if url:
            media.append(Media(url=url, alt=alts.get(as_text(item.get("guid")), ""), kind="image"))
    return tuple(media)


def parse_author(user: Any, *, base_url: str) -> Author | None:
    """The author from a `UserShort` (`id`, `guid`, `display_name`, `url`)."""
    if not isinstance(user, dict):
        return None
    name = clean_text(as_text(user.get("display_name")))
    profile = as_text(user.get("url"))
    match = _PROFILE.search(urlsplit(profile).path) if profile else None
    handle = f"@{clean_text(unquote(match.group(1)))}" if match else ""
    if not name and not handle:
        return None
    return Author(
        name=name or handle.lstrip("@"),
        handle=handle,
        avatar_url=http_url(user.get("image_url"), base=f"{base_url}/"),
    )


def is_shown(metadata: Mapping[str, Any], *, include_private: bool) -> bool:
    """False for content the lobby must not show (see the module docstring)."""
    state = metadata.get("state", PUBLISHED)
    visibility = metadata.get("visibility", VISIBILITY_PUBLIC)
    allowed = (VISIBILITY_PUBLIC, VISIBILITY_PRIVATE) if include_private else (VISIBILITY_PUBLIC,)
    return (
        state == PUBLISHED
        and any(visibility == value and type(visibility) is int for value in allowed)
        and metadata.get("archived") is not True
        and metadata.get("hidden") is not True
    )


def parse_post(
    item: Any, *, source: str, kind: PostKind, base_url: str, zone: ZoneInfo, include_private: bool = False
) -> Post | None:
    """A Post from one `results` entry (a Post definition); None when malformed or not to be shown."""
    if not isinstance(item, dict):
        return None
    pid = post_id(item)
    content = as_dict(item.get("content"))
    metadata = as_dict(content.get("metadata"))
    if pid is None or not metadata or not is_shown(metadata, include_private=include_private):
        return None
    created_at = parse_time(metadata.get("created_at"), zone)
    author = parse_author(metadata.get("created_by"), base_url=base_url)
    if created_at is None or author is None:
        return None
    text, alts = richtext_to_text(as_text(item.get("message")))
    media = parse_files(content.get("files"), base_url=base_url, alts=alts)
    if not text and not media:
        return None
    updated_at = parse_time(metadata.get("updated_at"), zone)
    edited = updated_at is not None and updated_at - created_at > EDIT_GRACE
    tags = [*parse_topics(content.get("topics")), *text_hashtags(text)]
    return Post(
        id=str(pid),
        source=source,
        network=NETWORK,
        kind=kind,
        author=author,
        text=text,
        created_at=created_at,
        url=http_url(metadata.get("url"), base=f"{base_url}/"),
        media=media,
        edited_at=updated_at if edited else None,
        tags=tuple(dict.fromkeys(tag for tag in tags if tag)),
    )
