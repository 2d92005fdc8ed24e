"""Matrix source against a real homeserver: Synapse, started once for the test session.

Each test makes its own rooms, so that tests do not see each other's messages. Users: `wall` (the
bot whose token the source uses), `alice` ("Alice Martin") and `bob` ("Bob Durand").
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image

from sources.base import AuthError, HttpFetcher
from sources.matrix import MatrixSettings, MatrixSource
from tests.servers.synapse import SynapseError, SynapseServer, User, start_synapse
from wall.core.model import Batch, utcnow
from wall.engine.config import load_config
from wall.engine.services import open_store

ROOT = Path(__file__).resolve().parents[2]
STREAM_DELIVERY = 2.0  # seconds: a message must reach a waiting stream() sooner than this


@dataclass(frozen=True)
class Homeserver:
    server: SynapseServer
    wall: User
    alice: User
    bob: User


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver | SynapseError]:
    """A running Synapse with three users. A missing Synapse is handed to each test as the error,
    so that each test fails (never skips) with the install hint."""
    try:
        server = start_synapse(tmp_path_factory.mktemp("synapse") / "data")
    except SynapseError as exc:
        yield exc
        return
    try:
        yield Homeserver(
            server=server,
            wall=server.register("wall"),
            alice=server.register("alice", display_name="Alice Martin"),
            bob=server.register("bob", display_name="Bob Durand"),
        )
    finally:
        server.stop()


def running(synapse: Homeserver | SynapseError) -> Homeserver:
    if isinstance(synapse, SynapseError):
        pytest.fail(str(synapse), pytrace=False)
    return synapse


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpFetcher]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield HttpFetcher(client)


def source(hs: Homeserver, http: HttpFetcher, rooms: list[str], **values: Any) -> MatrixSource:
    values.setdefault("token", hs.wall.token)
    settings = MatrixSettings(name="rse", type="matrix", base_url=hs.server.base_url, rooms=rooms, **values)
    return MatrixSource(settings, http)


def room(hs: Homeserver, name: str, *, alias: str = "") -> str:
    """A room made by Alice, with Bob and the bot joined."""
    return hs.server.create_room(hs.alice, name, alias=alias, members=(hs.bob, hs.wall))


def texts(batch: Batch) -> list[str]:
    return [post.text for post in batch.posts]


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 40)).save(out, "PNG")
    return out.getvalue()


async def next_with_posts(stream: AsyncGenerator[Batch, None]) -> Batch:
    """The next batch that has posts (a long-poll may also end with nothing new)."""
    while not (batch := await anext(stream)).posts:
        pass
    return batch


@pytest.mark.asyncio
async def test_posts_of_two_authors_with_names_tags_and_the_member_count(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Vie du site")
    hs.server.send_text(
        hs.alice, room_id, "Bienvenue aux nouveaux ! #Mur", html="<p>Bienvenue aux <b>nouveaux</b> ! #Mur</p>"
    )
    hs.server.send_text(hs.bob, room_id, "Merci, sans étiquette")
    started = utcnow()

    batch = await source(hs, http, [room_id]).poll()

    assert texts(batch) == ["Merci, sans étiquette", "Bienvenue aux nouveaux ! #Mur"]
    bob_post, alice_post = batch.posts
    assert (alice_post.author.name, alice_post.author.handle) == ("Alice Martin", hs.alice.user_id)
    assert (bob_post.author.name, bob_post.author.handle) == ("Bob Durand", hs.bob.user_id)
    assert alice_post.tags == ("mur",) and bob_post.tags == ()
    assert alice_post.network == "matrix" and alice_post.kind == "internal" and alice_post.source == "rse"
    assert alice_post.url == f"https://matrix.to/#/{room_id}/{alice_post.id}"
    assert abs(alice_post.created_at - started) < timedelta(minutes=1)
    (count,) = batch.counts
    assert (count.account, count.value, count.label, count.metric) == (room_id, 3, "Vie du site", "members")


@pytest.mark.asyncio
async def test_a_member_who_joins_later_is_named(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Arrivées")
    wall_source = source(hs, http, [room_id])
    await wall_source.poll()
    chloe = hs.server.register(f"chloe{time.monotonic_ns()}", display_name="Chloé Petit")
    hs.server.call(
        "POST", f"/_matrix/client/v3/rooms/{room_id}/invite", {"user_id": chloe.user_id}, token=hs.alice.token
    )
    hs.server.call("POST", f"/_matrix/client/v3/rooms/{room_id}/join", {}, token=chloe.token)
    hs.server.send_text(chloe, room_id, "Bonjour à tous #mur")

    (post,) = (await wall_source.poll()).posts

    assert (post.author.name, post.author.handle) == ("Chloé Petit", chloe.user_id)


@pytest.mark.asyncio
async def test_alias_is_resolved(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room(hs, "Accueil", alias="accueil")
    alias = "#accueil:localhost"
    hs.server.send_text(hs.alice, alias_room_id(hs, alias), "Par l'alias #mur")

    batch = await source(hs, http, [alias]).poll()

    assert texts(batch) == ["Par l'alias #mur"]
    assert batch.counts[0].account == alias and batch.counts[0].label == "Accueil"


def alias_room_id(hs: Homeserver, alias: str) -> str:
    answer = hs.server.call("GET", f"/_matrix/client/v3/directory/room/{alias.replace('#', '%23')}")
    room_id: str = answer["room_id"]
    return room_id


@pytest.mark.asyncio
async def test_next_poll_and_a_restart_show_only_new_messages(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Suite")
    first = source(hs, http, [room_id])
    hs.server.send_text(hs.alice, room_id, "Premier")
    assert texts(await first.poll()) == ["Premier"]
    hs.server.send_text(hs.bob, room_id, "Deuxième")
    assert texts(await first.poll()) == ["Deuxième"]
    hs.server.send_text(hs.alice, room_id, "Troisième")

    restarted = source(hs, http, [room_id])
    restarted.restore(json.loads(json.dumps(first.state())))

    assert texts(await restarted.poll()) == ["Troisième"]
    assert texts(await restarted.poll()) == []


@pytest.mark.asyncio
async def test_backfill_is_bounded(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room_id = room(hs, "Historique")
    for number in range(5):
        hs.server.send_text(hs.alice, room_id, f"Message {number}")

    batch = await source(hs, http, [room_id], backfill=3).poll()

    assert texts(batch) == ["Message 4", "Message 3", "Message 2"]


@pytest.mark.asyncio
async def test_edit_replaces_the_post(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room_id = room(hs, "Éditions")
    wall_source = source(hs, http, [room_id])
    event_id = hs.server.send_text(hs.alice, room_id, "Réunion à 10h #mur")
    (before,) = (await wall_source.poll()).posts

    hs.server.edit(hs.alice, room_id, event_id, "Réunion à 11h #mur #Hall")
    (after,) = (await wall_source.poll()).posts

    assert (after.id, after.text, after.tags) == (event_id, "Réunion à 11h #mur #Hall", ("mur", "hall"))
    assert before.edited_at is None and after.edited_at is not None
    assert after.created_at == before.created_at and after.author == before.author
    # A source that starts after the edit sees the original already edited.
    (fresh,) = (await source(hs, http, [room_id]).poll()).posts
    assert (fresh.id, fresh.text) == (event_id, "Réunion à 11h #mur #Hall")


@pytest.mark.asyncio
async def test_edit_by_someone_else_is_ignored(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room_id = room(hs, "Usurpation")
    wall_source = source(hs, http, [room_id])
    event_id = hs.server.send_text(hs.alice, room_id, "Texte d'Alice")
    await wall_source.poll()

    hs.server.edit(hs.bob, room_id, event_id, "Texte réécrit par Bob")

    assert (await wall_source.poll()).posts == ()


@pytest.mark.asyncio
async def test_redaction_deletes_the_post(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room_id = room(hs, "Suppressions")
    wall_source = source(hs, http, [room_id])
    kept = hs.server.send_text(hs.alice, room_id, "Reste")
    gone = hs.server.send_text(hs.bob, room_id, "À retirer")
    assert {p.id for p in (await wall_source.poll()).posts} == {kept, gone}

    hs.server.redact(hs.bob, room_id, gone, "erreur")
    batch = await wall_source.poll()

    assert batch.deleted == (gone,) and batch.posts == ()
    assert [p.id for p in (await source(hs, http, [room_id]).poll()).posts] == [kept]


@pytest.mark.asyncio
async def test_image_has_alt_text_and_downloads_with_image_headers(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Photos")
    data = png()
    hs.server.send_image(
        hs.alice, room_id, data, filename="hall.png", caption="Le nouveau hall #mur", size=(64, 48)
    )
    hs.server.send_image(hs.bob, room_id, data, filename="IMG_2041.png", size=(64, 48))
    wall_source = source(hs, http, [room_id])

    bob_post, alice_post = (await wall_source.poll()).posts

    assert alice_post.text == "Le nouveau hall #mur" and alice_post.tags == ("mur",)
    (media,) = alice_post.media
    assert media.alt == "Le nouveau hall #mur" and media.kind == "image"
    assert media.url.startswith(f"{hs.server.base_url}/_matrix/client/v1/media/download/localhost/")
    assert bob_post.text == "" and bob_post.media[0].alt == "IMG_2041.png"
    async with httpx.AsyncClient(timeout=10) as client:
        anonymous = await client.get(media.url)
        downloaded = await client.get(media.url, headers=wall_source.image_headers(media.url))
    assert anonymous.status_code == 401  # authenticated media: the token is needed
    assert downloaded.status_code == 200 and downloaded.content == data


@pytest.mark.asyncio
async def test_stream_delivers_a_message_sent_while_it_waits(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Direct")
    wall_source = source(hs, http, [room_id])
    await wall_source.poll()
    stream = wall_source.stream()
    try:
        pending = asyncio.ensure_future(next_with_posts(stream))
        await asyncio.sleep(0.5)
        assert not pending.done()  # the long-poll is waiting
        await asyncio.to_thread(hs.server.send_text, hs.alice, room_id, "En direct #mur")
        sent = time.monotonic()
        batch = await asyncio.wait_for(pending, timeout=STREAM_DELIVERY)
        delay = time.monotonic() - sent
    finally:
        await stream.aclose()

    assert texts(batch) == ["En direct #mur"] and delay < STREAM_DELIVERY
    assert batch.posts[0].author.name == "Alice Martin"


@pytest.mark.asyncio
async def test_stream_starts_with_a_poll_and_says_alive_when_nothing_happens(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Calme")
    hs.server.send_text(hs.alice, room_id, "Avant le flux")
    stream = source(hs, http, [room_id], long_poll=1).stream()
    try:
        first = await anext(stream)
        idle = await anext(stream)
    finally:
        await stream.aclose()

    assert texts(first) == ["Avant le flux"] and first.counts[0].value == 3
    assert idle == Batch() and not idle


@pytest.mark.asyncio
async def test_wrong_token_is_an_auth_error(synapse: Homeserver | SynapseError, http: HttpFetcher) -> None:
    hs = running(synapse)
    room_id = room(hs, "Jeton")
    wrong = "syt_d2FsbA_notTheRightTokenAtAll_0000"

    with pytest.raises(AuthError) as info:
        await source(hs, http, [room_id], token=wrong).poll()

    assert "M_UNKNOWN_TOKEN" in str(info.value) and wrong not in str(info.value)


@pytest.mark.asyncio
async def test_room_without_the_bot_is_an_auth_error_naming_it(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = hs.server.create_room(hs.alice, "Privé", members=(hs.bob,))

    with pytest.raises(AuthError) as info:
        await source(hs, http, [room_id]).poll()

    assert room_id in str(info.value) and "invite" in str(info.value)
    assert hs.wall.token not in str(info.value)


@pytest.mark.asyncio
async def test_room_the_bot_is_invited_to_is_joined(
    synapse: Homeserver | SynapseError, http: HttpFetcher
) -> None:
    hs = running(synapse)
    room_id = hs.server.create_room(hs.alice, "Invitation")
    hs.server.call(
        "POST",
        f"/_matrix/client/v3/rooms/{room_id}/invite",
        {"user_id": hs.wall.user_id},
        token=hs.alice.token,
    )
    hs.server.send_text(hs.alice, room_id, "Bienvenue au mur #mur")

    batch = await source(hs, http, [room_id]).poll()

    assert texts(batch) == ["Bienvenue au mur #mur"] and batch.counts[0].value == 2


def test_cli_fetch_prints_posts_and_count_without_the_token(
    synapse: Homeserver | SynapseError, tmp_path: Path
) -> None:
    hs = running(synapse)
    room_id = room(hs, "Hall CLI")
    hs.server.send_text(hs.alice, room_id, "Vu depuis la ligne de commande #mur")
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "rse"\ntype = "matrix"\nbase_url = "{hs.server.base_url}"\n'
        f'rooms = ["{room_id}"]\n',
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "wall.cli", "fetch", "rse", "--json", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WALL_SOURCES__RSE__TOKEN": hs.wall.token},
        cwd=ROOT,
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    posts = [line for line in lines if line["type"] == "post"]
    counts = [line for line in lines if line["type"] == "count"]
    assert [p["text"] for p in posts] == ["Vu depuis la ligne de commande #mur"]
    assert posts[0]["network"] == "matrix" and posts[0]["kind"] == "internal"
    assert posts[0]["shown"] is True and posts[0]["author_name"].startswith("Alice")  # as consent presents it
    assert [(c["account"], c["value"]) for c in counts] == [(room_id, 3)]
    assert hs.wall.token not in result.stdout + result.stderr


def test_the_running_wall_gets_room_messages_by_long_poll_with_consent_applied(
    synapse: Homeserver | SynapseError, tmp_path: Path
) -> None:
    """`wall run` with a 300 s interval: what arrives during a 12 s run came by the long-poll stream."""
    hs = running(synapse)
    room_id = room(hs, "Hall d'accueil")
    config = tmp_path / "wall.toml"
    config.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "rse"\ntype = "matrix"\nbase_url = "{hs.server.base_url}"\n'
        f'rooms = ["{room_id}"]\ninterval = 300\nopt_out = ["bob"]\n',
        encoding="utf-8",
    )
    screen = f"offscreen:configfile={ROOT / 'assets' / 'qt' / 'offscreen-1920x1080.json'}"
    wall = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--exit-after", "12", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": screen, "WALL_SOURCES__RSE__TOKEN": hs.wall.token},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(6)  # started, first poll done, long-poll waiting
        hs.server.send_text(hs.alice, room_id, "Petit-déjeuner offert au 3e #mur")
        hs.server.send_text(hs.alice, room_id, "Réunion budget à 14 h")  # no tag: never shown
        hs.server.send_text(hs.bob, room_id, "Photo de l'équipe #mur")  # opted out
        gone = hs.server.send_text(hs.alice, room_id, "Message envoyé par erreur #mur")
        time.sleep(1)
        hs.server.redact(hs.alice, room_id, gone)
        _, stderr = wall.communicate(timeout=60)
    finally:
        if wall.poll() is None:
            wall.kill()
    assert wall.returncode == 0, stderr
    assert hs.wall.token not in stderr
    store = open_store(load_config(config, env={}))
    try:
        shown = [(p.author.name, p.text) for p in store.recent_posts("internal")]
    finally:
        store.close()
    assert shown == [("Alice Martin", "Petit-déjeuner offert au 3e #mur")]
