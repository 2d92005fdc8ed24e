"""Instagram source: follower counts and hashtag media from documented Graph payloads, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
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
from sources.graph import BLOCKED_WAIT_SECONDS
from sources.instagram import (
    ACCOUNT_FIELDS,
    MEDIA_FIELDS,
    InstagramSettings,
    InstagramSource,
    caption_tags,
    parse_account_count,
    parse_discovery_count,
    parse_hashtag_id,
    parse_media,
    parse_media_page,
)
from tests.support.clock import SteppedClock
from wall.core.model import Author, Count, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "instagram"
USER = "17841405309211844"
HASHTAG_ID = "17843857450040591"
TOKEN = "EAAIgStAgr4mT0k3nS3cr3tValue9Zz"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
OWN = {"fields": ACCOUNT_FIELDS, "access_token": TOKEN}
DISCOVERY = "business_discovery.username(bluebottle){username,name,followers_count}"
MEDIA_PATH = f"/{HASHTAG_ID}/recent_media"
MEDIA_QUERY = {"user_id": USER, "fields": MEDIA_FIELDS, "limit": "25", "access_token": TOKEN}
AFTER = "NDUyZAWM1NTU0ZA3UwNzQ3ODY1ODgzMDUwNTQ4NDcZD"


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def app_usage(call_count: int) -> str:
    return json.dumps({"call_count": call_count, "total_time": 5, "total_cputime": 5})


def buc_usage(call_count: int, regain_minutes: int) -> str:
    entry = {
        "type": "instagram",
        "call_count": call_count,
        "total_cputime": 3,
        "total_time": 4,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return json.dumps({USER: [entry]})


def settings(base_url: str, **values: Any) -> InstagramSettings:
    values.setdefault("user_id", USER)
    values.setdefault("token", TOKEN)
    return InstagramSettings(name="ig", type="instagram", base_url=base_url, **values)


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> InstagramSource:
    base = httpserver.url_for("/").rstrip("/")
    return InstagramSource(settings(base, **values), http, clock=clock or SteppedClock(NOW))


def serve_own(httpserver: HTTPServer, **kwargs: Any) -> None:
    httpserver.expect_request(f"/{USER}", query_string=OWN).respond_with_json(load("account.json"), **kwargs)


def serve_hashtag(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/ig_hashtag_search", query_string={"user_id": USER, "q": "norauto", "access_token": TOKEN}
    ).respond_with_json(load("hashtag_search.json"))


def paths(httpserver: HTTPServer) -> list[str]:
    return [request.path for request, _ in httpserver.log]


def assert_no_token(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing and settings --------------------------------------------------------------------------


def test_own_account_gives_its_followers_labelled_with_its_name() -> None:
    count = parse_account_count(load("account.json"), source="ig", account=USER, observed_at=NOW)

    assert count == Count("ig", "instagram", USER, 48211, NOW, "Norauto France", "followers")


def test_business_discovery_gives_the_other_accounts_followers() -> None:
    count = parse_discovery_count(
        load("discovery_bluebottle.json"), source="ig", account="bluebottle", observed_at=NOW
    )

    assert count == Count("ig", "instagram", "bluebottle", 267793, NOW, "Blue Bottle Coffee", "followers")


def test_a_followers_count_left_out_is_unknown_not_zero() -> None:
    account = load("account.json")
    del account["followers_count"]
    discovery = load("discovery_bluebottle.json")
    discovery["business_discovery"]["followers_count"] = -3

    own = parse_account_count(account, source="ig", account=USER, observed_at=NOW)
    other = parse_discovery_count(discovery, source="ig", account="bluebottle", observed_at=NOW)

    assert own is not None and own.value is None
    assert other is not None and other.value is None


@pytest.mark.parametrize(
    "damage", [None, [], {"id": USER}, {"error": {"code": 1}}, {"business_discovery": 3}]
)
def test_something_that_is_not_an_account_gives_no_count(damage: Any) -> None:
    assert parse_account_count(damage, source="ig", account=USER, observed_at=NOW) is None
    assert parse_discovery_count(damage, source="ig", account="x", observed_at=NOW) is None


def test_hashtag_search_answer_gives_the_hashtag_id() -> None:
    assert parse_hashtag_id(load("hashtag_search.json")) == HASHTAG_ID
    assert parse_hashtag_id({"id": "17873440459141021"}) == "17873440459141021"  # the guide's shape
    assert parse_hashtag_id({"data": []}) is None
    assert parse_hashtag_id({"data": [{"id": "../me"}]}) is None


def test_media_become_posts_with_pictures_tags_and_links() -> None:
    items, after = parse_media_page(load("recent_media_page1.json"))
    image, album, video = (parse_media(item, source="ig", tag="norauto") for item in items)

    assert after == AFTER
    assert image is not None and album is not None and video is not None
    assert image.id == "17880997618081620" and image.network == "instagram" and image.kind == "mention"
    assert image.author == Author(name="#norauto")
    assert image.text == "Pneus neufs avant les vacances 🚗 #Norauto #Entretien"
    assert image.created_at == datetime(2025, 6, 2, 8, 41, 12, tzinfo=UTC)
    assert image.url == "https://www.instagram.com/p/C7xQ2aLNr1b/"
    assert image.media == (Media("https://scontent.cdninstagram.com/v/t51.29350-15/447011023_1_n.jpg"),)
    assert image.tags == ("norauto", "entretien")
    # An album shows its pictures; the documented fields give no still picture of a video.
    assert [m.url.rsplit("/", 1)[-1] for m in album.media] == ["447009876_1_n.jpg", "447009877_1_n.jpg"]
    assert video.media == () and video.url == "https://www.instagram.com/reel/C7wZ1xYtP0a/"


def test_the_searched_hashtag_is_a_tag_even_when_the_caption_lacks_it() -> None:
    post = parse_media(
        {"id": "1", "caption": "Sans tag", "media_type": "IMAGE", "timestamp": "2025-06-02T08:00:00+0000"},
        source="ig",
        tag="norauto",
    )

    assert post is not None and post.tags == ("norauto",) and post.media == () and post.url == ""


@pytest.mark.parametrize(
    "damage",
    [
        None,
        {"caption": "no id", "timestamp": "2025-06-02T08:00:00+0000"},
        {"id": "1", "timestamp": "yesterday"},
        {"id": "1/../2", "timestamp": "2025-06-02T08:00:00+0000"},
    ],
)
def test_a_media_without_id_or_date_is_skipped(damage: Any) -> None:
    assert parse_media(damage, source="ig", tag="norauto") is None


def test_last_page_has_no_cursor_and_a_broken_page_is_transient() -> None:
    assert parse_media_page(load("recent_media_page2.json"))[1] is None
    with pytest.raises(TransientError, match="expected a list of media"):
        parse_media_page({"error": {"code": 1}})


def test_caption_tags_are_lowercased_unique_and_skip_entities() -> None:
    assert caption_tags("#Lyon et #lyon, pas l'&#39;entité, ni mail#x : #Été_2025") == ["lyon", "été_2025"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"user_id": "me"}, "is not an Instagram account id"),
        ({"accounts": ["blue){id}"]}, "is not an Instagram username"),
        ({"hashtags": ["voiture électrique"]}, "is not a hashtag"),
        ({"hashtags": ["🚗"]}, "is not a hashtag"),
        ({"limit": 51}, "less than or equal to 50"),
        ({"base_url": f"https://graph.example/v21.0?access_token={TOKEN}"}, "the token goes in `token`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://graph.example/v21.0")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert TOKEN not in str(exc.value)


def test_settings_normalise_accounts_and_hashtags_and_hide_the_token() -> None:
    values = settings(
        "https://graph.example/v21.0/",
        accounts=["@BlueBottle", "bluebottle"],
        hashtags=["#Norauto", "norauto"],
    )

    assert values.accounts == ["bluebottle"] and values.hashtags == ["norauto"]
    assert values.base_url == "https://graph.example/v21.0"
    assert TOKEN not in repr(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(InstagramSource(values, HttpFetcher(httpx.AsyncClient())))
    assert InstagramSettings(name="ig", type="instagram", user_id=USER).base_url == (
        "https://graph.facebook.com/v21.0"
    )


# -- counts over HTTP -----------------------------------------------------------------------------


async def test_poll_counts_own_and_discovered_accounts(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_own(httpserver, headers={"X-App-Usage": app_usage(12)})
    httpserver.expect_request(
        f"/{USER}", query_string={"fields": DISCOVERY, "access_token": TOKEN}
    ).respond_with_json(load("discovery_bluebottle.json"))
    ig = source(httpserver, http, accounts=["bluebottle"])

    batch = await ig.poll()

    assert [(c.account, c.value, c.label) for c in batch.counts] == [
        (USER, 48211, "Norauto France"),
        ("bluebottle", 267793, "Blue Bottle Coffee"),
    ]
    assert batch.posts == ()
    assert ig.usage == 0.0 and ig.slow_down == 0.0  # the usage of the last answer counts


async def test_usage_near_the_limit_suggests_slowing_down(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_own(httpserver, headers={"X-App-Usage": app_usage(94)})
    ig = source(httpserver, http, interval=900)

    await ig.poll()

    assert ig.usage == 94.0 and ig.slow_down == 900.0


async def test_usage_at_100_keeps_what_was_read_and_sends_nothing_more(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver, headers={"X-Business-Use-Case-Usage": buc_usage(100, 12)})
    clock = SteppedClock(NOW)
    ig = source(httpserver, http, clock, accounts=["bluebottle"], hashtags=["norauto"])

    batch = await ig.poll()

    assert [c.value for c in batch.counts] == [48211]  # that answer is good; nothing more was asked
    assert len(httpserver.log) == 1
    clock.now = NOW + timedelta(minutes=2)
    with pytest.raises(RateLimited, match="instagram usage limit") as exc:
        await ig.poll()
    assert exc.value.retry_after == 600.0
    assert len(httpserver.log) == 1


async def test_throttling_error_is_rate_limited(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(f"/{USER}").respond_with_json(load("error_throttled.json"), status=400)

    with pytest.raises(RateLimited, match=r"code 4\b.*Application request limit") as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == BLOCKED_WAIT_SECONDS
    assert_no_token(exc.value)


async def test_expired_token_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(f"/{USER}").respond_with_json(load("error_token_expired.json"), status=400)

    with pytest.raises(AuthError, match=r"code 190/463.*Session has expired.*renew `token`") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_token_quoted_by_graph_is_blanked(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = {"error": {"message": f"Malformed access token {TOKEN}", "type": "OAuthException", "code": 190}}
    httpserver.expect_request(f"/{USER}").respond_with_json(body, status=400)

    with pytest.raises(AuthError, match=r"Malformed access token \*\*\*") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_unknown_username_is_a_config_error_naming_it(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    httpserver.expect_request(
        f"/{USER}",
        query_string={
            "fields": "business_discovery.username(nosuchbrand){username,name,followers_count}",
            "access_token": TOKEN,
        },
    ).respond_with_json(load("error_unknown_username.json"), status=400)

    with pytest.raises(ConfigError, match=r"'nosuchbrand'.*code 110/2207013.*check `accounts`") as exc:
        await source(httpserver, http, accounts=["nosuchbrand"]).poll()
    assert_no_token(exc.value)


async def test_unknown_own_account_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    body = {
        "error": {
            "message": "Unsupported get request. Object with ID '1784' does not exist",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
        }
    }
    httpserver.expect_request("/1784").respond_with_json(body, status=400)

    with pytest.raises(ConfigError, match=r"account '1784' \(code 100/33\).*check `user_id`"):
        await source(httpserver, http, user_id="1784").poll()


async def test_missing_token_is_an_auth_error_without_a_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no token.*WALL_SOURCES__IG__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        (401, {}, AuthError),
        (403, {}, AuthError),
        (404, {}, ConfigError),
        (429, {"Retry-After": "120"}, RateLimited),
    ],
)
async def test_http_statuses_without_a_graph_body(
    httpserver: HTTPServer, http: HttpFetcher, status: int, headers: dict[str, str], error: type[SourceError]
) -> None:
    httpserver.expect_request(f"/{USER}").respond_with_data("denied", status=status, headers=headers)

    with pytest.raises(error) as exc:
        await source(httpserver, http).poll()
    if isinstance(exc.value, RateLimited):
        assert exc.value.retry_after == 120.0
    assert_no_token(exc.value)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(f"/{USER}").respond_with_data("<html>oops</html>", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)
    assert_no_token(exc.value)


@pytest.mark.parametrize("body", ['{"username": "norauto", "followers_count": 1', '{"id": "1"}', "[]"])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(f"/{USER}").respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for status in (400, 401, 403, 404, 429, 500):
        httpserver.clear()
        httpserver.expect_request(f"/{USER}").respond_with_data(f"bad {TOKEN}", status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_token(exc.value)


# -- hashtags over HTTP ---------------------------------------------------------------------------


async def test_first_poll_searches_the_hashtag_once_and_reads_one_page(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    serve_hashtag(httpserver)
    httpserver.expect_request(MEDIA_PATH, query_string=MEDIA_QUERY).respond_with_json(
        load("recent_media_page1.json")
    )
    ig = source(httpserver, http, hashtags=["Norauto"])

    batch = await ig.poll()

    assert [p.id for p in batch.posts] == ["17880997618081620", "17896450804038745", "17912345678901234"]
    assert paths(httpserver) == [f"/{USER}", "/ig_hashtag_search", MEDIA_PATH]  # no second page yet

    again = await ig.poll()  # the same media come back: nothing new, no search, no next page

    assert again.posts == ()
    assert paths(httpserver)[3:] == [f"/{USER}", MEDIA_PATH]


async def test_later_polls_follow_the_after_cursor_until_nothing_is_new(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    httpserver.expect_request(MEDIA_PATH, query_string={**MEDIA_QUERY, "after": AFTER}).respond_with_json(
        load("recent_media_page2.json")
    )
    httpserver.expect_request(MEDIA_PATH, query_string=MEDIA_QUERY).respond_with_json(
        load("recent_media_page1.json")
    )
    ig = source(httpserver, http, hashtags=["norauto"])
    ig.restore({"hashtag_ids": {"norauto": HASHTAG_ID}, "seen": {}, "polled": ["norauto"]})

    batch = await ig.poll()

    assert len(batch.posts) == 4 and batch.posts[-1].id == "17933214567812345"
    assert [p.created_at for p in batch.posts] == sorted((p.created_at for p in batch.posts), reverse=True)
    assert paths(httpserver) == [f"/{USER}", MEDIA_PATH, MEDIA_PATH]


async def test_a_restart_neither_searches_again_nor_shows_old_media(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    serve_hashtag(httpserver)
    httpserver.expect_request(MEDIA_PATH, query_string=MEDIA_QUERY).respond_with_json(
        load("recent_media_page1.json")
    )
    first = source(httpserver, http, hashtags=["norauto"])
    assert len((await first.poll()).posts) == 3

    restarted = source(httpserver, http, hashtags=["norauto"])
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert batch.posts == ()
    assert paths(httpserver).count("/ig_hashtag_search") == 1


async def test_seen_media_are_forgotten_once_too_old_to_come_back(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    clock = SteppedClock(NOW + timedelta(days=3))
    ig = source(httpserver, http, clock)
    ig.restore(
        {"seen": {"1": "2025-06-02T08:00:00+00:00", "2": (clock.now - timedelta(hours=5)).isoformat()}}
    )

    await ig.poll()

    assert set(ig.state()["seen"]) == {"2"}


def test_restore_drops_malformed_entries() -> None:
    ig = InstagramSource(
        settings("https://graph.example/v21.0", hashtags=["norauto"]), HttpFetcher(httpx.AsyncClient())
    )
    ig.restore(
        {
            "hashtag_ids": {"norauto": "../../me", "old": "17841562906103814", "x": 3},
            "seen": {"1": "not a date", "2": "2025-06-02T08:00:00+00:00"},
            "polled": ["norauto", "gone", 5],
        }
    )
    assert ig.state() == {
        "hashtag_ids": {"old": "17841562906103814"},  # a tag searched once stays known
        "seen": {"2": "2025-06-02T08:00:00+00:00"},
        "polled": ["norauto"],
    }
    ig.restore({"hashtag_ids": [], "seen": "x", "polled": "norauto"})
    assert ig.state() == {"hashtag_ids": {}, "seen": {}, "polled": []}


async def test_unknown_hashtag_is_a_config_error_naming_it(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_own(httpserver)
    httpserver.expect_request("/ig_hashtag_search").respond_with_json({"data": []})

    with pytest.raises(ConfigError, match=r"no hashtag '#zzqx'.*check `hashtags`") as exc:
        await source(httpserver, http, hashtags=["zzqx"]).poll()
    assert_no_token(exc.value)


async def test_a_failed_poll_shows_its_media_again_next_time(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_own(httpserver)
    httpserver.expect_oneshot_request(MEDIA_PATH).respond_with_data("oops", status=502)
    httpserver.expect_request(MEDIA_PATH).respond_with_json(load("recent_media_page1.json"))
    ig = source(httpserver, http, accounts=[], hashtags=["norauto"])
    ig.restore({"hashtag_ids": {"norauto": HASHTAG_ID}})

    with pytest.raises(TransientError, match="HTTP 502"):
        await ig.poll()
    batch = await ig.poll()

    assert len(batch.posts) == 3


# -- the command line -----------------------------------------------------------------------------


def test_wall_fetch_prints_instagram_posts_and_counts(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve_own(httpserver)
    serve_hashtag(httpserver)
    httpserver.expect_request(MEDIA_PATH).respond_with_json(load("recent_media_page1.json"))
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "ig"\ntype = "instagram"\nuser_id = "{USER}"\n'
        f'base_url = "{httpserver.url_for("/").rstrip("/")}"\nhashtags = ["norauto"]\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "ig", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__IG__TOKEN": TOKEN},
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    posts = [line for line in lines if line["type"] == "post"]
    counts = [line for line in lines if line["type"] == "count"]
    assert [p["id"] for p in posts] == ["17880997618081620", "17896450804038745", "17912345678901234"]
    assert posts[0]["network"] == "instagram" and posts[0]["author_name"] == "#norauto"
    assert posts[0]["created_at"] == "2025-06-02T08:41:12Z"
    assert counts == [{"type": "count", "network": "instagram", "account": USER, "value": 48211}]
    assert TOKEN not in result.stdout + result.stderr
