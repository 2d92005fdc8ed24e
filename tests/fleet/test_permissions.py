"""A kiosk's NATS user can neither publish content nor read another site's internal posts: the
server refuses, whatever the kiosk's code tries (its own credential, straight through nats-py)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from tests.fleet.conftest import ROOT, Feeds, collector_config, hq_kiosk, kiosk_config, poll_all
from tests.servers.nats import NatsFleet, make_fleet
from wall.engine.fleet import wire
from wall.engine.fleet.init import Screen, init_fleet, new_user_seed
from wall.engine.fleet.layout import inbox_prefix, kiosk_user
from wall.engine.fleet.link import close, connect
from wall.engine.store import Store

JS_TIMEOUT_S = 1.0  # a refused request gets no answer: the client gives up after this


async def connect_as(broker: NatsFleet, user: str, refused: list[str]) -> Client:
    async def error(exc: Exception) -> None:
        refused.append(str(exc))

    return await nats.connect(
        broker.servers,
        tls=ssl.create_default_context(cafile=str(broker.files.ca)),
        nkeys_seed_str=broker.credential(user),  # the kiosk's NKey seed: the server knows its public key only
        inbox_prefix=inbox_prefix(user),
        error_cb=error,
        allow_reconnect=False,
    )


async def test_a_kiosk_can_neither_publish_a_post_nor_read_another_sites_internal_posts(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("rse-hq", "secret-1", "Plan social confidentiel")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    kv_hq = await collector.link.jetstream().key_value("wall-hq")
    published = (await kv_hq.get("posts.internal")).value
    assert published is not None and b"secret-1" in published

    refused: list[str] = []
    lyon = await connect_as(broker, kiosk_user("lyon", "hall-1"), refused)
    hq = await connect_as(broker, kiosk_user("hq", "hall-1"), refused)
    try:
        # Lyon's kiosk cannot open hq's bucket, read a value of it, nor subscribe to its subjects.
        js_lyon = lyon.jetstream(timeout=JS_TIMEOUT_S)
        with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
            await (await js_lyon.key_value("wall-hq")).get("posts.internal")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
            await js_lyon.get_last_msg("KV_wall-hq", "$KV.wall-hq.posts.internal")
        seen: list[bytes] = []

        async def heard(msg: Any) -> None:
            seen.append(msg.data)

        await lyon.subscribe("$KV.wall-hq.>", cb=heard)
        await lyon.subscribe("_INBOX.kiosk-hq-hall-1.>", cb=heard)  # hq kiosk's deliveries
        await lyon.flush()

        # Neither kiosk can write a post, even into its own site's bucket.
        fake = wire.ShownPosts(()).encode()
        for client in (hq, lyon):
            with pytest.raises((nats.errors.TimeoutError, nats.errors.Error)):
                await client.jetstream(timeout=JS_TIMEOUT_S).publish("$KV.wall-hq.posts.internal", fake)
        await hq.publish("$KV.wall-hq.posts.internal", fake)  # plain publish: dropped by the server
        await hq.flush()

        # Meanwhile hq's kiosk reads its own bucket: the content is there and untouched.
        own = await (await hq.jetstream(timeout=5).key_value("wall-hq")).get("posts.internal")
        assert own.value == published
        shown = wire.ShownPosts.decode(wire.load(own.value or b""))
        assert [p.id for p in shown.posts] == ["secret-1"]
        await asyncio.sleep(0.2)  # let a wrongly allowed delivery arrive, if the server sent one
        assert seen == []
        assert any("permissions violation" in r.lower() for r in refused)
        assert (await kv_hq.get("posts.internal")).value == published
    finally:
        await lyon.close()
        await hq.close()


def wall_run(config: Path, env: dict[str, str], seconds: int, *more: str) -> subprocess.CompletedProcess[str]:
    """A real `wall run` kiosk, offscreen, for `seconds`."""
    command = [sys.executable, "-m", "wall.cli", "run", "--config", str(config), "--windowed", *more]
    return subprocess.run(
        [*command, "--exit-after", str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )


async def test_a_kiosk_with_its_seed_works_and_the_seed_is_in_no_log_even_at_debug(
    tmp_path: Path, broker: NatsFleet, feeds: Feeds, collector_for: Callable[..., Any]
) -> None:
    feeds.add("rse-hq", "i1", "Pot de départ vendredi")
    collector = await collector_for(collector_config(broker, tmp_path / "c", feeds))
    await poll_all(collector)
    await collector.publisher.drained()
    config, env = hq_kiosk(broker, tmp_path)
    done = wall_run(config, env, 4, "--log-level", "DEBUG")
    assert done.returncode == 0, done.stderr
    assert "DEBUG wall.engine.fleet.link: fleet link: connecting to" in done.stderr  # at DEBUG, and NKey
    assert "as kiosk-hq-hall-1 (NKey from the credential file" in done.stderr
    seed = broker.credential(kiosk_user("hq", "hall-1"))
    assert seed not in done.stdout + done.stderr
    assert seed[2:20] not in done.stdout + done.stderr  # not even a part of it
    store = Store(tmp_path / "kiosk" / "wall.sqlite3", read_only=True)
    try:
        assert [p.id for p in store.recent_posts("internal")] == ["i1"]  # it logged in with its seed
    finally:
        store.close()


def test_a_wrong_seed_is_refused_with_an_error_naming_the_credential_file(
    tmp_path: Path, broker: NatsFleet
) -> None:
    config, env = hq_kiosk(broker, tmp_path)
    wrong = tmp_path / "wrong-credentials"
    wrong.mkdir()
    seed = new_user_seed()  # a seed the servers do not know
    (wrong / "fleet.credential").write_text(seed + "\n")
    done = wall_run(config, env | {"CREDENTIALS_DIRECTORY": str(wrong)}, 4)
    assert done.returncode == 0, done.stderr  # the kiosk keeps its screen and keeps trying
    assert (
        f"the servers refused the credential of kiosk-hq-hall-1 read from the credential file "
        f"{wrong / 'fleet.credential'}: install the file credentials/kiosk-hq-hall-1/fleet.credential"
    ) in done.stderr
    assert seed not in done.stdout + done.stderr


async def test_fleet_init_again_on_a_password_fleet_keeps_each_credential_and_no_password_on_the_server(
    tmp_path: Path,
) -> None:
    screens = ["hq/hall-1", "lyon/hall-1"]
    broker = make_fleet(tmp_path, screens)
    # A fleet made before NKeys: lyon's kiosk was installed with a password.
    password = "pre-nkeys-password-of-lyon-0123456789abcdef"
    lyon_file = broker.files.credentials[kiosk_user("lyon", "hall-1")]
    lyon_file.write_text(password + "\n")
    hq_seed = broker.credential(kiosk_user("hq", "hall-1"))
    ca = broker.files.ca.read_bytes()

    init_fleet(broker.files.folder, [Screen.parse(s) for s in screens])  # what the operator runs again
    auth = broker.files.auth.read_text()
    assert password not in auth and "$2" in auth  # a bcrypt hash instead
    assert lyon_file.read_text().strip() == password  # the kiosk's file is unchanged
    assert broker.credential(kiosk_user("hq", "hall-1")) == hq_seed and hq_seed not in auth
    assert broker.files.ca.read_bytes() == ca

    broker.start()
    links = []
    try:
        for site in ("lyon", "hq"):  # both log in as before, and may read their own site
            fleet = kiosk_config(broker, site, tmp_path / site).fleet
            assert fleet is not None
            link = await connect(fleet, name=site)
            links.append(link)
            info = await link.jetstream(timeout=5).account_info()
            assert info.streams == 0
    finally:
        for link in links:
            await close(link)
        broker.stop()
