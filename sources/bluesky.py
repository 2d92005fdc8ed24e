"""Bluesky mentions (`app.bsky.feed.searchPosts`) and follower counts (`app.bsky.actor.getProfile`).

Fetching is `BlueskySource.poll`; parsing is pure (`parse_post`, `parse_profile_count`,
`classify_error`) and tested on payloads shaped as the lexicons document them.

Search needs a session since 2025 (the public AppView answers 403), so the source logs in with
`com.atproto.server.createSession` and an app password, keeps the access token in memory only, and
logs in again once when the server says `ExpiredToken`. XRPC errors are JSON bodies
`{"error": "Name", "message": "..."}`: the module reads them with `HttpFetcher.get(raise_errors=False)`
and writes its own messages, so neither the password nor a token ever reaches a log line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    env_variable,
    raise_for_status,
    redact_url,
    secret_value,
    unique_hashtags,
)
from sources.payload import as_dict, as_list, http_url, iso_time, json_object
from wall.core.model import Author, Batch, Count, Media, Post, PostKind, utcnow
from wall.core.text import clean_text

NETWORK = "bluesky"
DEFAULT_BASE_URL = "https://bsky.social"
SESSION_METHOD = "com.atproto.server.createSession"
SEARCH_METHOD = "app.bsky.feed.searchPosts"
PROFILE_METHOD = "app.bsky.actor.getProfile"
SENSITIVE_LABELS = frozenset({"porn", "sexual", "nudity", "graphic-media"})
AUTH_ERRORS = frozenset(
    {"AuthenticationRequired", "AuthFactorTokenRequired", "InvalidToken", "AccountTakedown", "AuthMissing"}
)
MAX_SEEN_URIS = 200  # uris remembered at the cursor's instant, enough for one burst of equal timestamps

_HANDLE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}$")
_TAG = re.compile(r"^[^\s#]{1,64}$")
_ERROR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


class BlueskySettings(SourceSettings):
    """A `[[sources]]` entry of `type = "bluesky"`: searched posts and counted accounts."""

    type: Literal["bluesky"] = Field(description="Which adapter reads this source")
    base_url: str = Field(DEFAULT_BASE_URL, description="PDS or entryway root; defaults to bsky.social")
    query: str = Field("", max_length=512, description="Search query (Bluesky search syntax)")
    hashtags: list[str] = Field(default_factory=list, description="Hashtags to follow, without '#'")
    accounts: list[str] = Field(default_factory=list, description="Handles whose followers are counted")
    identifier: str = Field("", description="Handle or e-mail of the account that logs in to search")
    app_password: SecretStr | None = Field(None, description="App password of that account")
    limit: int = Field(25, ge=1, le=100, description="Posts asked per search request")

    # The whole-entry check below would otherwise echo every key, the app password included, in its error.
    model_config = ConfigDict(hide_input_in_errors=True)

    secret_fields: ClassVar[tuple[str, ...]] = ("app_password",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="app_password")

    @field_validator("query", "identifier")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("hashtags")
    @classmethod
    def _check_hashtags(cls, values: list[str]) -> list[str]:
        return unique_hashtags(values, _TAG, "write it as 'norauto' (no spaces)")

    @field_validator("accounts")
    @classmethod
    def _check_accounts(cls, values: list[str]) -> list[str]:
        accounts: list[str] = []
        for raw in values:
            account = raw.strip().removeprefix("@")
            if not account.startswith("did:"):
                account = account.lower()
            if not (_HANDLE.match(account) or _DID.match(account)):
                raise ValueError(f"{raw!r} is not a Bluesky handle: write it as 'norauto.bsky.social'")
            if account not in accounts:
                accounts.append(account)
        return accounts

    @model_validator(mode="after")
    def _something_to_read(self) -> BlueskySettings:
        if not (self.query or self.hashtags or self.accounts):
            raise ValueError("a bluesky source needs at least one of `query`, `hashtags` or `accounts`")
        return self

    @property
    def searches(self) -> dict[str, dict[str, str]]:
        """Each search to run, by a stable key (used for its cursor), with its own parameters."""
        found: dict[str, dict[str, str]] = {}
        if self.query:
            found[f"q:{self.query}"] = {"q": self.query}
        for tag in self.hashtags:
            found[f"tag:{tag.lower()}"] = {"q": f"#{tag}", "tag": tag}
        return found


@dataclass(slots=True)
class SearchCursor:
    """The newest `indexedAt` a search returned and the uris seen at that instant."""

    indexed_at: datetime
    uris: set[str] = field(default_factory=set)

    def is_new(self, uri: str, indexed_at: datetime) -> bool:
        """True for a post not yet returned by this search."""
        return indexed_at > self.indexed_at or (indexed_at == self.indexed_at and uri not in self.uris)

    def advance(self, uri: str, indexed_at: datetime) -> None:
        """Remember a post just returned."""
        if indexed_at > self.indexed_at:
            self.indexed_at, self.uris = indexed_at, {uri}
        elif indexed_at == self.indexed_at and len(self.uris) < MAX_SEEN_URIS:
            self.uris.add(uri)


class BlueskySource(SourceBase):
    """Polls each search for posts newer than last time, then the follower count of each account."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: BlueskySettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._access_jwt: str | None = None
        self._cursors: dict[str, SearchCursor] = {}

    def __repr__(self) -> str:
        return (
            f"BlueskySource(name={self.settings.name!r}, query={self.settings.query!r}, "
            f"hashtags={self.settings.hashtags!r}, accounts={self.settings.accounts!r})"
        )

    async def poll(self) -> Batch:
        """New posts of every search (newest first, each once), then one Count per account."""
        searches = self.settings.searches
        if searches and self._access_jwt is None:
            await self._create_session()
        posts: list[Post] = []
        seen: set[str] = set()
        for key, params in searches.items():
            for post in await self._search(key, params):
                if post.id not in seen:
                    seen.add(post.id)
                    posts.append(post)
        observed_at = self.clock()
        counts: list[Count] = []
        for account in self.settings.accounts:
            payload = await self._xrpc(PROFILE_METHOD, {"actor": account}, what=f"account {account!r}")
            count = parse_profile_count(
                payload, source=self.settings.name, account=account, observed_at=observed_at
            )
            if count is None:
                raise TransientError(f"unexpected bluesky answer for {account!r}: expected a profile")
            counts.append(count)
        return Batch(posts=tuple(posts), counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """The newest `indexedAt` (and uris at that instant) per search, to resume after a restart."""
        return {
            "cursors": {
                key: {"indexed_at": cursor.indexed_at.isoformat(), "uris": sorted(cursor.uris)}
                for key, cursor in self._cursors.items()
            }
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; cursors of searches no longer configured or malformed are dropped."""
        self._cursors = {}
        cursors = state.get("cursors")
        if not isinstance(cursors, Mapping):
            return
        wanted = self.settings.searches
        for key, raw in cursors.items():
            if key not in wanted or not isinstance(raw, Mapping):
                continue
            indexed_at = iso_time(raw.get("indexed_at"))
            uris = raw.get("uris")
            if indexed_at is None or not isinstance(uris, list):
                continue
            self._cursors[key] = SearchCursor(indexed_at, {u for u in uris if isinstance(u, str)})

    # -- fetching ---------------------------------------------------------------------------------

    def _credentials(self) -> tuple[str, str]:
        password = secret_value(self.settings.app_password)
        if not password or not self.settings.identifier:
            missing = "app_password" if not password else "identifier"
            raise AuthError(
                f"bluesky source {self.settings.name!r} has no {missing}: searching needs a login. Set "
                f"`identifier` and `app_password` ({env_variable(self.settings.name, 'app_password')} "
                f"or the credential {self.settings.name}.app_password); create an app password in "
                "Bluesky's settings"
            )
        return self.settings.identifier, password

    async def _create_session(self) -> None:
        identifier, password = self._credentials()
        self._access_jwt = None
        fetched = await self.http.request(
            "POST",
            f"{self.settings.base_url}/xrpc/{SESSION_METHOD}",
            json_body={"identifier": identifier, "password": password},
            conditional=False,
            raise_errors=False,
        )
        shown = redact_url(fetched.url)
        if fetched.status >= 400:
            name = error_name(fetched.content)
            if fetched.status in (400, 401) and name in (None, "AuthenticationRequired", "InvalidRequest"):
                raise AuthError(
                    f"bluesky refused the login of {identifier!r} at {shown} ({name or fetched.status}): "
                    "check `identifier` and `app_password`"
                )
            _raise_error(fetched, shown, what="the login")
        payload = fetched.json()
        token = payload.get("accessJwt") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientError(f"unexpected answer from {shown}: no accessJwt")
        self._access_jwt = token

    async def _xrpc(self, method: str, params: Mapping[str, str], *, what: str) -> dict[str, Any]:
        """The JSON object of one XRPC query, logging in again once when the token has expired."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_jwt}"} if self._access_jwt else {}
            fetched = await self.http.get(
                f"{self.settings.base_url}/xrpc/{method}",
                params=params,
                headers=headers,
                conditional=False,
                raise_errors=False,
            )
            shown = redact_url(fetched.url)
            if fetched.status >= 400:
                name = error_name(fetched.content)
                if name == "ExpiredToken" and fetched.status in (400, 401) and attempt == 1:
                    await self._create_session()
                    continue
                _raise_error(fetched, shown, what=what)
            payload = fetched.json()
            if not isinstance(payload, dict):
                raise TransientError(f"unexpected answer from {shown}: expected a JSON object")
            return payload
        raise AuthError(f"bluesky token expired again right after a new login ({what})")  # pragma: no cover

    async def _search(self, key: str, params: Mapping[str, str]) -> list[Post]:
        query = {**params, "sort": "latest", "limit": str(self.settings.limit)}
        payload = await self._xrpc(SEARCH_METHOD, query, what=f"search {key!r}")
        raw_posts = payload.get("posts")
        if not isinstance(raw_posts, list):
            raise TransientError(f"unexpected bluesky search answer for {key!r}: `posts` is not a list")
        cursor = self._cursors.get(key)
        fresh: list[tuple[datetime, Post]] = []
        for raw in raw_posts[: self.settings.limit]:  # what was asked for, whatever the server sent
            post = parse_post(raw, source=self.settings.name, kind=self.settings.kind)
            indexed_at = iso_time(raw.get("indexedAt")) if isinstance(raw, dict) else None
            if post is None or indexed_at is None:
                continue
            if cursor is None or cursor.is_new(post.id, indexed_at):
                fresh.append((indexed_at, post))
        for indexed_at, post in sorted(fresh, key=lambda pair: pair[0]):
            if cursor is None:
                cursor = self._cursors[key] = SearchCursor(indexed_at, {post.id})
            else:
                cursor.advance(post.id, indexed_at)
        fresh.sort(key=lambda pair: pair[0], reverse=True)
        return [post for _, post in fresh]


# -- pure helpers ---------------------------------------------------------------------------------------


def error_name(body: bytes) -> str | None:
    """The `error` name of an XRPC error body, when it is a plain identifier."""
    name = json_object(body).get("error")
    return name if isinstance(name, str) and _ERROR_NAME.match(name) else None


def classify_error(status: int, body: bytes, *, shown: str, what: str = "the request") -> SourceError | None:
    """The error an XRPC error answer means from its `error` name; None leaves it to the status alone.

    Messages are written here: the server's `message` is never copied.
    """
    name = error_name(body)
    if name == "RateLimitExceeded" or status == 429:
        return None  # raise_for_status reads Retry-After / ratelimit-reset
    if name in AUTH_ERRORS or status in (401, 403):
        return AuthError(
            f"bluesky refused {what} ({name or f'HTTP {status}'}) at {shown}: check `identifier` and "
            "`app_password` (an app password, without two-factor codes)"
        )
    if status == 400:
        return ConfigError(f"bluesky refused {what} ({name or 'HTTP 400'}) at {shown}: check the config")
    return None


def _raise_error(fetched: Fetched, shown: str, *, what: str) -> None:
    error = classify_error(fetched.status, fetched.content, shown=shown, what=what)
    if error is not None:
        raise error
    status = 429 if error_name(fetched.content) == "RateLimitExceeded" else fetched.status
    raise_for_status(status, fetched.headers, shown)


def post_url(uri: str, handle: str) -> str:
    """The bsky.app link of a post from its at:// uri (`rkey` is the last path segment)."""
    return f"https://bsky.app/profile/{handle}/post/{uri.rstrip('/').rsplit('/', 1)[-1]}"


def _label_values(post: dict[str, Any], record: dict[str, Any]) -> set[str]:
    values = {
        label["val"]
        for label in as_list(post.get("labels"))
        if isinstance(label, dict) and isinstance(label.get("val"), str) and not label.get("neg")
    }
    self_labels = as_dict(record.get("labels")).get("values")
    if isinstance(self_labels, list):
        values.update(v["val"] for v in self_labels if isinstance(v, dict) and isinstance(v.get("val"), str))
    return values


def _media(embed: dict[str, Any]) -> tuple[Media, ...]:
    kind = embed.get("$type")
    if kind == "app.bsky.embed.recordWithMedia#view":
        # Its `media` is an images view, never another recordWithMedia: one level only, however deep
        # a hostile answer nests them.
        embed = as_dict(embed.get("media"))
        kind = embed.get("$type")
    if kind != "app.bsky.embed.images#view" or not isinstance(embed.get("images"), list):
        return ()
    media: list[Media] = []
    for image in embed["images"]:
        image = as_dict(image)
        full, thumb = http_url(image.get("fullsize")), http_url(image.get("thumb"))
        if full or thumb:
            alt = image.get("alt")
            media.append(
                Media(full or thumb, clean_text(alt) if isinstance(alt, str) else "", "image", thumb)
            )
    return tuple(media)


def _tags(record: dict[str, Any]) -> tuple[str, ...]:
    tags: list[str] = [t for t in as_list(record.get("tags")) if isinstance(t, str)]
    for facet in as_list(record.get("facets")):
        for feature in as_list(as_dict(facet).get("features")):
            feature = as_dict(feature)
            if feature.get("$type") == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
    return tuple(dict.fromkeys(tag for tag in tags if tag))  # each once, in order (linear)


def parse_post(obj: Any, *, source: str, kind: PostKind = "mention") -> Post | None:
    """A Post from an `app.bsky.feed.defs#postView`; None when `obj` is not one.

    `created_at` is the earlier of the record's `createdAt` and `indexedAt`, as Bluesky sorts, so a
    post claiming a future date does not stay first on the wall.
    """
    if not isinstance(obj, dict):
        return None
    uri, author, record = obj.get("uri"), as_dict(obj.get("author")), as_dict(obj.get("record"))
    handle = author.get("handle")
    indexed_at = iso_time(obj.get("indexedAt"))
    if not (isinstance(uri, str) and uri.startswith("at://")) or not isinstance(handle, str) or not record:
        return None
    created = iso_time(record.get("createdAt"))
    created_at = min(d for d in (created, indexed_at) if d is not None) if (created or indexed_at) else None
    if created_at is None:
        return None
    display = author.get("displayName")
    name = clean_text(display) if isinstance(display, str) else ""
    langs = record.get("langs")
    text = record.get("text")
    return Post(
        id=uri,
        source=source,
        network=NETWORK,
        kind=kind,
        author=Author(name=name or handle, handle=f"@{handle}", avatar_url=http_url(author.get("avatar"))),
        text=clean_text(text) if isinstance(text, str) else "",
        created_at=created_at,
        url=post_url(uri, handle),
        media=_media(as_dict(obj.get("embed"))),
        sensitive=bool(_label_values(obj, record) & SENSITIVE_LABELS),
        language=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
        is_reply=isinstance(record.get("reply"), dict),
        tags=_tags(record),
    )


def parse_profile_count(obj: Any, *, source: str, account: str, observed_at: datetime) -> Count | None:
    """A followers Count from an `app.bsky.actor.defs#profileViewDetailed`; None when not a profile.

    A missing `followersCount` is unknown, not zero.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("handle"), str):
        return None
    followers = obj.get("followersCount")
    value = (
        followers
        if isinstance(followers, int) and not isinstance(followers, bool) and followers >= 0
        else None
    )
    display = obj.get("displayName")
    label = clean_text(display) if isinstance(display, str) else ""
    return Count(
        source=source,
        network=NETWORK,
        account=account,
        value=value,
        observed_at=observed_at,
        label=label or obj["handle"],
        metric="followers",
    )
