"""Matrix source: parsing of documented Client-Server API payloads, and syncing over real HTTP.

Error answers (rate limits, server errors, malformed bodies) are served by pytest-httpserver with
the spec's error bodies; the happy paths run against a real Synapse in test_matrix_synapse.py.
"""

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
from werkzeug import Request, Response

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, StreamingSource, TransientError
from sources.matrix import (
    MatrixSettings,
    MatrixSource,
    Member,
    apply_edit,
    classify_error,
    hashtags,
    message_url,
    mxc_download_url,
    parse_message,
    parse_sync_rooms,
    strip_reply_fallback,
    sync_filter,
)
from wall.core.model import Author, Batch, Media

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "matrix"
ROOM = "!726s6s6q:example.com"
ALIAS = "#hall:example.com"
BASE = "https://matrix.example.com"
TOKEN = "syt_c2VjcmV0_s3cretT0kenValue_0a1b2c"
SYNC = "/_matrix/client/v3/sync"
MEMBERS = f"/_matrix/client/v3/rooms/{ROOM}/joined_members"
NAME = f"/_matrix/client/v3/rooms/{ROOM}/state/m.room.name"
DIRECTORY = f"/_matrix/client/v3/directory/room/{ALIAS}"
JOIN = f"/_matrix/client/v3/join/{ROOM}"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def timeline() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = load("sync_initial.json")["rooms"]["join"][ROOM]["timeline"]["events"]
    return events


IDS = {number: e["event_id"] for number, e in enumerate(timeline(), start=1)}  # $1aaa…, $2bbb…


def event(event_id: str) -> dict[str, Any]:
    return copy.deepcopy(next(e for e in timeline() if e["event_id"] == event_id))


MEMBERS_BY_ID = {
    "@alice:example.com": Member("Alice Martin", "mxc://example.com/AliceAvatar01"),
    "@bob:example.com": Member("Bob Durand"),
}


def parse(obj: Any) -> Any:
    return parse_message(
        obj, room_id=ROOM, members=MEMBERS_BY_ID, source="rse", kind="internal", base_url=BASE
    )


def settings(base_url: str, **values: Any) -> MatrixSettings:
    values.setdefault("rooms", [ROOM])
    values.setdefault("token", TOKEN)
    return MatrixSettings(name="rse", type="matrix", base_url=base_url, **values)


def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def matrix_error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"errcode": code, "error": message, **extra}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


def serve_room(httpserver: HTTPServer, members: str = "joined_members.json") -> None:
    httpserver.expect_request(MEMBERS, headers=bearer()).respond_with_json(load(members))
    httpserver.expect_request(NAME, headers=bearer()).respond_with_json({"name": "Vie du site"})


def sync_answer(next_batch: str, events: list[dict[str, Any]], room: str = ROOM) -> dict[str, Any]:
    return {
        "next_batch": next_batch,
        "rooms": {"join": {room: {"timeline": {"events": events, "limited": False, "prev_batch": "p1"}}}},
    }


# -- parsing: what the wall would show ---------------------------------------------------------------


def test_html_message_is_plain_text_with_author_tags_and_link() -> None:
    post = parse(event(IDS[1]))

    assert post.id == IDS[1]
    assert post.network == "matrix" and post.source == "rse" and post.kind == "internal"
    assert post.text == "Bienvenue aux nouveaux arrivants\u00a0! #Mur #accueil"
    assert post.author == Author(
        "Alice Martin",
        "@alice:example.com",
        f"{BASE}/_matrix/client/v1/media/download/example.com/AliceAvatar01",
    )
    assert post.tags == ("mur", "accueil")
    assert post.created_at == datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert post.url == f"https://matrix.to/#/{ROOM}/{IDS[1]}"
    assert not post.is_reply and post.edited_at is None and post.media == ()


def test_reply_fallback_is_removed_from_html_and_from_plain_body() -> None:
    reply = event(IDS[3])
    post = parse(reply)
    assert post.text == "Merci\u00a0! On arrive lundi #mur"
    assert post.is_reply and post.tags == ("mur",)

    del reply["content"]["format"], reply["content"]["formatted_body"]
    assert parse(reply).text == "Merci ! On arrive lundi #mur"


