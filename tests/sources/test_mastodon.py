"""Mastodon source: parsing of documented Status/Account payloads, and polling over real HTTP."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, TransientError
from sources.mastodon import (
    MastodonSettings,
    MastodonSource,
    parse_follower_count,
    parse_link_header,
    parse_status,
    parse_statuses,
)
from wall.core.model import Author, Media

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mastodon"
TAG_PATH = "/api/v1/timelines/tag/brand"
LOOKUP_PATH = "/api/v1/accounts/lookup"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
TOKEN = "s3cret-t0ken-value"


def load(name: str) -> Any:
    """A fixture payload, freshly decoded (tests may change it)."""
    return json.loads((FIXTURES / name).read_text())


def timeline() -> list[dict[str, Any]]:
    """The documented-shape hashtag page: original, boost, sensitive with media, reply."""
    payload: list[dict[str, Any]] = load("tag_timeline.json")
    return payload


def make_status(status_id: str, text: str = "") -> dict[str, Any]:
    """A plain public status with the given id, built from the fixture's first status."""
    status = copy.deepcopy(timeline()[0])
    status["id"] = status_id
    status["content"] = f"<p>{text or 'post ' + status_id}</p>"
    status["url"] = f"https://mastodon.example/@lea/{status_id}"
    return status


def parse(obj: Any) -> Any:
    return parse_status(obj, source="masto", kind="mention", instance_host="mastodon.example")


def settings(base_url: str, **values: Any) -> MastodonSettings:
    values.setdefault("hashtags", ["brand"])
    return MastodonSettings(name="masto", type="mastodon", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing: what the wall would show ---------------------------------------------------------------


def test_original_post_shows_plain_text_author_and_times() -> None:
    post = parse(timeline()[0])

    assert post.id == "113500000000000040"
    assert post.network == "mastodon" and post.source == "masto" and post.kind == "mention"
    assert post.text == "Merci @brand pour l'accueil ce matin ! #brand\nCafé & croissants <3"
    assert post.author == Author(
        "Léa Martin",
        "@lea@mastodon.example",  # a local account gets the instance's domain
        "https://files.mastodon.example/accounts/avatars/109900000000000001/original/avatar.png",
    )
    assert post.url == "https://mastodon.example/@lea/113500000000000040"
    assert post.created_at == datetime(2025, 6, 2, 8, 15, 30, tzinfo=UTC)
    assert post.edited_at == datetime(2025, 6, 2, 8, 20, tzinfo=UTC)
    assert post.language == "fr"
    assert post.tags == ("brand",)
    assert not post.sensitive and not post.is_reply and post.boosted_by is None and post.media == ()


def test_boost_shows_the_boosted_status_and_who_boosted_it() -> None:
    post = parse(timeline()[1])

    assert post.id == "113499000000000007"  # the boosted status, not the boost
    assert post.text == "Le nouveau hall est magnifique #brand\nOn y retourne demain."
    assert post.author.name == "marc"  # empty display_name: the username
    assert post.author.handle == "@marc@social.example"
    assert post.boosted_by is not None
    assert (post.boosted_by.name, post.boosted_by.handle) == ("Relais Lyon", "@relais@relay.example")
    assert post.created_at == datetime(2025, 6, 1, 17, 45, tzinfo=UTC)
    assert post.url == "https://social.example/@marc/113499000000000007"


def test_sensitive_post_keeps_spoiler_and_media_alt_text() -> None:
    post = parse(timeline()[2])

    assert post.sensitive is True
    assert post.spoiler_text == "Spoiler : nouveau produit"
    assert post.language == "en"
    assert post.tags == ("brand", "salon2025")
    assert post.author.name == "Nina 📷"
    files = "https://files.photos.example/media_attachments/files/022/345"
    assert post.media == (
        Media(
            f"{files}/678/original/stand.jpg",
            "Le stand de la marque, avec trois personnes devant un mur d'écrans",
            "image",
            f"{files}/678/small/stand.jpg",
        ),
        Media(f"{files}/679/original/loop.mp4", "", "gifv", f"{files}/679/small/loop.png"),
    )  # the "unknown" attachment is not shown


def test_reply_is_marked() -> None:
    post = parse(timeline()[3])

    assert post.is_reply is True
    assert post.text == "@lea oui, c'est au rez-de-chaussée #brand"
    assert post.author.handle == "@sam@mastodon.example"


def test_statuses_keep_api_order() -> None:
    posts = parse_statuses(timeline(), source="masto", kind="internal", instance_host="mastodon.example")

    assert [p.id for p in posts] == [
        "113500000000000040",
        "113499000000000007",
        "113500000000000030",
        "113500000000000021",
    ]
    assert {p.kind for p in posts} == {"internal"}


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s.pop("id"),
        lambda s: s.update(id=113500000000000040),
        lambda s: s.update(id=""),
        lambda s: s.pop("account"),
        lambda s: s.update(account="lea"),
        lambda s: s["account"].update(acct=None, username=None),
        lambda s: s.pop("created_at"),
        lambda s: s.update(created_at="yesterday"),
        lambda s: s.update(reblog="113499000000000007"),
        lambda s: s.update(reblog={"id": "1"}),
    ],
    ids=[
        "no-id",
        "int-id",
        "empty-id",
        "no-account",
        "account-not-object",
        "account-without-acct",
        "no-created_at",
        "bad-created_at",
        "reblog-not-object",
        "reblog-without-account",
    ],
)
def test_malformed_status_is_skipped_and_the_rest_kept(damage: Any) -> None:
    statuses = timeline()
    damage(statuses[0])
    page: list[Any] = ["not a status", *statuses]

    posts = parse_statuses(page, source="masto", kind="mention", instance_host="mastodon.example")

    assert [p.id for p in posts] == ["113499000000000007", "113500000000000030", "113500000000000021"]


