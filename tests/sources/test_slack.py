"""Slack source: mrkdwn, documented message/user payloads, and polling over real HTTP."""

from __future__ import annotations

import json
import os
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
from sources.slack import (
    ChannelState,
    SlackSettings,
    SlackSource,
    is_shown,
    mrkdwn_hashtags,
    mrkdwn_to_text,
    parse_message,
    parse_user,
    select_changes,
)
from tests.support.clock import SteppedClock
from wall.core.model import Author, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "slack"
TOKEN = "xoxb-0000000000-1111111111111-s3cretS3cretS3cret"
CH, CH2 = "C0LOBBY123", "C0AUTRE123"
LEA, MARC, SAM = "U0LEA12345", "U0MARC1234", "U0SAM12345"
HISTORY, AUTH, USERS = "/api/conversations.history", "/api/auth.test", "/api/users.info"
WORKSPACE = "https://acme-lobby.slack.com"
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
WINDOW = "1748768400.000000"  # NOW - 24 h, the start of the recheck window
HELLO, PHOTO, BROADCAST = "1748851200.000100", "1748851500.000100", "1748851800.000100"
JOIN, EDITED, NEW = "1748851900.000100", "1748852100.000100", "1748854200.000100"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def messages(name: str = "history_first.json") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load(name)["messages"]
    return found


def by_ts(ts: str, name: str = "history_first.json") -> dict[str, Any]:
    return next(m for m in messages(name) if m["ts"] == ts)


def users() -> dict[str, Author]:
    found = {}
    for name in ("lea", "marc", "sam"):
        user = load(f"users_info_{name}.json")["user"]
        author = parse_user(user)
        assert author is not None
        found[user["id"]] = author
    return found


def parse(message: dict[str, Any]) -> Any:
    authors = users()
    return parse_message(
        message,
        channel=CH,
        author=authors.get(message.get("user", "")),
        source="slack",
        kind="internal",
        workspace_url=WORKSPACE,
        user_name=lambda u: authors[u].name if u in authors else None,
    )


def settings(base_url: str = "https://slack.com/api", **values: Any) -> SlackSettings:
    values.setdefault("channels", [CH])
    values.setdefault("token", TOKEN)
    return SlackSettings(name="slack", type="slack", base_url=base_url, **values)


