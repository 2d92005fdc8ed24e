"""LinkedIn source: an organization's follower count from documented payloads, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.linkedin import (
    DEFAULT_VERSION,
    LinkedInSettings,
    LinkedInSource,
    parse_error,
    parse_network_size,
    parse_organization_name,
    seconds_until_midnight_utc,
)
from wall.core.model import Count

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "linkedin"
ORG = "1337"
COUNT_PATH = f"/networkSizes/urn:li:organization:{ORG}"
RAW_COUNT_PATH = f"/networkSizes/urn%3Ali%3Aorganization%3A{ORG}"
ORG_PATH = f"/organizations/{ORG}"
EDGE = {"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"}
TOKEN = "AQXdSP_W41_UPs5ioT_t8HESyODB4FqbkJ8LrV_5mff4gPODzOYR"
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "LinkedIn-Version": DEFAULT_VERSION,
    "X-Restli-Protocol-Version": "2.0.0",
}
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def settings(base_url: str, **values: Any) -> LinkedInSettings:
    values.setdefault("organization_id", ORG)
    values.setdefault("token", TOKEN)
    return LinkedInSettings(name="li", type="linkedin", base_url=base_url, **values)


def source(httpserver: HTTPServer, http: HttpFetcher, **values: Any) -> LinkedInSource:
    return LinkedInSource(settings(httpserver.url_for("/").rstrip("/"), **values), http, clock=lambda: NOW)


def serve_error(
    httpserver: HTTPServer, name: str, status: int, headers: dict[str, str] | None = None
) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_json(load(name), status=status, headers=headers)


def assert_no_token(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing and settings --------------------------------------------------------------------------


def test_network_size_is_the_follower_count() -> None:
    assert parse_network_size(load("network_size.json")) == 219145
    assert parse_network_size({"firstDegreeSize": -1}) is None
    assert parse_network_size({"firstDegreeSize": True}) is None
    assert parse_network_size([]) is None


def test_organization_name_prefers_localized_name() -> None:
    organization = load("organization.json")
    assert parse_organization_name(organization) == "Norauto"
    del organization["localizedName"]
    organization["name"]["localized"]["fr_FR"] = "Norauto France"
    assert parse_organization_name(organization) == "Norauto France"
    assert parse_organization_name({"id": 1}) == ""


def test_error_body_is_read_and_the_token_blanked() -> None:
    error = parse_error(json.dumps({"status": 401, "message": f"bad token {TOKEN}"}).encode(), secret=TOKEN)
    expired = parse_error((FIXTURES / "error_expired_token.json").read_bytes())

    assert error is not None and error.message == "bad token ***" and error.detail == ""
    assert expired is not None and expired.detail == "EXPIRED_ACCESS_TOKEN, 65602"
    assert parse_error(b"<html>") is None and parse_error(b'{"elements": []}') is None


def test_daily_limits_reset_at_midnight_utc() -> None:
    assert seconds_until_midnight_utc(NOW) == 15 * 3600
    assert seconds_until_midnight_utc(datetime(2025, 6, 2, 23, 59, 30, tzinfo=UTC)) == 30


def test_settings_accept_an_urn_and_have_sensible_defaults() -> None:
    values = settings("https://api.example/rest/", organization_id=" urn:li:organization:1337 ")

    assert values.organization_id == ORG and values.urn == "urn:li:organization:1337"
    assert values.base_url == "https://api.example/rest" and values.version == DEFAULT_VERSION
    assert values.interval == 3600
    assert TOKEN not in repr(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(LinkedInSource(values, HttpFetcher(httpx.AsyncClient())))
    assert LinkedInSettings(name="li", type="linkedin", organization_id=ORG).base_url == (
        "https://api.linkedin.com/rest"
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"organization_id": "norauto"}, "is not an organization id"),
        ({"organization_id": "urn:li:person:1337"}, "is not an organization id"),
        ({"version": "2026-09"}, "is not a LinkedIn API version"),
        ({"version": "202613"}, "is not a LinkedIn API version"),
        ({"base_url": f"https://api.example/rest?oauth2_access_token={TOKEN}"}, "the token goes in `token`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://api.example/rest")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert TOKEN not in str(exc.value)


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_poll_counts_followers_with_the_versioned_headers(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(COUNT_PATH, query_string=EDGE, headers=HEADERS).respond_with_json(
        load("network_size.json")
    )
    httpserver.expect_oneshot_request(ORG_PATH, headers=HEADERS).respond_with_json(load("organization.json"))
    li = source(httpserver, http)

    batch = await li.poll()

    assert batch.counts == (Count("li", "linkedin", ORG, 219145, NOW, "Norauto", "followers"),)
    request, _ = httpserver.log[0]
    assert request.environ["REQUEST_URI"].startswith(RAW_COUNT_PATH)  # the URN travels percent-encoded

    again = await li.poll()  # the name is known: only the count is asked

    assert again.counts[0].label == "Norauto"
    assert [r.path for r, _ in httpserver.log] == [COUNT_PATH, ORG_PATH, COUNT_PATH]


async def test_name_kept_across_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_json(load("network_size.json"))
    httpserver.expect_request(ORG_PATH).respond_with_json(load("organization.json"))
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert batch.counts[0].label == "Norauto"
    assert [r.path for r, _ in httpserver.log].count(ORG_PATH) == 1
    restarted.restore({"name": 3})
    assert restarted.state() == {}


async def test_name_lookup_failure_only_leaves_the_label_plain(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_json(load("network_size.json"))
    httpserver.expect_request(ORG_PATH).respond_with_json(load("error_access_denied.json"), status=403)

    batch = await source(httpserver, http).poll()

    assert [(c.value, c.label) for c in batch.counts] == [(219145, "LinkedIn 1337")]


async def test_expired_token_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_error(httpserver, "error_expired_token.json", 401)

    with pytest.raises(AuthError, match=r"EXPIRED_ACCESS_TOKEN, 65602.*has expired.*renew `token`") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_missing_permission_is_an_auth_error_naming_it(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_error(httpserver, "error_access_denied.json", 403)

    with pytest.raises(AuthError, match=r"ACCESS_DENIED.*needs the rw_organization_admin permission.*1337"):
        await source(httpserver, http).poll()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (426, load("error_version.json")),
        (400, {"status": 400, "code": "VERSION_MISSING", "message": "A version must be present"}),
    ],
)
async def test_inactive_or_missing_version_asks_to_update_it(
    httpserver: HTTPServer, http: HttpFetcher, status: int, body: dict[str, Any]
) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_json(body, status=status)

    with pytest.raises(ConfigError, match=r"LinkedIn-Version '202404' is not active.*set `version`") as exc:
        await source(httpserver, http, version="202404").poll()
    assert_no_token(exc.value)


async def test_rate_limit_waits_as_long_as_retry_after_says(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_error(httpserver, "error_throttled.json", 429, {"Retry-After": "120"})

    with pytest.raises(RateLimited, match="TOO_MANY_REQUESTS") as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 120.0


async def test_rate_limit_without_retry_after_waits_for_midnight_utc(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_error(httpserver, "error_throttled.json", 429)

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 15 * 3600.0


async def test_unknown_organization_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_error(httpserver, "error_not_found.json", 404)

    with pytest.raises(ConfigError, match=r"NOT_FOUND.*check `organization_id` \(1337\)"):
        await source(httpserver, http).poll()


async def test_missing_token_is_an_auth_error_without_a_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no token.*WALL_SOURCES__LI__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_data("<html>oops</html>", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


async def test_unavailable_with_retry_after_is_rate_limited(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_data("busy", status=503, headers={"Retry-After": "30"})

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 30.0


@pytest.mark.parametrize(
    "body", ['{"firstDegreeSize": 2', '{"elements": []}', '{"firstDegreeSize": "12"}', "[]"]
)
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for status in (400, 401, 403, 404, 426, 429, 500):
        httpserver.clear()
        body = json.dumps({"status": status, "code": "X", "message": f"token {TOKEN} refused"})
        httpserver.expect_request(COUNT_PATH).respond_with_data(body, status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_token(exc.value)


# -- the command line -----------------------------------------------------------------------------


def test_wall_fetch_prints_the_linkedin_count(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(COUNT_PATH, query_string=EDGE, headers=HEADERS).respond_with_json(
        load("network_size.json")
    )
    httpserver.expect_request(ORG_PATH).respond_with_json(load("organization.json"))
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "li"\ntype = "linkedin"\norganization_id = "urn:li:organization:{ORG}"\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "li", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__LI__TOKEN": TOKEN},
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"type": "count", "network": "linkedin", "account": ORG, "value": 219145}
    ]
    assert TOKEN not in result.stdout + result.stderr


def test_wall_fetch_failure_never_prints_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(COUNT_PATH).respond_with_json(load("error_expired_token.json"), status=401)
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "li"\ntype = "linkedin"\norganization_id = "{ORG}"\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "li", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__LI__TOKEN": TOKEN},
        cwd=ROOT,
    )

    assert result.returncode == 1 and "EXPIRED_ACCESS_TOKEN" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