def test_image_with_caption_has_alt_text_and_authenticated_urls() -> None:
    post = parse(event(IDS[4]))

    assert post.text == "Le nouveau hall, vu du 3e étage"
    assert post.media == (
        Media(
            url=f"{BASE}/_matrix/client/v1/media/download/example.com/SEsfnsuifSDFSSEF",
            alt="Le nouveau hall, vu du 3e étage",
            kind="image",
            preview_url=f"{BASE}/_matrix/client/v1/media/download/example.com/ThumbHall01",
        ),
    )


def test_image_without_caption_has_no_text_and_its_body_as_alt() -> None:
    post = parse(event(IDS[5]))

    assert post.text == "" and post.tags == ()
    assert post.media[0].alt == "IMG_2041.png"
    assert post.media[0].url.endswith("/_matrix/client/v1/media/download/example.com/PlainImage02")
    assert post.author == Author("Bob Durand", "@bob:example.com", "")


def test_notice_and_emote_are_shown_files_and_redacted_events_are_not() -> None:
    notice = parse(event(IDS[2]))
    assert notice.text == "Le parking B est fermé demain"
    assert notice.author.name == "facility-bot"  # not a known member: the user id's localpart
    assert parse(event(IDS[6])).text == "danse de joie"  # no author name glued in front
    assert parse(event(IDS[7])) is None  # m.file
    assert parse(event(IDS[8])) is None  # already redacted


def test_encrypted_image_and_malformed_events_are_skipped() -> None:
    encrypted = event(IDS[5])
    del encrypted["content"]["url"]
    encrypted["content"]["file"] = {"url": "mxc://example.com/Encrypted", "v": "v2"}
    no_time = event(IDS[1])
    del no_time["origin_server_ts"]
    bad_mxc = event(IDS[5])
    bad_mxc["content"]["url"] = "https://elsewhere.example/pic.png"

    assert [parse(e) for e in (encrypted, no_time, bad_mxc, "nope", {"type": "m.room.message"})] == [None] * 5


def test_edit_replaces_the_text_and_sets_edited_at_only_from_the_same_sender() -> None:
    original = parse(event(IDS[1]))
    edit = {
        "content": {
            "body": "* Bienvenue à tous ! #Mur",
            "m.new_content": {"body": "Bienvenue à tous ! #Mur #Hall", "msgtype": "m.text"},
            "m.relates_to": {"event_id": IDS[1], "rel_type": "m.replace"},
            "msgtype": "m.text",
        },
        "type": "m.room.message",
        "event_id": "$editeditediteditediteditediteditediteditedit",
        "sender": "@alice:example.com",
        "origin_server_ts": 1748852000000,
    }

    edited = apply_edit(original, edit, base_url=BASE)

    assert edited is not None
    assert (edited.id, edited.text, edited.tags) == (IDS[1], "Bienvenue à tous ! #Mur #Hall", ("mur", "hall"))
    assert edited.edited_at == datetime(2025, 6, 2, 8, 13, 20, tzinfo=UTC)
    assert edited.created_at == original.created_at and edited.author == original.author
    assert apply_edit(original, {**edit, "sender": "@mallory:example.com"}, base_url=BASE) is None
    assert apply_edit(edited, {**edit, "origin_server_ts": 1748851900000}, base_url=BASE) is None  # older


def test_bundled_edit_is_applied_to_the_original() -> None:
    original = event(IDS[1])
    original["unsigned"]["m.relations"] = {
        "m.replace": {
            "content": {
                "body": "* Rectifié",
                "m.new_content": {"body": "Rectifié #mur", "msgtype": "m.text"},
                "m.relates_to": {"event_id": IDS[1], "rel_type": "m.replace"},
                "msgtype": "m.text",
            },
            "event_id": "$bundlededitbundlededitbundlededitbundledx",
            "origin_server_ts": 1748851300000,
            "sender": "@alice:example.com",
            "type": "m.room.message",
        }
    }

    post = parse(original)

    assert post.text == "Rectifié #mur" and post.edited_at == datetime(2025, 6, 2, 8, 1, 40, tzinfo=UTC)