def api(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/api")


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> SlackSource:
    return SlackSource(settings(api(httpserver), **values), http, clock=clock or SteppedClock(NOW))


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def expect_auth(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(AUTH, headers=bearer()).respond_with_json(load("auth_test.json"))


def expect_users(httpserver: HTTPServer, *names: str) -> None:
    for name in names:
        user = load(f"users_info_{name}.json")
        httpserver.expect_oneshot_request(
            USERS, query_string={"user": user["user"]["id"]}, headers=bearer()
        ).respond_with_json(user)


def expect_history(httpserver: HTTPServer, body: Any, channel: str = CH, **params: str) -> None:
    query = {"channel": channel, "limit": params.pop("limit", "100"), **params}
    httpserver.expect_oneshot_request(HISTORY, query_string=query, headers=bearer()).respond_with_json(body)


def slack_error(error: str, **extra: str) -> dict[str, Any]:
    return {"ok": False, "error": error, **extra}


def assert_no_secret(error: BaseException) -> None:
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- mrkdwn -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mrkdwn", "text"),
    [
        ("Merci <@U0LEA12345> !", "Merci @Léa !"),
        ("Merci <@U0NOBODY12|lea> !", "Merci @lea !"),  # the legacy form carries the name
        ("Voir <#C024BE7LR|general>", "Voir #general"),
        ("Voir <#C024BE7LR>", "Voir #channel"),
        (
            "<https://intranet.example.com/a_b_c|Le programme> et <https://x.example/y_z_>",
            "Le programme et https://x.example/y_z_",
        ),
        ("Écrire à <mailto:rh@acme.example|rh@acme.example>", "Écrire à rh@acme.example"),
        ("<!here> <!channel> <!everyone> réunion", "@here @channel @everyone réunion"),
        ("<!subteam^SAZ94GDB8|@design> et <!date^1392734382^{date}|18 fév. 2014>", "@design et 18 fév. 2014"),
        (
            "*Bravo* _à tous_ ~hier~ mais snake_case_name et 2*3*4",
            "Bravo à tous hier mais snake_case_name et 2*3*4",
        ),
        ("3 &lt; 4 &amp;&amp; 5 &gt; 1 &amp;lt;", "3 < 4 && 5 > 1 &lt;"),
        ("&gt; une citation\nla réponse", "une citation\nla réponse"),
        ("&gt;&gt;&gt; un bloc cité\nsur deux lignes", "un bloc cité\nsur deux lignes"),
        ("Le code `if a &lt; b: *x*` reste", "Le code if a < b: *x* reste"),
        ("```\n&lt;pas un lien&gt; *ni gras*\n```", "<pas un lien> *ni gras*"),
        ("Bravo :tada: :+1::skin-tone-3: :inconnu: à 12:30:45", "Bravo 🎉 👍 :inconnu: à 12:30:45"),
        ("", ""),
    ],
)
def test_mrkdwn_to_text(mrkdwn: str, text: str) -> None:
    names = {LEA: "Léa"}

    assert mrkdwn_to_text(mrkdwn, user_name=names.get) == text


def test_hashtags_are_read_outside_code_links_and_channel_references() -> None:
    text = "#mur <#C024BE7LR|general> `#code` <https://x.example/#ancre|#lien> #Lyon2025 #mur C#"

    assert mrkdwn_hashtags(text) == ("mur", "lyon2025")


# -- messages: what the wall would show -------------------------------------------------------------


def test_message_gives_plain_text_author_link_and_tags() -> None:
    post = parse(by_ts(HELLO))

    assert post.id == f"{CH}/{HELLO}"
    assert post.text == (
        "Bravo à toute l'équipe de Lyon pour le salon 🎉 & merci @Marc Dupont ! Photos sur l'intranet #mur"
    )
    assert post.author == Author(
        "Léa", "@lea.martin", "https://avatars.slack-edge.com/2025-03-10/u0lea12345_192.jpg"
    )
    assert post.url == f"{WORKSPACE}/archives/{CH}/p1748851200000100"
    assert post.created_at == datetime(2025, 6, 2, 8, 0, 0, 100, tzinfo=UTC)
    assert post.tags == ("mur",)
    assert (post.network, post.kind, post.is_reply, post.edited_at) == ("slack", "internal", False, None)


def test_image_file_is_media_with_alt_text_and_other_files_are_not() -> None:
    post = parse(by_ts(PHOTO))

    tmb = "https://files.slack.com/files-tmb/T012AB3C4-F0STAND123-4d5e6f"
    assert post.media == (
        Media(
            f"{tmb}/stand_720.jpg",
            "Le stand de la marque, trois personnes devant un mur d'écrans",
            "image",
            f"{tmb}/stand_360.jpg",
        ),
    )
    assert post.author.name == "Marc Dupont"  # no display name: the real name


def test_thread_broadcast_is_a_reply_and_edits_are_dated() -> None:
    reply, edited = parse(by_ts(BROADCAST)), parse(by_ts(EDITED))

    assert reply.is_reply and reply.text == "@Léa merci ! On remet ça l'an prochain"
    assert reply.url == f"{WORKSPACE}/archives/{CH}/p1748851800000100?thread_ts={HELLO}&cid={CH}"
    assert edited.edited_at == datetime(2025, 6, 2, 8, 16, tzinfo=UTC)
    assert edited.text == "Café offert au 2e étage ☕ jusqu'à 10 h"


def test_only_messages_people_wrote_are_shown() -> None:
    shown = [m["ts"] for m in messages() if is_shown(m)]

    assert shown == [EDITED, BROADCAST, PHOTO, HELLO]  # not the join, not the bot
    assert [m["ts"] for m in messages() if is_shown(m, include_bots=True)] == [
        EDITED,
        "1748852000.000100",
        BROADCAST,
        PHOTO,
        HELLO,
    ]
    tombstone = by_ts(HELLO, "history_tombstone.json")
    assert not is_shown(tombstone) and not is_shown({**by_ts(HELLO), "hidden": True})
    assert not is_shown({**by_ts(HELLO), "bot_id": "B0APP12345"})  # an app posting with a user


def test_bot_message_author_is_its_name_when_bots_are_shown() -> None:
    bot = by_ts("1748852000.000100")
    post = parse_message(
        bot,
        channel=CH,
        author=Author("Rappels"),
        source="slack",
        kind="internal",
    )
    assert post is not None and post.text == "Réunion d'équipe à 14 h" and post.url == ""


def test_message_without_known_author_gives_no_post() -> None:
    assert parse_message(by_ts(HELLO), channel=CH, author=None, source="slack", kind="internal") is None


def test_user_without_display_name_uses_real_name() -> None:
    user = load("users_info_marc.json")["user"]

    assert parse_user(user) == Author(
        "Marc Dupont", "@marc", "https://avatars.slack-edge.com/2025-03-10/u0marc1234_192.jpg"
    )
    assert parse_user({"id": "U1", "profile": {}}) is None and parse_user("U1") is None


def test_changes_when_the_history_is_read_only_in_part() -> None:
    state = ChannelState(EDITED, {HELLO: "", PHOTO: "", BROADCAST: "", EDITED: "1748852160.000000"})
    page = [m for m in messages() if m["ts"] in (EDITED, JOIN)]  # the newest page only

    changes = select_changes(page, state=state, oldest=WINDOW, complete=False, window_start=WINDOW)

    # Nothing older than the oldest message read is taken for deleted.
    assert changes.deleted == () and changes.messages == ()
    complete = select_changes(page, state=state, oldest=WINDOW, complete=True, window_start=WINDOW)
    assert complete.deleted == (HELLO, PHOTO, BROADCAST)
    assert complete.state is not None and set(complete.state.known) == {EDITED}


def test_no_recheck_window_means_no_edits_or_deletions_remembered() -> None:
    first = select_changes(
        messages(), state=None, oldest=None, complete=False, window_start="1748854800.000000"
    )

    assert first.state == ChannelState(EDITED, {})
    assert [m["ts"] for m in first.messages] == [EDITED, BROADCAST, PHOTO, HELLO]


# -- settings ---------------------------------------------------------------------------------------------


def test_defaults_are_internal_every_minute_on_the_public_api() -> None:
    values = SlackSettings(name="slack", type="slack", channels=[f" {CH} ", CH])

    assert (values.kind, values.interval, values.base_url) == ("internal", 60, "https://slack.com/api")
    assert (values.limited_tier, values.include_bots, values.limit, values.recheck_hours) == (
        False,
        False,
        100,
        24,
    )
    assert values.channels == [CH] and values.token is None


@pytest.mark.parametrize("channel", ["#general", "general", "GENERAL", "c0lobby123", "D0123ABCD", "C12", ""])
def test_bad_channel_is_refused_with_a_clear_message(channel: str) -> None:
    with pytest.raises(ValidationError, match="copy it from the channel's details") as exc:
        settings(channels=[channel])
    assert TOKEN not in str(exc.value)


def test_token_is_never_shown() -> None:
    values = settings()

    assert TOKEN not in repr(values) and TOKEN not in str(values) and TOKEN not in values.model_dump_json()
    assert TOKEN not in repr(SlackSource(values, HttpFetcher(httpx.AsyncClient())))


def test_image_headers_only_for_slack_files() -> None:
    slack = SlackSource(settings(), HttpFetcher(httpx.AsyncClient()))

    url = "https://files.slack.com/files-tmb/T012AB3C4-F0STAND123-4d5e6f/stand_720.jpg"
    assert slack.image_headers(url) == bearer()
    for other in (
        "https://avatars.slack-edge.com/2025-03-10/u0lea12345_192.jpg",
        "http://files.slack.com/files-pri/x.jpg",
        "https://files.slack.com.evil.test/x.jpg",
        "https://files.slack.com:8443/x.jpg",
        "https://evil.test/?u=https://files.slack.com/x.jpg",
    ):
        assert slack.image_headers(other) == {}, other


# -- polling over HTTP ----------------------------------------------------------------------------------


async def test_first_poll_reads_one_page_and_looks_each_user_up_once(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [f"{CH}/{ts}" for ts in (EDITED, BROADCAST, PHOTO, HELLO)]
    assert [p.author.name for p in batch.posts] == ["Sam", "Marc Dupont", "Marc Dupont", "Léa"]
    assert {p.kind for p in batch.posts} == {"internal"} and batch.deleted == ()
    assert batch.posts[3].url.startswith(f"{WORKSPACE}/archives/")
    httpserver.check_assertions()  # Marc wrote two messages and is mentioned: one users.info


async def test_next_poll_rereads_the_window_for_new_edited_and_deleted_messages(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    expect_history(httpserver, load("history_later.json"), oldest=WINDOW)
    clock = SteppedClock(NOW)
    slack = source(httpserver, http, clock)

    await slack.poll()
    second = await slack.poll()

    assert [(p.id, p.edited_at) for p in second.posts] == [
        (f"{CH}/{NEW}", None),
        (f"{CH}/{HELLO}", datetime(2025, 6, 2, 8, 48, 20, tzinfo=UTC)),
    ]
    assert second.posts[0].text == "Le nouveau hall est ouvert aujourd'hui #MUR @here"
    assert second.posts[0].tags == ("mur",)
    assert second.deleted == (f"{CH}/{PHOTO}",)
    assert slack.state()["channels"][CH]["latest"] == NEW
    httpserver.check_assertions()  # users cached: no second users.info


async def test_deleted_thread_parent_left_as_tombstone_is_deleted(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    expect_history(httpserver, load("history_tombstone.json"), oldest=WINDOW)
    slack = source(httpserver, http)

    await slack.poll()
    batch = await slack.poll()

    assert batch.posts == () and batch.deleted == (f"{CH}/{HELLO}",)


async def test_pages_are_followed_with_the_next_cursor(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    expect_history(httpserver, load("history_page1.json"), oldest=WINDOW)
    expect_history(
        httpserver, load("history_page2.json"), oldest=WINDOW, cursor="bmV4dF90czoxNzQ4ODUxOTAwMDAwMTAw"
    )
    slack = source(httpserver, http)

    await slack.poll()
    batch = await slack.poll()

    assert not batch  # both pages read: nothing new, nothing gone
    httpserver.check_assertions()


async def test_pages_are_bounded_and_only_what_was_read_can_be_deleted(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    expect_history(httpserver, load("history_page1.json"), oldest=WINDOW)
    slack = source(httpserver, http, max_pages=1)

    await slack.poll()
    batch = await slack.poll()

    assert batch.deleted == ()  # the older messages were not read, so not taken for deleted
    assert [r.path for r, _ in httpserver.log].count(HISTORY) == 2  # no second page asked
    httpserver.check_assertions()


async def test_cursor_survives_a_restart(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    expect_auth(httpserver)
    expect_history(httpserver, load("history_later.json"), oldest=WINDOW)
    expect_users(httpserver, "lea", "marc", "sam")  # a new process starts with no user cache
    first = source(httpserver, http)
    await first.poll()

    restarted = source(httpserver, http)
    restarted.restore(json.loads(json.dumps(first.state())))
    batch = await restarted.poll()

    assert first.state()["channels"][CH]["latest"] == EDITED
    assert [p.id for p in batch.posts] == [f"{CH}/{NEW}", f"{CH}/{HELLO}"]
    assert batch.deleted == (f"{CH}/{PHOTO}",)
    httpserver.check_assertions()


def test_restore_drops_unknown_or_malformed_state() -> None:
    slack = SlackSource(settings(), HttpFetcher(httpx.AsyncClient()))
    slack.restore({"channels": {CH2: {"latest": HELLO, "known": {}}, CH: {"latest": 3, "known": {}}}})
    assert slack.state() == {"channels": {}}
    slack.restore({"channels": {CH: {"latest": HELLO, "known": {PHOTO: "", "nope": "", EDITED: 4}}}})
    assert slack.state() == {"channels": {CH: {"latest": HELLO, "known": {PHOTO: ""}}}}


async def test_old_message_read_again_is_not_shown_again(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"))
    expect_users(httpserver, "lea", "marc", "sam")
    httpserver.expect_request(
        HISTORY, query_string={"channel": CH, "limit": "100", "oldest": WINDOW}
    ).respond_with_json(load("history_first.json"))
    slack = source(httpserver, http)

    await slack.poll()

    assert not await slack.poll()
    assert not await slack.poll()


async def test_limited_tier_reads_15_messages_at_most_once_a_minute_one_channel_in_turn(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    expect_history(httpserver, load("history_first.json"), limit="15")
    expect_users(httpserver, "lea", "marc", "sam")
    expect_history(httpserver, {"ok": True, "messages": [], "has_more": False}, channel=CH2, limit="15")
    # two minutes later, the recheck window starts two minutes later too
    expect_history(httpserver, load("history_later.json"), limit="15", oldest="1748768520.000000")
    clock = SteppedClock(NOW)
    slack = source(httpserver, http, clock, channels=[CH, CH2], limited_tier=True)

    first = await slack.poll()
    clock.now += timedelta(seconds=59)
    too_early = await slack.poll()
    clock.now += timedelta(seconds=1)
    second = await slack.poll()
    clock.now += timedelta(seconds=60)
    third = await slack.poll()

    assert len(first.posts) == 4 and not too_early and not second
    assert third.deleted == (f"{CH}/{PHOTO}",)
    assert [r.args.get("channel") for r, _ in httpserver.log if r.path == HISTORY] == [CH, CH2, CH]
    assert slack.slow_down == 7.0  # with ±10 % jitter on 60 s, polls come 60 to 73 s apart
    assert SlackSource(settings(), http).slow_down == 0.0
    httpserver.check_assertions()


async def test_limited_tier_counts_a_failed_request(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json({"ok": False, "error": "internal_error"}, status=500)
    clock = SteppedClock(NOW)
    slack = source(httpserver, http, clock, limited_tier=True)

    with pytest.raises(TransientError):
        await slack.poll()
    clock.now += timedelta(seconds=30)

    assert not await slack.poll()  # no second request within the minute
    assert [r.path for r, _ in httpserver.log].count(HISTORY) == 1


async def test_unknown_user_hides_their_message_and_is_not_asked_again(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    only = {"ok": True, "messages": [by_ts(EDITED)], "has_more": False}
    expect_history(httpserver, only)
    httpserver.expect_oneshot_request(USERS, query_string={"user": SAM}).respond_with_json(
        slack_error("user_not_found")
    )
    expect_history(httpserver, only, oldest=WINDOW)
    slack = source(httpserver, http)

    assert not await slack.poll()
    await slack.poll()
    httpserver.check_assertions()


# -- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked"])
async def test_token_errors_are_auth_errors(httpserver: HTTPServer, http: HttpFetcher, error: str) -> None:
    httpserver.expect_request(AUTH).respond_with_json(slack_error(error))

    with pytest.raises(AuthError, match=f"refused the token .*{error}.*check `token`") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_missing_scope_names_the_scope_needed(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json(
        slack_error("missing_scope", needed="channels:history", provided="chat:write")
    )

    with pytest.raises(
        AuthError, match=f"conversations.history for channel {CH} needs the scope channels:history"
    ):
        await source(httpserver, http).poll()


async def test_not_in_channel_says_to_invite_the_app(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json(slack_error("not_in_channel"))

    with pytest.raises(AuthError, match=f"not a member of channel {CH}.*/invite @"):
        await source(httpserver, http).poll()


async def test_channel_not_found_is_a_config_error(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json(slack_error("channel_not_found"))

    with pytest.raises(ConfigError, match=f"channel {CH} not found.*check `channels`.*/invite @"):
        await source(httpserver, http).poll()


async def test_429_waits_retry_after(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json(
        slack_error("ratelimited"), status=429, headers={"Retry-After": "30"}
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_error_is_transient(httpserver: HTTPServer, http: HttpFetcher, status: int) -> None:
    httpserver.expect_request(AUTH).respond_with_data("upstream error", status=status)

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


@pytest.mark.parametrize(
    "body", ['{"ok": true, "messages": [', '{"messages": []}', '{"ok": true, "messages": null}', "[]"]
)
async def test_malformed_answer_is_transient(httpserver: HTTPServer, http: HttpFetcher, body: str) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError):
        await source(httpserver, http).poll()


async def test_unknown_error_name_is_transient_and_nonsense_is_not_repeated(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_auth(httpserver)
    httpserver.expect_request(HISTORY).respond_with_json(slack_error("fatal_error"))

    with pytest.raises(TransientError, match="fatal_error"):
        await source(httpserver, http).poll()
    httpserver.clear()
    httpserver.expect_request(AUTH).respond_with_json(slack_error("<script>" + TOKEN))
    with pytest.raises(TransientError, match="unknown_error") as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_missing_token_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match="WALL_SOURCES__SLACK__TOKEN"):
        await source(httpserver, http, token=None).poll()
    assert httpserver.log == []


async def test_every_error_the_source_raises_hides_the_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    bodies = [
        (200, slack_error("invalid_auth", needed=TOKEN)),
        (200, slack_error("missing_scope", needed=TOKEN)),
        (200, slack_error("channel_not_found", warning=TOKEN)),
        *((status, slack_error(TOKEN)) for status in (400, 401, 403, 404, 429, 500)),
    ]
    for status, body in bodies:
        httpserver.clear()
        httpserver.expect_request(AUTH).respond_with_json(body, status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)


# -- the CLI --------------------------------------------------------------------------------------------


def test_wall_fetch_prints_internal_posts_and_never_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(AUTH).respond_with_json(load("auth_test.json"))
    httpserver.expect_request(HISTORY, query_string={"channel": CH, "limit": "100"}).respond_with_json(
        load("history_first.json")
    )
    for name in ("lea", "marc", "sam"):
        user = load(f"users_info_{name}.json")
        httpserver.expect_request(USERS, query_string={"user": user["user"]["id"]}).respond_with_json(user)
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "slack"\ntype = "slack"\nbase_url = "{api(httpserver)}"\nchannels = ["{CH}"]\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "slack", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__SLACK__TOKEN": TOKEN},
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == [f"{CH}/{ts}" for ts in (EDITED, BROADCAST, PHOTO, HELLO)]
    assert {line["kind"] for line in lines} == {"internal"} and {line["network"] for line in lines} == {
        "slack"
    }
    assert lines[3]["text"].startswith("Bravo à toute l'équipe de Lyon")
    assert TOKEN not in result.stdout + result.stderr
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
