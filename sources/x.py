"""X (Twitter) mentions and follower counts, read with the X API v2 and an app-only Bearer Token.

- Mentions: `GET /tweets/search/recent` with the configured `query`, authors and media joined from
  `includes` by `author_id` / `media_key`. `meta.newest_id` becomes the `since_id` cursor, kept in
  `state()`; the first poll without a cursor reads one bounded page, later polls follow `next_token`
  for at most `max_pages` pages (a burst larger than that is skipped, not fetched later).
- Counts: `GET /users/by?usernames=...` with `public_metrics.followers_count`. An unknown or suspended
  username comes back as a partial error next to the others' `data`: the others are counted and the
  missing ones are logged; only when none is found is it a ConfigError.

Fetching is `XSource.poll`; parsing is pure (`parse_search`, `parse_tweet`, `parse_users`,
`classify_error`) and tested on payloads shaped as X documents them. Errors are read with
`HttpFetcher.get(raise_errors=False)` because X's problem bodies say what went wrong (a 403
`client-not-enrolled` means the app's access level lacks the endpoint, not a bad token; a 400 names the
refused query). Messages are written here and the token is blanked out of anything quoted from X.

Choices:
- Retweets are skipped: their text is a truncated "RT @user: ..." copy, and the original, when it
  matches the query, is found by the search itself. Add `-is:retweet` to `query` so they are not
  even read (X bills per post read). Quotes and replies are shown as the posts they are.
- Edits: an edited post is a new id whose `edit_history_tweet_ids` lists every version, oldest first.
  The new version is shown (`edited_at` = its `created_at`, `created_at` = the original's time, read
  from the original's snowflake id) and every earlier version goes into `Batch.deleted`. The store
  ignores ids it never had, so this needs no memory of what was shown and survives restarts.
- Daily budget (`daily_requests`, 0 = none): every request sent counts, per UTC day, persisted in
  `state()`. When it is spent, `poll` raises RateLimited until midnight UTC without sending anything.
  When the interval would spend it before midnight, the source logs a warning once and stretches the
  wait through `slow_down` so the remaining requests are spread evenly over what is left of the day
  (the wall then refreshes less often but never goes dark in the afternoon). Searching comes first:
  extra pages never use the request reserved for the counts, and when the search used the day's
  last request the counts wait for the next day. The wall stores `state()` after each successful
  poll, so the requests of polls that failed since are counted in memory and stored with the next one.
- Rate limits: `x-rate-limit-remaining: 0` blocks that endpoint until `x-rate-limit-reset` (epoch
  seconds) and `slow_down` delays the next poll to then; a 429 is RateLimited until the reset.
- A `since_id` older than the 7-day search window (after a long outage) is refused by X with a 400:
  the cursor is dropped before asking (its time is in the snowflake id), and again if X refuses it.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from sources.base import (
    AuthError,
    ConfigError,
    Fetched,
    HttpFetcher,
    RateLimited,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    parse_retry_after,
    raise_for_status,
    redact_url,
    required_secret,
)
from sources.payload import as_count, as_dict, as_text, http_url, iso_time, json_object
from wall.core.model import Author, Batch, Count, Media, Post, PostKind, as_utc, utcnow
from wall.core.text import clean_text

log = logging.getLogger("sources.x")

NETWORK = "x"
DEFAULT_BASE_URL = "https://api.x.com/2"
SEARCH_PATH = "/tweets/search/recent"
USERS_PATH = "/users/by"
EXPANSIONS = "author_id,attachments.media_keys"
TWEET_FIELDS = (
    "created_at,lang,possibly_sensitive,entities,referenced_tweets,edit_history_tweet_ids,"
    "attachments,author_id,note_tweet"
)
USER_FIELDS = "name,username,profile_image_url"
MEDIA_FIELDS = "type,url,preview_image_url,alt_text,width,height"
COUNT_USER_FIELDS = "name,username,public_metrics"
SNOWFLAKE_EPOCH_MS = 1288834974657  # X ids carry their creation time in ms since this instant, shifted by 22
SEARCH_WINDOW = timedelta(days=7)  # search/recent only reaches this far back, since_id included
SINCE_ID_MARGIN = timedelta(hours=1)  # drop a cursor a little before X would refuse it
DEFAULT_RATE_WAIT_SECONDS = 900.0  # X's windows are 15 minutes: the wait after a 429 without reset
USAGE_CAPPED = "usage-capped"  # the monthly post cap of the plan is reached
REPLACED_LIMIT = 1000  # earlier versions of edited posts listed in one batch, at most

_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_TWEET_ID = re.compile(r"^[0-9]{1,19}$")
_MEDIA_LINK = re.compile(r"/status/[0-9]+/(photo|video)/[0-9]+/?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
# X's `lang` for posts with no language: undetermined, no linguistic content, and the `q..` codes
# (media, hashtags, mentions or cashtags only, too short).
_NOT_LANGUAGES = frozenset({"und", "zxx"})


class XSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "x"`: a recent-search query and accounts whose followers count."""

    type: Literal["x"] = Field(description="Which adapter reads this source")
    interval: float = Field(
        900, ge=15, le=86400, description="Seconds between polls (the API is paid and rate-limited)"
    )
    base_url: str = Field(DEFAULT_BASE_URL, description="API root, with the version")
    query: str = Field(
        "", max_length=4096, description="Recent-search query, e.g. '#norauto -is:retweet' (X search syntax)"
    )
    accounts: list[str] = Field(
        default_factory=list, max_length=100, description="Usernames (without @) whose followers are counted"
    )
    bearer_token: SecretStr | None = Field(None, description="The app's Bearer Token (required to poll)")
    daily_requests: int = Field(
        100, ge=0, le=1_000_000, description="Requests allowed per UTC day (the paid budget); 0 = no limit"
    )
    max_results: int = Field(25, ge=10, le=100, description="Posts asked per search page (X: 10 to 100)")
    max_pages: int = Field(3, ge=1, le=10, description="Search pages read per poll at most")

    secret_fields: ClassVar[tuple[str, ...]] = ("bearer_token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="bearer_token")

    @field_validator("query")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("accounts")
    @classmethod
    def _check_accounts(cls, values: list[str]) -> list[str]:
        accounts: list[str] = []
        for raw in values:
            account = raw.strip().removeprefix("@")
            if not _USERNAME.match(account):
                raise ValueError(
                    f"{raw!r} is not an X username: write it as 'norauto' (letters, digits and _, at most 15)"
                )
            if account.casefold() not in (seen.casefold() for seen in accounts):
                accounts.append(account)
        return accounts

    @model_validator(mode="after")
    def _something_to_read(self) -> XSettings:
        if not (self.query or self.accounts):
            raise ValueError("an x source needs `query`, `accounts` or both")
        return self

    @property
    def requests_per_poll(self) -> int:
        """The fewest requests one poll sends: one search page, one lookup of all accounts."""
        return (1 if self.query else 0) + (1 if self.accounts else 0)


@dataclass(slots=True)
class RequestBudget:
    """Requests sent during one UTC day, against a daily limit (0 = no limit)."""

    limit: int
    day: date | None = None
    used: int = 0

    def roll(self, now: datetime) -> None:
        """Start a new count when the UTC day has changed."""
        today = as_utc(now).date()
        if self.day != today:
            self.day, self.used = today, 0

    def left(self, now: datetime) -> int | None:
        """Requests still allowed today; None without a limit."""
        self.roll(now)
        return None if self.limit == 0 else max(0, self.limit - self.used)

    def spend(self, now: datetime) -> None:
        """Count one request sent."""
        self.roll(now)
        self.used += 1


@dataclass(frozen=True, slots=True)
class SearchPage:
    """What one search/recent answer holds for the wall."""

    posts: tuple[Post, ...] = ()
    replaced: frozenset[str] = frozenset()  # ids of earlier versions of edited posts in this page
    newest_id: str | None = None
    next_token: str | None = None
    skipped: int = 0  # retweets and posts without a known author


@dataclass(slots=True)
class _Poll:
    """Requests of one poll so far (for pacing the next ones)."""

    sent: int = 0


class XSource(SourceBase):
    """Polls the recent search for new posts, then the follower counts, within the daily budget."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: XSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self._since_id: str | None = None
        self._budget = RequestBudget(settings.daily_requests)
        self._blocked: dict[str, datetime] = {}  # endpoint path -> end of its spent rate-limit window
        self._cost = settings.requests_per_poll  # requests the last poll sent (at least the minimum)
        self._missing: frozenset[str] = frozenset()  # accounts X did not find, last reported
        needed = budget_interval(settings.daily_requests, settings.requests_per_poll)
        if needed > settings.interval:
            log.warning(
                "x source %r: polling every %.0f s needs %d requests a day, more than daily_requests = %d;"
                " polls are spaced out to about every %.0f s so the budget lasts until midnight UTC",
                settings.name,
                settings.interval,
                round(86400 / settings.interval * settings.requests_per_poll),
                settings.daily_requests,
                needed,
            )

    def __repr__(self) -> str:
        return (
            f"XSource(name={self.settings.name!r}, query={self.settings.query!r}, "
            f"accounts={self.settings.accounts!r})"
        )

    @property
    def slow_down(self) -> float:
        """Extra seconds before the next poll: budget pacing, or the end of a spent rate-limit window."""
        now = self.clock()
        extra = 0.0
        left = self._budget.left(now)
        if left is not None:
            until_midnight = seconds_until_utc_midnight(now)
            pace = until_midnight if left <= 0 else until_midnight * max(1, self._cost) / left
            extra = max(extra, pace - self.settings.interval)
        main = SEARCH_PATH if self.settings.query else USERS_PATH
        if (until := self._blocked.get(main)) is not None:
            extra = max(extra, (until - now).total_seconds() - self.settings.interval)
        return max(0.0, extra)

    async def poll(self) -> Batch:
        """New posts of the search (newest first, latest versions only), then one Count per account."""
        now = self.clock()
        token = required_secret(
            self.settings.bearer_token,
            self.settings,
            "bearer_token",
            what="the app's Bearer Token in the X developer portal",
        )
        left = self._budget.left(now)
        if left is not None and left <= 0:
            wait = seconds_until_utc_midnight(now)
            raise RateLimited(
                f"x daily request budget spent ({self._budget.used} of {self.settings.daily_requests} "
                f"today, UTC): next poll after midnight UTC, in {wait:.0f} s (raise `daily_requests` "
                "if the plan allows more)",
                wait,
            )
        this = _Poll()
        posts: list[Post] = []
        deleted: list[str] = []
        counts: list[Count] = []
        waits: list[float] = []
        newest: str | None = None
        if self.settings.query:
            if (blocked := self._blocked_for(SEARCH_PATH, now)) is not None:
                waits.append(blocked)
            else:
                posts, deleted, newest = await self._search(token, this)
        if self.settings.accounts:
            if (blocked := self._blocked_for(USERS_PATH, now)) is not None:
                waits.append(blocked)
            elif not this.sent or self._can_send():
                counts = await self._counts(token, this)
        if not this.sent and waits:
            raise RateLimited(
                f"x rate limit window spent: waiting {min(waits):.0f} s for it to reset", min(waits)
            )
        self._cost = max(self.settings.requests_per_poll, this.sent)
        # The cursor moves only with a batch returned: a failure after the search (the counts) must
        # not skip the posts it found.
        if newest is not None and (self._since_id is None or int(newest) > int(self._since_id)):
            self._since_id = newest
        return Batch(posts=tuple(posts), deleted=tuple(deleted), counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """The `since_id` cursor (with the query it belongs to) and today's request count."""
        budget = (
            {"day": self._budget.day.isoformat(), "used": self._budget.used}
            if self._budget.day is not None
            else {}
        )
        return {"query": self.settings.query, "since_id": self._since_id, "budget": budget}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Resume from `state()`. A cursor of another query or malformed is dropped; the request count
        of the same day is kept at the higher of the two (a rewind must not give requests back)."""
        since_id = state.get("since_id")
        same_query = state.get("query") == self.settings.query
        self._since_id = (
            since_id if same_query and isinstance(since_id, str) and _TWEET_ID.match(since_id) else None
        )
        budget = state.get("budget")
        if not isinstance(budget, Mapping):
            return
        raw_day, used = budget.get("day"), budget.get("used")
        if not isinstance(raw_day, str) or isinstance(used, bool) or not isinstance(used, int) or used < 0:
            return
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            return
        if self._budget.day is None or day > self._budget.day:
            self._budget.day, self._budget.used = day, used
        elif day == self._budget.day:
            self._budget.used = max(self._budget.used, used)

    # -- fetching ---------------------------------------------------------------------------------

    def _can_send(self, reserve: int = 0) -> bool:
        left = self._budget.left(self.clock())
        return left is None or left > reserve

    def _blocked_for(self, path: str, now: datetime) -> float | None:
        until = self._blocked.get(path)
        if until is None:
            return None
        if now >= until:
            del self._blocked[path]
            return None
        return (until - now).total_seconds()

    async def _get(self, path: str, params: Mapping[str, str], token: str, this: _Poll) -> Fetched:
        """One GET, counted against the budget; a spent rate-limit window blocks `path` until it resets."""
        self._budget.spend(self.clock())
        this.sent += 1
        fetched = await self.http.get(
            f"{self.settings.base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            conditional=False,
            raise_errors=False,
        )
        now = self.clock()
        wait = window_reset(fetched.headers, now)
        if fetched.status == 429 or (
            wait is not None and fetched.headers.get("x-rate-limit-remaining") == "0"
        ):
            self._blocked[path] = now + timedelta(
                seconds=wait if wait is not None else DEFAULT_RATE_WAIT_SECONDS
            )
        return fetched

    def _fail(self, fetched: Fetched, token: str, *, what: str, check: str) -> None:
        shown = redact_url(fetched.url)
        wait = window_reset(fetched.headers, self.clock())
        error = classify_error(
            fetched.status, fetched.content, shown=shown, what=what, check=check, secret=token, wait=wait
        )
        if error is not None:
            raise error
        raise_for_status(fetched.status, fetched.headers, shown)

    def _since(self, now: datetime) -> str | None:
        """The cursor, unless it is too old for the 7-day search window."""
        if self._since_id is None:
            return None
        made = snowflake_time(self._since_id)
        if made is not None and made < now - SEARCH_WINDOW + SINCE_ID_MARGIN:
            self._since_id = None
        return self._since_id

    async def _search(self, token: str, this: _Poll) -> tuple[list[Post], list[str], str | None]:
        """New posts (latest versions, newest first), ids of replaced versions, and the new cursor."""
        since = self._since(self.clock())
        params: dict[str, str] = {
            "query": self.settings.query,
            "max_results": str(self.settings.max_results),
            "expansions": EXPANSIONS,
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
            "media.fields": MEDIA_FIELDS,
        }
        if since:
            params["since_id"] = since
        reserve = 1 if self.settings.accounts else 0
        pages: list[SearchPage] = []
        while True:
            fetched = await self._get(SEARCH_PATH, params, token, this)
            if fetched.status == 400 and "since_id" in params and names_since_id(fetched.content):
                # The cursor fell out of the 7-day window: start afresh with one bounded page.
                self._since_id = None
                del params["since_id"]
                if not self._can_send():
                    raise TransientError(
                        "x refused the stale since_id cursor: dropped, next poll starts afresh"
                    )
                continue
            if fetched.status >= 400:
                self._fail(fetched, token, what=f"the search {self.settings.query!r}", check="`query`")
            shown = redact_url(fetched.url)
            page = parse_search(
                fetched.json(),
                source=self.settings.name,
                kind=self.settings.kind,
                limit=self.settings.max_results,
            )
            if page is None:
                raise TransientError(f"unexpected answer from {shown}: expected a search/recent result")
            pages.append(page)
            more = "since_id" in params and page.next_token and len(pages) < self.settings.max_pages
            if not more or not self._can_send(reserve):
                break
            params["next_token"] = page.next_token or ""
        replaced = frozenset().union(*(p.replaced for p in pages))
        shown_posts: dict[str, Post] = {}
        for post in (post for page in pages for post in page.posts):
            if post.id not in replaced:
                shown_posts.setdefault(post.id, post)
        posts = sorted(shown_posts.values(), key=lambda p: p.created_at, reverse=True)
        deleted = sorted(replaced - shown_posts.keys(), key=int)[:REPLACED_LIMIT]
        return posts, deleted, pages[0].newest_id

    async def _counts(self, token: str, this: _Poll) -> list[Count]:
        accounts = self.settings.accounts
        params = {"usernames": ",".join(accounts), "user.fields": COUNT_USER_FIELDS}
        fetched = await self._get(USERS_PATH, params, token, this)
        if fetched.status >= 400:
            self._fail(fetched, token, what=f"the accounts {', '.join(accounts)}", check="`accounts`")
        shown = redact_url(fetched.url)
        found = parse_users(
            fetched.json(), source=self.settings.name, accounts=accounts, observed_at=self.clock()
        )
        if found is None:
            raise TransientError(f"unexpected answer from {shown}: expected users or errors")
        counts, missing = found
        if not counts:
            said = "; ".join(f"{name}: {why}" for name, why in missing.items())
            raise ConfigError(f"x found none of the accounts at {shown} ({said}): check `accounts`")
        if missing and frozenset(missing) != self._missing:
            said = "; ".join(f"{name}: {why}" for name, why in missing.items())
            log.warning("x source %r: accounts not counted (%s): check `accounts`", self.settings.name, said)
        self._missing = frozenset(missing)
        return counts


# -- pure helpers ---------------------------------------------------------------------------------------


def seconds_until_utc_midnight(now: datetime) -> float:
    """Seconds from `now` to the next midnight UTC, when the daily budget starts again."""
    current = as_utc(now)
    midnight = datetime.combine(current.date() + timedelta(days=1), time(0), tzinfo=UTC)
    return (midnight - current).total_seconds()


def budget_interval(daily_requests: int, requests_per_poll: int) -> float:
    """The shortest interval that keeps `requests_per_poll` a poll within `daily_requests` a day."""
    if daily_requests <= 0 or requests_per_poll <= 0:
        return 0.0
    return 86400.0 * requests_per_poll / daily_requests


def snowflake_time(tweet_id: str) -> datetime | None:
    """When an X id was made (ids are snowflakes: milliseconds since X's epoch, shifted left by 22)."""
    if not _TWEET_ID.match(tweet_id):
        return None
    millis = (int(tweet_id) >> 22) + SNOWFLAKE_EPOCH_MS
    if millis <= SNOWFLAKE_EPOCH_MS:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def window_reset(headers: httpx.Headers, now: datetime) -> float | None:
    """Seconds until the rate-limit window resets, from `x-rate-limit-reset` (epoch seconds) or
    `Retry-After`; None when neither is usable."""
    raw = headers.get("x-rate-limit-reset")
    if raw and raw.strip().isdigit():
        return max(0.0, float(raw) - as_utc(now).timestamp())
    return parse_retry_after(headers.get("retry-after"), as_utc(now).timestamp())


def _problems(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The body itself when it is a problem, then each entry of its `errors` array."""
    found = [payload] if any(k in payload for k in ("type", "title", "detail", "reason")) else []
    errors = payload.get("errors")
    if isinstance(errors, list):
        found.extend(e for e in errors if isinstance(e, dict))
    return found


def _said(problems: list[dict[str, Any]], secret: str) -> str:
    """X's own words (messages of the errors first, then details), the secret blanked out."""
    parts: list[str] = []
    for key in ("message", "detail"):
        for problem in problems:
            value = problem.get(key)
            if isinstance(value, str) and value.strip():
                text = clean_text(value.replace(secret, "***") if secret else value)
                if text and text not in parts:
                    parts.append(text)
    said = "; ".join(parts)
    return said[:300] + ("…" if len(said) > 300 else "")


def names_since_id(body: bytes) -> bool:
    """True when a 400 body refuses the `since_id` parameter (a cursor older than the search window)."""
    for problem in _problems(json_object(body)):
        parameters = problem.get("parameters")
        if isinstance(parameters, dict) and "since_id" in parameters:
            return True
        message = problem.get("message")
        if isinstance(message, str) and "since_id" in message:
            return True
    return False


def classify_error(
    status: int,
    body: bytes,
    *,
    shown: str,
    what: str,
    check: str,
    secret: str = "",
    wait: float | None = None,
) -> SourceError | None:
    """The error an X API error answer means; None leaves it to the HTTP status alone.

    `what` names the request ("the search '#norauto'"), `check` the config key to look at.
    """
    payload = json_object(body)
    problems = _problems(payload)
    said = _said(problems, secret)
    types = [p["type"] for p in problems if isinstance(p.get("type"), str)]
    reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
    for problem in problems:
        if reason is None and isinstance(problem.get("reason"), str):
            reason = problem["reason"]
    quoted = f": {said}" if said else ""
    if status == 401:
        return AuthError(
            f"x refused the bearer token for {what} at {shown} (HTTP 401){quoted}: check `bearer_token` "
            "(the app's Bearer Token in the X developer portal)"
        )
    if status == 403:
        if reason == "client-not-enrolled" or any(t.endswith("/client-forbidden") for t in types):
            level = payload.get("required_enrollment")
            needs = f" ({clean_text(level)})" if isinstance(level, str) and level.strip() else ""
            return AuthError(
                f"x refused {what} at {shown} (HTTP 403, {reason or 'client-forbidden'}): the app lacks the "
                f"API access level{needs} this endpoint needs: attach it to a Project on a plan that "
                "includes it in the X developer portal"
            )
        return AuthError(f"x refused {what} at {shown} (HTTP 403){quoted}: check the app's access and plan")
    if status == 402:
        return AuthError(
            f"x refused {what} at {shown} (HTTP 402, payment required){quoted}: add credits or change plan "
            "in the X developer portal"
        )
    if status == 429:
        if any(t.endswith(f"/{USAGE_CAPPED}") for t in types):
            return RateLimited(
                f"x usage cap reached for {what} at {shown}{quoted}: the plan's post cap is spent",
                RateLimited.MAX_WAIT_SECONDS,
            )
        return RateLimited(
            f"rate limited by x for {what} at {shown} (HTTP 429)",
            wait if wait is not None else DEFAULT_RATE_WAIT_SECONDS,
        )
    if status == 400:
        return ConfigError(f"x refused {what} at {shown} (HTTP 400){quoted}: check {check}")
    return None


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def post_url(username: str, tweet_id: str) -> str:
    """The x.com link of a post."""
    return f"https://x.com/{username}/status/{tweet_id}"


def avatar_url(value: Any) -> str:
    """The profile image at 73x73 (`_bigger`) instead of the 48x48 `_normal` X returns."""
    url = http_url(value)
    return re.sub(r"_normal(\.[A-Za-z]+)$", r"_bigger\1", url)


def is_media_link(entity: Mapping[str, Any]) -> bool:
    """True for the t.co link X appends for attached media (it carries a `media_key`)."""
    return bool(entity.get("media_key")) or bool(_MEDIA_LINK.search(as_text(entity.get("expanded_url"))))


def tweet_text(text: str, entities: Mapping[str, Any]) -> str:
    """Plain text of a post: t.co links replaced by what they point to (as X displays it), the links
    of attached media dropped, HTML entities (`&amp;`) decoded."""
    for entity in _list(entities.get("urls")):
        short = as_text(entity.get("url"))
        if not short:
            continue
        if is_media_link(entity):
            shown = ""
        else:
            shown = as_text(entity.get("display_url")) or re.sub(
                r"^https?://", "", as_text(entity.get("expanded_url"))
            )
        text = re.sub(re.escape(short) + r"(?![A-Za-z0-9])", shown.replace("\\", "\\\\"), text)
    return clean_text(html.unescape(text))


def _tags(entities: Mapping[str, Any]) -> tuple[str, ...]:
    tags: list[str] = []
    for entity in _list(entities.get("hashtags")):
        tag = clean_text(as_text(entity.get("tag"))).lstrip("#").lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or value in _NOT_LANGUAGES or value.startswith("q"):
        return None
    return value if _LANGUAGE.match(value) else None


def parse_media(obj: Any) -> Media | None:
    """A Media from an X media object: photos by `url`, videos and GIFs by their preview image."""
    item = as_dict(obj)
    kind = item.get("type")
    alt = clean_text(as_text(item.get("alt_text")))
    if kind == "photo":
        url = http_url(item.get("url"))
        return Media(url, alt, "image", "") if url else None
    if kind in ("video", "animated_gif"):
        preview = http_url(item.get("preview_image_url"))
        return Media(preview, alt, "video" if kind == "video" else "gif", preview) if preview else None
    return None


def parse_tweet(
    obj: Any,
    *,
    users: Mapping[str, Mapping[str, Any]],
    media: Mapping[str, Mapping[str, Any]],
    source: str,
    kind: PostKind = "mention",
) -> Post | None:
    """A Post from an X post object with its author and media looked up in `includes`.

    None when `obj` is not a post, is a retweet, or its author is not in `users` (withheld or
    suspended accounts are left out of `includes`).
    """
    tweet = as_dict(obj)
    tweet_id = as_text(tweet.get("id"))
    created = iso_time(tweet.get("created_at"))
    author = users.get(as_text(tweet.get("author_id")))
    if not _TWEET_ID.match(tweet_id) or created is None or author is None:
        return None
    references = {as_text(r.get("type")) for r in _list(tweet.get("referenced_tweets"))}
    if "retweeted" in references:
        return None
    username = as_text(author.get("username"))
    if not _USERNAME.match(username):
        return None
    note = as_dict(tweet.get("note_tweet"))  # a long post: `text` is cut, the note has all of it
    if isinstance(note.get("text"), str):
        text, entities = note["text"], as_dict(note.get("entities"))
    else:
        text, entities = as_text(tweet.get("text")), as_dict(tweet.get("entities"))
    history = [i for i in _strings(tweet.get("edit_history_tweet_ids")) if _TWEET_ID.match(i)]
    edited_at: datetime | None = None
    created_at = created
    if len(history) > 1 and history[-1] == tweet_id:
        edited_at = created
        original = snowflake_time(history[0])
        if original is not None and original <= created:
            created_at = original
    keys = _strings(as_dict(tweet.get("attachments")).get("media_keys"))
    attached = tuple(m for m in (parse_media(media.get(k)) for k in keys) if m is not None)
    name = clean_text(as_text(author.get("name")))
    return Post(
        id=tweet_id,
        source=source,
        network=NETWORK,
        kind=kind,
        author=Author(
            name=name or username,
            handle=f"@{username}",
            avatar_url=avatar_url(author.get("profile_image_url")),
        ),
        text=tweet_text(text, entities),
        created_at=created_at,
        url=post_url(username, tweet_id),
        media=attached,
        sensitive=tweet.get("possibly_sensitive") is True,
        language=_language(tweet.get("lang")),
        edited_at=edited_at,
        is_reply="replied_to" in references,
        tags=_tags(entities),
    )


def parse_search(
    payload: Any, *, source: str, kind: PostKind = "mention", limit: int | None = None
) -> SearchPage | None:
    """The posts (of the first `limit` items: what `max_results` asked for, whatever the server sent),
    cursor and next page of a search/recent answer; None when it is not one."""
    if not isinstance(payload, dict):
        return None
    data, meta = payload.get("data", []), payload.get("meta", {})
    includes = payload.get("includes", {})
    if not isinstance(data, list) or not isinstance(meta, dict) or not isinstance(includes, dict):
        return None
    users = {as_text(u.get("id")): u for u in _list(includes.get("users"))}
    media = {as_text(m.get("media_key")): m for m in _list(includes.get("media"))}
    posts: list[Post] = []
    replaced: set[str] = set()
    skipped = 0
    for raw in data[:limit]:
        post = parse_tweet(raw, users=users, media=media, source=source, kind=kind)
        if post is None:
            skipped += 1
            continue
        posts.append(post)
        history = _strings(as_dict(raw).get("edit_history_tweet_ids"))
        replaced.update(i for i in history if _TWEET_ID.match(i) and i != post.id)
    newest, token = meta.get("newest_id"), meta.get("next_token")
    return SearchPage(
        posts=tuple(posts),
        replaced=frozenset(replaced),
        newest_id=newest if isinstance(newest, str) and _TWEET_ID.match(newest) else None,
        next_token=token if isinstance(token, str) and token else None,
        skipped=skipped,
    )


def parse_users(
    payload: Any, *, source: str, accounts: list[str], observed_at: datetime
) -> tuple[list[Count], dict[str, str]] | None:
    """Followers Counts of the configured `accounts` found in a users/by answer (in config order), and
    the accounts not found with X's reason; None when the answer is neither users nor errors.

    A missing `public_metrics.followers_count` is unknown, not zero.
    """
    if not isinstance(payload, dict):
        return None
    data, errors = payload.get("data", []), payload.get("errors", [])
    if not isinstance(data, list) or not isinstance(errors, list) or not (data or errors):
        return None
    by_name = {as_text(u.get("username")).casefold(): u for u in _list(data) if as_text(u.get("username"))}
    reasons: dict[str, str] = {}
    for error in _list(errors):
        value = as_text(error.get("value")) or as_text(error.get("resource_id"))
        if value:
            reasons[value.casefold()] = clean_text(
                as_text(error.get("detail")) or as_text(error.get("title"))
            )
    counts: list[Count] = []
    missing: dict[str, str] = {}
    for account in accounts:
        user = by_name.get(account.casefold())
        if user is None:
            missing[account] = reasons.get(account.casefold()) or "not in X's answer"
            continue
        followers = as_count(as_dict(user.get("public_metrics")).get("followers_count"))
        label = clean_text(as_text(user.get("name"))) or account
        counts.append(Count(source, NETWORK, account, followers, observed_at, label, "followers"))
    return counts, missing
