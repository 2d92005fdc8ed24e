"""Teams source: channel messages from Graph's delta query, with an app token, over real HTTP."""

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
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from sources.base import AuthError, ConfigError, HttpFetcher, RateLimited, SourceError, TransientError
from sources.teams import TeamsSettings, TeamsSource, parse_delta_page, parse_message
from tests.support.clock import SteppedClock
from wall.core.model import Author, Media

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "teams"
GRAPH = "https://graph.microsoft.com/v1.0"
TENANT = "2432b57b-0abd-43db-aa7b-16eadd115d34"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
SECRET = "Xq8Q~s3cr3t.value-Teams_client"
TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL = "19:4a95f7d8db4c4e7fae857bcebe0623e6@thread.tacv2"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.app-token-one.c2lnbmF0dXJl"
TOKEN_TWO = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.app-token-two.c2lnbmF0dXJl"
TOKEN_PATH = f"/{TENANT}/oauth2/v2.0/token"
DELTA_PATH = f"/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages/delta"
NOW = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
FIRST_SYNC = {"$top": "20", "$filter": "lastModifiedDateTime gt 2024-01-29T09:00:00Z"}
ROBIN, ALICE, WORKFLOW, BOB = "1706695200000", "1706698800000", "1706706000000", "1706792400000"


def query_of(link: str) -> dict[str, str]:
    """The query of a Graph link, as pytest-httpserver matches it."""
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


SKIP = query_of(json.loads((FIXTURES / "delta_first.json").read_text(encoding="utf-8"))["@odata.nextLink"])
DELTA = query_of(json.loads((FIXTURES / "delta_second.json").read_text(encoding="utf-8"))["@odata.deltaLink"])


