"""A Facebook Page's fan and follower counts, read with the Graph API and a Page access token.

Fetching is `FacebookSource.poll`; parsing is pure (`parse_page_counts`, `graph_usage`,
`classify_graph_error`) and tested on payloads and headers shaped as Meta documents them.

Two things need more than `HttpFetcher.get`:
- Graph errors come as HTTP 400 for everything (expired token, unknown page, throttling); only the
  JSON body's `error.code` tells them apart, so the module asks `HttpFetcher.get(raise_errors=False)`
  for the error body (same size cap, network-error mapping and URL redaction; the token travels in
  the query string).
- Meta throttles by usage percentages sent in `X-App-Usage` / `X-Business-Use-Case-Usage` headers.
  At `SLOW_DOWN_AT` percent `slow_down` suggests an extra wait; at 100 the counts of that answer are
  still returned, and the next polls raise RateLimited until access is regained, without a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, field_validator

from sources.base import (
    AuthError,
    ConfigError,
    HttpFetcher,
    RateLimited,
    SourceError,
    SourceSettings,
    TransientError,
    check_api_root,
    raise_for_status,
    redact_url,
    secret_value,
)
from wall.model import Batch, Count, utcnow
from wall.text import clean_text

NETWORK = "facebook"
DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
FIELDS = "name,fan_count,followers_count"
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_KEYS = ("call_count", "total_time", "total_cputime")
SLOW_DOWN_AT = 90.0  # percent of a usage budget from which polls should space out
BLOCKED_WAIT = 3600.0  # seconds to wait at 100 % when Meta does not say how long
# Graph error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})
AUTH_CODES = frozenset({102, 190, 10})
TRANSIENT_CODES = frozenset({1, 2})

_PAGE_ID = re.compile(r"^[\w.-]{1,100}$")


class FacebookSettings(SourceSettings):
    """A `[[sources]]` entry of `type = "facebook"`: one Page whose fans and followers are counted."""

    type: Literal["facebook"] = Field(description="Which adapter reads this source")
    base_url: str = Field(DEFAULT_BASE_URL, description="API root, with the Graph API version")
    page_id: str = Field(description="The Page's numeric id (or its username)")
    token: SecretStr | None = Field(None, description="Page access token (required to poll)")

    secret_fields: ClassVar[tuple[str, ...]] = ("token",)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        return check_api_root(value, example=DEFAULT_BASE_URL, secret="token")

    @field_validator("page_id")
    @classmethod
    def _check_page_id(cls, value: str) -> str:
        page_id = value.strip()
        if not _PAGE_ID.match(page_id):
            raise ValueError(
                f"{value!r} is not a Page id: give the number shown in the Page's About section, "
                "e.g. '112130216863063'"
            )
        return page_id


class FacebookSource:
    """Polls one Page's `fan_count` and `followers_count`, spacing polls out as Meta's usage rises."""

    network: ClassVar[str] = NETWORK

    def __init__(
        self,
        settings: FacebookSettings,
        http: HttpFetcher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock
        self.usage = 0.0  # the highest usage percentage Meta reported in the last answer
        self._blocked_until: datetime | None = None

    def __repr__(self) -> str:
        return f"FacebookSource(name={self.settings.name!r}, page_id={self.settings.page_id!r})"

    @property
    def slow_down(self) -> float:
        """Extra seconds to wait before the next poll: one more interval once usage nears the limit."""
        return self.settings.interval if self.usage >= SLOW_DOWN_AT else 0.0

    async def poll(self) -> Batch:
        """The Page's fans and followers; RateLimited while Meta's usage budget is spent."""
        now = self.clock()
        if self._blocked_until is not None:
            if now < self._blocked_until:
                wait = (self._blocked_until - now).total_seconds()
                raise RateLimited(f"facebook usage limit reached: waiting {wait:.0f} s", wait)
            self._blocked_until = None
        token = secret_value(self.settings.token)
        if not token:
            env_name = "".join(c if c.isalnum() else "_" for c in self.settings.name).upper()
            raise AuthError(
                f"facebook source {self.settings.name!r} has no token: set `token`, "
                f"WALL_SOURCES__{env_name}__TOKEN or the credential {self.settings.name}.token"
            )
        url = f"{self.settings.base_url}/{quote(self.settings.page_id, safe='')}"
        fetched = await self.http.get(
            url, params={"fields": FIELDS, "access_token": token}, conditional=False, raise_errors=False
        )
        shown = redact_url(fetched.url)
        self.usage, regain = graph_usage(fetched.headers)
        if self.usage >= 100:
            self._blocked_until = now + timedelta(seconds=regain if regain is not None else BLOCKED_WAIT)
        if fetched.status >= 400:
            error = classify_graph_error(
                fetched.content, shown=shown, page_id=self.settings.page_id, secret=token, regain=regain
            )
            if error is not None:
                raise error
            raise_for_status(fetched.status, fetched.headers, shown)
        counts = parse_page_counts(
            fetched.json(), source=self.settings.name, account=self.settings.page_id, observed_at=now
        )
        if not counts:
            raise TransientError(f"unexpected answer from {shown}: expected a Page with fan_count")
        return Batch(counts=tuple(counts))

    def state(self) -> dict[str, Any]:
        """Nothing to resume: every poll reads the current counts."""
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore (see `state`)."""