def test_boost_by_an_unreadable_account_is_skipped() -> None:
    boost = timeline()[1]
    boost["account"] = {"id": "3"}

    assert parse(boost) is None


def test_media_and_tags_of_the_wrong_type_are_ignored() -> None:
    status = timeline()[2]
    status["media_attachments"] = {"0": status["media_attachments"][0]}
    status["tags"] = "brand"

    post = parse(status)

    assert (post.media, post.tags) == ((), ())
    assert post.text == "Les coulisses du salon #brand #salon2025"


@pytest.mark.parametrize("visibility", ["unlisted", "private", "direct"])
def test_status_not_meant_for_public_timelines_is_not_shown(visibility: str) -> None:
    status = timeline()[0]
    status["visibility"] = visibility

    assert parse(status) is None


def test_payload_that_is_not_a_list_is_a_transient_error() -> None:
    with pytest.raises(TransientError, match="expected a list of statuses"):
        parse_statuses({"error": "oops"}, source="masto", kind="mention", instance_host="mastodon.example")


def test_only_http_urls_are_kept() -> None:
    status = timeline()[2]
    status["url"] = "javascript:alert(1)"
    status["uri"] = "https://photos.example/users/nina/statuses/113500000000000030"
    status["account"]["avatar_static"] = "data:image/png;base64,AAAA"
    status["account"]["avatar"] = "file:///etc/passwd"
    status["media_attachments"][0]["url"] = "ftp://files.photos.example/stand.jpg"
    status["media_attachments"][1]["preview_url"] = "javascript:void(0)"

    post = parse(status)

    assert post.url == "https://photos.example/users/nina/statuses/113500000000000030"  # uri when url is bad
    assert post.author.avatar_url == ""
    assert [(m.kind, m.preview_url) for m in post.media] == [("gifv", "")]


