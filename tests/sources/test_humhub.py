"""HumHub source: posts, edits, deletions and a space's posts from the REST module's payloads, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.humhub import HumHubSettings, HumHubSource, parse_post, parse_time, richtext_to_text
from wall.core.model import Author, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "humhub"
POSTS = "/api/v1/post"
SPACE = "/api/v1/post/container/7"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.eyJ1aWQiOjl9.hUmHuB-s1gnature"
PARIS = ZoneInfo("Europe/Paris")
SITE = "https://social.example.com"
# Keys of the REST module's Post definition and of its content metadata (definitions/*.php, swagger).
POST_KEYS = {"id", "message", "content"}
CONTENT_KEYS = {"id", "metadata", "comments", "likes", "topics", "files"}
METADATA_KEYS = {
    "id",
    "guid",
    "object_model",
    "object_id",
    "visibility",
    "state",
    "archived",
    "hidden",
    "pinned",
    "locked_comments",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "scheduled_at",
    "url",
    "contentcontainer_id",
    "stream_channel",
}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def settings(base_url: str, **values: Any) -> HumHubSettings:
    values.setdefault("token", TOKEN)
    values.setdefault("timezone", "Europe/Paris")
    values.setdefault("limit", 4)
    return HumHubSettings(name="rse", type="humhub", base_url=base_url, **values)


def source(httpserver: HTTPServer, http: HttpFetcher, **values: Any) -> HumHubSource:
    return HumHubSource(settings(base(httpserver), **values), http)


def page(number: int, limit: int = 4) -> dict[str, str]:
    return {"page": str(number), "limit": str(limit)}


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def parse(item: Any, **values: Any) -> Any:
    values.setdefault("source", "rse")
    values.setdefault("kind", "internal")
    values.setdefault("base_url", SITE)
    values.setdefault("zone", PARIS)
    return parse_post(item, **values)


def assert_no_secret(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- fixtures, parsing and settings ------------------------------------------------------------------


def test_fixtures_have_the_documented_shape() -> None:
    for name in ("posts_page1.json", "posts_page2.json", "posts_page1_newer.json", "posts_container_7.json"):
        payload = load(name)
        assert set(payload) == {"total", "page", "pages", "links", "results"}
        for item in payload["results"]:
            assert set(item) == POST_KEYS
            assert set(item["content"]) == CONTENT_KEYS
            assert set(item["content"]["metadata"]) == METADATA_KEYS
            assert set(item["content"]["metadata"]["created_by"]) == {"id", "guid", "display_name", "url"}


def test_post_with_mention_topic_hashtag_and_image() -> None:
    post = parse(load("posts_page1.json")["results"][0])

    assert post is not None
    assert post.id == "58" and post.network == "humhub" and post.kind == "internal"
    assert post.text == (
        "Le nouvel atelier de Lyon est ouvert ! Merci à @Bob Durand et à toute l'équipe.\n\n#mur"
    )
    assert post.tags == ("inauguration", "mur")
    assert post.author == Author("Alice Martin", "@alice", "")
    assert post.created_at == datetime(2025, 6, 2, 8, 40, tzinfo=UTC)  # 10:40 in Paris, summer time
    assert post.url == f"{SITE}/content/perma?id=214"
    assert post.media == (Media(f"{SITE}/api/v1/file/download/31", "L'atelier vu de l'entrée", "image", ""),)
    assert post.edited_at is None and not post.is_reply


def test_edited_post_without_pictures_of_its_pdf() -> None:
    post = parse(load("posts_page2.json")["results"][0])

    assert post is not None
    assert post.edited_at == datetime(2025, 6, 1, 9, 15, tzinfo=UTC)
    assert post.media == ()  # a PDF is not a picture
    assert post.tags == ("mur",)  # its topic


def test_private_archived_and_unpublished_posts_are_not_shown() -> None:
    _, _, private, archived = load("posts_page1.json")["results"]

    assert parse(private) is None and parse(archived) is None
    assert parse(private, include_private=True) is not None
    for change in (
        {"state": 100},
        {"state": 10},
        {"hidden": True},
        {"visibility": 2},
        {"created_at": "soon"},
    ):
        item = load("posts_page1.json")["results"][0]
        item["content"]["metadata"].update(change)
        assert parse(item) is None, change


def test_richtext_becomes_plain_text() -> None:
    text, alts = richtext_to_text(
        '## Bienvenue\n\n**Bravo** à [Inès Garcia](mention:1a2b "https://social.example.com/u/ines/") '
        "~~hier~~ _aujourd'hui_ pour snake_case \\*vraiment\\* !\n\n"
        '- voir [le plan](https://intranet.example.com/plan "Plan")\n- `code`\n\n'
        "> citation\n\n---\n\n"
        '![Le plan](file-guid:9d8c "plan.png") [https://youtu.be/abc](oembed:https://youtu.be/abc)'
    )

    assert text == (
        "Bienvenue\n\nBravo à @Inès Garcia hier aujourd'hui pour snake_case *vraiment* !\n\n"
        "• voir le plan\n• code\n\ncitation\n\nhttps://youtu.be/abc"
    )
    assert alts == {"9d8c": "Le plan"}


def test_dates_in_the_server_time_zone_or_with_an_offset() -> None:
    assert parse_time("2025-01-15 10:00:00", PARIS) == datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    assert parse_time("2025-01-15T10:00:00+00:00", PARIS) == datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    assert parse_time("not a date", PARIS) is None


def test_settings_defaults_and_checks() -> None:
    values = HumHubSettings(name="rse", type="humhub", base_url="https://social.example.com/", token=TOKEN)

    assert values.kind == "internal" and values.interval == 120 and values.timezone == "UTC"
    assert values.base_url == SITE and values.container is None and values.limit == 20
    assert TOKEN not in repr(values) and TOKEN not in values.model_dump_json()
    with pytest.raises(ValidationError, match="is not a time zone"):
        settings(SITE, timezone="Paris")
    with pytest.raises(ValidationError, match="goes in `token`") as exc:
        settings(f"{SITE}/?token={TOKEN}")
    assert TOKEN not in str(exc.value)
    with pytest.raises(ValidationError, match="less than or equal to 50"):
        settings(SITE, limit=100)


def test_image_headers_only_for_the_humhub_site() -> None:
    rse = HumHubSource(settings(SITE), HttpFetcher(httpx.AsyncClient()))

    assert rse.image_headers(f"{SITE}/api/v1/file/download/31") == bearer()
    assert rse.image_headers("https://cdn.example.net/x.jpg") == {}
    assert rse.image_headers("http://social.example.com/api/v1/file/download/31") == {}  # not over plain http
    assert TOKEN not in repr(rse)
    anonymous = HumHubSource(settings(SITE, token=None), HttpFetcher(httpx.AsyncClient()))
    assert anonymous.image_headers(f"{SITE}/api/v1/file/download/31") == {}


# -- polling over HTTP ------------------------------------------------------------------------------


async def test_first_poll_reads_the_first_page_with_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=page(1), headers=bearer()).respond_with_json(
        load("posts_page1.json")
    )

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == ["58", "57"]  # 56 private, 55 archived
    assert batch.posts[0].media[0].url == f"{base(httpserver)}/api/v1/file/download/31"
    assert batch.deleted == () and {p.kind for p in batch.posts} == {"internal"}
    assert all(TOKEN not in r.url for r, _ in httpserver.log)
    httpserver.check_assertions()


async def test_private_posts_when_asked(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(load("posts_page1.json"))

    batch = await source(httpserver, http, include_private=True).poll()

    assert [p.id for p in batch.posts] == ["58", "57", "56"]


async def test_second_poll_brings_new_and_edited_posts_and_deletions(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=page(1)).respond_with_json(load("posts_page1.json"))
    httpserver.expect_oneshot_request(POSTS, query_string=page(1)).respond_with_json(
        load("posts_page1_newer.json")
    )
    httpserver.expect_oneshot_request(POSTS, query_string=page(1)).respond_with_json(
        load("posts_page1_newer.json")
    )
    rse = source(httpserver, http)

    await rse.poll()
    second = await rse.poll()
    third = await rse.poll()

    assert [p.id for p in second.posts] == ["60", "58"]
    assert "toute l'équipe de Lyon" in second.posts[1].text
    assert second.posts[1].edited_at == datetime(2025, 6, 2, 8, 52, tzinfo=UTC)
    assert second.deleted == ("57",)  # gone from the page
    assert third.posts == () and third.deleted == ()
    httpserver.check_assertions()


async def test_shown_post_archived_later_is_deleted(httpserver: HTTPServer, http: HttpFetcher) -> None:
    archived = load("posts_page1.json")
    archived["results"][0]["content"]["metadata"]["archived"] = True
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("posts_page1.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(archived)
    rse = source(httpserver, http)

    await rse.poll()
    batch = await rse.poll()

    assert batch.deleted == ("58",) and batch.posts == ()


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("posts_page1.json"))
    httpserver.expect_oneshot_request(POSTS).respond_with_json(load("posts_page1_newer.json"))
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert [p.id for p in batch.posts] == ["60", "58"] and batch.deleted == ("57",)


def test_restore_ignores_malformed_state() -> None:
    rse = HumHubSource(settings(SITE), HttpFetcher(httpx.AsyncClient()))
    rse.restore({"cursor": True, "known": {"58": "x"}})
    assert rse.state() == {"cursor": None, "known": {}}
    rse.restore({"cursor": 58, "known": {"58": "2025-06-02 10:40:00", "x": "y", "57": None}})
    assert rse.state() == {"cursor": 58, "known": {"58": "2025-06-02 10:40:00"}}


async def test_pages_until_the_cursor(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=page(1)).respond_with_json(load("posts_page1.json"))
    httpserver.expect_oneshot_request(POSTS, query_string=page(2)).respond_with_json(load("posts_page2.json"))
    rse = source(httpserver, http)
    rse.restore({"cursor": 53, "known": {"53": "2025-05-30 16:10:00"}})

    batch = await rse.poll()

    assert [p.id for p in batch.posts] == ["58", "57", "54"]
    assert rse.state()["cursor"] == 58
    httpserver.check_assertions()


async def test_paging_stops_at_the_last_page_and_at_max_pages(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(POSTS, query_string=page(1)).respond_with_json(load("posts_page1.json"))
    httpserver.expect_request(POSTS, query_string=page(2)).respond_with_json(load("posts_page2.json"))
    rse = source(httpserver, http)
    rse.restore({"cursor": 1, "known": {}})
    await rse.poll()
    assert len(httpserver.log) == 2  # `pages` says there are two

    httpserver.clear_log()
    bounded = source(httpserver, http, max_pages=1)
    bounded.restore({"cursor": 1, "known": {}})
    await bounded.poll()
    assert len(httpserver.log) == 1


async def test_container_reads_that_space_only(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(SPACE, query_string=page(1), headers=bearer()).respond_with_json(
        load("posts_container_7.json")
    )

    batch = await source(httpserver, http, container=7).poll()

    assert [p.id for p in batch.posts] == ["58", "57"]
    httpserver.check_assertions()


# -- errors -------------------------------------------------------------------------------------------


async def test_unknown_container_is_a_config_error_naming_it(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request("/api/v1/post/container/99").respond_with_json(
        {"code": 404, "message": "Content container not found!"}, status=404
    )

    with pytest.raises(ConfigError, match=r"humhub container 99 not found .*check `container`") as exc:
        await source(httpserver, http, container=99).poll()
    assert_no_secret(exc.value)


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_token_is_an_auth_error(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"name": "Unauthorized", "message": f"Invalid token {TOKEN}", "code": 0, "status": status},
        status=status,
    )

    with pytest.raises(AuthError, match=f"HTTP {status}.*check `token`") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_missing_token_is_an_auth_error_before_any_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match="WALL_SOURCES__RSE__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


async def test_429_waits_as_retry_after_says(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"name": "Too Many Requests", "message": "Rate limit exceeded.", "code": 0, "status": 429},
        status=429,
        headers={"Retry-After": "90"},
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 90
    assert_no_secret(exc.value)


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(POSTS).respond_with_data("Internal Server Error", status=status)

    with pytest.raises(TransientError, match=f"HTTP {status}") as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize("body", ['{"results": [', '{"results": null}', "[]", "<html>login</html>"])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(POSTS).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError, match="/api/v1/post") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_no_error_ever_shows_the_token(httpserver: HTTPServer, http: HttpFetcher) -> None:
    for status in (400, 401, 403, 404, 429, 500, 503):
        httpserver.clear()
        httpserver.expect_request(POSTS).respond_with_json({"code": status, "message": TOKEN}, status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)


# -- the command line -----------------------------------------------------------------------------------


def test_wall_fetch_prints_internal_posts_and_never_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(POSTS, headers=bearer()).respond_with_json(load("posts_page1.json"))
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "rse"\ntype = "humhub"\nbase_url = "{base(httpserver)}"\n'
        'timezone = "Europe/Paris"\n'
        "retention_days = 3650\n",  # the fixtures date from June 2025
        encoding="utf-8",
    )
    env = {**os.environ, "WALL_SOURCES__RSE__TOKEN": TOKEN}

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "rse", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["id"], line["kind"], line["network"]) for line in lines] == [
        ("58", "internal", "humhub"),
        ("57", "internal", "humhub"),
    ]
    assert all(line["shown"] for line in lines)  # both carry #mur
    assert lines[0]["author_name"] == "Alice M." and lines[0]["created_at"] == "2025-06-02T08:40:00Z"
    assert TOKEN not in result.stdout + result.stderr
