"""Instagram follower counts and hashtag mentions, read with the Instagram Graph API (the Facebook
Login flavour, on the Facebook Graph host) for one Instagram business or creator account.

Fetching is `InstagramSource.poll`; parsing is pure (`parse_account_count`, `parse_discovery_count`,
`parse_hashtag_id`, `parse_media`, `parse_media_page`) and tested on payloads shaped as Meta
documents them. Errors and usage headers are the Graph API's, shared with Facebook in `sources.graph`.

- Counts: the own account with `GET /{user_id}?fields=username,name,followers_count`, every other
  account in `accounts` with `business_discovery.username(<name>){...}` on the own account (one
  request each: a field cannot be asked twice in one request). A `followers_count` left out is an
  unknown value, never 0.
- Hashtags: `GET /ig_hashtag_search` turns a tag into its id, which Meta documents as static and
  global; an account may search only 30 distinct tags per rolling 7 days, so ids are kept in
  `state()` and a tag is never searched twice. Then `GET /{hashtag-id}/recent_media` gives public
  media of the last 24 hours, not in chronological order, with an `after` cursor that is the same on
  every page: media already shown are remembered by id (for two days, longer than the edge looks
  back) rather than with a cursor, and paging stops at a page with nothing new.
- The edge never gives the author of a media (the `username` field is refused), so a card names the
  hashtag it was found with. Its documented fields give no still picture of a video (no
  `thumbnail_url`): videos are shown by their caption and link, album pictures from `children`.
- At 100 % of Meta's usage budget the answers already read in the poll are returned and no further
  request is sent until access is regained (`UsageBudget`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    ConfigError,
    Fetched,
    HttpFetcher,
    SourceBase,
    SourceSettings,
    TransientError,
    check_api_root,
    raise_for_status,
    redact_url,
    required_secret,
    unique_hashtags,
)
from sources.graph import DEFAULT_BASE_URL, UsageBudget, classify_graph_error, parse_graph_error
from sources.payload import as_count, as_dict, as_text, http_url, iso_time
from wall.core.model import Author, Batch, Count, Media, Post, PostKind, utcnow
from wall.core.text import clean_text

NETWORK = "instagram"
ACCOUNT_FIELDS = "username,name,followers_count"
DISCOVERY_FIELDS = "username,name,followers_count"
MEDIA_FIELDS = "id,caption,media_type,media_url,permalink,timestamp,children{media_type,media_url}"
MAX_LIMIT = 50  # recent_media pages hold at most 50 media
SEEN_FOR = timedelta(days=2)  # recent_media only returns media of the last 24 hours
MAX_SEEN = 5000
# Graph codes meaning a configured name is wrong: 100 bad parameter / unknown object, 110 no such
# business or creator username (business_discovery, subcode 2207013), 803 unknown alias.
CONFIG_CODES = frozenset({100, 110, 803})
TOKEN_ADVICE = (
    "renew `token` (a User token of someone with a task on the Facebook Page linked to the account, "
    "with instagram_basic and pages_read_engagement"
)

_USER_ID = re.compile(r"^\d{1,40}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_HASHTAG = re.compile(r"^\w{1,100}$")  # Meta refuses emoji in hashtag searches
_TAG_IN_TEXT = re.compile(r"(?<![\w&#])#(\w{1,100})")


class InstagramSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "instagram"`: counted accounts and followed hashtags."""

    type: Literal["instagram"] = Field(description="Which adapter reads this source")
    base_url: str = Field(DEFAULT_BASE_URL, description="API root, with the Graph API version")
    user_id: str = Field(description="Id of the Instagram business or creator account that reads")
    accounts: list[str] = Field(
        default_factory=list, description="Other business or creator usernames whose followers are counted"
    )
    hashtags: list[str] = Field(
        default_factory=list, description="Hashtags whose recent public media are shown, without '#'"
    )
    token: SecretStr | None = Field(None, description="Facebook User access token (required to poll)")
    limit: int = Field(25, ge=1, le=MAX_LIMIT, description="Media asked for per hashtag page")
    max_pages: int = Field(2, ge=1, le=10, description="Pages read per hashtag and poll at most")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("user_id")
    @classmethod
    def _check_user_id(cls, value: str) -> str:
        user_id = value.strip()
        if not _USER_ID.match(user_id):
            raise ValueError(
                f"{value!r} is not an Instagram account id: give the number Graph returns as "
                "`instagram_business_account` of the linked Page, e.g. '17841405309211844'"
            )
        return user_id

    @field_validator("accounts")
    @classmethod
    def _check_accounts(cls, values: list[str]) -> list[str]:
        accounts: list[str] = []
        for raw in values:
            account = raw.strip().removeprefix("@").lower()
            if not _USERNAME.match(account):
                raise ValueError(
                    f"{raw!r} is not an Instagram username: write it as 'bluebottle' "
                    "(letters, digits, '.' and '_')"
                )
            if account not in accounts:
                accounts.append(account)
        return accounts

    @field_validator("hashtags")
    @classmethod
    def _check_hashtags(cls, values: list[str]) -> list[str]:
        tags = unique_hashtags(values, _HASHTAG, "use letters, digits and _ only, as in 'norauto'")
        return [tag.lower() for tag in tags]


