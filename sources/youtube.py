"""YouTube channels' subscriber counts, read with the YouTube Data API v3 (`channels.list`).

Fetching is `YouTubeSource.poll`; parsing is pure (`parse_channels`, `parse_channel_count`,
`classify_error`) and tested on payloads shaped as the API reference documents them.

Why this module reads error bodies itself instead of using `HttpFetcher.get`: on YouTube a 403 means
either "the daily quota is spent" (wait until it resets at midnight Pacific time) or "this key may
not do that" (a person must act). Only the JSON body's `error.errors[].reason` tells them apart, and
so the module asks `HttpFetcher.get(raise_errors=False)` for the error body (same size cap, network
error mapping and URL redaction: the API key travels in the query string).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    HttpFetcher,
    RateLimited,
    SourceBase,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    raise_for_status,
    redact_url,
    required_secret,
)
from sources.payload import as_count, as_dict, json_object
from wall.core.model import Batch, Count, as_utc, utcnow
from wall.core.text import clean_text

NETWORK = "youtube"
DEFAULT_BASE_URL = "https://www.googleapis.com/youtube/v3"
MAX_IDS = 50  # channels.list takes at most 50 ids a request
QUOTA_TIMEZONE = ZoneInfo("America/Los_Angeles")  # the daily quota resets at midnight Pacific time
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
SHORT_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
SHORT_LIMIT_WAIT_SECONDS = 60.0
KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED"})

_HANDLE = re.compile(r"^@[\w.·-]{3,30}$")
_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


def is_channel_id(channel: str) -> bool:
    """True for a channel id (`UC` and 22 more characters), False for a handle."""
    return bool(_CHANNEL_ID.match(channel))


class YouTubeSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "youtube"`: channels whose subscribers are counted."""

    type: Literal["youtube"] = Field(description="Which adapter reads this source")
    base_url: str = Field(DEFAULT_BASE_URL, description="API root; defaults to the YouTube Data API v3")
    channels: list[str] = Field(
        min_length=1, description="Handles such as '@norauto' or channel ids such as 'UC...'"
    )
    api_key: SecretStr | None = Field(None, description="YouTube Data API key (required to poll)")

    secret_fields: ClassVar[tuple[str, ...]] = ("api_key",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="api_key")

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, values: list[str]) -> list[str]:
        channels: list[str] = []
        for raw in values:
            channel = raw.strip()
            if not (_HANDLE.match(channel) or is_channel_id(channel)):
                raise ValueError(
                    f"{raw!r} is not a channel: write a handle as '@name' or give the 24-character "
                    "channel id starting with 'UC'"
                )
            if channel not in channels:
                channels.append(channel)
        return channels


