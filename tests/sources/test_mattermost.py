"""Mattermost source: parsing of documented PostList/User payloads, and polling over real HTTP."""

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
from sources.mattermost import (
    MattermostSettings,
    MattermostSource,
    parse_post,
    parse_post_list,
    parse_tags,
    parse_user,
)
from tests.support.clock import SteppedClock
from wall.core.model import Author, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "mattermost"
TOKEN = "mm-pat-9xuqwrwgstrb3mzrxb83nb357a"
BASE = "https://chat.example.com"
CHANNEL = "4xp9fdt77pncbef59f4k1qe83o"
POSTS = f"/api/v4/channels/{CHANNEL}/posts"
USERS = "/api/v4/users/ids"
BY_NAME = "/api/v4/teams/name/acme/channels/name/mur-du-hall"
LEA, MARC, SAM = "qmmw3wfigjbmzeo7jiejnbx9ra", "xpd7c8ho3ibr3qn8hroppn3fuh", "ti7q4zs8b7f3jb1w7cmsd5ndyh"
HELLO, REPLY, ME = "h1wkne5dfbgbpenyadmkkj7ciy", "rq3wqqzq5pbz7xsk7omw4hq51e", "me7tr8xk3jbsfkoo4y8r4ecx3c"
NEW, OLD, HIST = "nw5ii9ihatr7frb7mppb85it8e", "ol3t8zjzsfd9inx7yubqyc3fzc", "hs8ahzb1xiygbm6qpmjgz5nmty"
T0 = 1748851200000  # 2025-06-02T08:00:00Z, the first fixture post
SINCE = T0 + 900000  # the first page's highest update_at
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def authors(base: str = BASE) -> dict[str, Author]:
    found = {}
    for user in load("users_ids.json"):
        author = parse_user(user, base_url=base)
        assert author is not None
        found[user["id"]] = author
    return found


