"""X source: recent-search posts and follower counts from documented X API v2 payloads, over real HTTP."""

from __future__ import annotations

import json
import logging
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
from sources.x import (
    XSettings,
    XSource,
    budget_interval,
    parse_search,
    parse_tweet,
    parse_users,
    seconds_until_utc_midnight,
    snowflake_time,
)
from tests.support.clock import SteppedClock
from wall.core.model import Author, Count, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "x"
SEARCH = "/tweets/search/recent"
USERS = "/users/by"
TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeBearerForWallTests%2Bx0x0%3DNotARealTokenAtAll1234567890abcdef"
QUERY = "#norauto -is:retweet"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
CLAIRE = "1929462238540738567"  # 08:57, with a photo
BOB = "1929461735224258567"  # 08:55, a reply
DAVE = "1929460980249538567"  # 08:52, sensitive, with a video
RETWEET = "1929460476933058567"  # 08:50, a retweet (skipped)
NEWER = ["1929464251806658567", "1929464000148418567", "1929463496831938567", "1929463245173698567"]
EDITED = "1929465510097858567"  # 09:10, the edit of CLAIRE
PHOTO = "https://pbs.twimg.com/media/GsLyon1XwAAb2Cd.jpg"


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def settings(base_url: str, **values: Any) -> XSettings:
    values.setdefault("query", QUERY)
    values.setdefault("bearer_token", TOKEN)
    return XSettings(name="xnews", type="x", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> XSource:
    return XSource(settings(base(httpserver), **values), http, clock=clock or SteppedClock(NOW))


def search_params(**extra: str) -> dict[str, str]:
    """The query string of a search/recent request as the source sends it."""
    return {
        "query": QUERY,
        "max_results": "25",
        "expansions": "author_id,attachments.media_keys",
        "tweet.fields": "created_at,lang,possibly_sensitive,entities,referenced_tweets,"
        "edit_history_tweet_ids,attachments,author_id,note_tweet",
        "user.fields": "name,username,profile_image_url",
        "media.fields": "type,url,preview_image_url,alt_text,width,height",
        **extra,
    }


def users_params(*names: str) -> dict[str, str]:
    return {"usernames": ",".join(names), "user.fields": "name,username,public_metrics"}


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def sent(httpserver: HTTPServer) -> list[dict[str, str]]:
    """Query strings of the requests the server received, in order."""
    return [dict(request.args) for request, _ in httpserver.log]


def assert_no_token(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    assert "FakeBearerForWallTests" not in str(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing ----------------------------------------------------------------------------------------------


def test_search_page_joins_authors_and_media_and_cleans_the_text() -> None:
    page = parse_search(load("search_recent.json"), source="xnews")

    assert page is not None
    assert [p.id for p in page.posts] == [CLAIRE, BOB, DAVE]  # the retweet is skipped
    assert page.skipped == 1
    assert page.newest_id == CLAIRE and page.next_token == "b26v89c19zqg8o3fpzbkk3ow2qvxq5vvkwkp1e6a2z9q5"
    claire = page.posts[0]
    assert claire.text == (
        "Super accueil chez @norauto à Lyon ! Pneus changés en 20 min & café offert #Norauto #Lyon "
        "norauto.fr/magasins/lyon"
    )  # t.co link shown as X displays it, the photo's t.co link dropped, &amp; decoded
    assert claire.url == f"https://x.com/claire_d/status/{CLAIRE}"
    assert claire.author == Author(
        "Claire D.",
        "@claire_d",
        "https://pbs.twimg.com/profile_images/1590012345678901234/Xy3kLm9Q_bigger.jpg",
    )
    assert claire.media == (Media(PHOTO, "L'atelier de Lyon, vu de l'entrée", "image", ""),)
    assert claire.tags == ("norauto", "lyon")
    assert claire.created_at == datetime(2025, 6, 2, 8, 57, tzinfo=UTC)
    assert claire.language == "fr" and claire.edited_at is None
    assert not claire.sensitive and not claire.is_reply
    assert claire.network == "x" and claire.kind == "mention" and claire.source == "xnews"


def test_reply_and_sensitive_video() -> None:
    page = parse_search(load("search_recent.json"), source="xnews")
    assert page is not None
    _, bob, dave = page.posts

    assert bob.is_reply and bob.language == "en" and not bob.sensitive
    assert bob.author.name == "Bob K."  # the right-to-left override is removed
    assert bob.text == "@norauto Is the Lyon shop open on Sunday? #norauto"
    assert dave.sensitive and not dave.is_reply
    assert dave.text == "Regardez ce qui s'est passé au parking #norauto"
    (video,) = dave.media
    assert video.kind == "video" and video.url == video.preview_url
    assert video.url.startswith("https://pbs.twimg.com/ext_tw_video_thumb/")


def test_an_edit_shows_the_latest_version_with_the_original_time_and_replaces_the_old_id() -> None:
    page = parse_search(load("search_edit.json"), source="xnews")

    assert page is not None
    (post,) = page.posts
    assert post.id == EDITED and "en 15 min" in post.text
    assert post.edited_at == datetime(2025, 6, 2, 9, 10, tzinfo=UTC)
    assert post.created_at == datetime(2025, 6, 2, 8, 57, tzinfo=UTC)  # from the original's id
    assert page.replaced == {CLAIRE}


def test_long_post_text_comes_from_the_note() -> None:
    payload = load("search_recent.json")
    raw = payload["data"][1]
    long_text = "@norauto " + "Très long message. " * 20 + "#norauto #pneus"
    raw["note_tweet"] = {
        "text": long_text,
        "entities": {"hashtags": [{"start": 389, "end": 397, "tag": "norauto"}, {"tag": "pneus"}]},
    }
    users = {u["id"]: u for u in payload["includes"]["users"]}

    post = parse_tweet(raw, users=users, media={}, source="xnews")

    assert post is not None and post.text == long_text.strip() and post.tags == ("norauto", "pneus")


@pytest.mark.parametrize(("lang", "expected"), [("und", None), ("qme", None), ("zxx", None), ("pt", "pt")])
def test_language_codes_that_are_not_languages_are_dropped(lang: str, expected: str | None) -> None:
    payload = load("search_recent.json")
    raw = {**payload["data"][0], "lang": lang}
    users = {u["id"]: u for u in payload["includes"]["users"]}

    post = parse_tweet(raw, users=users, media={}, source="xnews")

    assert post is not None and post.language == expected and post.media == ()


@pytest.mark.parametrize(
    "damage",
    [None, [], {"id": "x"}, {"id": CLAIRE, "created_at": "2025-06-02T08:57:00.000Z", "author_id": "404"}],
)
def test_something_that_is_not_a_post_or_has_no_known_author_gives_no_post(damage: Any) -> None:
    assert parse_tweet(damage, users={}, media={}, source="xnews") is None


@pytest.mark.parametrize("payload", [None, [], {"data": {}}, {"meta": []}, {"includes": "x"}])
def test_a_payload_that_is_not_a_search_answer_gives_none(payload: Any) -> None:
    assert parse_search(payload, source="xnews") is None


def test_empty_search_answer_has_no_posts_and_no_cursor() -> None:
    page = parse_search(load("search_empty.json"), source="xnews")
    assert page is not None and page.posts == () and page.newest_id is None and page.next_token is None


def test_users_give_followers_in_config_order_and_name_the_missing() -> None:
    both = parse_users(
        load("users_by.json"), source="xnews", accounts=["NorautoPro", "norauto"], observed_at=NOW
    )
    partial = parse_users(
        load("users_by_partial.json"), source="xnews", accounts=["norauto", "NorautoPro"], observed_at=NOW
    )

    assert both == (
        [
            Count("xnews", "x", "NorautoPro", 3120, NOW, "Norauto Pro", "followers"),
            Count("xnews", "x", "norauto", 48213, NOW, "Norauto France", "followers"),
        ],
        {},
    )
    assert partial == (
        [Count("xnews", "x", "norauto", 48213, NOW, "Norauto France", "followers")],
        {"NorautoPro": "Could not find user with usernames: [NorautoPro]."},
    )


def test_user_without_followers_count_is_unknown_not_zero() -> None:
    payload = load("users_by.json")
    del payload["data"][0]["public_metrics"]["followers_count"]

    found = parse_users(payload, source="xnews", accounts=["norauto"], observed_at=NOW)

    assert found is not None and found[0][0].value is None


def test_snowflake_ids_carry_their_time_and_budget_helpers() -> None:
    assert snowflake_time(CLAIRE) == datetime(2025, 6, 2, 8, 57, tzinfo=UTC)
    assert snowflake_time("not-an-id") is None and snowflake_time("12") is None
    assert seconds_until_utc_midnight(NOW) == 15 * 3600
    assert budget_interval(100, 2) == 1728.0 and budget_interval(0, 2) == 0.0


# -- settings ---------------------------------------------------------------------------------------------


def test_settings_defaults_and_normalised_accounts() -> None:
    values = XSettings(name="x1", type="x", accounts=["@Norauto", "norauto", " NorautoPro "])

    assert values.accounts == ["Norauto", "NorautoPro"]
    assert values.base_url == "https://api.x.com/2"
    assert (values.interval, values.daily_requests, values.max_results, values.max_pages) == (900, 100, 25, 3)
    assert values.query == "" and values.bearer_token is None
    assert XSettings.secret_fields == ("bearer_token",)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"query": "  "}, "needs `query`, `accounts` or both"),
        ({"accounts": ["not a name"]}, "is not an X username"),
        ({"accounts": ["averyveryverylongname"]}, "is not an X username"),
        ({"max_results": 5}, "greater than or equal to 10"),
        ({"daily_requests": -1}, "greater than or equal to 0"),
        ({"base_url": f"https://api.x.com/2?token={TOKEN}"}, "goes in `bearer_token`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://api.x.com/2")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert TOKEN not in str(exc.value)


def test_bearer_token_is_never_shown() -> None:
    values = settings("https://api.x.com/2")

    assert TOKEN not in repr(values) and TOKEN not in str(values)
    assert TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(XSource(values, HttpFetcher(httpx.AsyncClient())))


# -- polling over HTTP ------------------------------------------------------------------------------------


async def test_first_poll_reads_one_bounded_page_with_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(
        SEARCH, query_string=search_params(), headers=bearer()
    ).respond_with_json(load("search_recent.json"))
    x = source(httpserver, http)

    batch = await x.poll()

    assert [p.id for p in batch.posts] == [CLAIRE, BOB, DAVE]
    assert batch.deleted == () and batch.counts == ()
    assert len(httpserver.log) == 1  # the next_token of a first page is not followed
    assert x.state()["since_id"] == CLAIRE
    httpserver.check_assertions()


async def test_later_polls_page_from_the_cursor_within_max_pages(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params(since_id=CLAIRE)).respond_with_json(
        load("search_newer_page1.json")
    )
    httpserver.expect_oneshot_request(
        SEARCH,
        query_string=search_params(
            since_id=CLAIRE, next_token="b26v89c19zqg8o3fpzbkk3ow2qvxq5vvkwkp1e6a2z9q6"
        ),
    ).respond_with_json(load("search_newer_page2.json"))
    x = source(httpserver, http)
    x.restore({"query": QUERY, "since_id": CLAIRE})

    batch = await x.poll()

    assert [p.id for p in batch.posts] == NEWER
    assert x.state()["since_id"] == NEWER[0]  # the first page's newest_id, not the last page's
    httpserver.check_assertions()


async def test_paging_stops_at_max_pages(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("search_newer_page1.json"))
    x = source(httpserver, http, max_pages=1)
    x.restore({"query": QUERY, "since_id": CLAIRE})

    batch = await x.poll()

    assert len(batch.posts) == 2 and len(httpserver.log) == 1


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params(since_id=CLAIRE)).respond_with_json(
        load("search_empty.json")
    )
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert batch.posts == ()
    assert restarted.state()["since_id"] == CLAIRE  # an empty answer keeps the cursor
    httpserver.check_assertions()