def test_markup_in_content_and_names_never_reaches_the_screen() -> None:
    status = timeline()[0]
    status["content"] = '<p>Hi<script>alert("x")</script> <img src="https://t.example/p.gif"> there</p>'
    status["account"]["display_name"] = "Evil\u202eeman"
    status["spoiler_text"] = "CW\x00 here"

    post = parse(status)

    assert post.text == "Hi there"
    assert post.author.name == "Evileman"
    assert post.spoiler_text == "CW here"


def test_account_gives_a_follower_count_labelled_with_its_name() -> None:
    count = parse_follower_count(
        load("account_lookup.json"), source="masto", account="brand", observed_at=NOW
    )

    assert count is not None
    assert (count.network, count.account, count.value, count.label, count.metric) == (
        "mastodon",
        "brand",
        180000,
        "Brand France",
        "followers",
    )
    assert count.observed_at == NOW


def test_hidden_follower_count_is_unknown_not_zero() -> None:
    account = load("account_lookup.json")
    account["followers_count"] = -1
    account["display_name"] = ""

    count = parse_follower_count(account, source="masto", account="brand", observed_at=NOW)

    assert count is not None and count.value is None and count.label == "brand"
    assert parse_follower_count(["brand"], source="masto", account="brand", observed_at=NOW) is None


def test_link_header_gives_each_relation() -> None:
    header = (
        '<https://m.example/api/v1/timelines/tag/a?max_id=10>; rel="next", '
        '<https://m.example/api/v1/timelines/tag/a?min_id=20&limit=3>; rel="prev"'
    )
    assert parse_link_header(header) == {
        "next": "https://m.example/api/v1/timelines/tag/a?max_id=10",
        "prev": "https://m.example/api/v1/timelines/tag/a?min_id=20&limit=3",
    }
    assert parse_link_header("") == {}
    assert parse_link_header("<https://m.example/x>; title=x, garbage") == {}


# -- settings ------------------------------------------------------------------------------------


def test_settings_clean_hashtags_and_accounts() -> None:
    s = settings("https://mastodon.example/", hashtags=["#Brand", " lobby ", "brand"], accounts=["@brand"])

    assert s.base_url == "https://mastodon.example"
    assert s.hashtags == ["Brand", "lobby"]
    assert s.accounts == ["brand"]
    assert (s.limit, s.max_pages, s.token) == (40, 10, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base_url": "mastodon.example"}, "is not an http(s) URL"),
        ({"base_url": "ftp://mastodon.example"}, "is not an http(s) URL"),
        ({"base_url": "https://mastodon.example/?x=1"}, "must not have a query, fragment or password"),
        ({"hashtags": [], "accounts": []}, "at least one entry in `hashtags` or `accounts`"),
        ({"hashtags": ["two words"]}, "is not a hashtag"),
        ({"hashtags": ["#"]}, "is not a hashtag"),
        ({"accounts": ["a b@c"]}, "is not an account"),
        ({"limit": 41}, "less than or equal to 40"),
        ({"max_pages": 0}, "greater than or equal to 1"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    values.setdefault("base_url", "https://mastodon.example")
    with pytest.raises(ValidationError, match=re.escape(message)):
        settings(**values)


def test_token_is_never_shown() -> None:
    s = settings("https://mastodon.example", token=TOKEN)

    assert TOKEN not in repr(s) and TOKEN not in str(s) and TOKEN not in s.model_dump_json()
    assert MastodonSettings.secret_fields == ("token",)


# -- polling over HTTP ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_first_poll_reads_the_latest_page(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_ordered_request(TAG_PATH, query_string={"limit": "40"}).respond_with_json(timeline())
    source = MastodonSource(settings(base(httpserver)), http)

    batch = await source.poll()

    assert [p.id for p in batch.posts] == [
        "113500000000000040",
        "113499000000000007",
        "113500000000000030",
        "113500000000000021",
    ]
    assert batch.counts == ()
    # The cursor is the newest status of the page (the boost's own id), not a parsed post id.
    assert source.state() == {"cursors": {"brand": "113500000000000040"}}
    httpserver.check_assertions()


@pytest.mark.asyncio
async def test_later_poll_follows_link_prev_across_pages(httpserver: HTTPServer, http: HttpFetcher) -> None:
    def link_to(min_id: str) -> dict[str, str]:
        # Mastodon repeats filter parameters in its links; `only_media` shows the link was followed verbatim.
        prev = httpserver.url_for(TAG_PATH) + f"?min_id={min_id}&limit=3&only_media=false"
        old = httpserver.url_for(TAG_PATH) + "?max_id=1&limit=3"
        return {"Link": f'<{old}>; rel="next", <{prev}>; rel="prev"'}

    pages = [["c3", "b2", "a1"], ["f6", "e5", "d4"], ["g7"]]
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "3", "min_id": "z0"}
    ).respond_with_json([make_status(i) for i in pages[0]], headers=link_to("c3"))
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"min_id": "c3", "limit": "3", "only_media": "false"}
    ).respond_with_json([make_status(i) for i in pages[1]], headers=link_to("f6"))
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"min_id": "f6", "limit": "3", "only_media": "false"}
    ).respond_with_json([make_status(i) for i in pages[2]], headers=link_to("g7"))
    source = MastodonSource(settings(base(httpserver), limit=3), http)
    source.restore({"cursors": {"brand": "z0"}})

    batch = await source.poll()

    # Ids are opaque: the order is the API's (newest page last, newest first within a page).
    assert [p.id for p in batch.posts] == ["g7", "f6", "e5", "d4", "c3", "b2", "a1"]
    assert source.state() == {"cursors": {"brand": "g7"}}
    assert len(httpserver.log) == 3
    httpserver.check_assertions()