def settings(base_url: str = BASE, **values: Any) -> MattermostSettings:
    values.setdefault("channels", [CHANNEL])
    values.setdefault("token", TOKEN)
    return MattermostSettings(name="rse", type="mattermost", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> MattermostSource:
    return MattermostSource(settings(base(httpserver), **values), http, clock=clock or SteppedClock(NOW))


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def first_page_query(limit: int = 30) -> dict[str, str]:
    return {"page": "0", "per_page": str(limit)}


def expect_users(httpserver: HTTPServer, ids: list[str]) -> None:
    users = [u for u in load("users_ids.json") if u["id"] in ids]
    httpserver.expect_oneshot_request(
        USERS, method="POST", json=sorted(ids), headers=bearer()
    ).respond_with_json(users)


def assert_no_secret(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing: what the wall would show ---------------------------------------------------------------


def test_first_page_shows_what_people_wrote_as_plain_text_with_tags_and_image() -> None:
    changes = parse_post_list(load("posts_first_page.json"), since=None, floor=None)

    assert [p["id"] for p in changes.posts] == [ME, REPLY, HELLO]  # no join message, no bot
    assert changes.deleted == () and changes.newest_update == SINCE and changes.oldest_create == T0
    hello = parse_post(changes.posts[2], author=authors()[LEA], source="rse", kind="internal", base_url=BASE)
    assert hello is not None
    assert hello.text == (
        "Bravo à toute l'équipe de Lyon pour le salon 🎉 !\nLes photos sont sur l'intranet. #mur #Salon2025"
    )
    assert hello.tags == ("mur", "salon2025")
    assert hello.author == Author("Léa Martin", "@lea", f"{BASE}/api/v4/users/{LEA}/image?_=1745000000000")
    assert hello.created_at == datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert hello.url == f"{BASE}/_redirect/pl/{HELLO}"
    root = f"{BASE}/api/v4/files/fi6sbxk9htrupdzd63bmkqxr4a"
    assert hello.media == (Media(f"{root}/preview", "", "image", f"{root}/thumbnail"),)  # not the PDF
    assert (hello.network, hello.kind, hello.is_reply, hello.edited_at) == (
        "mattermost",
        "internal",
        False,
        None,
    )


def test_reply_and_me_posts() -> None:
    changes = parse_post_list(load("posts_first_page.json"), since=None, floor=None)
    users = authors()
    me, reply = (
        parse_post(raw, author=users[raw["user_id"]], source="rse", kind="internal", base_url=BASE)
        for raw in changes.posts[:2]
    )

    assert (
        reply is not None and reply.is_reply and reply.text == "@lea merci ! On remet ça l'an prochain #mur"
    )
    assert reply.author.name == "Marco"  # no first or last name: the nickname
    assert me is not None and me.text == "a apporté des croissants 🥐" and me.author.name == "sam"


def test_include_bots_shows_bot_posts_but_never_system_posts() -> None:
    changes = parse_post_list(load("posts_first_page.json"), since=None, floor=None, include_bots=True)

    assert [p["id"] for p in changes.posts] == [ME, "bt4dj4ehfpfp8qzxq6k6ye8uqo", REPLY, HELLO]


def test_since_answer_gives_new_and_edited_posts_and_deletions() -> None:
    changes = parse_post_list(load("posts_since.json"), since=SINCE, floor=T0)

    # The reaction on an old post, the edit-history copy and the deleted reply are not shown.
    assert [p["id"] for p in changes.posts] == [NEW, HELLO]
    assert changes.deleted == (REPLY,)
    assert changes.newest_update == SINCE + 200000
    edited = parse_post(changes.posts[1], author=authors()[LEA], source="rse", kind="internal", base_url=BASE)
    assert edited is not None
    assert edited.edited_at == datetime(2025, 6, 2, 8, 17, tzinfo=UTC)
    assert edited.text.endswith("(photos à venir) #mur") and edited.tags == ("mur",)


def test_pinning_or_reacting_to_a_post_already_shown_does_not_send_it_again() -> None:
    payload = load("posts_since.json")
    pinned = {**load("posts_first_page.json")["posts"][ME], "is_pinned": True, "update_at": SINCE + 50000}
    payload["posts"][ME] = pinned
    payload["order"].append(ME)

    changes = parse_post_list(payload, since=SINCE, floor=T0)

    assert [p["id"] for p in changes.posts] == [NEW, HELLO]


def test_edits_of_posts_older_than_the_first_read_are_not_shown() -> None:
    payload = load("posts_since.json")
    payload["posts"][OLD]["edit_at"] = SINCE + 200000

    changes = parse_post_list(payload, since=SINCE, floor=T0)

    assert OLD not in [p["id"] for p in changes.posts]
    assert OLD in [p["id"] for p in parse_post_list(payload, since=SINCE, floor=0).posts]


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"first_name": "Léa", "last_name": "Martin", "nickname": "lele"}, "Léa Martin"),
        ({"first_name": "Léa", "last_name": "", "nickname": "lele"}, "Léa"),
        ({"first_name": "", "last_name": "", "nickname": "lele"}, "lele"),
        ({"first_name": "", "last_name": "", "nickname": ""}, "lea"),
    ],
)
def test_user_name_is_full_name_then_nickname_then_username(fields: dict[str, str], name: str) -> None:
    user = {**load("users_ids.json")[0], **fields, "last_picture_update": 0}

    assert parse_user(user, base_url=BASE) == Author(name, "@lea", f"{BASE}/api/v4/users/{LEA}/image")


@pytest.mark.parametrize("damage", [{"id": "short"}, {"username": ""}, {"id": None}])
def test_unusable_user_gives_no_author(damage: dict[str, Any]) -> None:
    assert parse_user({**load("users_ids.json")[0], **damage}, base_url=BASE) is None


def test_tags_come_from_the_hashtags_field_or_the_text() -> None:
    post = load("posts_first_page.json")["posts"][HELLO]
    assert parse_tags(post) == ("mur", "salon2025")
    # The API reference names the field `hashtag`; a server sending that is read the same way.
    assert parse_tags({"hashtag": "#Mur", "message": "#autre"}) == ("mur",)
    # Without the field: from the text, outside code and link targets.
    assert parse_tags({"message": "#Mur `#code` [#lien](https://x.example/#ancre) ok"}) == ("mur", "lien")