def test_sync_rooms_keep_only_configured_rooms_and_read_names_and_members() -> None:
    updates = parse_sync_rooms(load("sync_initial.json"), {ROOM})

    assert list(updates) == [ROOM]
    update = updates[ROOM]
    assert update.name == "Vie du site"
    assert update.members == {"@alice:example.com": Member("Alice Martin", "mxc://example.com/AliceAvatar01")}
    assert [e["event_id"] for e in update.timeline][:2] == [IDS[1], IDS[2]]
    assert update.senders() == {"@alice:example.com", "@bob:example.com", "@facility-bot:example.com"}
    assert parse_sync_rooms({"next_batch": "x"}, {ROOM}) == {}


def test_hashtags_skip_aliases_links_and_numbers() -> None:
    text = "Rdv #Mur et #mur, salon #hall:example.com, https://e.org/page#section, n°#1, C#, #Été2025"
    assert hashtags(text) == ("mur", "été2025")
    assert hashtags("Pas de tag ici") == ()


def test_strip_reply_fallback_keeps_plain_quotes_after_text() -> None:
    assert strip_reply_fallback("> <@a:x> hi\n> there\n\nAnswer") == "Answer"
    assert strip_reply_fallback("Answer\n> quoted") == "Answer\n> quoted"


def test_mxc_and_matrix_to_urls() -> None:
    assert mxc_download_url("mxc://example.com:8448/Abc_-1", BASE) == (
        f"{BASE}/_matrix/client/v1/media/download/example.com%3A8448/Abc_-1"
    )
    assert mxc_download_url("mxc://example.com/../etc", BASE) == ""
    assert mxc_download_url(None, BASE) == ""
    assert message_url("!abc", "$ev/x") == "https://matrix.to/#/!abc/$ev%2Fx"


def test_sync_filter_restricts_rooms_and_event_types() -> None:
    definition = json.loads(sync_filter([ROOM], limit=20))

    assert definition["room"]["rooms"] == [ROOM]
    assert definition["room"]["timeline"] == {"types": ["m.room.message", "m.room.redaction"], "limit": 20}
    assert definition["presence"] == {"not_types": ["*"]}


