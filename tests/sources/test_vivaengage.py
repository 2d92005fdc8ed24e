"""Viva Engage source: group messages from the REST API v1 (in_group), over real HTTP."""

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
from sources.vivaengage import (
    VivaEngageSettings,
    VivaEngageSource,
    find_deleted,
    index_references,
    parse_message,
    parse_page,
    parse_time,
)
from tests.support.clock import SteppedClock
from wall.core.model import Author, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "vivaengage"
GROUP, OTHER_GROUP = "31158067201", "31158067299"
TOKEN = "yam-Bearer-9f8e7d6c5b4a.secret-token"
IN_GROUP = f"/api/v1/messages/in_group/{GROUP}.json"
NOW = datetime(2024, 1, 31, 12, 30, tzinfo=UTC)
FRESQUE, BRAVO, JOINED, POT = "2269815632207875", "2269815632207874", "2269815632207873", "2269815632207872"
UPLOADS = "https://www.yammer.com/api/v1/uploaded_files/1187045376/version/1199004160"
EMPTY = {"messages": [], "references": [], "meta": {"older_available": False, "requested_poll_interval": 60}}


def load(name: str) -> Any:
    """A fixture payload, freshly decoded."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def settings(httpserver: HTTPServer, **values: Any) -> VivaEngageSettings:
    values.setdefault("groups", [GROUP])
    values.setdefault("token", TOKEN)
    return VivaEngageSettings(
        name="viva", type="vivaengage", base_url=httpserver.url_for("/api/v1"), **values
    )


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> VivaEngageSource:
    return VivaEngageSource(settings(httpserver, **values), http, clock=clock or SteppedClock(NOW))


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def assert_no_secret(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing ----------------------------------------------------------------------------------------


def test_group_page_gives_posts_with_author_picture_image_and_tags() -> None:
    posts = parse_page(load("group_first.json"), source="viva", kind="internal")

    assert [p.id for p in posts] == [FRESQUE, BRAVO, POT]  # the "joined the group" system message is skipped
    fresque = posts[0]
    assert fresque.network == "vivaengage" and fresque.kind == "internal"
    assert fresque.text == "Nouvelle fresque dans le hall ! #Mur #lobby"
    assert fresque.author == Author(
        "Alice Martin",
        "@amartin",
        "https://mug0.assets-yammer.com/mugshot/images/128x128/7Xwtpq7zrtTdfmn-Rbs1ZkHCq8JwxBwW",
    )
    assert fresque.media == (
        Media(
            f"{UPLOADS}/large_preview/fresque.jpg",
            "La fresque du hall, côté accueil",
            "image",
            f"{UPLOADS}/preview/fresque.jpg",
        ),
    )
    assert fresque.tags == ("mur", "lobby", "fresque")  # hashtags of the text, then the thread's topic
    assert fresque.created_at == datetime(2024, 1, 31, 10, 0, tzinfo=UTC)
    assert fresque.url == f"https://www.yammer.com/contoso.onmicrosoft.com/messages/{FRESQUE}"
    assert not fresque.is_reply


def test_reply_announcement_title_and_default_picture() -> None:
    _, bravo, pot = parse_page(load("group_first.json"), source="viva", kind="internal")

    assert bravo.is_reply and bravo.author == Author("Bob Durand", "@bdurand", "")  # no_photo: no avatar
    assert bravo.tags == ()
    assert pot.text == "Pot de départ\n\nPot de départ de Claire vendredi à 17 h #mur"
    assert pot.tags == ("mur",)


def test_body_falls_back_to_rich_html_then_parsed_references() -> None:
    page = load("group_first.json")
    refs = index_references(page["references"])
    message = page["messages"][0]
    message["body"] = {"plain": "", "rich": "<p>Bonjour <b>à tous</b><script>x()</script></p>", "parsed": ""}
    rich = parse_message(message, refs, source="viva", kind="internal")
    message["body"] = {"parsed": "Merci [[user:1842170699777]] pour la [[tag:9001]] &amp; le reste"}
    parsed = parse_message(message, refs, source="viva", kind="internal")

    assert rich is not None and rich.text == "Bonjour à tous"
    assert parsed is not None and parsed.text == "Merci Bob Durand pour la #Fresque & le reste"


@pytest.mark.parametrize(
    "change",
    [
        {"direct_message": True},
        {"system_message": True},
        {"sender_id": 999},
        {"created_at": "31/01/2024"},
        {"id": None},
    ],
)
def test_private_system_unknown_sender_or_malformed_messages_give_no_post(change: dict[str, Any]) -> None:
    page = load("group_first.json")
    message = {**page["messages"][0], **change}

    assert parse_message(message, index_references(page["references"]), source="v", kind="internal") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024/01/31 10:00:00 +0000", datetime(2024, 1, 31, 10, 0, tzinfo=UTC)),
        ("2024/01/31 11:00:00 +0100", datetime(2024, 1, 31, 10, 0, tzinfo=UTC)),
        ("2024-01-31T10:00:00Z", datetime(2024, 1, 31, 10, 0, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_yammer_timestamps(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_find_deleted_only_reports_ids_inside_what_was_read() -> None:
    horizon = datetime(2024, 1, 30, tzinfo=UTC)
    page = load("group_first.json")
    page["messages"] = [m for m in page["messages"] if str(m["id"]) != BRAVO]
    old = "2269815632207001"  # older than anything on the page
    candidates = {BRAVO: datetime(2024, 1, 31, 9, 30, tzinfo=UTC), old: horizon}

    assert find_deleted(candidates, [page], horizon) == [old, BRAVO]  # the group has nothing older
    page["meta"]["older_available"] = True
    # Older messages exist and were not read: only ids at least as new as the oldest read count.
    assert find_deleted(candidates, [page], horizon) == [BRAVO]
    assert find_deleted({POT: horizon}, [load("group_recheck.json")], horizon) == [POT]


# -- settings ---------------------------------------------------------------------------------------


def test_settings_defaults_and_group_ids() -> None:
    values = VivaEngageSettings(
        name="v", type="vivaengage", groups=[31158067201, " 31158067201", "31158067299"]
    )

    assert values.kind == "internal" and values.interval == 120
    assert values.base_url == "https://www.yammer.com/api/v1"
    assert values.groups == [GROUP, OTHER_GROUP]
    assert values.token is None and values.limit == 20


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"groups": ["Site de Lyon"]}, "is not a group id"),
        ({"groups": []}, "at least 1 item"),
        ({"interval": 30}, "greater than or equal to 60"),
        ({"limit": 21}, "less than or equal to 20"),
        ({"base_url": f"https://www.yammer.com/api/v1?access_token={TOKEN}"}, "goes in `token`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    entry = {"name": "v", "type": "vivaengage", "groups": [GROUP], "token": TOKEN, **values}
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        VivaEngageSettings.model_validate(entry)
    assert TOKEN not in str(exc.value)


def test_token_is_never_shown(httpserver: HTTPServer) -> None:
    values = settings(httpserver)

    assert TOKEN not in repr(values) and TOKEN not in str(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(VivaEngageSource(values, HttpFetcher(httpx.AsyncClient())))
    assert VivaEngageSettings.secret_fields == ("token",)


# -- polling over HTTP --------------------------------------------------------------------------------


async def test_first_poll_reads_one_bounded_page_with_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(
        IN_GROUP, query_string={"limit": "20"}, headers=bearer()
    ).respond_with_json(load("group_first.json"))
    viva = source(httpserver, http)

    batch = await viva.poll()

    assert [p.id for p in batch.posts] == [FRESQUE, BRAVO, POT]
    assert batch.deleted == ()
    assert viva.state()["cursors"] == {GROUP: FRESQUE}  # the newest id, system message or not
    assert TOKEN not in json.dumps(viva.state())
    httpserver.check_assertions()


async def test_first_poll_keeps_at_most_limit_messages(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(IN_GROUP, query_string={"limit": "2"}).respond_with_json(
        load("group_first.json")
    )

    batch = await source(httpserver, http, limit=2).poll()

    assert [p.id for p in batch.posts] == [FRESQUE, BRAVO]


async def test_newer_messages_are_paged_with_newer_than_and_older_than(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(
        IN_GROUP, query_string={"newer_than": FRESQUE, "limit": "2"}, headers=bearer()
    ).respond_with_json(load("group_newer_1.json"))
    httpserver.expect_oneshot_request(
        IN_GROUP, query_string={"newer_than": FRESQUE, "older_than": "2269815632207879", "limit": "2"}
    ).respond_with_json(load("group_newer_2.json"))
    viva = source(httpserver, http, limit=2)
    viva.restore({"cursors": {GROUP: FRESQUE}})

    batch = await viva.poll()

    assert [p.id for p in batch.posts] == ["2269815632207880", "2269815632207879", "2269815632207878"]
    assert viva.state()["cursors"] == {GROUP: "2269815632207880"}
    assert len(httpserver.log) == 2  # the second page was not full: no third request
    httpserver.check_assertions()


async def test_paging_stops_at_max_pages(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_json(load("group_newer_1.json"))
    viva = source(httpserver, http, limit=2, max_pages=1)
    viva.restore({"cursors": {GROUP: FRESQUE}})

    batch = await viva.poll()

    assert len(batch.posts) == 2 and len(httpserver.log) == 1


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_oneshot_request(IN_GROUP, query_string={"limit": "20"}).respond_with_json(
        load("group_first.json")
    )
    httpserver.expect_oneshot_request(
        IN_GROUP, query_string={"newer_than": FRESQUE, "limit": "20"}
    ).respond_with_json(EMPTY)
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert batch.posts == () and batch.deleted == ()
    assert restarted.state() == first.state()
    httpserver.check_assertions()


async def test_a_server_ignoring_newer_than_does_not_bring_old_posts_back(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_json(load("group_first.json"))
    viva = source(httpserver, http)
    viva.restore({"cursors": {GROUP: BRAVO}})

    batch = await viva.poll()

    assert [p.id for p in batch.posts] == [FRESQUE]


def test_restore_drops_unknown_groups_and_malformed_entries() -> None:
    viva = VivaEngageSource(
        VivaEngageSettings(name="v", type="vivaengage", groups=[GROUP], token=TOKEN),
        HttpFetcher(httpx.AsyncClient()),
    )
    viva.restore(
        {
            "cursors": {GROUP: "not-a-number", OTHER_GROUP: "12"},
            "seen": {GROUP: {POT: "garbage", BRAVO: "2024-01-31T09:30:00+00:00"}, OTHER_GROUP: {}},
        }
    )

    assert viva.state() == {"cursors": {}, "seen": {GROUP: {BRAVO: "2024-01-31T09:30:00+00:00"}}}
    viva.restore({"cursors": "nonsense", "seen": 3})
    assert viva.state() == {"cursors": {}, "seen": {}}


async def test_deleted_messages_are_found_by_re_reading_the_group(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(IN_GROUP, query_string={"limit": "20"}).respond_with_json(
        load("group_first.json")
    )
    httpserver.expect_request(
        IN_GROUP, query_string={"newer_than": FRESQUE, "limit": "20"}
    ).respond_with_json(EMPTY)
    httpserver.expect_oneshot_request(IN_GROUP, query_string={"limit": "20"}).respond_with_json(
        load("group_recheck.json")
    )
    clock = SteppedClock(NOW)
    viva = source(httpserver, http, clock)

    await viva.poll()
    clock.now += timedelta(minutes=5)
    early = await viva.poll()  # the deletion check is not due yet
    clock.now += timedelta(minutes=6)
    later = await viva.poll()
    clock.now += timedelta(minutes=2)
    after = await viva.poll()

    assert early.deleted == () and after.deleted == ()
    assert later.deleted == (POT,) and later.posts == ()
    assert POT not in viva.state()["seen"][GROUP]
    assert len(httpserver.log) == 5  # first page, three newer_than polls, one re-read
    httpserver.check_assertions()


async def test_messages_older_than_the_deletion_window_are_not_re_read(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_oneshot_request(IN_GROUP, query_string={"limit": "20"}).respond_with_json(
        load("group_first.json")
    )
    httpserver.expect_request(
        IN_GROUP, query_string={"newer_than": FRESQUE, "limit": "20"}
    ).respond_with_json(EMPTY)
    clock = SteppedClock(NOW)
    viva = source(httpserver, http, clock, deletion_window_hours=1)  # every post is older than 1 h at 12:30

    await viva.poll()
    clock.now += timedelta(minutes=30)
    batch = await viva.poll()

    assert batch.deleted == () and len(httpserver.log) == 2
    assert viva.state()["seen"] == {}  # nothing left to watch


async def test_a_failing_group_leaves_every_cursor_as_it_was(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_json(load("group_first.json"))
    httpserver.expect_request(f"/api/v1/messages/in_group/{OTHER_GROUP}.json").respond_with_data(
        "", status=500
    )
    viva = source(httpserver, http, groups=[GROUP, OTHER_GROUP])

    with pytest.raises(TransientError):
        await viva.poll()
    assert viva.state() == {"cursors": {}, "seen": {}}


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (401, AuthError, "refused the token (HTTP 401)"),
        (403, AuthError, f"may not read group {GROUP!r}"),
        (404, ConfigError, f"group {GROUP!r} not found"),
    ],
)
async def test_refusals_map_to_permanent_errors(
    httpserver: HTTPServer, http: HttpFetcher, status: int, error: type[SourceError], message: str
) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_json(
        {"response": {"message": f"Token not found: {TOKEN}", "code": 16, "stat": "fail"}}, status=status
    )

    with pytest.raises(error, match=re.escape(message)) as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "25"}, 25.0), ({}, 30.0)])
async def test_429_is_rate_limited(
    httpserver: HTTPServer, http: HttpFetcher, headers: dict[str, str], wait: float
) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_data("Rate limited", status=429, headers=headers)

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == wait


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_data("oops", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize("body", ['{"messages": [', '{"messages": null}', "[]", "null"])
async def test_malformed_answers_are_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    httpserver.expect_request(IN_GROUP).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_missing_token_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no token.*WALL_SOURCES__VIVA__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


async def test_no_error_text_ever_holds_the_token(httpserver: HTTPServer, http: HttpFetcher) -> None:
    for status in (400, 401, 403, 404, 429, 500, 503):
        httpserver.clear()
        httpserver.expect_request(IN_GROUP).respond_with_data(f"Bearer {TOKEN}", status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)


def test_image_headers_give_the_token_for_file_previews_only() -> None:
    viva = VivaEngageSource(
        VivaEngageSettings(name="v", type="vivaengage", groups=[GROUP], token=TOKEN),
        HttpFetcher(httpx.AsyncClient()),
    )

    assert viva.image_headers(f"{UPLOADS}/large_preview/fresque.jpg") == bearer()
    assert viva.image_headers("https://mug0.assets-yammer.com/mugshot/images/128x128/x") == {}
    assert viva.image_headers("http://www.yammer.com/api/v1/uploaded_files/1/preview/x.jpg") == {}


# -- the wall command ----------------------------------------------------------------------------


def wall(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`wall ARGS` as comms type it, in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "wall.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def test_wall_fetch_prints_internal_posts_and_never_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(IN_GROUP, query_string={"limit": "20"}, headers=bearer()).respond_with_json(
        load("group_first.json")
    )
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        '[[sources]]\nname = "viva"\ntype = "vivaengage"\n'
        f'base_url = "{httpserver.url_for("/api/v1")}"\ngroups = [{GROUP}]\n',
        encoding="utf-8",
    )

    result = wall("fetch", "viva", "--json", "--config", str(path), env={"WALL_SOURCES__VIVA__TOKEN": TOKEN})

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["id"] for line in lines} == {FRESQUE, BRAVO, POT}
    assert {(line["type"], line["kind"], line["network"]) for line in lines} == {
        ("post", "internal", "vivaengage")
    }
    fresque = next(line for line in lines if line["id"] == FRESQUE)
    assert fresque["media"] == [f"{UPLOADS}/large_preview/fresque.jpg"]
    assert TOKEN not in result.stdout + result.stderr
    httpserver.check_assertions()
