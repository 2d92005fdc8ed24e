"""Facebook source: a Page's fans and followers from documented Graph payloads, over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.facebook import FacebookSettings, FacebookSource, graph_usage, parse_page_counts
from tests.support.clock import SteppedClock
from wall.core.model import Count

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "facebook"
PAGE = "112130216863063"
PATH = f"/{PAGE}"
TOKEN = "EAAGm0PX4ZCpsBAs3cr3tPag3T0k3nValue"
QUERY = {"fields": "name,fan_count,followers_count", "access_token": TOKEN}
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def app_usage(call_count: int, total_time: int = 5, total_cputime: int = 5) -> str:
    return json.dumps({"call_count": call_count, "total_time": total_time, "total_cputime": total_cputime})


def buc_usage(call_count: int, regain_minutes: int) -> str:
    entry = {
        "type": "pages",
        "call_count": call_count,
        "total_cputime": 3,
        "total_time": 4,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return json.dumps({PAGE: [entry]})


def settings(base_url: str, **values: Any) -> FacebookSettings:
    values.setdefault("page_id", PAGE)
    values.setdefault("token", TOKEN)
    return FacebookSettings(name="fb", type="facebook", base_url=base_url, **values)


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> FacebookSource:
    base = httpserver.url_for("/").rstrip("/")
    return FacebookSource(settings(base, **values), http, clock=clock or SteppedClock(NOW))


def assert_no_token(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing and settings --------------------------------------------------------------------------


def test_page_gives_fans_and_followers_labelled_with_its_name() -> None:
    counts = parse_page_counts(load("page.json"), source="fb", account=PAGE, observed_at=NOW)

    assert counts == [
        Count("fb", "facebook", PAGE, 180412, NOW, "Norauto France", "fans"),
        Count("fb", "facebook", PAGE, 195733, NOW, "Norauto France", "followers"),
    ]


def test_a_count_left_out_is_unknown_not_zero() -> None:
    page = load("page.json")
    del page["followers_count"]
    page["fan_count"] = -1

    counts = parse_page_counts(page, source="fb", account=PAGE, observed_at=NOW)

    assert [(c.metric, c.value) for c in counts] == [("fans", None), ("followers", None)]


@pytest.mark.parametrize("damage", [None, [], {"name": "x"}, {"error": {"code": 1}}])
def test_something_that_is_not_a_page_gives_no_counts(damage: Any) -> None:
    assert parse_page_counts(damage, source="fb", account=PAGE, observed_at=NOW) == []


def test_usage_is_the_highest_percentage_of_every_header() -> None:
    headers = httpx.Headers(
        {"X-App-Usage": app_usage(12, 40, 7), "X-Business-Use-Case-Usage": buc_usage(91, 0)}
    )

    assert graph_usage(headers) == (91.0, None)
    assert graph_usage(httpx.Headers({"X-Business-Use-Case-Usage": buc_usage(100, 19)})) == (100.0, 1140.0)
    assert graph_usage(httpx.Headers({"X-App-Usage": "not json"})) == (0.0, None)
    assert graph_usage(httpx.Headers()) == (0.0, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"page_id": "my/page?x=1"}, "is not a Page id"),
        ({"base_url": "graph.facebook.com"}, "is not an http(s) URL"),
        ({"base_url": f"https://graph.example/v21.0?access_token={TOKEN}"}, "the token goes in `token`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://graph.example/v21.0")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert TOKEN not in str(exc.value)


def test_token_is_never_shown() -> None:
    values = settings("https://graph.example/v21.0/")

    assert values.base_url == "https://graph.example/v21.0"
    assert TOKEN not in repr(values) and TOKEN not in str(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(FacebookSource(values, HttpFetcher(httpx.AsyncClient())))
    assert FacebookSettings(name="fb", type="facebook", page_id=PAGE).base_url == (
        "https://graph.facebook.com/v21.0"
    )


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_poll_counts_fans_and_followers(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(PATH, query_string=QUERY).respond_with_json(
        load("page.json"), headers={"X-App-Usage": app_usage(12)}
    )
    fb = source(httpserver, http)

    batch = await fb.poll()

    assert [(c.metric, c.value, c.label) for c in batch.counts] == [
        ("fans", 180412, "Norauto France"),
        ("followers", 195733, "Norauto France"),
    ]
    assert fb.usage == 12.0 and fb.slow_down == 0.0
    httpserver.check_assertions()


async def test_usage_near_the_limit_suggests_slowing_down(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        load("page.json"), headers={"X-App-Usage": app_usage(20, 93, 10)}
    )
    fb = source(httpserver, http, interval=600)

    assert len((await fb.poll()).counts) == 2

    assert fb.usage == 93.0 and fb.slow_down == 600.0


async def test_usage_at_100_keeps_the_counts_then_waits(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(PATH).respond_with_json(
        load("page.json"), headers={"X-App-Usage": app_usage(100)}
    )
    clock = SteppedClock(NOW)
    fb = source(httpserver, http, clock)

    assert len((await fb.poll()).counts) == 2  # the answer itself is good
    clock.now = NOW + timedelta(minutes=10)
    with pytest.raises(RateLimited) as exc:
        await fb.poll()

    assert exc.value.retry_after == 3000.0  # an hour after the answer that hit 100 %
    assert len(httpserver.log) == 1  # no request while blocked

    clock.now = NOW + timedelta(hours=1)
    httpserver.expect_oneshot_request(PATH).respond_with_json(load("page.json"))
    assert len((await fb.poll()).counts) == 2
    assert fb.usage == 0.0


async def test_business_usage_at_100_waits_as_long_as_meta_says(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        load("page.json"), headers={"X-Business-Use-Case-Usage": buc_usage(100, 19)}
    )
    fb = source(httpserver, http)
    await fb.poll()

    with pytest.raises(RateLimited) as exc:
        await fb.poll()
    assert exc.value.retry_after == 19 * 60.0


async def test_throttling_error_is_rate_limited(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        load("error_page_throttled.json"),
        status=400,
        headers={"X-Business-Use-Case-Usage": buc_usage(100, 7)},
    )

    with pytest.raises(RateLimited, match="code 32") as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 7 * 60.0
    assert_no_token(exc.value)


async def test_expired_token_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PATH).respond_with_json(load("error_token_expired.json"), status=400)

    with pytest.raises(AuthError, match=r"code 190/463.*Session has expired.*renew `token`") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_token_quoted_by_graph_is_blanked(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = {"error": {"message": f"Malformed access token {TOKEN}", "type": "OAuthException", "code": 190}}
    httpserver.expect_request(PATH).respond_with_json(body, status=400)

    with pytest.raises(AuthError, match=r"Malformed access token \*\*\*") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_unknown_page_is_a_config_error_naming_it(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request("/999999999999999").respond_with_json(
        load("error_unknown_page.json"), status=400
    )

    with pytest.raises(ConfigError, match=r"'999999999999999'.*check `page_id`") as exc:
        await source(httpserver, http, page_id="999999999999999").poll()
    assert_no_token(exc.value)


async def test_missing_token_is_an_auth_error_without_a_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no token.*WALL_SOURCES__FB__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(PATH).respond_with_data("<html>oops</html>", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)
    assert_no_token(exc.value)


@pytest.mark.parametrize("body", ['{"name": "Norauto", "fan_count": 1', '{"name": "Norauto"}', "[]"])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for status in (400, 401, 403, 404, 500):
        httpserver.clear()
        httpserver.expect_request(PATH).respond_with_data("no json", status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_token(exc.value)