def test_classify_error_maps_errcodes() -> None:
    headers = httpx.Headers({"Retry-After": "7"})

    def classify(status: int, body: dict[str, Any], room: str = "") -> Any:
        return classify_error(status, headers, json.dumps(body).encode(), shown="https://m.x/s", room=room)

    limited = classify(429, matrix_error("M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=2500))
    assert isinstance(limited, RateLimited) and limited.retry_after == 2.5
    header_only = classify(429, matrix_error("M_LIMIT_EXCEEDED", "Too many requests"))
    assert isinstance(header_only, RateLimited) and header_only.retry_after == 7
    assert isinstance(classify(401, matrix_error("M_UNKNOWN_TOKEN", "Invalid token")), AuthError)
    assert isinstance(classify(401, matrix_error("M_MISSING_TOKEN", "Missing token")), AuthError)
    forbidden = classify(403, matrix_error("M_FORBIDDEN", "not in room"), room=ALIAS)
    assert isinstance(forbidden, AuthError) and ALIAS in str(forbidden) and "invite" in str(forbidden)
    assert isinstance(classify(404, matrix_error("M_NOT_FOUND", "nope"), room=ALIAS), ConfigError)
    assert classify(500, {"errcode": "M_UNKNOWN", "error": "boom"}) is None


# -- settings -----------------------------------------------------------------------------------------


def test_settings_defaults_and_checks() -> None:
    values = settings(BASE, rooms=[ROOM, ALIAS, ROOM, "!abcDEF0123456789_-xyz"])
    assert values.kind == "internal" and values.interval == 60 and values.backfill == 20
    assert values.rooms == [ROOM, ALIAS, "!abcDEF0123456789_-xyz"]
    assert TOKEN not in repr(values) and TOKEN not in repr(
        MatrixSource(values, HttpFetcher(httpx.AsyncClient()))
    )
    bad_values: list[dict[str, Any]] = [
        {"rooms": ["hall"]},
        {"rooms": ["#hall"]},
        {"rooms": []},
        {"base_url": "matrix.example.com"},
        {"base_url": None},  # no public default homeserver
    ]
    for bad in bad_values:
        entry = {"name": "rse", "type": "matrix", "base_url": BASE, "rooms": [ROOM], "token": TOKEN, **bad}
        with pytest.raises(ValidationError) as info:
            MatrixSettings.model_validate({key: value for key, value in entry.items() if value is not None})
        assert TOKEN not in str(info.value)
    assert "token" in MatrixSettings.secret_fields


def test_image_headers_only_for_the_homeserver() -> None:
    source = MatrixSource(settings(BASE), HttpFetcher(httpx.AsyncClient()))

    assert source.image_headers(f"{BASE}/_matrix/client/v1/media/download/example.com/X") == bearer()
    assert source.image_headers("https://evil.example/_matrix/client/v1/media/download/example.com/X") == {}
    assert source.image_headers("http://matrix.example.com/x") == {}  # not the configured scheme
    assert (
        MatrixSource(settings(BASE, token=None), HttpFetcher(httpx.AsyncClient())).image_headers(BASE) == {}
    )
    assert isinstance(source, StreamingSource)


# -- over HTTP ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_first_poll_resolves_alias_counts_members_and_syncs_with_a_bounded_filter(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(DIRECTORY, headers=bearer()).respond_with_json(
        {"room_id": ROOM, "servers": ["example.com"]}
    )
    serve_room(httpserver)
    httpserver.expect_request(SYNC, headers=bearer()).respond_with_json(load("sync_initial.json"))
    now = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    source = MatrixSource(settings(base(httpserver), rooms=[ALIAS], backfill=15), http, clock=lambda: now)

    batch = await source.poll()

    assert [p.id for p in batch.posts] == [IDS[6], IDS[5], IDS[4], IDS[3], IDS[2], IDS[1]]  # newest first
    notice = next(p for p in batch.posts if p.id == IDS[2])
    assert notice.text == "Le parking B est fermé demain et jeudi"  # the edit in the same answer
    assert notice.author.name == "Services généraux"  # from joined_members
    assert notice.edited_at == datetime(2025, 6, 2, 8, 9, tzinfo=UTC)
    assert batch.deleted == (IDS[8],)
    (count,) = batch.counts
    assert (count.account, count.value, count.label, count.metric, count.network) == (
        ALIAS,
        4,
        "Vie du site",
        "members",
        "matrix",
    )
    assert count.observed_at == now
    sync_request = next(r for r, _ in httpserver.log if r.path == SYNC)
    assert "since" not in sync_request.args and sync_request.args["timeout"] == "0"
    definition = json.loads(sync_request.args["filter"])
    assert definition["room"]["rooms"] == [ROOM] and definition["room"]["timeline"]["limit"] == 15
    assert source.state() == {"since": "s72595_4483_1934", "rooms": [ALIAS]}


@pytest.mark.asyncio
async def test_next_poll_continues_from_next_batch_and_edits_known_posts(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_room(httpserver)
    seen_since: list[str | None] = []
    answers = [
        load("sync_initial.json"),
        sync_answer(
            "s2",
            [
                {
                    "content": {
                        "body": "* corrigé",
                        "m.new_content": {"body": "Bienvenue, corrigé #mur", "msgtype": "m.text"},
                        "m.relates_to": {"event_id": IDS[1], "rel_type": "m.replace"},
                        "msgtype": "m.text",
                    },
                    "type": "m.room.message",
                    "event_id": "$edit2edit2edit2edit2edit2edit2edit2edit2edit",
                    "sender": "@alice:example.com",
                    "origin_server_ts": 1748853000000,
                },
                {
                    "content": {"redacts": IDS[4]},
                    "redacts": IDS[4],
                    "type": "m.room.redaction",
                    "event_id": "$redact2redact2redact2redact2redact2redact2r",
                    "sender": "@alice:example.com",
                    "origin_server_ts": 1748853060000,
                },
            ],
        ),
    ]

    def handler(request: Request) -> Response:
        seen_since.append(request.args.get("since"))
        return Response(json.dumps(answers.pop(0)), content_type="application/json")

    httpserver.expect_request(SYNC).respond_with_handler(handler)
    source = MatrixSource(settings(base(httpserver)), http)
    await source.poll()

    batch = await source.poll()

    assert seen_since == [None, "s72595_4483_1934"]
    (edited,) = batch.posts
    assert (edited.id, edited.text, edited.tags) == (IDS[1], "Bienvenue, corrigé #mur", ("mur",))
    assert edited.edited_at is not None and edited.author.name == "Alice Martin"
    assert batch.deleted == (IDS[4],)
    assert source.state()["since"] == "s2"


@pytest.mark.asyncio
async def test_edit_of_an_unseen_message_fetches_the_original(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_room(httpserver)
    original = event(IDS[1])
    httpserver.expect_request(
        f"/_matrix/client/v3/rooms/{ROOM}/event/{IDS[1]}", headers=bearer()
    ).respond_with_json(original)
    edit = {
        "content": {
            "body": "* nouveau texte",
            "m.new_content": {"body": "Nouveau texte", "msgtype": "m.text"},
            "m.relates_to": {"event_id": IDS[1], "rel_type": "m.replace"},
            "msgtype": "m.text",
        },
        "type": "m.room.message",
        "event_id": "$edit3edit3edit3edit3edit3edit3edit3edit3edit",
        "sender": "@alice:example.com",
        "origin_server_ts": 1748853000000,
    }
    httpserver.expect_request(SYNC).respond_with_json(sync_answer("s9", [edit]))
    source = MatrixSource(settings(base(httpserver)), http)
    source.restore({"since": "s8", "rooms": [ROOM]})

    batch = await source.poll()

    (post,) = batch.posts
    assert (post.id, post.text, post.created_at) == (
        IDS[1],
        "Nouveau texte",
        datetime(2025, 6, 2, 8, 0, tzinfo=UTC),
    )


@pytest.mark.asyncio
async def test_restore_ignores_a_token_made_for_other_rooms(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(sync_answer("s2", []))
    source = MatrixSource(settings(base(httpserver)), http)
    source.restore({"since": "s1", "rooms": ["!other:example.com"]})

    await source.poll()

    sync_request = next(r for r, _ in httpserver.log if r.path == SYNC)
    assert "since" not in sync_request.args


@pytest.mark.asyncio
async def test_stream_long_polls_for_the_configured_time_and_yields_an_empty_batch_when_idle(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(sync_answer("s2", []))
    source = MatrixSource(settings(base(httpserver), long_poll=25), http)
    source.restore({"since": "s1", "rooms": [ROOM]})
    await source.poll()
    stream = source.stream()

    batch = await anext(stream)
    await stream.aclose()

    assert not batch and batch.posts == () and batch.deleted == () and batch.counts == ()
    timeouts = [r.args["timeout"] for r, _ in httpserver.log if r.path == SYNC]
    assert timeouts == ["0", "25000"]  # the request's own timeout outlasts the client's 5 s one


@pytest.mark.asyncio
async def test_poll_while_the_stream_is_live_reads_only_counts(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(sync_answer("s2", []))
    source = MatrixSource(settings(base(httpserver)), http)
    await source.poll()  # the poller's catch-up poll, then it opens the stream
    stream = source.stream()

    heartbeat = await anext(stream)
    live = await source.poll()
    syncs_while_live = sum(r.path == SYNC for r, _ in httpserver.log)
    await stream.aclose()
    after = await source.poll()

    assert heartbeat == Batch() and live == Batch(counts=live.counts) and live.counts[0].value == 4
    assert syncs_while_live == 2  # the poll's and the stream's, none for the poll while live
    assert not source.live and after.counts[0].value == 4
    assert sum(r.path == SYNC for r, _ in httpserver.log) == 3  # the stream closed: polls sync again


@pytest.mark.asyncio
async def test_rate_limited_sync_waits_as_the_server_says(httpserver: HTTPServer, http: HttpFetcher) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(
        matrix_error("M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=2000),
        status=429,
        headers={"Retry-After": "2"},
    )
    with pytest.raises(RateLimited) as info:
        await MatrixSource(settings(base(httpserver)), http).poll()
    assert info.value.retry_after == 2.0
    assert TOKEN not in str(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(
        matrix_error("M_UNKNOWN", "Internal error"), status=status
    )
    with pytest.raises(TransientError) as info:
        await MatrixSource(settings(base(httpserver)), http).poll()
    assert f"HTTP {status}" in str(info.value) and "/_matrix/client/v3/sync" in str(info.value)
    assert "filter" not in str(info.value)  # the query string is not shown


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "problem"),
    [("{not json", "malformed JSON"), ("[]", "expected a JSON object"), ('{"rooms": {}}', "no next_batch")],
)
async def test_malformed_sync_is_transient_and_keeps_the_cursor(
    httpserver: HTTPServer, http: HttpFetcher, body: str, problem: str
) -> None:
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_data(body, content_type="application/json")
    source = MatrixSource(settings(base(httpserver)), http)
    source.restore({"since": "s1", "rooms": [ROOM]})
    with pytest.raises(TransientError, match=problem):
        await source.poll()
    assert source.state()["since"] == "s1"


@pytest.mark.asyncio
async def test_unknown_token_is_an_auth_error_without_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    httpserver.expect_request(MEMBERS).respond_with_json(
        matrix_error("M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False), status=401
    )
    with pytest.raises(AuthError) as info:
        await MatrixSource(settings(base(httpserver)), http).poll()
    assert "M_UNKNOWN_TOKEN" in str(info.value) and "`token`" in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.asyncio
async def test_missing_token_says_where_to_put_it(http: HttpFetcher) -> None:
    with pytest.raises(AuthError, match="WALL_SOURCES__RSE__TOKEN"):
        await MatrixSource(settings(BASE, token=None), http).poll()


@pytest.mark.asyncio
async def test_room_the_bot_is_not_invited_to_is_an_auth_error_naming_it(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    not_in_room = matrix_error("M_FORBIDDEN", f"User @wall:example.com not in room {ROOM}")
    httpserver.expect_request(MEMBERS).respond_with_json(not_in_room, status=403)
    httpserver.expect_request(JOIN, method="POST").respond_with_json(
        matrix_error("M_FORBIDDEN", "You are not invited to this room."), status=403
    )
    with pytest.raises(AuthError) as info:
        await MatrixSource(settings(base(httpserver)), http).poll()
    assert ROOM in str(info.value) and "invite" in str(info.value)
    assert TOKEN not in str(info.value)


@pytest.mark.asyncio
async def test_room_the_bot_is_invited_to_is_joined(httpserver: HTTPServer, http: HttpFetcher) -> None:
    not_in_room = matrix_error("M_FORBIDDEN", f"User @wall:example.com not in room {ROOM}")
    httpserver.expect_oneshot_request(MEMBERS).respond_with_json(not_in_room, status=403)
    httpserver.expect_oneshot_request(JOIN, method="POST", headers=bearer()).respond_with_json(
        {"room_id": ROOM}
    )
    serve_room(httpserver)
    httpserver.expect_request(SYNC).respond_with_json(sync_answer("s1", []))

    batch = await MatrixSource(settings(base(httpserver)), http).poll()

    assert batch.counts[0].value == 4
    assert [r.path for r, _ in httpserver.log][:3] == [MEMBERS, JOIN, MEMBERS]


@pytest.mark.asyncio
async def test_unknown_alias_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    httpserver.expect_request(DIRECTORY).respond_with_json(
        matrix_error("M_NOT_FOUND", "Room alias #hall:example.com not found"), status=404
    )
    with pytest.raises(ConfigError, match=re.escape(f"alias {ALIAS} not found")):
        await MatrixSource(settings(base(httpserver), rooms=[ALIAS]), http).poll()