class InstagramSource(SourceBase):
    """Polls the followers of the own and the listed accounts, then new media of each hashtag.

    Posts are all or nothing per poll: if a request fails, no media counts as shown and the next
    poll reads them again. Hashtag ids found are kept even then (they never change).
    """

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: InstagramSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.budget = UsageBudget(NETWORK)
        self._hashtag_ids: dict[str, str] = {}
        self._seen: dict[str, datetime] = {}  # media id -> when it was published
        self._polled: set[str] = set()  # hashtags read at least once (later polls may read more pages)

    def __repr__(self) -> str:
        return (
            f"InstagramSource(name={self.settings.name!r}, user_id={self.settings.user_id!r}, "
            f"accounts={self.settings.accounts!r}, hashtags={self.settings.hashtags!r})"
        )

    @property
    def usage(self) -> float:
        """The highest usage percentage Meta reported in the last answer."""
        return self.budget.usage

    @property
    def slow_down(self) -> float:
        """Extra seconds to wait before the next poll: one more interval once usage nears the limit."""
        return self.budget.slow_down(self.settings.interval)

    async def poll(self) -> Batch:
        """One followers Count per account (own first), then the hashtags' media not shown yet."""
        now = self.clock()
        self.budget.check(now)
        token = required_secret(self.settings.token, self.settings, "token")
        counts: list[Count] = []
        posts: dict[str, Post] = {}
        seen = dict(self._seen)
        polled = set(self._polled)
        try:
            counts.append(await self._own_count(token, now))
            for account in self.settings.accounts:
                counts.append(await self._discovery_count(account, token, now))
            for tag in self.settings.hashtags:
                await self._hashtag_posts(tag, token, seen, posts, first=tag not in polled)
                polled.add(tag)
        except _Spent:
            pass  # Meta's budget ran out during this poll: keep what was read, wait before the next
        self._seen = _prune(seen, now)
        self._polled = polled
        ordered = sorted(posts.values(), key=lambda p: p.created_at, reverse=True)
        return Batch(posts=tuple(ordered), counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """Hashtag ids (never searched again), media already shown and hashtags already read."""
        return {
            "hashtag_ids": dict(self._hashtag_ids),
            "seen": {media_id: when.isoformat() for media_id, when in self._seen.items()},
            "polled": sorted(self._polled),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`; malformed entries are dropped, hashtag ids kept even for tags no
        longer configured (searching a tag again costs one of the 30 a week)."""
        ids = state.get("hashtag_ids")
        self._hashtag_ids = (
            {
                tag: hid
                for tag, hid in ids.items()
                if isinstance(tag, str) and isinstance(hid, str) and _USER_ID.match(hid)
            }
            if isinstance(ids, Mapping)
            else {}
        )
        seen = state.get("seen")
        self._seen = {}
        if isinstance(seen, Mapping):
            for media_id, raw in seen.items():
                when = iso_time(raw)
                if isinstance(media_id, str) and when is not None:
                    self._seen[media_id] = when
        polled = state.get("polled")
        self._polled = (
            {tag for tag in polled if isinstance(tag, str) and tag in self.settings.hashtags}
            if isinstance(polled, list)
            else set()
        )

    # -- fetching ---------------------------------------------------------------------------------

    async def _graph(
        self, path: str, params: Mapping[str, str], token: str, *, subject: str, key: str, needs: str
    ) -> tuple[Fetched, Any]:
        """The decoded answer of one Graph GET, or the error-tree exception it means."""
        now = self.clock()
        if self.budget.blocked_until is not None and now < self.budget.blocked_until:
            raise _Spent
        fetched = await self.http.get(
            f"{self.settings.base_url}/{path}",
            params={**params, "access_token": token},
            conditional=False,
            raise_errors=False,
        )
        shown = redact_url(fetched.url)
        regain = self.budget.record(fetched.headers, now)
        if fetched.status >= 400:
            error = classify_graph_error(
                fetched.content,
                shown=shown,
                secret=token,
                regain=regain,
                network=NETWORK,
                credential="the token",
                renew=f"{TOKEN_ADVICE}{needs})",
                subject=subject,
                key=key,
                config_codes=CONFIG_CODES,
            )
            if error is not None:
                raise error
            graph_error = parse_graph_error(fetched.content, secret=token)
            if graph_error is not None and fetched.status == 400:
                raise ConfigError(
                    f"instagram refused the request for {subject} ({graph_error.detail}) at {shown}"
                    f"{graph_error.said}: check `{key}`"
                )
            raise_for_status(fetched.status, fetched.headers, shown)
        return fetched, fetched.json()

    async def _own_count(self, token: str, now: datetime) -> Count:
        user_id = self.settings.user_id
        fetched, payload = await self._graph(
            quote(user_id, safe=""),
            {"fields": ACCOUNT_FIELDS},
            token,
            subject=f"account {user_id!r}",
            key="user_id",
            needs="",
        )
        count = parse_account_count(payload, source=self.settings.name, account=user_id, observed_at=now)
        if count is None:
            raise TransientError(
                f"unexpected answer from {redact_url(fetched.url)}: expected an Instagram account"
            )
        return count

    async def _discovery_count(self, account: str, token: str, now: datetime) -> Count:
        fields = f"business_discovery.username({account}){{{DISCOVERY_FIELDS}}}"
        fetched, payload = await self._graph(
            quote(self.settings.user_id, safe=""),
            {"fields": fields},
            token,
            subject=f"account {account!r} (a business or creator username is needed)",
            key="accounts",
            needs=", and instagram_manage_insights for `accounts`",
        )
        count = parse_discovery_count(payload, source=self.settings.name, account=account, observed_at=now)
        if count is None:
            raise TransientError(
                f"unexpected answer from {redact_url(fetched.url)}: expected business_discovery "
                f"of {account!r}"
            )
        return count

    async def _hashtag_id(self, tag: str, token: str) -> str:
        if cached := self._hashtag_ids.get(tag):
            return cached
        fetched, payload = await self._graph(
            "ig_hashtag_search",
            {"user_id": self.settings.user_id, "q": tag},
            token,
            subject=f"hashtag '#{tag}'",
            key="hashtags",
            needs=", and the Instagram Public Content Access feature for `hashtags`",
        )
        found = parse_hashtag_id(payload)
        if found is None:
            raise ConfigError(
                f"instagram knows no hashtag '#{tag}' ({redact_url(fetched.url)}): check `hashtags`"
            )
        self._hashtag_ids[tag] = found
        return found

    async def _hashtag_posts(
        self, tag: str, token: str, seen: dict[str, datetime], posts: dict[str, Post], *, first: bool
    ) -> None:
        """Add to `posts` (and `seen`) the media of `tag` not in `seen`, reading at most `max_pages`
        pages (one on the first poll of the tag) and stopping at a page with nothing new."""
        hashtag_id = await self._hashtag_id(tag, token)
        params = {
            "user_id": self.settings.user_id,
            "fields": MEDIA_FIELDS,
            "limit": str(self.settings.limit),
        }
        for _ in range(1 if first else self.settings.max_pages):
            fetched, payload = await self._graph(
                f"{hashtag_id}/recent_media",
                params,
                token,
                subject=f"hashtag '#{tag}'",
                key="hashtags",
                needs=", and the Instagram Public Content Access feature for `hashtags`",
            )
            items, after = parse_media_page(payload, shown=redact_url(fetched.url), limit=self.settings.limit)
            fresh = 0
            for item in items:
                post = parse_media(item, source=self.settings.name, kind=self.settings.kind, tag=tag)
                if post is None or post.id in seen:
                    continue
                seen[post.id] = post.created_at
                posts[post.id] = post
                fresh += 1
            if not fresh or after is None:
                break
            params = {**params, "after": after}


class _Spent(Exception):
    """Meta's usage budget ran out during a poll: no further request until it is regained."""


def _prune(seen: dict[str, datetime], now: datetime) -> dict[str, datetime]:
    """Media ids still worth remembering: published recently enough to be returned again."""
    kept = sorted(
        ((media_id, when) for media_id, when in seen.items() if when >= now - SEEN_FOR),
        key=lambda pair: pair[1],
        reverse=True,
    )
    return dict(kept[:MAX_SEEN])


# -- pure helpers ---------------------------------------------------------------------------------------


def parse_account_count(obj: Any, *, source: str, account: str, observed_at: datetime) -> Count | None:
    """A followers Count from an IG User node; None when `obj` is not one.

    A `followers_count` left out (no permission) or nonsense is unknown, not zero.
    """
    if not isinstance(obj, dict) or "error" in obj:
        return None
    username = as_text(obj.get("username")).strip()
    if not username:
        return None
    label = clean_text(as_text(obj.get("name"))) or clean_text(username)
    return Count(
        source=source,
        network=NETWORK,
        account=account,
        value=as_count(obj.get("followers_count")),
        observed_at=observed_at,
        label=label or account,
        metric="followers",
    )


def parse_discovery_count(obj: Any, *, source: str, account: str, observed_at: datetime) -> Count | None:
    """A followers Count from a `business_discovery` answer (`{"business_discovery": {...}, "id": ...}`)."""
    if not isinstance(obj, dict):
        return None
    node = obj.get("business_discovery")
    if isinstance(node, dict) and not as_text(node.get("username")):
        node = {**node, "username": account}  # asked for by username: the answer may leave it out
    return parse_account_count(node, source=source, account=account, observed_at=observed_at)


def parse_hashtag_id(obj: Any) -> str | None:
    """The hashtag id of an `ig_hashtag_search` answer (`{"data": [{"id": ...}]}`); None if none."""
    if not isinstance(obj, dict):
        return None
    data = obj.get("data")
    entries = data if isinstance(data, list) else [obj]
    for entry in entries:
        if isinstance(entry, dict):
            hid = entry.get("id")
            if isinstance(hid, str) and _USER_ID.match(hid):
                return hid
    return None


def parse_media_page(
    obj: Any, *, shown: str = "instagram", limit: int | None = None
) -> tuple[list[Any], str | None]:
    """The media items of a `recent_media` page (at most `limit`, what was asked for) and its `after`
    cursor (None on the last page)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise TransientError(f"unexpected answer from {shown}: expected a list of media in `data`")
    paging = as_dict(obj.get("paging"))
    after = as_dict(paging.get("cursors")).get("after")
    has_next = isinstance(paging.get("next"), str)
    return list(obj["data"][:limit]), after if isinstance(after, str) and after and has_next else None


def caption_tags(text: str) -> list[str]:
    """Hashtags written in a caption, lowercased, without '#', in order, each once."""
    tags: list[str] = []
    for match in _TAG_IN_TEXT.finditer(text):
        tag = match.group(1).lower()
        if tag not in tags:
            tags.append(tag)
    return tags


def _pictures(obj: dict[str, Any]) -> tuple[Media, ...]:
    kind = obj.get("media_type")
    if kind == "IMAGE":
        url = http_url(obj.get("media_url"))
        return (Media(url=url),) if url else ()
    if kind == "CAROUSEL_ALBUM":
        children = obj.get("children")
        data = children.get("data") if isinstance(children, dict) else None
        media: list[Media] = []
        # A carousel's children are pictures and videos, never carousels: one level only, however
        # deep a hostile answer nests them.
        for child in data if isinstance(data, list) else []:
            if isinstance(child, dict) and child.get("media_type") == "IMAGE":
                media.extend(_pictures(child))
        return tuple(media)
    return ()  # VIDEO: its `media_url` is the video itself and no still picture is documented


def parse_media(obj: Any, *, source: str, kind: PostKind = "mention", tag: str) -> Post | None:
    """A Post from an IG Media found with `#tag`; None when it has no id or date."""
    if not isinstance(obj, dict):
        return None
    media_id = obj.get("id")
    created_at = iso_time(obj.get("timestamp"))
    if not isinstance(media_id, str) or not _USER_ID.match(media_id) or created_at is None:
        return None
    text = clean_text(as_text(obj.get("caption")))
    tags = caption_tags(text)
    if tag.lower() not in tags:
        tags.insert(0, tag.lower())
    return Post(
        id=media_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=Author(name=f"#{tag}"),
        text=text,
        created_at=created_at,
        url=http_url(obj.get("permalink")),
        media=_pictures(obj),
        tags=tuple(tags),
    )
