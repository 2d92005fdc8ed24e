"""The shared readers of untrusted payloads (sources/payload.py): one table each, and no adapter
keeping a copy of its own (issue 13: `_http_url` existed 7 times in 4 variants)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sources.payload import (
    MAX_EPOCH_MILLIS,
    as_count,
    as_dict,
    as_int,
    as_list,
    as_text,
    http_url,
    iso_time,
    json_object,
    millis_time,
)

SOURCES = Path(__file__).resolve().parents[2] / "sources"


@pytest.mark.parametrize(
    ("value", "text", "mapping", "items", "number"),
    [
        ("Léa", "Léa", {}, [], None),
        ("", "", {}, [], None),
        ({"a": 1}, "", {"a": 1}, [], None),
        ([1, 2], "", {}, [1, 2], None),
        (7, "", {}, [], 7),
        (-7, "", {}, [], -7),
        (True, "", {}, [], None),  # a JSON true is not the number 1
        (7.0, "", {}, [], None),
        (None, "", {}, [], None),
    ],
)
def test_a_value_is_read_as_its_type_or_as_empty(
    value: Any, text: str, mapping: dict[str, Any], items: list[Any], number: int | None
) -> None:
    assert as_text(value) == text
    assert as_dict(value) == mapping
    assert as_list(value) == items
    assert as_int(value) == number


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (180000, False, 180000),
        (0, False, 0),
        (-1, False, None),
        (True, False, None),
        (12.5, False, None),
        ("180000", False, None),  # a string is not a count where the API sends numbers
        ("180000", True, 180000),  # YouTube sends counts as strings
        (180000, True, 180000),
        ("-5", True, None),
        ("1e3", True, None),
        ("²", True, None),  # a digit to str.isdigit, not to int()
        ("9" * 5000, True, None),  # int() of that many digits raises
        (None, True, None),
    ],
)
def test_a_count_is_a_non_negative_integer(value: Any, digits: bool, expected: int | None) -> None:
    assert as_count(value, digits=digits) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-06-02T09:00:00Z", datetime(2025, 6, 2, 9, 0, tzinfo=UTC)),
        ("2025-06-02T11:00:00+02:00", datetime(2025, 6, 2, 9, 0, tzinfo=UTC)),
        ("2025-06-02T09:00:00.123456Z", datetime(2025, 6, 2, 9, 0, 0, 123456, tzinfo=UTC)),
        ("", None),
        ("   ", None),
        ("yesterday", None),
        ("9999-12-31T23:59:00-01:00", None),  # beyond what UTC can hold
        (1748854800, None),  # epoch numbers are another format, read by the adapter that sends them
        (None, None),
    ],
)
def test_a_date_is_iso_8601_in_utc_or_none(value: Any, expected: datetime | None) -> None:
    assert iso_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1748854800000, datetime(2025, 6, 2, 9, 0, tzinfo=UTC)),
        (1748854800123, datetime(2025, 6, 2, 9, 0, 0, 123000, tzinfo=UTC)),
        (MAX_EPOCH_MILLIS - 999, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),  # the last second
        (MAX_EPOCH_MILLIS + 1, None),  # beyond what a datetime can hold
        (2**80, None),
        (0, None),  # Mattermost's "never" (an edit_at of 0: not edited)
        (-1, None),
        (True, None),
        ("1748854800000", None),
        (1748854800000.0, None),
    ],
)
def test_a_time_in_epoch_milliseconds_is_utc_or_none(value: Any, expected: datetime | None) -> None:
    assert millis_time(value) == expected


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [
        ("https://cdn.example/a.jpg", "", "https://cdn.example/a.jpg"),
        ("  http://cdn.example/a.jpg\n", "", "http://cdn.example/a.jpg"),
        ("HTTPS://cdn.example/a.jpg", "", "HTTPS://cdn.example/a.jpg"),
        ("javascript:alert(1)", "", ""),
        ("data:image/png;base64,AAAA", "", ""),
        ("file:///etc/passwd", "", ""),
        ("ftp://files.example/a.jpg", "", ""),
        ("https://", "", ""),  # no host
        ("http:a.jpg", "", ""),
        ("//cdn.example/a.jpg", "", ""),  # scheme-relative needs a base
        ("/uploads/a.jpg", "", ""),
        ("http://[::1", "", ""),  # an unclosed bracket makes urlsplit raise
        ("", "", ""),
        (None, "", ""),
        (42, "", ""),
        ("/uploads/a.jpg", "https://forum.example/", "https://forum.example/uploads/a.jpg"),
        ("uploads/a.jpg", "https://forum.example/sub/", "https://forum.example/sub/uploads/a.jpg"),
        ("//cdn.example/a.jpg", "https://forum.example/", "https://cdn.example/a.jpg"),
        ("https://other.example/a.jpg", "https://forum.example/", "https://other.example/a.jpg"),
        ("javascript:alert(1)", "https://forum.example/", ""),
    ],
)
def test_a_url_is_absolute_http_with_a_host_or_empty(value: Any, base: str, expected: str) -> None:
    assert http_url(value, base=base) == expected


def test_a_url_longer_than_the_cap_is_dropped() -> None:
    url = "https://cdn.example/" + "a" * 100
    assert http_url(url, max_chars=len(url)) == url
    assert http_url(url, max_chars=len(url) - 1) == ""
    assert http_url(url) == url  # no cap unless asked


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"error": "invalid_client"}', {"error": "invalid_client"}),
        (b"[1, 2]", {}),
        (b'"text"', {}),
        (b"<html>Bad Gateway</html>", {}),
        (b"\xff\xfe", {}),  # not UTF-8
        (b"[" * 100_000, {}),  # deeper than Python's recursion limit
        (b"", {}),
    ],
)
def test_an_error_body_is_a_json_object_or_empty(body: bytes, expected: dict[str, Any]) -> None:
    assert json_object(body) == expected


# Names the adapters used for their own copies before issue 13.
COPIES = frozenset(
    {"_http_url", "http_url", "absolute_url", "_text", "_str", "_time", "_iso", "_iso_utc", "_timestamp"}
    | {"_mapping", "_int", "_count", "_followers", "_json_object", "_load", "_error_body", "_token"}
)


@pytest.mark.parametrize("path", sorted(SOURCES.glob("*.py")), ids=lambda p: p.name)
def test_no_adapter_keeps_its_own_copy_of_a_payload_helper(path: Path) -> None:
    if path.name == "payload.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    methods = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)} - functions
    copies = (functions & COPIES) | (methods & {"_token"})
    assert not copies, f"{path.name}: {sorted(copies)}: use sources.payload (or base.required_secret)"
