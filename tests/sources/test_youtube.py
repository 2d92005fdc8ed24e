"""YouTube source: subscriber counts from documented `channels.list` payloads, over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.youtube import (
    YouTubeSettings,
    YouTubeSource,
    parse_channel_count,
    seconds_until_quota_reset,
)
from wall.core.model import Count

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "youtube"
PATH = "/channels"
KEY = "AIzaSyD-s3cret-k3y-value-0123456789"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")
DEVS = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
LYON = "UCa1b2c3d4e5f6g7h8i9j0kL"


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def settings(base_url: str, **values: Any) -> YouTubeSettings:
    values.setdefault("channels", ["@norauto"])
    values.setdefault("api_key", KEY)
    return YouTubeSettings(name="yt", type="youtube", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def handle_query(handle: str) -> dict[str, str]:
    return {"part": "snippet,statistics", "forHandle": handle, "key": KEY}


def ids_query(*ids: str) -> dict[str, str]:
    return {"part": "snippet,statistics", "id": ",".join(ids), "maxResults": "50", "key": KEY}


def source(httpserver: HTTPServer, http: HttpFetcher, now: datetime = NOW, **values: Any) -> YouTubeSource:
    return YouTubeSource(settings(base(httpserver), **values), http, clock=lambda: now)


def assert_no_key(error: BaseException) -> None:
    assert KEY not in str(error) and KEY not in repr(error)
    assert error.__cause__ is None or KEY not in str(error.__cause__)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing and settings --------------------------------------------------------------------------


def test_channel_gives_subscribers_labelled_with_its_title() -> None:
    item = load("channels_for_handle.json")["items"][0]

    count = parse_channel_count(item, source="yt", account="@norauto", observed_at=NOW)

    assert count == Count("yt", "youtube", "@norauto", 182000, NOW, "Norauto France", "subscribers")


def test_hidden_subscriber_count_is_unknown_not_zero() -> None:
    item = load("channels_by_id.json")["items"][1]
    item["statistics"]["subscriberCount"] = "0"  # even if the API sent a number, hidden wins

    count = parse_channel_count(item, source="yt", account=LYON, observed_at=NOW)

    assert count is not None and count.value is None and count.label == "Atelier Lyon"


@pytest.mark.parametrize("damage", [None, [], {"kind": "youtube#channel"}])
def test_something_that_is_not_a_channel_gives_no_count(damage: Any) -> None:
    assert parse_channel_count(damage, source="yt", account="@x", observed_at=NOW) is None


def test_settings_keep_handles_and_ids_and_drop_duplicates() -> None:
    values = settings("https://example.test/yt/", channels=[" @norauto ", DEVS, "@norauto"])

    assert values.channels == ["@norauto", DEVS]
    assert values.base_url == "https://example.test/yt"
    assert YouTubeSettings(name="yt", type="youtube", channels=["@a_b"]).base_url == (
        "https://www.googleapis.com/youtube/v3"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"channels": []}, "at least 1"),
        ({"channels": ["norauto"]}, "write a handle as '@name'"),
        ({"channels": ["UCshort"]}, "starting with 'UC'"),
        ({"base_url": "ftp://example.test"}, "is not an http(s) URL"),
        ({"base_url": f"https://example.test/?key={KEY}"}, "the key goes in `api_key`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://example.test")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert KEY not in str(exc.value)


def test_api_key_is_never_shown() -> None:
    values = settings("https://example.test")

    assert KEY not in repr(values) and KEY not in str(values)
    assert KEY not in values.model_dump_json()
    assert KEY not in repr(YouTubeSource(values, HttpFetcher(httpx.AsyncClient())))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 02:00 in Los Angeles (PDT, UTC-7): 22 h to midnight.
        (datetime(2025, 6, 2, 9, 0, tzinfo=UTC), 22 * 3600.0),
        # 23:59:30 in Los Angeles: 30 s.
        (datetime(2025, 6, 3, 6, 59, 30, tzinfo=UTC), 30.0),
        # 01:00 PST on the day clocks go forward: the day is 23 h long, 22 h are left.
        (datetime(2025, 3, 9, 9, 0, tzinfo=UTC), 22 * 3600.0),
        # 01:00 PDT on the day clocks go back: the day is 25 h long, 24 h are left.
        (datetime(2025, 11, 2, 8, 0, tzinfo=UTC), 24 * 3600.0),
    ],
)
def test_quota_resets_at_midnight_pacific_time(now: datetime, expected: float) -> None:
    assert seconds_until_quota_reset(now) == expected
    reset = now + timedelta(seconds=expected)
    assert reset.astimezone(LA).time().isoformat() == "00:00:00"


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_handle_is_looked_up_with_for_handle(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(PATH, query_string=handle_query("@norauto")).respond_with_json(
        load("channels_for_handle.json")
    )

    batch = await source(httpserver, http).poll()

    assert batch.counts == (Count("yt", "youtube", "@norauto", 182000, NOW, "Norauto France", "subscribers"),)
    assert batch.posts == () and batch.deleted == ()
    httpserver.check_assertions()


async def test_ids_are_asked_in_one_request_and_counted_in_config_order(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(PATH, query_string=ids_query(LYON, DEVS)).respond_with_json(
        load("channels_by_id.json")
    )
    httpserver.expect_oneshot_request(PATH, query_string=handle_query("@norauto")).respond_with_json(
        load("channels_for_handle.json")
    )

    batch = await source(httpserver, http, channels=[LYON, "@norauto", DEVS]).poll()

    assert [(c.account, c.value, c.label) for c in batch.counts] == [
        (LYON, None, "Atelier Lyon"),  # hidden subscriber count: unknown
        ("@norauto", 182000, "Norauto France"),
        (DEVS, 2450000, "Google for Developers"),
    ]
    assert {c.metric for c in batch.counts} == {"subscribers"}
    httpserver.check_assertions()


async def test_more_than_fifty_ids_are_split_into_requests(httpserver: HTTPServer, http: HttpFetcher) -> None:
    ids = [f"UC{n:022d}" for n in range(51)]
    template = load("channels_by_id.json")["items"][0]

    def page(chunk: list[str]) -> dict[str, Any]:
        return {"kind": "youtube#channelListResponse", "items": [{**template, "id": i} for i in chunk]}

    httpserver.expect_oneshot_request(PATH, query_string=ids_query(*ids[:50])).respond_with_json(
        page(ids[:50])
    )
    httpserver.expect_oneshot_request(PATH, query_string=ids_query(ids[50])).respond_with_json(page(ids[50:]))

    batch = await source(httpserver, http, channels=ids).poll()

    assert [c.account for c in batch.counts] == ids
    httpserver.check_assertions()


async def test_unknown_handle_is_a_config_error_naming_it(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH, query_string=handle_query("@nobody")).respond_with_json(
        load("channels_none.json")
    )

    with pytest.raises(ConfigError, match="'@nobody' not found") as exc:
        await source(httpserver, http, channels=["@nobody"]).poll()
    assert_no_key(exc.value)


async def test_unknown_id_is_a_config_error_naming_it(httpserver: HTTPServer, http: HttpFetcher) -> None:
    missing = "UC" + "z" * 22
    httpserver.expect_request(PATH, query_string=ids_query(DEVS, LYON, missing)).respond_with_json(
        load("channels_by_id.json")
    )

    with pytest.raises(ConfigError, match=f"'{missing}' not found"):
        await source(httpserver, http, channels=[DEVS, LYON, missing]).poll()


async def test_spent_quota_waits_until_midnight_pacific(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_json(load("error_quota_exceeded.json"), status=403)

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()

    assert exc.value.retry_after == 22 * 3600.0
    reset = NOW + timedelta(seconds=exc.value.retry_after)
    assert reset.astimezone(LA) == datetime(2025, 6, 3, 0, 0, tzinfo=LA)
    assert "quota" in str(exc.value)
    assert_no_key(exc.value)


async def test_daily_limit_reason_is_a_quota_error_too(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = load("error_quota_exceeded.json")
    body["error"]["errors"][0].update(domain="usageLimits", reason="dailyLimitExceeded")
    httpserver.expect_request(PATH).respond_with_json(body, status=403)

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 22 * 3600.0


async def test_invalid_key_needs_attention_and_is_not_shown(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(PATH).respond_with_json(load("error_key_invalid.json"), status=400)

    with pytest.raises(AuthError, match=r"API_KEY_INVALID.*check `api_key`") as exc:
        await source(httpserver, http).poll()
    assert_no_key(exc.value)


async def test_legacy_key_invalid_reason_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = {"error": {"code": 400, "message": "Bad Request", "errors": [{"reason": "keyInvalid"}]}}
    httpserver.expect_request(PATH).respond_with_json(body, status=400)

    with pytest.raises(AuthError, match="keyInvalid") as exc:
        await source(httpserver, http).poll()
    assert_no_key(exc.value)


async def test_other_403_is_an_auth_error_not_a_wait(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_json(load("error_forbidden.json"), status=403)

    with pytest.raises(AuthError, match="accessNotConfigured") as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)
    assert_no_key(exc.value)


async def test_403_without_a_json_body_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_data("<html>Forbidden</html>", status=403)

    with pytest.raises(AuthError) as exc:
        await source(httpserver, http).poll()
    assert_no_key(exc.value)


async def test_missing_key_is_an_auth_error_without_a_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no api_key.*WALL_SOURCES__YT__API_KEY"):
        await source(httpserver, http, api_key=None).poll()
    assert httpserver.log == []


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data("backend error", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)
    assert_no_key(exc.value)


async def test_429_with_retry_after_is_rate_limited(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_data("", status=429, headers={"Retry-After": "120"})

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 120.0
    assert_no_key(exc.value)


@pytest.mark.parametrize("body", ['{"kind": "youtube#channelListResponse", "items": [', "[]", "null"])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_key(exc.value)


async def test_oversized_answer_is_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_request(PATH).respond_with_json(load("channels_for_handle.json"))

    async with httpx.AsyncClient(timeout=5) as client:
        small = HttpFetcher(client, max_bytes=200)
        with pytest.raises(TransientError, match="too large") as exc:
            await source(httpserver, small).poll()
    assert_no_key(exc.value)


async def test_unreachable_server_is_transient_without_the_key(http: HttpFetcher) -> None:
    dead = YouTubeSource(settings("http://127.0.0.1:9"), http, clock=lambda: NOW)

    with pytest.raises(TransientError, match="cannot reach") as exc:
        await dead.poll()
    assert_no_key(exc.value)


async def test_every_error_the_source_raises_hides_the_key(httpserver: HTTPServer, http: HttpFetcher) -> None:
    # The API echoes nothing of the key, but a careless message built from the URL would.
    for status in (400, 401, 403, 404, 409, 500):
        httpserver.clear()
        httpserver.expect_request(PATH).respond_with_json({"error": {"code": status}}, status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_key(exc.value)
