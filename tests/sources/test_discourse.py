"""Discourse source: latest posts, edits, deletions and categories from documented payloads, over HTTP."""

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
from sources.discourse import DiscourseSettings, DiscourseSource, category_ids, parse_cooked, parse_post
from wall.core.model import Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "discourse"
POSTS = "/posts.json"
CATEGORIES = "/categories.json"
API_KEY = "d1s-c0urse-k3y-0123456789abcdef"
FORUM = "https://forum.example.com"
# Keys Discourse's API schema (spec/requests/api/schemas/json/latest_posts_response.json) requires
# in each `latest_posts` entry; the fixtures carry all of them and nothing else.
POST_KEYS = frozenset(
    [
        "id",
        "name",
        "username",
        "avatar_template",
        "created_at",
        "cooked",
        "post_number",
        "post_type",
        "posts_count",
        "updated_at",
        "reply_count",
        "reply_to_post_number",
        "quote_count",
        "incoming_link_count",
        "reads",
        "readers_count",
        "score",
        "yours",
        "topic_id",
        "topic_slug",
        "topic_title",
        "topic_html_title",
        "category_id",
        "display_username",
        "primary_group_name",
        "flair_name",
        "flair_url",
        "flair_bg_color",
        "flair_color",
        "flair_group_id",
        "badges_granted",
        "version",
        "can_edit",
        "can_delete",
        "can_recover",
        "can_see_hidden_post",
        "can_wiki",
        "user_title",
        "bookmarked",
        "raw",
        "actions_summary",
        "moderator",
        "admin",
        "staff",
        "user_id",
        "hidden",
        "trust_level",
        "deleted_at",
        "user_deleted",
        "edit_reason",
        "can_view_edit_history",
        "wiki",
        "excerpt",
        "truncated",
        "reviewable_id",
        "reviewable_score_count",
        "reviewable_score_pending_count",
        "post_url",
        "can_accept_answer",
        "can_unaccept_answer",
        "accepted_answer",
        "topic_accepted_answer",
    ]
)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def settings(base_url: str, **values: Any) -> DiscourseSettings:
    return DiscourseSettings(name="forum", type="discourse", base_url=base_url, **values)


def source(httpserver: HTTPServer, http: HttpFetcher, **values: Any) -> DiscourseSource:
    return DiscourseSource(settings(base(httpserver), **values), http)


def parse(item: Any, **values: Any) -> Any:
    values.setdefault("source", "forum")
    values.setdefault("kind", "internal")
    values.setdefault("base_url", FORUM)
    return parse_post(item, **values)


def assert_no_secret(error: BaseException) -> None:
    assert API_KEY not in str(error) and API_KEY not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- fixtures, parsing and settings ------------------------------------------------------------------


def test_fixtures_carry_exactly_the_documented_fields() -> None:
    for name in ("latest_posts.json", "latest_posts_newer.json", "latest_posts_before_1202.json"):
        payload = load(name)
        assert set(payload) == {"latest_posts"}
        for item in payload["latest_posts"]:
            assert set(item) == POST_KEYS, (name, item["id"], set(item) ^ POST_KEYS)


def test_first_post_of_a_topic_has_title_emoji_hashtag_image_and_absolute_avatar() -> None:
    post = parse(load("latest_posts.json")["latest_posts"][1])

    assert post is not None
    assert post.id == "1206" and post.network == "discourse" and post.kind == "internal"
    assert post.text == (
        "Inauguration de l’atelier de Lyon\n\nLe nouvel atelier de Lyon est ouvert :tada: "
        "Merci à toute l’équipe #mur"
    )  # no "atelier.jpeg 1920×1080 250 KB" from the image's caption
    assert post.tags == ("mur",)
    assert post.author.name == "Alice Martin" and post.author.handle == "@alice"
    assert post.author.avatar_url == f"{FORUM}/user_avatar/forum.example.com/alice/240/41_2.png"
    assert post.url == f"{FORUM}/t/inauguration-de-latelier-de-lyon/310/1"
    assert post.media == (
        Media(
            f"{FORUM}/uploads/default/original/1X/5c1d0e9a3f.jpeg",
            "L’atelier vu de l’entrée",
            "image",
            f"{FORUM}/uploads/default/optimized/1X/5c1d0e9a3f_2_690x388.jpeg",
        ),
    )
    assert post.created_at == datetime(2025, 6, 2, 8, 40, 12, 345000, tzinfo=UTC)
    assert post.edited_at is None and not post.is_reply