def test_restore_drops_a_cursor_of_another_query_or_malformed() -> None:
    x = XSource(settings("https://api.x.com/2"), HttpFetcher(httpx.AsyncClient()), clock=SteppedClock(NOW))
    x.restore({"query": "#other", "since_id": CLAIRE})
    assert x.state()["since_id"] is None
    x.restore({"query": QUERY, "since_id": "12; DROP"})
    assert x.state()["since_id"] is None
    x.restore({"query": QUERY, "since_id": CLAIRE, "budget": "nonsense"})
    assert x.state() == {"query": QUERY, "since_id": CLAIRE, "budget": {}}


async def test_a_cursor_older_than_the_search_window_is_dropped_before_asking(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    x = source(httpserver, http)
    x.restore({"query": QUERY, "since_id": "1924767050757058567"})  # 2025-05-20, 13 days before NOW

    batch = await x.poll()

    assert len(batch.posts) == 3 and "since_id" not in sent(httpserver)[0]
    httpserver.check_assertions()


async def test_a_cursor_x_refuses_is_dropped_and_the_search_retried(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    stale = "1927296216069058567"  # 2025-05-27: within 7 days by our clock, refused by X
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params(since_id=stale)).respond_with_json(
        load("error_stale_since_id.json"), status=400
    )
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    x = source(httpserver, http)
    x.restore({"query": QUERY, "since_id": stale})

    batch = await x.poll()

    assert len(batch.posts) == 3 and x.state()["since_id"] == CLAIRE
    httpserver.check_assertions()


async def test_an_edit_replaces_the_post_shown_before(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    httpserver.expect_oneshot_request(SEARCH, query_string=search_params(since_id=CLAIRE)).respond_with_json(
        load("search_edit.json")
    )
    x = source(httpserver, http)
    await x.poll()

    batch = await x.poll()

    assert [p.id for p in batch.posts] == [EDITED]
    assert batch.deleted == (CLAIRE,)
    assert batch.posts[0].edited_at is not None
    httpserver.check_assertions()


async def test_original_and_edit_in_one_answer_show_only_the_edit(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    payload = load("search_recent.json")
    edit = load("search_edit.json")
    payload["data"].insert(0, edit["data"][0])
    payload["meta"]["newest_id"] = EDITED
    httpserver.expect_request(SEARCH).respond_with_json(payload)

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [EDITED, BOB, DAVE]
    assert batch.deleted == (CLAIRE,)  # harmless when the wall never had it, right when it had


async def test_follower_counts_after_the_search(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(load("search_empty.json"))
    httpserver.expect_oneshot_request(
        USERS, query_string=users_params("norauto", "NorautoPro"), headers=bearer()
    ).respond_with_json(load("users_by.json"))

    batch = await source(httpserver, http, accounts=["@norauto", "NorautoPro"]).poll()

    assert batch.counts == (
        Count("xnews", "x", "norauto", 48213, NOW, "Norauto France", "followers"),
        Count("xnews", "x", "NorautoPro", 3120, NOW, "Norauto Pro", "followers"),
    )
    assert [r.path for r, _ in httpserver.log] == [SEARCH, USERS]
    httpserver.check_assertions()


async def test_a_failure_after_the_search_keeps_the_cursor_so_its_posts_come_again(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_ordered_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    httpserver.expect_ordered_request(USERS).respond_with_json({"title": "Service Unavailable"}, status=503)
    httpserver.expect_ordered_request(SEARCH, query_string=search_params()).respond_with_json(
        load("search_recent.json")
    )
    httpserver.expect_ordered_request(USERS).respond_with_json(load("users_by.json"))
    x = source(httpserver, http, accounts=["norauto"])

    with pytest.raises(TransientError, match="HTTP 503"):
        await x.poll()
    assert x.state()["since_id"] is None
    batch = await x.poll()

    assert len(batch.posts) == 3 and len(batch.counts) == 1
    assert x.state()["since_id"] == CLAIRE
    httpserver.check_assertions()


async def test_a_missing_account_is_logged_and_the_others_counted(
    httpserver: HTTPServer, http: HttpFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(USERS).respond_with_json(load("users_by_partial.json"))
    x = source(httpserver, http, query="", accounts=["norauto", "NorautoPro"])

    with caplog.at_level(logging.WARNING, logger="sources.x"):
        first = await x.poll()
        second = await x.poll()

    assert [c.account for c in first.counts] == [c.account for c in second.counts] == ["norauto"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, not at every poll
    assert "NorautoPro: Could not find user with usernames: [NorautoPro]." in warnings[0]


async def test_no_account_found_is_a_config_error_naming_them(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    payload = load("users_by_partial.json")
    del payload["data"]
    httpserver.expect_request(USERS).respond_with_json(payload)

    with pytest.raises(
        ConfigError, match=r"none of the accounts.*NorautoPro: Could not find user.*`accounts`"
    ):
        await source(httpserver, http, query="", accounts=["NorautoPro"]).poll()


async def test_spent_budget_is_rate_limited_until_midnight_without_a_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("search_empty.json"))
    httpserver.expect_request(USERS).respond_with_json(load("users_by.json"))
    clock = SteppedClock(NOW)
    x = source(httpserver, http, clock, accounts=["norauto"], daily_requests=4)

    await x.poll()
    await x.poll()
    with pytest.raises(RateLimited, match=r"budget spent \(4 of 4 today") as exc:
        await x.poll()

    assert exc.value.retry_after == 15 * 3600
    assert len(httpserver.log) == 4
    restarted = source(httpserver, http, clock, accounts=["norauto"], daily_requests=4)
    restarted.restore(json.loads(json.dumps(x.state())))
    with pytest.raises(RateLimited):
        await restarted.poll()  # the count survives a restart
    assert len(httpserver.log) == 4
    clock.now = datetime(2025, 6, 3, 0, 0, 5, tzinfo=UTC)
    await restarted.poll()  # a new UTC day
    assert len(httpserver.log) == 6


async def test_the_last_request_of_the_day_goes_to_the_search(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("search_recent.json"))
    x = source(httpserver, http, accounts=["norauto"], daily_requests=5)
    x.restore({"budget": {"day": "2025-06-02", "used": 4}})

    batch = await x.poll()

    assert len(batch.posts) == 3 and batch.counts == ()
    assert [r.path for r, _ in httpserver.log] == [SEARCH]


async def test_an_interval_too_short_for_the_budget_warns_and_spaces_polls(
    httpserver: HTTPServer, http: HttpFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("search_empty.json"))
    httpserver.expect_request(USERS).respond_with_json(load("users_by.json"))
    with caplog.at_level(logging.WARNING, logger="sources.x"):
        x = source(httpserver, http, accounts=["norauto"])  # 900 s, 2 requests a poll, 100 a day

    assert "needs 192 requests a day, more than daily_requests = 100" in caplog.text
    assert "about every 1728 s" in caplog.text
    await x.poll()
    # 98 requests left for 15 h, 2 a poll: one poll every 54000 * 2 / 98 s, 900 s of which is the interval
    assert x.slow_down == pytest.approx(54000 * 2 / 98 - 900)
    assert source(httpserver, http, daily_requests=0).slow_down == 0.0


async def test_a_spent_rate_limit_window_delays_the_next_poll_until_its_reset(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    reset = int(NOW.timestamp()) + 1500
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(
        load("search_recent.json"),
        headers={"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    clock = SteppedClock(NOW)
    x = source(httpserver, http, clock, daily_requests=0)

    batch = await x.poll()

    assert len(batch.posts) == 3
    assert x.slow_down == 600  # reset in 1500 s, the interval is 900 s
    with pytest.raises(RateLimited) as exc:
        await x.poll()
    assert exc.value.retry_after == 1500 and len(httpserver.log) == 1
    clock.now = NOW + timedelta(seconds=1501)
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(load("search_empty.json"))
    await x.poll()
    assert len(httpserver.log) == 2


async def test_429_is_rate_limited_until_the_reset(httpserver: HTTPServer, http: HttpFetcher) -> None:
    reset = int(NOW.timestamp()) + 120
    httpserver.expect_request(SEARCH).respond_with_json(
        load("error_too_many_requests.json"),
        status=429,
        headers={"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )

    with pytest.raises(RateLimited, match="HTTP 429") as exc:
        await source(httpserver, http).poll()

    assert exc.value.retry_after == 120
    assert_no_token(exc.value)


async def test_usage_cap_is_rate_limited_for_a_day(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("error_usage_capped.json"), status=429)

    with pytest.raises(RateLimited, match="usage cap") as exc:
        await source(httpserver, http).poll()

    assert exc.value.retry_after == RateLimited.MAX_WAIT_SECONDS


async def test_401_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("error_unauthorized.json"), status=401)

    with pytest.raises(AuthError, match=r"HTTP 401.*check `bearer_token`") as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


async def test_403_client_not_enrolled_names_the_missing_access_level(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("error_client_not_enrolled.json"), status=403)

    with pytest.raises(AuthError) as exc:
        await source(httpserver, http).poll()

    message = str(exc.value)
    assert "client-not-enrolled" in message and "Appropriate Level of API Access" in message
    assert "access level" in message
    assert_no_token(exc.value)


async def test_invalid_query_is_a_config_error_quoting_x(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SEARCH).respond_with_json(load("error_invalid_query.json"), status=400)

    with pytest.raises(ConfigError) as exc:
        await source(httpserver, http).poll()

    message = str(exc.value)
    assert "Ambiguous use of and as a keyword" in message and "check `query`" in message
    assert "#norauto -is:retweet" in message


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(SEARCH).respond_with_json({"title": "Service Unavailable"}, status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize("body", ['{"data": [', "[]", '{"data": {}}', "null", '{"meta": "x"}'])
async def test_malformed_search_answer_is_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: str
) -> None:
    httpserver.expect_request(SEARCH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_token(exc.value)


@pytest.mark.parametrize("body", ['{"data": [', "{}", '{"data": "x"}'])
async def test_malformed_users_answer_is_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: str
) -> None:
    httpserver.expect_request(USERS).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError):
        await source(httpserver, http, query="", accounts=["norauto"]).poll()


async def test_missing_token_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no bearer_token.*WALL_SOURCES__XNEWS__BEARER_TOKEN"):
        await source(httpserver, http, bearer_token=None).poll()
    assert httpserver.log == []


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    echo = {"title": "Error", "detail": f"Bad token {TOKEN}", "errors": [{"message": f"token {TOKEN}"}]}
    for status in (400, 401, 402, 403, 404, 429, 500):
        httpserver.clear()
        httpserver.expect_request(SEARCH).respond_with_json(echo, status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_token(exc.value)


# -- the CLI ----------------------------------------------------------------------------------------------


def wall(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_wall_fetch_prints_posts_and_counts_and_never_the_token(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(SEARCH, headers=bearer()).respond_with_json(load("search_recent.json"))
    httpserver.expect_request(USERS, headers=bearer()).respond_with_json(load("users_by_partial.json"))
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        '[[sources]]\nname = "xnews"\ntype = "x"\n'
        f'base_url = "{base(httpserver)}"\n'
        f'query = "{QUERY}"\naccounts = ["norauto", "NorautoPro"]\n',
        encoding="utf-8",
    )

    result = wall(
        "fetch", "xnews", "--json", "--config", str(path), env={"WALL_SOURCES__XNEWS__BEARER_TOKEN": TOKEN}
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    posts = [line for line in lines if line["type"] == "post"]
    assert [p["url"] for p in posts] == [
        f"https://x.com/claire_d/status/{CLAIRE}",
        f"https://x.com/bob_k/status/{BOB}",
        f"https://x.com/dave_rides/status/{DAVE}",
    ]
    assert posts[0]["network"] == "x" and posts[0]["media"] == [PHOTO] and posts[2]["sensitive"] is True
    assert [line for line in lines if line["type"] == "count"] == [
        {"type": "count", "network": "x", "account": "norauto", "value": 48213}
    ]
    assert TOKEN not in result.stdout and TOKEN not in result.stderr

    httpserver.clear()
    httpserver.expect_request(SEARCH).respond_with_json(load("error_unauthorized.json"), status=401)
    refused = wall(
        "fetch", "xnews", "--json", "--config", str(path), env={"WALL_SOURCES__XNEWS__BEARER_TOKEN": TOKEN}
    )
    assert refused.returncode == 1 and "check `bearer_token`" in refused.stderr
    assert TOKEN not in refused.stdout and TOKEN not in refused.stderr