def graph_root(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/v1.0")


def load(name: str, graph: str = GRAPH) -> Any:
    """A fixture payload, its Graph links pointed at `graph`."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8").replace(GRAPH, graph))


def settings(httpserver: HTTPServer, **values: Any) -> TeamsSettings:
    values.setdefault("client_secret", SECRET)
    return TeamsSettings(
        name="teams",
        type="teams",
        base_url=graph_root(httpserver),
        auth_url=httpserver.url_for("/").rstrip("/"),
        tenant=TENANT,
        client_id=CLIENT_ID,
        team=TEAM,
        channel=CHANNEL,
        **values,
    )


def source(
    httpserver: HTTPServer, http: HttpFetcher, clock: SteppedClock | None = None, **values: Any
) -> TeamsSource:
    return TeamsSource(settings(httpserver, **values), http, clock=clock or SteppedClock(NOW))


def expect_token(httpserver: HTTPServer, token: str = TOKEN, expires_in: int = 3599) -> None:
    answer = {**load("token.json"), "access_token": token, "expires_in": expires_in}
    httpserver.expect_oneshot_request(TOKEN_PATH, method="POST").respond_with_json(answer)


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graph_error(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": "2024-02-01T09:00:00",
                "request-id": "b1f9a2c4-7c1e-4f7e-9d35-5a0f2b6c8e11",
                "client-request-id": "b1f9a2c4-7c1e-4f7e-9d35-5a0f2b6c8e11",
            },
        }
    }


def aad_error(error: str, code: int, description: str) -> dict[str, Any]:
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "error_codes": [code],
        "timestamp": "2024-02-01 09:00:00Z",
        "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
        "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def assert_no_secret(error: BaseException) -> None:
    for secret in (SECRET, TOKEN, TOKEN_TWO, "$deltatoken", "$skiptoken"):
        assert secret not in str(error) and secret not in repr(error)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield HttpFetcher(client)


# -- parsing ----------------------------------------------------------------------------------------


def parse(name: str, base_url: str = GRAPH) -> tuple[list[Any], list[str]]:
    return parse_delta_page(
        load(name, base_url), source="teams", kind="internal", base_url=base_url, team=TEAM, channel=CHANNEL
    )


def test_text_message_gives_a_post_with_its_hashtag() -> None:
    posts, deleted = parse("delta_first.json")

    robin = posts[0]
    assert robin.id == ROBIN and robin.network == "teams" and robin.kind == "internal"
    assert robin.text == "Café du matin #Mur"  # spaces collapsed
    assert robin.tags == ("mur",)
    assert robin.author == Author("Robin Kline")
    assert robin.created_at == datetime(2024, 1, 31, 10, 0, tzinfo=UTC)
    assert robin.url.startswith("https://teams.microsoft.com/l/message/19%3A4a95f7d8db4c4e7fae857bcebe0623e6")
    assert robin.edited_at is None and not robin.is_reply and robin.media == ()
    assert deleted == []


def test_html_message_with_subject_emoji_and_hosted_image() -> None:
    posts, _ = parse("delta_first.json", "http://127.0.0.1:8080/v1.0")

    alice = posts[1]
    assert alice.text == "Bienvenue à Lyon\n\nMerci Bob pour l'accueil\u00a0! 😄 #mur #Lobby"
    assert "alert" not in alice.text and "<" not in alice.text
    assert alice.tags == ("mur", "lobby")
    # The hosted content is rebuilt on base_url (where image_headers gives the token); the
    # SharePoint file attachment is not an image the wall can load.
    assert alice.media == (
        Media(
            f"http://127.0.0.1:8080/v1.0/teams/{TEAM}/channels/{CHANNEL}/messages/{ALICE}/hostedContents/"
            "aWQ9eF8wLXd1cy1kMS02YmI3Nzk3ZGU2MmRjODdjODA4YmQ1ZmI0OWM4NjI2ZCx0eXBlPTEsdXJsPWh0dHBzOi8vdXMtYXBp"
            "LmFzbS5za3lwZS5jb20vdjEvb2JqZWN0cy8wLXd1cy1kMS02YmI3Nzk3ZGU2MmRjODdjODA4YmQ1ZmI0OWM4NjI2ZC92aWV3"
            "cy9pbWdv/$value",
            "L'équipe devant l'atelier",
            "image",
        ),
    )


def test_system_event_messages_are_skipped() -> None:
    posts, deleted = parse("delta_first.json")

    assert [p.id for p in posts] == [ROBIN, ALICE]  # the membersAdded event is not a post
    assert deleted == []


def test_message_from_an_app_is_shown_under_the_app_name_with_its_image_attachment() -> None:
    (workflow,), _ = parse("delta_second.json")

    assert workflow.author == Author("Workflows")
    assert workflow.text == "Note de service\n\nLe parking sera fermé vendredi. #mur"
    assert workflow.media == (
        Media(
            "https://intranet.contoso.example/img/parking.png",
            "Plan du parking",
            "image",
            "https://intranet.contoso.example/img/parking-small.png",
        ),
    )


def test_deleted_and_edited_messages() -> None:
    posts, deleted = parse("delta_changes.json")

    assert deleted == [ALICE]
    edited, new = posts
    assert edited.id == ROBIN and edited.text == "Café du matin, croissants offerts #Mur"
    assert edited.edited_at == datetime(2024, 2, 1, 11, 0, tzinfo=UTC)
    assert new.id == BOB and new.text == "Nouvelle machine à café au 2e étage\u00a0☕ #mur"


@pytest.mark.parametrize(
    "damage",
    [None, [], {"id": ROBIN}, {"id": ROBIN, "messageType": "message", "createdDateTime": "yesterday"}],
)
def test_something_that_is_not_a_message_gives_no_post(damage: Any) -> None:
    assert (
        parse_message(damage, source="t", kind="internal", base_url=GRAPH, team=TEAM, channel=CHANNEL) is None
    )


def test_message_without_a_sender_gives_no_post() -> None:
    raw = load("delta_first.json")["value"][0]
    raw["from"] = {"application": None, "device": None, "user": None}

    assert parse_message(raw, source="t", kind="internal", base_url=GRAPH, team=TEAM, channel=CHANNEL) is None


# -- settings ---------------------------------------------------------------------------------------


def test_settings_defaults_and_channel_from_a_link() -> None:
    values = TeamsSettings(
        name="t",
        type="teams",
        tenant="Contoso.onmicrosoft.com",
        client_id=CLIENT_ID.upper(),
        team=TEAM,
        channel="19%3a4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2",
    )

    assert values.kind == "internal" and values.interval == 60
    assert values.base_url == "https://graph.microsoft.com/v1.0"
    assert values.auth_url == "https://login.microsoftonline.com"
    assert values.channel == CHANNEL and values.tenant == "contoso.onmicrosoft.com"
    assert values.client_id == CLIENT_ID and values.client_secret is None
    assert values.limit == 20 and values.max_pages == 5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tenant": "common"}, "cannot sign in an app on its own"),
        ({"tenant": "not a tenant"}, "is not a tenant"),
        ({"client_id": "my-app"}, "is not an id"),
        ({"team": "Lyon"}, "is not an id"),
        ({"channel": "Général"}, "is not a channel id"),
        ({"limit": 51}, "less than or equal to 50"),
        ({"base_url": f"https://graph.microsoft.com/v1.0?secret={SECRET}"}, "goes in `client_secret`"),
    ],
)
def test_settings_refuse_bad_values_with_a_clear_message(values: dict[str, Any], message: str) -> None:
    entry = {
        "name": "t",
        "type": "teams",
        "tenant": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "team": TEAM,
        "channel": CHANNEL,
        **values,
    }
    with pytest.raises(ValidationError, match=re.escape(message)) as exc:
        TeamsSettings.model_validate(entry)
    assert SECRET not in str(exc.value)


def test_client_secret_is_never_shown(httpserver: HTTPServer) -> None:
    values = settings(httpserver)

    assert SECRET not in repr(values) and SECRET not in str(values) and SECRET not in values.model_dump_json()
    assert SECRET not in repr(TeamsSource(values, HttpFetcher(httpx.AsyncClient())))
    assert TeamsSettings.secret_fields == ("client_secret",)


# -- polling over HTTP --------------------------------------------------------------------------------


async def test_first_poll_follows_next_link_and_keeps_the_delta_link(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_oneshot_request(
        DELTA_PATH, query_string=FIRST_SYNC, headers=bearer()
    ).respond_with_json(load("delta_first.json", graph))
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=SKIP, headers=bearer()).respond_with_json(
        load("delta_second.json", graph)
    )
    teams = source(httpserver, http)

    batch = await teams.poll()

    assert [p.id for p in batch.posts] == [ROBIN, ALICE, WORKFLOW]
    assert batch.deleted == () and {p.kind for p in batch.posts} == {"internal"}
    assert teams.state() == {"delta_link": load("delta_second.json", graph)["@odata.deltaLink"]}
    httpserver.check_assertions()
    token_request = httpserver.log[0][0]
    assert parse_qs(token_request.get_data(as_text=True)) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
        "scope": ["https://graph.microsoft.com/.default"],
    }
    assert SECRET not in json.dumps(teams.state())


async def test_one_token_serves_several_polls_and_a_new_one_comes_after_expiry(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    quiet = {"@odata.deltaLink": load("delta_second.json", graph)["@odata.deltaLink"], "value": []}
    expect_token(httpserver, TOKEN)
    expect_token(httpserver, TOKEN_TWO)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(
        load("delta_second.json", graph)
    )
    httpserver.expect_request(DELTA_PATH, query_string=DELTA).respond_with_json(quiet)
    clock = SteppedClock(NOW)
    teams = source(httpserver, http, clock)

    await teams.poll()
    clock.now += timedelta(minutes=20)
    await teams.poll()
    clock.now += timedelta(minutes=20)
    await teams.poll()
    tokens_before_expiry = [r.path for r, _ in httpserver.log].count(TOKEN_PATH)
    clock.now += timedelta(minutes=20)  # 60 min after the token was issued: past expiry
    await teams.poll()

    assert tokens_before_expiry == 1
    assert [r.path for r, _ in httpserver.log].count(TOKEN_PATH) == 2
    assert httpserver.log[-1][0].headers["Authorization"] == f"Bearer {TOKEN_TWO}"
    httpserver.check_assertions()


async def test_graph_401_gets_one_new_token_then_succeeds(httpserver: HTTPServer, http: HttpFetcher) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver, TOKEN)
    expect_token(httpserver, TOKEN_TWO)
    httpserver.expect_oneshot_request(DELTA_PATH, headers=bearer(TOKEN)).respond_with_json(
        graph_error("InvalidAuthenticationToken", "Access token has expired or is not yet valid."), status=401
    )
    httpserver.expect_oneshot_request(DELTA_PATH, headers=bearer(TOKEN_TWO)).respond_with_json(
        load("delta_second.json", graph)
    )

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [WORKFLOW]
    assert [r.path for r, _ in httpserver.log] == [TOKEN_PATH, DELTA_PATH, TOKEN_PATH, DELTA_PATH]
    httpserver.check_assertions()


async def test_graph_401_again_after_a_new_token_is_an_auth_error(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_token(httpserver, TOKEN)
    expect_token(httpserver, TOKEN_TWO)
    httpserver.expect_request(DELTA_PATH).respond_with_json(
        graph_error("InvalidAuthenticationToken", f"Access token validation failure: {TOKEN_TWO}"), status=401
    )

    with pytest.raises(AuthError, match="InvalidAuthenticationToken") as exc:
        await source(httpserver, http).poll()
    assert [r.path for r, _ in httpserver.log] == [TOKEN_PATH, DELTA_PATH, TOKEN_PATH, DELTA_PATH]
    assert_no_secret(exc.value)


async def test_delta_link_resumes_after_a_restart_with_edits_and_deletions(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(
        load("delta_first.json", graph)
    )
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=SKIP).respond_with_json(
        load("delta_second.json", graph)
    )
    first = source(httpserver, http)
    await first.poll()
    saved = json.loads(json.dumps(first.state()))

    expect_token(httpserver)  # the token is not in the state: a restarted wall asks for a new one
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=DELTA, headers=bearer()).respond_with_json(
        load("delta_changes.json", graph)
    )
    restarted = source(httpserver, http)
    restarted.restore(saved)
    batch = await restarted.poll()

    assert [p.id for p in batch.posts] == [ROBIN, BOB]
    assert batch.posts[0].edited_at == datetime(2024, 2, 1, 11, 0, tzinfo=UTC)
    assert batch.deleted == (ALICE,)
    assert restarted.state()["delta_link"].endswith("3o0rhgaBUduuxOr98An5pjBDP5JjKUiVWku3flSiOsk")
    assert len(httpserver.log) == 5
    httpserver.check_assertions()


async def test_a_post_deleted_later_in_the_same_round_is_only_a_deletion(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    page = load("delta_changes.json", graph)
    page["@odata.nextLink"] = page.pop("@odata.deltaLink").replace("$deltatoken", "$skiptoken")
    gone = {**load("delta_first.json")["value"][0], "deletedDateTime": "2024-02-01T12:30:00Z"}
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(page)
    httpserver.expect_oneshot_request(DELTA_PATH).respond_with_json(
        {"@odata.deltaLink": load("delta_second.json", graph)["@odata.deltaLink"], "value": [gone]}
    )

    batch = await source(httpserver, http).poll()

    assert [p.id for p in batch.posts] == [BOB]
    assert batch.deleted == (ALICE, ROBIN)


def test_restore_ignores_links_of_another_base_url_or_channel(httpserver: HTTPServer) -> None:
    teams = TeamsSource(settings(httpserver), HttpFetcher(httpx.AsyncClient()))
    own = load("delta_second.json", graph_root(httpserver))["@odata.deltaLink"]

    teams.restore({"delta_link": own})
    assert teams.state() == {"delta_link": own}
    teams.restore({"delta_link": load("delta_second.json")["@odata.deltaLink"]})  # graph.microsoft.com
    assert teams.state() == {}
    teams.restore({"delta_link": own.replace(CHANNEL, "19:other@thread.tacv2")})
    assert teams.state() == {}
    teams.restore({"delta_link": 42})
    assert teams.state() == {}


async def test_a_round_longer_than_max_pages_carries_on_at_the_next_poll(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(
        load("delta_first.json", graph)
    )
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=SKIP).respond_with_json(
        load("delta_second.json", graph)
    )
    teams = source(httpserver, http, max_pages=1)

    first = await teams.poll()
    assert [p.id for p in first.posts] == [ROBIN, ALICE]
    assert teams.state()["delta_link"] == load("delta_first.json", graph)["@odata.nextLink"]
    second = await teams.poll()

    assert [p.id for p in second.posts] == [WORKFLOW]
    assert "$deltatoken=" in teams.state()["delta_link"]
    httpserver.check_assertions()


async def test_a_link_outside_base_url_is_not_followed(httpserver: HTTPServer, http: HttpFetcher) -> None:
    page = load("delta_first.json", "https://elsewhere.example/v1.0")
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(page)
    teams = source(httpserver, http)

    with pytest.raises(TransientError, match="not followed") as exc:
        await teams.poll()
    assert teams.state() == {}  # all or nothing: the next poll starts again
    assert_no_secret(exc.value)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (410, graph_error("resyncRequired", "Resync required.")),
        (400, graph_error("syncStateNotFound", "The sync state generation is not found.")),
    ],
)
async def test_an_expired_delta_link_starts_a_new_first_sync(
    httpserver: HTTPServer, http: HttpFetcher, status: int, body: dict[str, Any]
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=DELTA).respond_with_json(body, status=status)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=FIRST_SYNC).respond_with_json(
        load("delta_second.json", graph)
    )
    teams = source(httpserver, http)
    teams.restore({"delta_link": load("delta_second.json", graph)["@odata.deltaLink"]})

    batch = await teams.poll()

    assert [p.id for p in batch.posts] == [WORKFLOW]
    httpserver.check_assertions()


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            401,
            aad_error("invalid_client", 7000215, f"Invalid client secret provided: '{SECRET}'."),
            AuthError,
            "create a new client secret",
        ),
        (
            401,
            aad_error("invalid_client", 7000222, "The provided client secret keys for app are expired."),
            AuthError,
            "wrong or expired",
        ),
        (
            400,
            aad_error("invalid_request", 90002, f"Tenant '{TENANT}' not found."),
            ConfigError,
            "check `tenant`",
        ),
        (
            400,
            aad_error(
                "unauthorized_client", 700016, f"Application with identifier '{CLIENT_ID}' was not found."
            ),
            ConfigError,
            "check `client_id`",
        ),
    ],
)
async def test_token_refusals_say_which_setting_to_fix(
    httpserver: HTTPServer,
    http: HttpFetcher,
    status: int,
    body: dict[str, Any],
    error: type[SourceError],
    message: str,
) -> None:
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json(body, status=status)

    with pytest.raises(error, match=re.escape(message)) as exc:
        await source(httpserver, http).poll()
    assert f"AADSTS{body['error_codes'][0]}" in str(exc.value)
    assert "Trace ID" not in str(exc.value)  # Entra's description is not copied
    assert_no_secret(exc.value)
    assert [r.path for r, _ in httpserver.log] == [TOKEN_PATH]


async def test_missing_client_secret_is_an_auth_error_naming_the_variable(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    with pytest.raises(AuthError, match=r"no client_secret.*WALL_SOURCES__TEAMS__CLIENT_SECRET"):
        await source(httpserver, http, client_secret=None).poll()
    assert httpserver.log == []


async def test_403_names_the_missing_permission(httpserver: HTTPServer, http: HttpFetcher) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_json(
        graph_error(
            "Forbidden",
            "Missing role permissions on the request. API requires one of 'ChannelMessage.Read.All, "
            "ChannelMessage.Read.Group, Group.Read.All, Group.ReadWrite.All'. Roles on the request ''.",
        ),
        status=403,
    )

    with pytest.raises(AuthError, match=r"application permission ChannelMessage\.Read\.All") as exc:
        await source(httpserver, http).poll()
    assert "Forbidden" in str(exc.value)
    assert_no_secret(exc.value)


async def test_404_is_a_config_error_naming_team_and_channel(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_json(
        graph_error("NotFound", "No team found with Group Id fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"),
        status=404,
    )

    with pytest.raises(ConfigError, match=re.escape(f"team {TEAM!r} or channel {CHANNEL!r} not found")):
        await source(httpserver, http).poll()


@pytest.mark.parametrize(("status", "wait"), [(429, 7.0), (503, 12.0), (504, 3.0)])
async def test_throttling_with_retry_after_is_rate_limited(
    httpserver: HTTPServer, http: HttpFetcher, status: int, wait: float
) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_json(
        graph_error("TooManyRequests" if status == 429 else "ServiceNotAvailable", "Please retry later."),
        status=status,
        headers={"Retry-After": str(int(wait))},
    )

    with pytest.raises(RateLimited) as exc:
        await source(httpserver, http).poll()
    assert exc.value.retry_after == wait
    assert_no_secret(exc.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_without_retry_after_are_transient(
    httpserver: HTTPServer, http: HttpFetcher, status: int
) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_json(
        graph_error("InternalServerError", "Something went wrong."), status=status
    )

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert not isinstance(exc.value, RateLimited)


async def test_errors_on_a_delta_link_do_not_show_its_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH, query_string=DELTA).respond_with_data("oops", status=500)
    teams = source(httpserver, http)
    teams.restore({"delta_link": load("delta_second.json", graph)["@odata.deltaLink"]})

    with pytest.raises(TransientError, match="HTTP 500") as exc:
        await teams.poll()
    assert DELTA["$deltatoken"] not in str(exc.value)
    assert_no_secret(exc.value)


@pytest.mark.parametrize("body", ['{"value": [', '{"value": null}', "[]", "null"])
async def test_malformed_delta_answers_are_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: str
) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_data(body, content_type="application/json")

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_a_page_without_next_or_delta_link_is_transient(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH).respond_with_json({"value": []})

    with pytest.raises(TransientError, match=re.escape("neither @odata.nextLink nor @odata.deltaLink")):
        await source(httpserver, http).poll()


@pytest.mark.parametrize("body", ["<html>", '{"token_type": "Bearer"}'])
async def test_malformed_token_answers_are_transient(
    httpserver: HTTPServer, http: HttpFetcher, body: str
) -> None:
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_data(
        body, content_type="application/json"
    )

    with pytest.raises(TransientError) as exc:
        await source(httpserver, http).poll()
    assert_no_secret(exc.value)


async def test_no_error_text_ever_holds_the_secret_or_a_token(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    echo = f"client_secret={SECRET} Bearer {TOKEN}"
    for status in (400, 401, 403, 404, 429, 500, 503):
        httpserver.clear()
        httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json(
            {"error": "invalid_request", "error_description": echo, "error_codes": [50000]}, status=status
        )
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)
    for status in (400, 401, 403, 404, 429, 500, 503):
        httpserver.clear()
        expect_token(httpserver)
        expect_token(httpserver)
        httpserver.expect_request(DELTA_PATH).respond_with_json(graph_error("Whatever", echo), status=status)
        with pytest.raises(SourceError) as exc:
            await source(httpserver, http).poll()
        assert_no_secret(exc.value)


# -- image headers -----------------------------------------------------------------------------------


async def test_image_headers_give_the_token_for_hosted_contents_only(
    httpserver: HTTPServer, http: HttpFetcher
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_request(DELTA_PATH, query_string=SKIP).respond_with_json(
        load("delta_second.json", graph)
    )
    httpserver.expect_request(DELTA_PATH).respond_with_json(load("delta_first.json", graph))
    clock = SteppedClock(NOW)
    teams = source(httpserver, http, clock)
    assert teams.image_headers(f"{graph}/teams/{TEAM}/x/$value") == {}  # no token yet

    batch = await teams.poll()
    hosted = batch.posts[1].media[0].url
    public = batch.posts[2].media[0].url

    assert teams.image_headers(hosted) == bearer()
    assert teams.image_headers(public) == {}
    assert teams.image_headers(hosted.replace("http://", "https://")) == {}
    clock.now += timedelta(hours=2)  # expired: the loader must not send a stale token
    assert teams.image_headers(hosted) == {}


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


def config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "wall.toml"
    path.write_text(f'[storage]\nstate_dir = "{tmp_path / "state"}"\n{body}', encoding="utf-8")
    return path


def test_wall_fetch_prints_internal_posts_and_never_the_secret(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    graph = graph_root(httpserver)
    expect_token(httpserver)
    httpserver.expect_oneshot_request(DELTA_PATH, query_string=SKIP).respond_with_json(
        load("delta_second.json", graph)
    )
    httpserver.expect_oneshot_request(DELTA_PATH).respond_with_json(load("delta_first.json", graph))
    path = config(
        tmp_path,
        '[[sources]]\nname = "teams"\ntype = "teams"\n'
        f'base_url = "{graph}"\nauth_url = "{httpserver.url_for("/").rstrip("/")}"\n'
        f'tenant = "{TENANT}"\nclient_id = "{CLIENT_ID}"\nteam = "{TEAM}"\nchannel = "{CHANNEL}"\n',
    )

    result = wall(
        "fetch", "teams", "--json", "--config", str(path), env={"WALL_SOURCES__TEAMS__CLIENT_SECRET": SECRET}
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["id"] for line in lines} == {ROBIN, ALICE, WORKFLOW}
    assert {(line["type"], line["kind"], line["network"]) for line in lines} == {
        ("post", "internal", "teams")
    }
    # The name as the consent rules show it (full or "Alice M.").
    assert next(line for line in lines if line["id"] == ALICE)["author_name"].startswith("Alice M")
    for secret in (SECRET, TOKEN):
        assert secret not in result.stdout + result.stderr
    assert parse_qs(httpserver.log[0][0].get_data(as_text=True))["client_secret"] == [SECRET]
