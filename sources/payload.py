"""Reading untrusted API answers: each helper takes whatever a JSON payload holds at a key and
returns the expected type or an empty value, never raising. Parsers stay short and total this way,
and every adapter reads URLs, dates and counts by the same rules.

Adapters import these instead of keeping their own copies (issue 13: `_http_url` existed 7 times in
4 variants, which disagreed on white space, upper-case schemes, URLs without a host and overlong
values).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from sources.base import MALFORMED_JSON
from wall.core.model import parse_iso


def as_text(value: Any) -> str:
    """`value` if it is a string, else ''."""
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else []."""
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int | None:
    """`value` if it is a JSON integer (not a boolean, which Python counts as one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_count(value: Any, *, digits: bool = False) -> int | None:
    """A follower or view count: a non-negative integer, else None. With `digits`, a string of
    decimal digits is read too (YouTube sends counts as strings)."""
    # ASCII only: '²' is a digit to str.isdigit but not to int(). Past 19 digits a count is beyond
    # SQLite's integers (the poller would drop it) and int() of thousands of digits raises.
    if digits and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    number = as_int(value)
    return number if number is not None and number >= 0 else None


MAX_EPOCH_MILLIS = 253402300799999  # 9999-12-31T23:59:59.999Z: a later time is nonsense, not a date


def millis_time(value: Any) -> datetime | None:
    """A time in milliseconds since 1970 (Matrix, Mattermost) as aware UTC; None when it is not a
    positive integer up to MAX_EPOCH_MILLIS."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_EPOCH_MILLIS:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 date (with `Z` or an offset) as aware UTC; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def http_url(value: Any, *, base: str = "", max_chars: int | None = None) -> str:
    """`value` as an absolute http(s) URL with a host, white space stripped, or ''.

    A relative `value` is resolved against `base` when one is given (a feed's or a forum's own
    address); without it only absolute URLs pass. `javascript:`, `data:`, `file:`, a scheme-relative
    URL without base and a URL without host give ''. `max_chars` refuses longer values (a feed may
    carry megabytes in one attribute).
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    if max_chars is not None and len(value) > max_chars:
        return ""
    try:  # both raise ValueError on an unclosed IPv6 bracket
        url = urljoin(base, value.strip()) if base else value.strip()
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return url


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object of an answer's body (an error body, most often), {} when it is not one."""
    try:
        payload = json.loads(body)
    except MALFORMED_JSON:
        return {}
    return as_dict(payload)