class YouTubeSource(SourceBase):
    """Polls the subscriber count of each configured channel (one request per handle, ids by 50)."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: YouTubeSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock

    def __repr__(self) -> str:
        return f"YouTubeSource(name={self.settings.name!r}, channels={self.settings.channels!r})"

    async def poll(self) -> Batch:
        """One Count per configured channel, in the configured order."""
        key = required_secret(self.settings.api_key, self.settings, "api_key")
        found: dict[str, Any] = {}
        for handle in (c for c in self.settings.channels if not is_channel_id(c)):
            items = await self._list(key, {"forHandle": handle})
            if not items:
                raise ConfigError(
                    f"youtube channel {handle!r} not found (source {self.settings.name!r}): check `channels`"
                )
            found[handle] = items[0]
        ids = [c for c in self.settings.channels if is_channel_id(c)]
        for start in range(0, len(ids), MAX_IDS):
            chunk = ids[start : start + MAX_IDS]
            items = await self._list(key, {"id": ",".join(chunk), "maxResults": str(MAX_IDS)})
            by_id = {item.get("id"): item for item in items}
            for channel_id in chunk:
                if channel_id not in by_id:
                    raise ConfigError(
                        f"youtube channel {channel_id!r} not found (source {self.settings.name!r}): "
                        "check `channels`"
                    )
                found[channel_id] = by_id[channel_id]
        observed_at = self.clock()
        counts: list[Count] = []
        for channel in self.settings.channels:
            count = parse_channel_count(
                found[channel], source=self.settings.name, account=channel, observed_at=observed_at
            )
            if count is None:
                raise TransientError(f"unexpected youtube answer for {channel!r}: expected a channel")
            counts.append(count)
        return Batch(counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """Nothing to resume: every poll reads the current counts."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore (see `state`)."""

    async def _list(self, key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Items of one `channels.list` call, or the error-tree exception its answer means."""
        query = {"part": "snippet,statistics", **params, "key": key}
        fetched = await self.http.get(
            f"{self.settings.base_url}/channels", params=query, conditional=False, raise_errors=False
        )
        shown = redact_url(fetched.url)
        if fetched.status >= 400:
            error = classify_error(fetched.status, fetched.content, shown=shown, now=self.clock())
            if error is not None:
                raise error
            raise_for_status(fetched.status, fetched.headers, shown)
        return parse_channels(fetched.json(), shown=shown)[:MAX_IDS]  # at most what maxResults asks


# -- pure helpers ---------------------------------------------------------------------------------------


def seconds_until_quota_reset(now: datetime) -> float:
    """Seconds from `now` to the next midnight in America/Los_Angeles, when the daily quota resets."""
    local = as_utc(now).astimezone(QUOTA_TIMEZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=QUOTA_TIMEZONE)
    # Subtract in UTC: aware datetimes sharing a tzinfo subtract as wall clocks, wrong on DST days.
    return (as_utc(midnight) - as_utc(now)).total_seconds()


def error_reasons(body: bytes) -> list[str]:
    """The `reason`s of a Google API error body (`error.errors[]` and `error.details[]`), in order."""
    error = json_object(body).get("error")
    if not isinstance(error, dict):
        return []
    reasons: list[str] = []
    for entries in (error.get("errors"), error.get("details")):
        if isinstance(entries, list):
            reasons.extend(
                entry["reason"]
                for entry in entries
                if isinstance(entry, dict) and isinstance(entry.get("reason"), str)
            )
    return reasons


def classify_error(status: int, body: bytes, *, shown: str, now: datetime) -> SourceError | None:
    """The error a YouTube 4xx answer means from its reasons; None leaves it to the status alone.

    Messages are written here, never copied from the body: the API's own text is HTML.
    """
    reasons = error_reasons(body)
    if quota := next((r for r in reasons if r in QUOTA_REASONS), None):
        wait = seconds_until_quota_reset(now)
        return RateLimited(
            f"youtube quota exhausted ({quota}) at {shown}: it resets at midnight Pacific time, "
            f"in {wait / 3600:.1f} h",
            wait,
        )
    if short := next((r for r in reasons if r in SHORT_LIMIT_REASONS), None):
        return RateLimited(f"youtube rate limit ({short}) at {shown}", SHORT_LIMIT_WAIT_SECONDS)
    if bad_key := next((r for r in reasons if r in KEY_REASONS), None):
        return AuthError(f"youtube refused the API key ({bad_key}) at {shown}: check `api_key`")
    if status in (401, 403):
        reason = reasons[0] if reasons else f"HTTP {status}"
        return AuthError(
            f"youtube refused the request ({reason}) at {shown}: check that the key's project has "
            "the YouTube Data API v3 enabled and no restriction that excludes this machine"
        )
    if status == 400 and reasons:
        return ConfigError(f"youtube refused the request ({reasons[0]}) at {shown}: check `channels`")
    return None


def parse_channels(payload: Any, *, shown: str = "youtube") -> list[dict[str, Any]]:
    """The channel items of a `channelListResponse` (none when the handle or ids matched nothing)."""
    if not isinstance(payload, dict) or "error" in payload:
        raise TransientError(f"unexpected answer from {shown}: expected a channel list")
    items = payload.get("items", [])
    if not isinstance(items, list):
        raise TransientError(f"unexpected answer from {shown}: `items` is not a list")
    return [item for item in items if isinstance(item, dict)]


def parse_channel_count(obj: Any, *, source: str, account: str, observed_at: datetime) -> Count | None:
    """A subscribers Count from a `youtube#channel` resource; None when `obj` is not a channel.

    A hidden subscriber count (`hiddenSubscriberCount: true`) or a missing one is unknown, not zero.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    snippet = as_dict(obj.get("snippet"))
    statistics = as_dict(obj.get("statistics"))
    hidden = statistics.get("hiddenSubscriberCount") is True
    value = None if hidden else as_count(statistics.get("subscriberCount"), digits=True)
    title = snippet.get("title")
    label = clean_text(title) if isinstance(title, str) else ""
    return Count(
        source=source,
        network=NETWORK,
        account=account,
        value=value,
        observed_at=observed_at,
        label=label or account,
        metric="subscribers",
    )
