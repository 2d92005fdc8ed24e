"""What the adapters reading Meta's Graph API (Facebook Pages, Instagram) share: usage headers,
the usage budget they imply, and the meaning of a Graph error body.

Not an adapter: `sources.facebook` and `sources.instagram` import it, never each other.

- Graph errors come as HTTP 400 for everything (expired token, unknown object, throttling); only the
  JSON body's `error.code` tells them apart, so callers read the error body with
  `HttpFetcher.get(raise_errors=False)` (the token travels in the query string, which
  `redact_url` drops from every message).
- Meta throttles by usage percentages sent in `X-App-Usage` / `X-Page-Usage` /
  `X-Business-Use-Case-Usage` headers. At `SLOW_DOWN_AT_PERCENT` a source suggests an extra wait;
  at 100 the data of that answer is still used, and further requests wait, without being sent,
  until Meta says access is regained (an hour when it does not say).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sources.base import MALFORMED_JSON, AuthError, ConfigError, RateLimited, SourceError, TransientError
from sources.payload import as_int, json_object
from wall.core.text import clean_text

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_KEYS = ("call_count", "total_time", "total_cputime")
SLOW_DOWN_AT_PERCENT = 90.0  # percent of a usage budget from which polls should space out
BLOCKED_WAIT_SECONDS = 3600.0  # seconds to wait at 100 % when Meta does not say how long
# Graph error codes: https://developers.facebook.com/docs/graph-api/guides/error-handling
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
AUTH_CODES = frozenset({102, 190, 10})
TRANSIENT_CODES = frozenset({1, 2})
CONFIG_CODES = frozenset({100})


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _usage_entries(header: str, raw: str) -> list[Mapping[str, Any]]:
    try:
        payload = json.loads(raw)
    except MALFORMED_JSON:
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


class UsageBudget:
    """Meta's usage budget as the last answer reported it, for one source.

    `record` reads each answer's headers; `check` raises RateLimited, without a request, while a
    budget spent to 100 % has not been regained.
    """

    def __init__(self, network: str) -> None:
        self.network = network
        self.usage = 0.0  # the highest usage percentage Meta reported in the last answer
        self.blocked_until: datetime | None = None

    def check(self, now: datetime) -> None:
        """RateLimited while the budget is spent; clears the block once its time has passed."""
        if self.blocked_until is None:
            return
        if now < self.blocked_until:
            wait = (self.blocked_until - now).total_seconds()
            raise RateLimited(f"{self.network} usage limit reached: waiting {wait:.0f} s", wait)
        self.blocked_until = None

    def record(self, headers: Mapping[str, str], now: datetime) -> float | None:
        """Take in one answer's usage headers; returns the seconds to regain access, if Meta said."""
        self.usage, regain = graph_usage(headers)
        if self.usage >= 100:
            self.blocked_until = now + timedelta(
                seconds=regain if regain is not None else BLOCKED_WAIT_SECONDS
            )
        return regain

    def slow_down(self, interval: float) -> float:
        """Extra seconds to wait before the next poll: one more interval once usage nears the limit."""
        return interval if self.usage >= SLOW_DOWN_AT_PERCENT else 0.0


@dataclass(frozen=True, slots=True)
class GraphError:
    """The `error` object of a Graph error body, its message cleaned and without the token."""

    code: int
    subcode: int | None
    message: str

    @property
    def detail(self) -> str:
        """`code 190/463` as shown in messages."""
        return f"code {self.code}" + (f"/{self.subcode}" if self.subcode is not None else "")

    @property
    def said(self) -> str:
        """`: <Meta's message>` to append to a message, or ''."""
        return f": {self.message}" if self.message else ""


def parse_graph_error(body: bytes, *, secret: str) -> GraphError | None:
    """The Graph error of an error body; None when the body is not one.

    Graph messages can quote the token ("Malformed access token EAAB..."): it is blanked out.
    """
    error = json_object(body).get("error")
    if not isinstance(error, dict):
        return None
    code = as_int(error.get("code"))
    if code is None:
        return None
    raw_message = error.get("message")
    message = raw_message if isinstance(raw_message, str) else ""
    if secret:
        message = message.replace(secret, "***")
    return GraphError(
        code=code,
        subcode=as_int(error.get("error_subcode")),
        message=clean_text(message)[:200],
    )


def classify_graph_error(
    body: bytes,
    *,
    shown: str,
    secret: str,
    regain: float | None = None,
    network: str,
    credential: str,
    renew: str,
    subject: str,
    key: str,
    config_codes: frozenset[int] = CONFIG_CODES,
) -> SourceError | None:
    """The error a Graph error body means from its `code`; None when the body is not a Graph error
    or its code means nothing specific (the HTTP status then decides).

    `credential` names what was refused ("the Page token"), `renew` says how to fix it, `subject`
    names the configured object a `config_codes` error is about and `key` the config key to check.
    """
    error = parse_graph_error(body, secret=secret)
    if error is None:
        return None
    code, detail, said = error.code, error.detail, error.said
    if code in RATE_LIMIT_CODES:
        wait = regain if regain is not None else BLOCKED_WAIT_SECONDS
        return RateLimited(f"{network} throttled the requests ({detail}) at {shown}{said}", wait)
    if code in AUTH_CODES or 200 <= code <= 299:
        return AuthError(f"{network} refused {credential} ({detail}) at {shown}{said}: {renew}")
    if code in config_codes:
        return ConfigError(f"{network} refused {subject} ({detail}) at {shown}{said}: check `{key}`")
    if code in TRANSIENT_CODES:
        return TransientError(f"{network} is unavailable ({detail}) at {shown}{said}")
    return None