def test_post_without_author_or_deleted_gives_no_post() -> None:
    raw = load("posts_first_page.json")["posts"][HELLO]
    assert parse_post(raw, author=None, source="rse", kind="internal", base_url=BASE) is None
    gone = {**raw, "delete_at": T0 + 1}
    assert parse_post(gone, author=authors()[LEA], source="rse", kind="internal", base_url=BASE) is None


@pytest.mark.parametrize(
    "payload",
    [[], {"posts": {}}, {"order": "abc", "posts": {}}, {"order": [], "posts": []}, None],
    ids=["list", "no-order", "order-not-list", "posts-not-object", "null"],
)
def test_malformed_post_list_is_transient(payload: Any) -> None:
    with pytest.raises(TransientError, match="unexpected mattermost answer"):
        parse_post_list(payload, since=None, floor=None)


def test_malformed_posts_inside_a_list_are_skipped() -> None:
    payload = load("posts_first_page.json")
    payload["order"].insert(0, 42)
    payload["order"].insert(0, "zzzzzzzzzzzzzzzzzzzzzzzzzz")  # in order, not in posts
    payload["posts"][REPLY]["user_id"] = None

    changes = parse_post_list(payload, since=None, floor=None)

    assert [p["id"] for p in changes.posts] == [ME, HELLO]


# -- settings ---------------------------------------------------------------------------------------------


def test_defaults_are_internal_every_minute() -> None:
    values = MattermostSettings(name="rse", type="mattermost", base_url=BASE + "/", channels=[CHANNEL])

    assert (values.kind, values.interval, values.limit, values.base_url) == ("internal", 60, 30, BASE)
    assert values.include_bots is False and values.token is None


def test_channels_take_ids_or_team_slash_channel() -> None:
    values = settings(channels=[CHANNEL, " ACME/Mur-du-hall ", "acme/mur-du-hall"])

    assert values.channels == [CHANNEL, "acme/mur-du-hall"]


@pytest.mark.parametrize("channel", ["town-square", "acme/", "/x", "a/b/c", "#general", ""])
def test_bad_channel_is_refused_with_a_clear_message(channel: str) -> None:
    with pytest.raises(ValidationError, match=re.escape("give its id (26 letters and digits")) as exc:
        settings(channels=[channel])
    assert TOKEN not in str(exc.value)


