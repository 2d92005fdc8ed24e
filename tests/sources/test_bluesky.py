"""Bluesky source: searched posts and follower counts from documented XRPC payloads, over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import atproto
import httpx
import pytest
import pytest_asyncio
from atproto_client.models.utils import get_or_create
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.bluesky import BlueskySettings, BlueskySource, parse_post, parse_profile_count
from wall.core.model import Author, Count, Media

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bluesky"
SESSION = "/xrpc/com.atproto.server.createSession"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
PROFILE = "/xrpc/app.bsky.actor.getProfile"
IDENTIFIER = "wall-bot.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
TOKEN = "eyJhbGciOiJFUzI1NksifQ.access-one.sig"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
QUERY = {"q": "norauto", "sort": "latest", "limit": "25"}
CLAIRE_URI = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lqj2x7kz4c2a"


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text())


def settings(base_url: str, **values: Any) -> BlueskySettings:
    values.setdefault("query", "norauto")
    values.setdefault("identifier", IDENTIFIER)
    values.setdefault("app_password", PASSWORD)
    return BlueskySettings(name="bsky", type="bluesky", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def source(httpserver: HTTPServer, http: HttpFetcher, **values: Any) -> BlueskySource:
    return BlueskySource(settings(base(httpserver), **values), http, clock=lambda: NOW)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expect_session(httpserver: HTTPServer, payload: dict[str, Any] | None = None) -> None:
    httpserver.expect_oneshot_request(
        SESSION, method="POST", json={"identifier": IDENTIFIER, "password": PASSWORD}
    ).respond_with_json(payload or load("session.json"))


def assert_no_secret(error: BaseException) -> None:
    for secret in (PASSWORD, TOKEN):
        assert secret not in str(error) and secret not in repr(error)
    assert error.__cause__ is None or PASSWORD not in str(error.__cause__)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- fixtures, parsing and settings ------------------------------------------------------------------


def test_fixtures_have_the_shape_of_the_atproto_models() -> None:
    models = atproto.models
    for name in ("search_query.json", "search_query_newer.json", "search_tag.json"):
        response = get_or_create(
            load(name), models.AppBskyFeedSearchPosts.Response, strict_string_format=True
        )
        assert isinstance(response, models.AppBskyFeedSearchPosts.Response) and response.posts
    profile = get_or_create(
        load("profile.json"), models.AppBskyActorDefs.ProfileViewDetailed, strict_string_format=True
    )
    assert isinstance(profile, models.AppBskyActorDefs.ProfileViewDetailed)
    session = models.ComAtprotoServerCreateSession.Response.model_validate(load("session.json"))
    assert session.access_jwt == TOKEN


def test_post_view_gives_a_clean_post_with_link_image_and_tags() -> None:
    post = parse_post(load("search_query.json")["posts"][0], source="bsky")

    assert post is not None
    assert post.id == CLAIRE_URI
    assert post.url == "https://bsky.app/profile/claire.example.com/post/3lqj2x7kz4c2a"
    assert (
        post.text == "Super accueil chez @norauto.bsky.social à Lyon ! #norauto"
    )  # bell removed, spaces collapsed
    assert post.author.name == "Claire D." and post.author.handle == "@claire.example.com"  # no bidi override
    assert post.author.avatar_url.startswith("https://cdn.bsky.app/img/avatar/")
    assert post.media == (
        Media(
            "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:ewvi7nxzyoun6zhxrhs64oiz/bafkreiimg1@jpeg",
            "L'atelier de Lyon, vu de l'entrée",
            "image",
            "https://cdn.bsky.app/img/feed_thumbnail/plain/did:plc:ewvi7nxzyoun6zhxrhs64oiz/bafkreiimg1@jpeg",
        ),
    )
    assert post.tags == ("norauto",)
    assert post.language == "fr" and not post.is_reply and not post.sensitive
    assert post.created_at == datetime(2025, 6, 2, 8, 40, tzinfo=UTC)
    assert post.network == "bluesky" and post.kind == "mention"


def test_reply_and_labelled_posts() -> None:
    _, reply, labelled = load("search_query.json")["posts"]

    parsed_reply = parse_post(reply, source="bsky")
    parsed_labelled = parse_post(labelled, source="bsky")

    assert parsed_reply is not None and parsed_reply.is_reply and parsed_reply.language == "en"
    assert parsed_reply.author == Author("bob.bsky.social", "@bob.bsky.social", "")  # no display name
    assert parsed_labelled is not None and parsed_labelled.sensitive and not parsed_labelled.is_reply


def test_negated_or_harmless_labels_are_not_sensitive() -> None:
    labelled = load("search_query.json")["posts"][2]
    labelled["labels"][0]["neg"] = True
    assert parse_post(labelled, source="bsky").sensitive is False  # type: ignore[union-attr]
    labelled["labels"] = [{"src": "did:plc:x", "uri": labelled["uri"], "val": "!no-unauthenticated"}]
    assert parse_post(labelled, source="bsky").sensitive is False  # type: ignore[union-attr]


def test_future_created_at_is_capped_at_indexed_at() -> None:
    raw = load("search_query_newer.json")["posts"][0]
    raw["record"]["createdAt"] = "2099-01-01T00:00:00Z"

    post = parse_post(raw, source="bsky")

    assert post is not None and post.created_at == datetime(2025, 6, 2, 8, 55, 0, 300000, tzinfo=UTC)


@pytest.mark.parametrize("damage", [None, [], {"uri": "https://x"}, {"uri": CLAIRE_URI, "author": {}}])
def test_something_that_is_not_a_post_view_gives_no_post(damage: Any) -> None:
    assert parse_post(damage, source="bsky") is None


def test_profile_gives_followers_labelled_with_display_name() -> None:
    count = parse_profile_count(
        load("profile.json"), source="bsky", account="norauto.bsky.social", observed_at=NOW
    )

    assert count == Count(
        "bsky", "bluesky", "norauto.bsky.social", 182340, NOW, "Norauto France", "followers"
    )


def test_profile_without_followers_count_is_unknown_not_zero() -> None:
    profile = load("profile.json")
    del profile["followersCount"], profile["displayName"]

    count = parse_profile_count(profile, source="bsky", account="norauto.bsky.social", observed_at=NOW)

    assert count is not None and count.value is None and count.label == "norauto.bsky.social"


def test_settings_normalise_hashtags_and_accounts() -> None:
    values = settings(
        "https://example.test/",
        hashtags=["#Norauto", "norauto", " ete2025 "],
        accounts=["@Norauto.bsky.social", "norauto.bsky.social", "did:plc:z72i7hdynmk6r22z27h6tvur"],
    )

    assert values.hashtags == ["Norauto", "ete2025"]
    assert values.accounts == ["norauto.bsky.social", "did:plc:z72i7hdynmk6r22z27h6tvur"]
    assert values.base_url == "https://example.test"
    assert (
        BlueskySettings(name="b", type="bluesky", accounts=["a.bsky.social"]).base_url
        == "https://bsky.social"
    )
    assert values.limit == 25


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"query": ""}, "at least one of `query`, `hashtags` or `accounts`"),
        ({"hashtags": ["two words"]}, "is not a hashtag"),
        ({"accounts": ["not a handle"]}, "is not a Bluesky handle"),
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": 101}, "less than or equal to 100"),
        ({"base_url": f"https://example.test/?password={PASSWORD}"}, "goes in `app_password`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://example.test")
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        settings(**values)
    assert PASSWORD not in str(exc.value)


def test_app_password_is_never_shown() -> None:
    values = settings("https://example.test")

    assert PASSWORD not in repr(values) and PASSWORD not in str(values)
    assert PASSWORD not in values.model_dump_json()
    assert PASSWORD not in repr(BlueskySource(values, HttpFetcher(httpx.AsyncClient())))


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_session_is_created_and_its_token_sent_on_search(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_session(httpserver)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        load("search_query.json")
    )

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [
        CLAIRE_URI,
        "at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/3lqj2v5ab6d7e",
        "at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/3lqj2t3ab4c5d",
    ]
    assert [(p.is_reply, p.sensitive, len(p.media)) for p in batch.posts] == [
        (False, False, 1),
        (True, False, 0),
        (False, True, 0),
    ]
    assert batch.posts[0].media[0].alt == "L'atelier de Lyon, vu de l'entrée"
    assert {p.source for p in batch.posts} == {"bsky"} and batch.counts == ()
    httpserver.check_assertions()


async def test_second_poll_returns_only_new_posts_and_reuses_the_session(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_session(httpserver)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        load("search_query.json")
    )
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        load("search_query_newer.json")
    )
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        load("search_query_newer.json")
    )
    bsky = source(httpserver, http)

    first = await bsky.poll()
    second = await bsky.poll()
    third = await bsky.poll()

    assert len(first.posts) == 3
    assert [p.url for p in second.posts] == ["https://bsky.app/profile/claire.example.com/post/3lqj3a2bc3d4e"]
    assert third.posts == ()
    httpserver.check_assertions()  # one session for all three polls


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_session(httpserver)
    expect_session(httpserver)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY).respond_with_json(load("search_query.json"))
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY).respond_with_json(
        load("search_query_newer.json")
    )
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert [p.id.rsplit("/", 1)[-1] for p in batch.posts] == ["3lqj3a2bc3d4e"]


def test_restore_drops_unknown_or_malformed_cursors() -> None:
    bsky = BlueskySource(settings("https://example.test"), HttpFetcher(httpx.AsyncClient()))
    bsky.restore({"cursors": {"q:other": {"indexed_at": "2025-06-02T08:00:00Z", "uris": []}, "q:norauto": 3}})
    assert bsky.state() == {"cursors": {}}
    bsky.restore({"cursors": "nonsense"})
    assert bsky.state() == {"cursors": {}}


async def test_hashtags_use_the_tag_parameter_and_posts_appear_once(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_session(httpserver)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        load("search_query.json")
    )
    httpserver.expect_oneshot_request(
        SEARCH,
        query_string={"q": "#norauto", "tag": "norauto", "sort": "latest", "limit": "25"},
        headers=bearer(),
    ).respond_with_json(load("search_tag.json"))

    batch = await source(httpserver, http, hashtags=["#norauto"]).poll()

    uris = [p.id for p in batch.posts]
    assert len(uris) == len(set(uris)) == 4
    assert uris[-1].endswith("/3lqj2w6ab7c8d")
    httpserver.check_assertions()


async def test_follower_counts_send_the_token_when_there_is_one(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_session(httpserver)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY).respond_with_json({"posts": []})
    httpserver.expect_oneshot_request(
        PROFILE, query_string={"actor": "norauto.bsky.social"}, headers=bearer()
    ).respond_with_json(load("profile.json"))

    batch = await source(httpserver, http, accounts=["@norauto.bsky.social"]).poll()

    assert batch.counts == (
        Count("bsky", "bluesky", "norauto.bsky.social", 182340, NOW, "Norauto France", "followers"),
    )
    assert batch.posts == ()
    httpserver.check_assertions()


async def test_counts_alone_need_no_login(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(
        PROFILE, query_string={"actor": "norauto.bsky.social"}
    ).respond_with_json(load("profile.json"))

    bsky = source(
        httpserver, http, query="", accounts=["norauto.bsky.social"], identifier="", app_password=None
    )
    batch = await bsky.poll()

    assert [c.value for c in batch.counts] == [182340]
    assert all(r.path != SESSION and "Authorization" not in r.headers for r, _ in httpserver.log)


async def test_unknown_account_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(PROFILE).respond_with_json(
        {"error": "InvalidRequest", "message": "Profile not found"}, status=400
    )

    with pytest.raises(ConfigError, match=re.escape("account 'nobody.bsky.social'")):
        await source(httpserver, http, query="", accounts=["nobody.bsky.social"]).poll()


async def test_wrong_password_is_an_auth_error_without_the_password(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(SESSION, method="POST").respond_with_json(
        {"error": "AuthenticationRequired", "message": f"Invalid identifier or password {PASSWORD}"},
        status=401,
    )

    with pytest.raises(AuthError, match="check `identifier` and `app_password`") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_two_factor_requirement_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SESSION, method="POST").respond_with_json(
        {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent to your email"},
        status=401,
    )

    with pytest.raises(AuthError, match="AuthFactorTokenRequired") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_401_on_search_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_session(httpserver)
    httpserver.expect_request(SEARCH).respond_with_json(
        {"error": "AuthenticationRequired", "message": "Authentication Required"}, status=401
    )

    with pytest.raises(AuthError, match="AuthenticationRequired") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_missing_app_password_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no app_password.*WALL_SOURCES__BSKY__APP_PASSWORD"):
        await source(httpserver, http, app_password=None).poll()
    assert httpserver.log == []


async def test_429_with_ratelimit_reset_is_rate_limited(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_session(httpserver)
    reset = int(time.time()) + 120
    httpserver.expect_request(SEARCH).respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert 115 <= exc.value.retry_after <= 121
    assert_no_secret(exc.value)


async def test_expired_token_creates_one_new_session_then_succeeds(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    second = {**load("session.json"), "accessJwt": "eyJhbGciOiJFUzI1NksifQ.access-two.sig"}
    expect_session(httpserver)
    expect_session(httpserver, second)
    httpserver.expect_oneshot_request(SEARCH, query_string=QUERY, headers=bearer()).respond_with_json(
        {"error": "ExpiredToken", "message": "Token has expired"}, status=400
    )
    httpserver.expect_oneshot_request(
        SEARCH, query_string=QUERY, headers=bearer(second["accessJwt"])
    ).respond_with_json(load("search_query.json"))

    batch = await source(httpserver, http).poll()

    assert len(batch.posts) == 3
    assert [r.path for r, _ in httpserver.log] == [SESSION, SEARCH, SESSION, SEARCH]
    httpserver.check_assertions()


async def test_token_expired_again_is_an_auth_error_not_a_loop(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(SESSION, method="POST").respond_with_json(load("session.json"))
    httpserver.expect_request(SEARCH).respond_with_json({"error": "ExpiredToken"}, status=401)

    with pytest.raises(AuthError) as exc:
        await source(httpserver, http).poll()
    assert [r.path for r, _ in httpserver.log] == [SESSION, SEARCH, SESSION, SEARCH]
    assert_no_secret(exc.value)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    expect_session(httpserver)
    httpserver.expect_request(SEARCH).respond_with_json({"error": "InternalServerError"}, status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize("body", ['{"posts": [', "[]", '{"posts": null}', "null"])
async def test_malformed_search_answer_is_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: str
) -> None:
    expect_session(httpserver)
    httpserver.expect_request(SEARCH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_session_without_a_token_is_transient(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(SESSION, method="POST").respond_with_json({"handle": IDENTIFIER})

    with pytest.raises(TransientError, match="no accessJwt"):
        await source(httpserver, http).poll()


async def test_every_error_the_source_raises_hides_the_secrets(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for status in (400, 401, 403, 404, 429, 500):
        httpserver.clear()
        httpserver.expect_request(SESSION, method="POST").respond_with_json(
            {"error": "Whatever", "message": PASSWORD}, status=status
        )
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)