def test_reply_with_quote_and_mention_reads_as_one_line_per_part() -> None:
    post = parse(load("latest_posts.json")["latest_posts"][0])

    assert post is not None
    assert post.text == (
        "«\u00a0Rendez-vous lundi à 9 h pour le ruban.\u00a0» (@alice)\n\nJ’y serai avec @claire ! #lobby"
    )
    assert post.is_reply and post.tags == ("lobby",)
    assert post.author.name == "bob"  # no full name: the username
    assert post.media == ()  # the quoted author's avatar is not a picture of the post


def test_onebox_becomes_its_title_and_letter_avatar_keeps_its_cdn() -> None:
    post = parse(load("latest_posts.json")["latest_posts"][2])

    assert post is not None
    assert (
        post.text
        == "Menus de la cantine\n\nLes menus de la semaine sont en ligne #mur\n\nMenus de la semaine 23"
    )
    assert post.media == ()  # the preview's thumbnail and favicon are not the post's pictures
    assert post.author.avatar_url == "https://avatars.discourse-cdn.com/v4/letter/c/e9a140/240.png"


def test_edited_post_has_edited_at() -> None:
    post = parse(load("latest_posts.json")["latest_posts"][5])

    assert post is not None and post.edited_at == datetime(2025, 6, 2, 8, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"user_deleted": True},
        {"hidden": True},
        {"deleted_at": "2025-06-02T09:00:00.000Z"},
        {"post_type": 4},  # a whisper
        {"post_type": 3},  # a small action ("closed this topic")
        {"id": None},
        {"created_at": "yesterday"},
        {"username": ""},
    ],
)
def test_posts_never_shown(change: dict[str, Any]) -> None:
    item = {**load("latest_posts.json")["latest_posts"][1], **change}
    assert parse(item) is None


def test_emoji_alt_old_hashtags_images_and_hostile_markup() -> None:
    cooked = (
        '<p>Top <img src="/images/emoji/twitter/slight_smile.png?v=12" title=":slight_smile:" class="emoji" '
        'alt="🙂"> <a class="hashtag" href="/tag/Lobby">#<span>Lobby</span></a> '
        '<span class="hashtag-raw">#-----</span><script>alert(1)</script></p>'
        '<p><img src="//cdn.example.net/uploads/plan.png" alt="Plan d\'accès" width="400" height="300"></p>'
        '<p><img src="javascript:alert(1)" alt="x"></p>'
    )

    result = parse_cooked(cooked, base_url=FORUM)

    assert result.text == "Top 🙂 #Lobby #-----"
    assert result.tags == ("lobby",)
    assert result.media == (Media("https://cdn.example.net/uploads/plan.png", "Plan d'accès", "image", ""),)


def test_category_ids_include_subcategories() -> None:
    payload = load("categories.json")

    assert category_ids(payload, "vie-interne") == frozenset({5, 12})
    assert category_ids(payload, "5") == frozenset({5, 12})
    assert category_ids(payload, "lyon") == frozenset({12})
    assert category_ids(payload, "General") == frozenset({7})
    assert category_ids(payload, "nope") is None


def test_settings_defaults_and_checks() -> None:
    values = settings("https://forum.example.com/", api_key=API_KEY, category="/vie-interne/")

    assert values.kind == "internal" and values.interval == 120
    assert values.api_username == "system" and values.base_url == FORUM and values.category == "vie-interne"
    assert API_KEY not in repr(values) and API_KEY not in values.model_dump_json()
    assert API_KEY not in repr(DiscourseSource(values, HttpFetcher(httpx.AsyncClient())))
    with pytest.raises(ValidationError, match="goes in `api_key`") as exc:
        settings(f"{FORUM}/?api_key={API_KEY}")
    assert API_KEY not in str(exc.value)
    with pytest.raises(ValidationError, match="is not a category"):
        settings(FORUM, category="vie interne")
    with pytest.raises(ValidationError, match="base_url"):
        DiscourseSettings(name="forum", type="discourse")  # type: ignore[call-arg]


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_first_poll_reads_one_page_and_shows_what_may_be_shown(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string="").respond_with_json(load("latest_posts.json"))

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [
        "1207",
        "1206",
        "1205",
        "1204",
        "1202",
    ]  # 1203: deleted by its author
    assert batch.deleted == () and batch.counts == ()
    assert {p.kind for p in batch.posts} == {"internal"}
    assert batch.posts[1].media[0].url.startswith(base(httpserver))  # absolute on the configured forum
    request, _ = httpserver.log[0]
    assert "Api-Key" not in request.headers and "Api-Username" not in request.headers
    httpserver.check_assertions()