@pytest.mark.asyncio
async def test_without_link_header_pages_on_with_min_id(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "2", "min_id": "0a"}
    ).respond_with_json([make_status("2b"), make_status("1c")])
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "2", "min_id": "2b"}
    ).respond_with_json([])
    source = MastodonSource(settings(base(httpserver), limit=2), http)
    source.restore({"cursors": {"brand": "0a"}})

    batch = await source.poll()

    assert [p.id for p in batch.posts] == ["2b", "1c"]
    assert source.state() == {"cursors": {"brand": "2b"}}
    httpserver.check_assertions()


@pytest.mark.asyncio
async def test_link_to_another_host_is_not_followed(httpserver: HTTPServer, http: HttpFetcher) -> None:
    elsewhere = {"Link": '<https://collector.example/steal?min_id=2>; rel="prev"'}
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "1", "min_id": "1"}, headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json([make_status("2")], headers=elsewhere)
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "1", "min_id": "2"}, headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json([])
    source = MastodonSource(settings(base(httpserver), limit=1, token=TOKEN), http)
    source.restore({"cursors": {"brand": "1"}})

    batch = await source.poll()

    assert [p.id for p in batch.posts] == ["2"]
    httpserver.check_assertions()


@pytest.mark.asyncio
async def test_max_pages_caps_a_poll_and_the_next_poll_resumes(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for cursor, newest in [("0", "1"), ("1", "2")]:
        httpserver.expect_ordered_request(
            TAG_PATH, query_string={"limit": "1", "min_id": cursor}
        ).respond_with_json([make_status(newest)])
    source = MastodonSource(settings(base(httpserver), limit=1, max_pages=2), http)
    source.restore({"cursors": {"brand": "0"}})

    first = await source.poll()

    assert [p.id for p in first.posts] == ["2", "1"]
    httpserver.check_assertions()
    httpserver.clear()
    httpserver.expect_ordered_request(TAG_PATH, query_string={"limit": "1", "min_id": "2"}).respond_with_json(
        []
    )

    second = await source.poll()

    assert second.posts == ()
    assert source.state() == {"cursors": {"brand": "2"}}
    httpserver.check_assertions()


@pytest.mark.asyncio
async def test_server_ignoring_min_id_does_not_loop(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json([make_status("9")])
    source = MastodonSource(settings(base(httpserver), limit=1, max_pages=100), http)
    source.restore({"cursors": {"brand": "1"}})

    batch = await source.poll()

    assert [p.id for p in batch.posts] == ["9"]
    assert len(httpserver.log) == 2


@pytest.mark.asyncio
async def test_a_status_under_two_hashtags_is_shown_once(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json([make_status("5"), make_status("5")])
    httpserver.expect_request("/api/v1/timelines/tag/lobby").respond_with_json(
        [make_status("6"), make_status("5")]
    )
    source = MastodonSource(settings(base(httpserver), hashtags=["brand", "lobby"]), http)

    batch = await source.poll()

    assert [p.id for p in batch.posts] == ["5", "6"]
    assert source.state() == {"cursors": {"brand": "5", "lobby": "6"}}


@pytest.mark.asyncio
async def test_hashtag_is_escaped_in_the_path(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request("/api/v1/timelines/tag/café").respond_with_json([make_status("1", "Un café")])
    source = MastodonSource(settings(base(httpserver), hashtags=["café"]), http)

    batch = await source.poll()

    assert [p.text for p in batch.posts] == ["Un café"]
    assert httpserver.log[0][0].environ["RAW_URI"].startswith("/api/v1/timelines/tag/caf%C3%A9?")


@pytest.mark.asyncio
async def test_accounts_give_follower_counts(httpserver: HTTPServer, http: HttpFetcher) -> None:
    other = load("account_lookup.json") | {
        "acct": "lobby@other.example",
        "display_name": "",
        "username": "lobby",
    }
    other["followers_count"] = 42
    httpserver.expect_request(LOOKUP_PATH, query_string={"acct": "brand"}).respond_with_json(
        load("account_lookup.json")
    )
    httpserver.expect_request(LOOKUP_PATH, query_string={"acct": "lobby@other.example"}).respond_with_json(
        other
    )
    source = MastodonSource(
        settings(base(httpserver), hashtags=[], accounts=["brand", "@lobby@other.example"]),
        http,
        clock=lambda: NOW,
    )

    batch = await source.poll()

    assert batch.posts == ()
    assert [(c.account, c.value, c.label, c.observed_at) for c in batch.counts] == [
        ("brand", 180000, "Brand France", NOW),
        ("lobby@other.example", 42, "lobby", NOW),
    ]
    assert {c.network for c in batch.counts} == {"mastodon"}


@pytest.mark.asyncio
async def test_unknown_account_names_the_account_to_fix(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json({"error": "Record not found"}, status=404)
    source = MastodonSource(settings(base(httpserver), hashtags=[], accounts=["nobody"]), http)

    with pytest.raises(ConfigError, match=r"'nobody' not found on .*check `accounts`"):
        await source.poll()


@pytest.mark.asyncio
async def test_account_answer_of_the_wrong_shape_is_transient(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json([])
    source = MastodonSource(settings(base(httpserver), hashtags=[], accounts=["brand"]), http)

    with pytest.raises(TransientError, match="expected an account"):
        await source.poll()


@pytest.mark.asyncio
async def test_token_is_sent_as_bearer(httpserver: HTTPServer, http: HttpFetcher) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request(TAG_PATH, headers=bearer).respond_with_json([])
    httpserver.expect_request(LOOKUP_PATH, headers=bearer).respond_with_json(load("account_lookup.json"))
    source = MastodonSource(settings(base(httpserver), accounts=["brand"], token=TOKEN), http)

    batch = await source.poll()

    assert [c.value for c in batch.counts] == [180000]
    assert TOKEN not in repr(source)


@pytest.mark.asyncio
async def test_no_authorization_header_without_token(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json([])
    await MastodonSource(settings(base(httpserver)), http).poll()

    assert "Authorization" not in httpserver.log[0][0].headers


@pytest.mark.asyncio
async def test_rate_limit_waits_as_told(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "120"}
    )
    source = MastodonSource(settings(base(httpserver), token=TOKEN), http)

    with pytest.raises(RateLimited) as caught:
        await source.poll()

    assert caught.value.retry_after == 120
    assert TOKEN not in str(caught.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "error", "body"),
    [
        (401, AuthError, '{"error": "The access token is invalid"}'),
        (403, AuthError, '{"error": "This action is not allowed"}'),
        (500, TransientError, "<html>We're sorry, but something went wrong.</html>"),
        (200, TransientError, '[{"id": "1", '),
        (200, TransientError, '{"error": "not a list"}'),
    ],
    ids=["401", "403", "500", "malformed-json", "not-a-list"],
)
async def test_failures_map_to_the_error_tree_without_the_token(
    httpserver: HTTPServer, http: HttpFetcher, status: int, error: type[Exception], body: str
) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_data(
        body, status=status, content_type="application/json"
    )
    source = MastodonSource(settings(base(httpserver), token=TOKEN), http)

    with pytest.raises(error) as caught:
        await source.poll()

    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert source.state() == {"cursors": {}}


@pytest.mark.asyncio
async def test_failed_poll_keeps_the_cursor_so_nothing_is_lost(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_ordered_request(TAG_PATH, query_string={"limit": "1", "min_id": "1"}).respond_with_json(
        [make_status("2")]
    )
    httpserver.expect_ordered_request(TAG_PATH, query_string={"limit": "1", "min_id": "2"}).respond_with_data(
        "busy", status=503
    )
    source = MastodonSource(settings(base(httpserver), limit=1), http)
    source.restore({"cursors": {"brand": "1"}})

    with pytest.raises(TransientError):
        await source.poll()

    assert source.state() == {"cursors": {"brand": "1"}}


@pytest.mark.asyncio
async def test_failed_lookup_after_new_statuses_keeps_the_cursor(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(TAG_PATH).respond_with_json([make_status("2")])
    httpserver.expect_request(LOOKUP_PATH).respond_with_data("busy", status=502)
    source = MastodonSource(settings(base(httpserver), accounts=["brand"]), http)
    source.restore({"cursors": {"brand": "1"}})

    with pytest.raises(TransientError):
        await source.poll()

    assert source.state() == {"cursors": {"brand": "1"}}  # status 2 comes again with the next poll


@pytest.mark.asyncio
async def test_state_restored_in_a_new_source_resumes_with_min_id(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_ordered_request(TAG_PATH, query_string={"limit": "40"}).respond_with_json(timeline())
    first = MastodonSource(settings(base(httpserver)), http)
    await first.poll()
    saved = json.loads(json.dumps(first.state()))  # what the poller persists
    httpserver.expect_ordered_request(
        TAG_PATH, query_string={"limit": "40", "min_id": "113500000000000040"}
    ).respond_with_json([make_status("113500000000000050", "Nouveau")])

    restarted = MastodonSource(settings(base(httpserver)), http)
    restarted.restore(saved)
    batch = await restarted.poll()

    assert [(p.id, p.text) for p in batch.posts] == [("113500000000000050", "Nouveau")]
    assert restarted.state() == {"cursors": {"brand": "113500000000000050"}}
    httpserver.check_assertions()


def test_restore_ignores_unknown_hashtags_and_bad_values() -> None:
    source = MastodonSource(settings("https://mastodon.example", hashtags=["brand", "lobby"]), http=None)  # type: ignore[arg-type]

    source.restore({"cursors": {"brand": "10", "removed": "4", "lobby": 7}})
    assert source.state() == {"cursors": {"brand": "10"}}
    source.restore({"cursors": "garbage"})  # no usable cursor: start again from the latest page
    assert source.state() == {"cursors": {}}