# -- pure helpers ---------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _usage_entries(header: str, raw: str) -> list[Mapping[str, Any]]:
    try:
        payload = json.loads(raw)
    except ValueError:
        return []
    if header != "x-business-use-case-usage":
        return [payload] if isinstance(payload, dict) else []
    # {"<business id>": [{"type": "pages", "call_count": 28, ..., "estimated_time_to_regain_access": 0}]}
    if not isinstance(payload, dict):
        return []
    return [
        entry
        for entries in payload.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]


def graph_usage(headers: Mapping[str, str]) -> tuple[float, float | None]:
    """The highest usage percentage in Meta's usage headers, and seconds until access is regained.

    The wait is None unless a Business Use Case entry gives `estimated_time_to_regain_access`
    (minutes) above zero. Missing or malformed headers mean 0 % used.
    """
    highest = 0.0
    regain: float | None = None
    for header in USAGE_HEADERS:
        raw = headers.get(header)
        if not raw:
            continue
        for entry in _usage_entries(header, raw):
            for key in USAGE_KEYS:
                value = _number(entry.get(key))
                if value is not None:
                    highest = max(highest, value)
            minutes = _number(entry.get("estimated_time_to_regain_access"))
            if minutes is not None and minutes > 0:
                regain = max(regain or 0.0, minutes * 60)
    return highest, regain


def classify_graph_error(
    body: bytes, *, shown: str, page_id: str, secret: str, regain: float | None = None
) -> SourceError | None:
    """The error a Graph error body means from its `code`; None when the body is not a Graph error.

    Graph messages can quote the token ("Malformed access token EAAB..."): it is blanked out.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        return None
    code: int = error["code"]
    subcode = error.get("error_subcode")
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) else ""
    if secret:
        message = message.replace(secret, "***")
    detail = f"code {code}" + (f"/{subcode}" if isinstance(subcode, int) else "")
    said = f": {clean_text(message)[:200]}" if message else ""
    if code in RATE_LIMIT_CODES:
        wait = regain if regain is not None else BLOCKED_WAIT
        return RateLimited(f"facebook throttled the requests ({detail}) at {shown}{said}", wait)
    if code in AUTH_CODES or 200 <= code <= 299:
        return AuthError(
            f"facebook refused the Page token ({detail}) at {shown}{said}: renew `token` with the "
            "pages_read_engagement permission"
        )
    if code == 100:
        return ConfigError(f"facebook refused Page {page_id!r} ({detail}) at {shown}{said}: check `page_id`")
    if code in TRANSIENT_CODES:
        return TransientError(f"facebook is unavailable ({detail}) at {shown}{said}")
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def parse_page_counts(obj: Any, *, source: str, account: str, observed_at: datetime) -> list[Count]:
    """ "fans" and "followers" Counts from a Page node; none when `obj` is not a Page.

    A field the API left out (no permission) or sent as nonsense is unknown, not zero.
    """
    if not isinstance(obj, dict) or "error" in obj:
        return []
    if "fan_count" not in obj and "followers_count" not in obj:
        return []
    name = obj.get("name")
    label = (clean_text(name) if isinstance(name, str) else "") or account
    return [
        Count(source, NETWORK, account, _count(obj.get(field)), observed_at, label, metric)
        for field, metric in (("fan_count", "fans"), ("followers_count", "followers"))
    ]