async def test_api_key_and_username_are_sent_as_headers(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(
        POSTS, headers={"Api-Key": API_KEY, "Api-Username": "wall"}
    ).respond_with_json(load("latest_posts.json"))

    batch = await source(httpserver, http, api_key=API_KEY, api_username="wall").poll()

    assert len(batch.posts) == 5
    assert API_KEY not in httpserver.log[0][0].url
    httpserver.check_assertions()


async def test_second_poll_brings_new_and_edited_posts_and_deletions(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts_newer.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts_newer.json"))
    forum = source(httpserver, http)

    await forum.poll()
    second = await forum.poll()
    third = await forum.poll()

    assert [p.id for p in second.posts] == ["1209", "1208", "1207"]
    edited = second.posts[2]
    assert edited.text.endswith("J’y serai avec @claire et @dave ! #lobby")
    assert edited.edited_at == datetime(2025, 6, 2, 8, 58, tzinfo=UTC)
    assert second.deleted == ("1202", "1205")  # 1202 hidden after flags, 1205 deleted by a moderator
    assert third.posts == () and third.deleted == ()
    assert [r.query_string for r, _ in httpserver.log] == [
        b"",
        b"",
        b"",
    ]  # no paging: the cursor is on page 1


async def test_cursor_and_shown_posts_survive_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts_newer.json"))
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert [p.id for p in batch.posts] == ["1209", "1208", "1207"]
    assert batch.deleted == ("1202", "1205")


def test_restore_ignores_malformed_state() -> None:
    forum = DiscourseSource(settings(FORUM), HttpFetcher(httpx.AsyncClient()))
    forum.restore({"cursor": "1207", "known": {"1207": "x"}})
    assert forum.state() == {"cursor": None, "known": {}}
    forum.restore({"cursor": 1207, "known": {"abc": "x", "1206": 3, "1205": "t|1"}})
    assert forum.state() == {"cursor": 1207, "known": {"1205": "t|1"}}


async def test_pages_back_to_the_cursor_after_a_busy_spell(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string="").respond_with_json(load("latest_posts.json"))
    httpserver.expect_oneshot_request(POSTS, query_string="before=1202").respond_with_json(
        load("latest_posts_before_1202.json")
    )
    forum = source(httpserver, http)
    forum.restore({"cursor": 1100, "known": {"1100": "2025-05-30T16:10:00.000Z|1"}})

    batch = await forum.poll()

    assert [p.id for p in batch.posts] == ["1207", "1206", "1205", "1204", "1202", "1201", "1150"]
    assert forum.state()["cursor"] == 1207
    httpserver.check_assertions()


async def test_paging_stops_at_max_pages(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(load("latest_posts.json"))
    forum = source(httpserver, http, max_pages=1)
    forum.restore({"cursor": 10, "known": {}})

    batch = await forum.poll()

    assert len(batch.posts) == 5 and len(httpserver.log) == 1


async def test_category_filter_keeps_the_category_and_its_subcategories(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(
        CATEGORIES, query_string="include_subcategories=true"
    ).respond_with_json(load("categories.json"))
    httpserver.expect_request(POSTS).respond_with_json(load("latest_posts.json"))
    forum = source(httpserver, http, category="vie-interne")

    first = await forum.poll()
    second = await forum.poll()

    assert [p.id for p in first.posts] == ["1207", "1206", "1205", "1202"]  # 1205 is in Lyon, a subcategory
    assert second.posts == ()
    assert [r.path for r, _ in httpserver.log] == [CATEGORIES, POSTS, POSTS]  # resolved once


async def test_post_moved_out_of_the_category_is_deleted(httpserver: HTTPServer, http: HttpFetcher) -> None:
    moved = load("latest_posts.json")
    moved["latest_posts"][0]["category_id"] = 7  # to "Général"
    httpserver.expect_oneshot_request(CATEGORIES).respond_with_json(load("categories.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(moved)
    forum = source(httpserver, http, category="vie-interne")

    await forum.poll()
    second = await forum.poll()

    assert second.deleted == ("1207",) and second.posts == ()


async def test_category_by_id_of_a_subcategory(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(CATEGORIES).respond_with_json(load("categories.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("latest_posts.json"))

    batch = await source(httpserver, http, category="12").poll()

    assert [p.id for p in batch.posts] == ["1205"]


async def test_unknown_category_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(CATEGORIES).respond_with_json(load("categories.json"))

    with pytest.raises(ConfigError, match=r"category 'rh' not found .*check `category`"):
        await source(httpserver, http, category="rh").poll()
    assert [r.path for r, _ in httpserver.log] == [CATEGORIES]


# -- errors -------------------------------------------------------------------------------------------


async def test_invalid_key_is_an_auth_error_without_the_key(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {
            "errors": [
                "You are not permitted to view the requested resource. The API username or key is invalid."
            ],
            "error_type": "invalid_access",
        },
        status=403,
    )

    with pytest.raises(
        AuthError, match=r"HTTP 403, invalid_access.*check `api_key` and `api_username`"
    ) as exc:
        await source(httpserver, http, api_key=API_KEY).poll()
    assert_no_secret(exc.value)


async def test_login_required_forum_asks_for_a_key(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"errors": ["You need to be logged in to do that."], "error_type": "not_logged_in"}, status=403
    )

    with pytest.raises(AuthError, match=r"not_logged_in.*the forum needs a login: set `api_key`"):
        await source(httpserver, http).poll()


async def test_404_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"},
        status=404,
    )

    with pytest.raises(ConfigError, match=r"not found .*check `base_url`"):
        await source(httpserver, http).poll()


async def test_429_waits_as_retry_after_says(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {
            "errors": [
                "You’ve performed this action too many times. Please wait 37 seconds before trying again."
            ],
            "error_type": "rate_limit",
            "extras": {"wait_seconds": 37, "time_left": "37 seconds"},
        },
        status=429,
        headers={"Retry-After": "37"},
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http, api_key=API_KEY).poll()
    assert exc.value.retry_after == 37
    assert_no_secret(exc.value)


async def test_429_without_header_waits_extras_wait_seconds(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"errors": ["Slow down."], "error_type": "rate_limit", "extras": {"wait_seconds": 12}}, status=429
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 12


@pytest.mark.parametrize("status", [500, 502])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(POSTS).respond_with_data(
        "<h1>oops</h1>", status=status, content_type="text/html"
    )

    with pytest.raises(TransientError, match=f"HTTP {status}") as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


async def test_maintenance_503_with_retry_after_is_rate_limited(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(POSTS).respond_with_data("", status=503, headers={"Retry-After": "120"})

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 120


@pytest.mark.parametrize("body", ['{"latest_posts": [', '{"latest_posts": null}', "[]", '{"errors": []}'])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(POSTS).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError, match=re.escape("/posts.json")) as exc:
        await source(httpserver, http, api_key=API_KEY).poll()
    assert_no_secret(exc.value)


async def test_no_error_ever_shows_the_key(httpserver: HTTPServer, http: HttpFetcher) -> None:
    for status in (400, 401, 403, 404, 429, 500):
        httpserver.clear()
        httpserver.expect_request(POSTS).respond_with_json(
            {"errors": [f"bad key {API_KEY}"], "error_type": "invalid_access"}, status=status
        )
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http, api_key=API_KEY).poll()
        assert_no_secret(exc.value)


# -- the command line -----------------------------------------------------------------------------------


def test_wall_fetch_prints_internal_posts_and_never_the_key(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(POSTS, headers={"Api-Key": API_KEY}).respond_with_json(
        load("latest_posts.json")
    )
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "forum"\ntype = "discourse"\nbase_url = "{base(httpserver)}"\n'
        "retention_days = 3650\n",  # the fixtures date from June 2025
        encoding="utf-8",
    )
    env = {**os.environ, "WALL_SOURCES__FORUM__API_KEY": API_KEY}

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "forum", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["1207", "1206", "1205", "1204", "1202"]
    assert {line["kind"] for line in lines} == {"internal"} and {line["network"] for line in lines} == {
        "discourse"
    }
    shown = {line["id"]: line for line in lines if line["shown"]}
    assert set(shown) == {"1207", "1206", "1205", "1202"}  # 1204 has no #mur or #lobby: not shown
    assert shown["1206"]["author_name"] == "Alice M."
    assert re.search("tag", next(line["reason"] for line in lines if line["id"] == "1204"))
    assert API_KEY not in result.stdout + result.stderr