def test_token_is_never_shown() -> None:
    values = settings()

    assert TOKEN not in repr(values) and TOKEN not in str(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(MattermostSource(values, HttpFetcher(httpx.AsyncClient())))


def test_image_headers_only_for_the_configured_server() -> None:
    mm = MattermostSource(settings(), HttpFetcher(httpx.AsyncClient()))

    assert mm.image_headers(f"{BASE}/api/v4/users/{LEA}/image") == bearer()
    assert mm.image_headers(f"{BASE}/api/v4/files/fi6sbxk9htrupdzd63bmkqxr4a/preview") == bearer()
    for other in (
        "https://cdn.example.com/a.png",
        "http://chat.example.com/api/v4/users/x/image",  # not over plain http
        "https://chat.example.com:8443/api/v4/users/x/image",
        "https://chat.example.com.evil.test/api/v4/users/x/image",
        "/api/v4/users/x/image",
    ):
        assert mm.image_headers(other) == {}, other
    under = MattermostSource(settings(BASE + "/chat"), HttpFetcher(httpx.AsyncClient()))
    assert under.image_headers(f"{BASE}/chat/api/v4/users/{LEA}/image") == bearer()
    assert under.image_headers(f"{BASE}/other-app/avatar.png") == {}  # same host, not the server
    without = MattermostSource(settings(token=None), HttpFetcher(httpx.AsyncClient()))
    assert without.image_headers(f"{BASE}/api/v4/users/{LEA}/image") == {}


# -- polling over HTTP ----------------------------------------------------------------------------------


async def test_first_poll_reads_one_bounded_page_and_looks_users_up_in_one_request(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(
        POSTS, query_string=first_page_query(), headers=bearer()
    ).respond_with_json(load("posts_first_page.json"))
    expect_users(httpserver, [LEA, MARC, SAM])

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [ME, REPLY, HELLO]
    assert [p.author.name for p in batch.posts] == ["sam", "Marco", "Léa Martin"]
    assert {p.kind for p in batch.posts} == {"internal"} and {p.source for p in batch.posts} == {"rse"}
    assert batch.posts[2].author.avatar_url == f"{base(httpserver)}/api/v4/users/{LEA}/image?_=1745000000000"
    assert batch.deleted == ()
    httpserver.check_assertions()


async def test_next_poll_asks_since_and_reports_edits_and_deletions_with_users_cached(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    expect_users(httpserver, [LEA, MARC, SAM])
    httpserver.expect_oneshot_request(
        POSTS, query_string={"since": str(SINCE)}, headers=bearer()
    ).respond_with_json(load("posts_since.json"))
    httpserver.expect_oneshot_request(POSTS, query_string={"since": str(SINCE + 200000)}).respond_with_json(
        {"order": [], "posts": {}, "next_post_id": "", "prev_post_id": ""}
    )
    mm = source(httpserver, http)

    await mm.poll()
    second = await mm.poll()
    third = await mm.poll()

    assert [(p.id, p.edited_at is not None) for p in second.posts] == [(NEW, False), (HELLO, True)]
    assert second.deleted == (REPLY,)
    assert not third
    assert [r.path for r, _ in httpserver.log].count(USERS) == 1  # each author looked up once
    httpserver.check_assertions()


async def test_users_are_looked_up_again_after_a_day(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    expect_users(httpserver, [LEA, MARC, SAM])
    httpserver.expect_oneshot_request(POSTS, query_string={"since": str(SINCE)}).respond_with_json(
        load("posts_since.json")
    )
    expect_users(httpserver, [LEA, SAM])  # the authors of the new and the edited post
    clock = SteppedClock(NOW)
    mm = source(httpserver, http, clock)

    await mm.poll()
    clock.now += timedelta(hours=25)
    batch = await mm.poll()

    assert len(batch.posts) == 2
    httpserver.check_assertions()


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    expect_users(httpserver, [LEA, MARC, SAM])
    httpserver.expect_oneshot_request(POSTS, query_string={"since": str(SINCE)}).respond_with_json(
        load("posts_since.json")
    )
    expect_users(httpserver, [LEA, SAM])
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert first.state() == {"channels": {CHANNEL: {"since": SINCE, "floor": T0}}}
    assert [p.id for p in batch.posts] == [NEW, HELLO] and batch.deleted == (REPLY,)
    httpserver.check_assertions()


def test_restore_drops_unknown_or_malformed_cursors() -> None:
    mm = MattermostSource(settings(), HttpFetcher(httpx.AsyncClient()))
    mm.restore({"channels": {"acme/other": {"since": 1, "floor": 1}, CHANNEL: {"since": "1", "floor": 1}}})
    assert mm.state() == {"channels": {}}
    mm.restore({"channels": [CHANNEL]})
    assert mm.state() == {"channels": {}}


async def test_empty_channel_keeps_reading_the_first_page(httpserver: HTTPServer, http: HttpFetcher) -> None:
    empty = {"order": [], "posts": {}, "next_post_id": "", "prev_post_id": ""}
    httpserver.expect_request(POSTS, query_string=first_page_query(5)).respond_with_json(empty)
    mm = source(httpserver, http, limit=5)

    assert not await mm.poll()
    assert not await mm.poll()
    assert mm.state() == {"channels": {}}
    assert USERS not in [r.path for r, _ in httpserver.log]


async def test_team_and_channel_names_are_resolved_once(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(BY_NAME, headers=bearer()).respond_with_json(
        load("channel_by_name.json")
    )
    httpserver.expect_oneshot_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    expect_users(httpserver, [LEA, MARC, SAM])
    httpserver.expect_oneshot_request(POSTS, query_string={"since": str(SINCE)}).respond_with_json(
        {"order": [], "posts": {}}
    )
    mm = source(httpserver, http, channels=["acme/mur-du-hall"])

    await mm.poll()
    await mm.poll()

    assert mm.state()["channels"] == {"acme/mur-du-hall": {"since": SINCE, "floor": T0}}
    httpserver.check_assertions()


async def test_a_failed_channel_moves_no_cursor(httpserver: HTTPServer, http: HttpFetcher) -> None:
    other = "o7g5xkzzjtbpxcnwf3o6qk3y8w"
    httpserver.expect_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    httpserver.expect_request(f"/api/v4/channels/{other}/posts").respond_with_json({"id": "x"}, status=500)
    mm = source(httpserver, http, channels=[CHANNEL, other])

    with pytest.raises(TransientError):
        await mm.poll()
    assert mm.state() == {"channels": {}}


# -- errors -----------------------------------------------------------------------------------------------


async def test_401_is_an_auth_error_about_the_token(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(load("error_401.json"), status=401)

    with pytest.raises(
        AuthError, match=r"refused the token .*api\.context\.session_expired\.app_error"
    ) as exc:
        await source(httpserver, http).poll()
    assert "login again" not in str(exc.value)  # the server's free text is not repeated
    assert_no_secret(exc.value)


async def test_403_is_an_auth_error_naming_the_channel(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_json(load("error_403.json"), status=403)

    with pytest.raises(AuthError, match=f"channel '{CHANNEL}'.*add the account") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_unknown_channel_name_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(BY_NAME).respond_with_json(load("error_404.json"), status=404)

    with pytest.raises(ConfigError, match=r"no channel 'acme/mur-du-hall'.*check `channels`"):
        await source(httpserver, http, channels=["acme/mur-du-hall"]).poll()


async def test_429_waits_the_ratelimit_reset(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_data(
        "limit exceeded",
        status=429,
        headers={"X-Ratelimit-Limit": "10", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "7"},
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 7


async def test_429_with_retry_after(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(POSTS).respond_with_data(
        "limit exceeded", status=429, headers={"Retry-After": "30"}
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(POSTS).respond_with_json(
        {"id": "app.error", "status_code": status}, status=status
    )

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize("body", ['{"order": [', "[]", '{"order": null}'])
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(POSTS).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError):
        await source(httpserver, http).poll()


async def test_users_answer_that_is_not_a_list_is_transient(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(POSTS).respond_with_json(load("posts_first_page.json"))
    httpserver.expect_request(USERS, method="POST").respond_with_json({"users": []})

    with pytest.raises(TransientError, match="users/ids"):
        await source(httpserver, http).poll()


async def test_missing_token_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match="WALL_SOURCES__RSE__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    for status in (400, 401, 403, 404, 429, 500):
        httpserver.clear()
        httpserver.expect_request(POSTS).respond_with_json(
            {"id": TOKEN, "message": TOKEN, "status_code": status}, status=status
        )
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)


# -- the CLI --------------------------------------------------------------------------------------------


def test_wall_fetch_prints_internal_posts_and_never_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(POSTS, query_string=first_page_query()).respond_with_json(
        load("posts_first_page.json")
    )
    httpserver.expect_request(USERS, method="POST").respond_with_json(load("users_ids.json"))
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "rse"\ntype = "mattermost"\nbase_url = "{base(httpserver)}"\n'
        f'channels = ["{CHANNEL}"]\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "rse", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__RSE__TOKEN": TOKEN},
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [ME, REPLY, HELLO]
    assert {line["kind"] for line in lines} == {"internal"} and {line["network"] for line in lines} == {
        "mattermost"
    }
    # (how names are shown on an internal wall is the consent rules' business: "Léa M." today)
    assert lines[2]["author_name"].startswith("Léa") and lines[2]["text"].startswith("Bravo à toute l'équipe")
    assert TOKEN not in result.stdout + result.stderr
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
