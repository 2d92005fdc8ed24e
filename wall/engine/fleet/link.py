"""The connection to the fleet's NATS servers: TLS with the fleet's CA, this user's credential (an
NKey seed that signs the server's challenge, or a password of a fleet made before NKeys), its own
inbox prefix (its permissions allow no other), and reconnection for as long as it runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client

from wall.engine.fleet.layout import inbox_prefix
from wall.engine.fleet.settings import FleetSettings, nkey_public_key

log = logging.getLogger("wall.engine.fleet.link")

RECONNECT_WAIT_S = 1.0
FIRST_CONNECT_MAX_WAIT_S = 10.0


def tls_context(fleet: FleetSettings) -> ssl.SSLContext:
    """Verify the servers against the fleet's CA only (not the system's)."""
    return ssl.create_default_context(cafile=fleet.ca_file)


async def connect(
    fleet: FleetSettings,
    *,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
    on_disconnected: Callable[[], Awaitable[None]] | None = None,
    name: str = "lobby-wall",
) -> Client:
    """Connect to one of `fleet.servers`; the client then reconnects by itself, forever."""
    secret = fleet.credential.get_secret_value() if fleet.credential else ""
    login: dict[str, Any] = (
        # The seed never leaves this process: nats-py signs the server's nonce with it.
        {"nkeys_seed_str": secret}
        if nkey_public_key(secret)
        else {"user": fleet.nats_user, "password": secret}
    )
    log.debug(
        "fleet link: connecting to %s as %s (%s from %s)",
        ", ".join(fleet.servers),
        fleet.nats_user,
        "NKey" if "nkeys_seed_str" in login else "password",
        credential_origin(),
    )

    async def error(exc: Exception) -> None:
        # nats-py's default prints a traceback per failed attempt; one line is enough (and the
        # messages never carry the credential: it signs, or goes in the CONNECT frame only).
        if isinstance(exc, nats.errors.AuthorizationError) or "authorization" in str(exc).lower():
            log.warning("fleet link: %s", refused_credential(fleet))
        else:
            log.warning("fleet link: %s: %s", type(exc).__name__, exc)

    async def reconnected() -> None:
        log.warning("fleet link: connected again to %s", client.connected_url)
        if on_reconnected is not None:
            await on_reconnected()

    async def disconnected() -> None:
        if client.is_closed:
            return  # closed on purpose (stopping)
        log.warning("fleet link: lost; reconnecting")
        if on_disconnected is not None:
            await on_disconnected()

    client: Client = await nats.connect(
        servers=list(fleet.servers),
        tls=tls_context(fleet),
        name=name,
        inbox_prefix=inbox_prefix(fleet.nats_user),
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=RECONNECT_WAIT_S,
        connect_timeout=5,
        error_cb=error,
        reconnected_cb=reconnected,
        disconnected_cb=disconnected,
        **login,
    )
    return client


def credential_origin(env: Mapping[str, str] | None = None) -> str:
    """Where this process's fleet credential comes from, as a person would look for it."""
    env = os.environ if env is None else env
    if env.get("WALL_FLEET__CREDENTIAL"):
        return "the environment variable WALL_FLEET__CREDENTIAL"
    folder = env.get("CREDENTIALS_DIRECTORY", "")
    for name in ("fleet.credential", "wall_fleet.credential"):
        if folder and (Path(folder) / name).is_file():
            return f"the credential file {Path(folder) / name}"
    return "the systemd credential fleet.credential"


def refused_credential(fleet: FleetSettings) -> str:
    """The servers refused this user's credential: which file, and how to fix it (never its value)."""
    return (
        f"the servers refused the credential of {fleet.nats_user} read from {credential_origin()}: "
        f"install the file credentials/{fleet.nats_user}/fleet.credential that `wall fleet init` wrote "
        "(LoadCredential=fleet.credential:...), and reload the servers after a new `wall fleet init`"
    )


async def connect_until_up(
    fleet: FleetSettings,
    *,
    on_reconnected: Callable[[], Awaitable[None]] | None = None,
    on_disconnected: Callable[[], Awaitable[None]] | None = None,
    name: str = "lobby-wall",
) -> Client:
    """`connect`, retried with a capped backoff while no server answers (a kiosk that boots while the
    broker is away keeps showing its store meanwhile)."""
    wait = RECONNECT_WAIT_S
    while True:
        try:
            return await connect(
                fleet, on_reconnected=on_reconnected, on_disconnected=on_disconnected, name=name
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            # An unreachable broker and a refused credential can look alike from here: say both.
            log.warning(
                "fleet link: cannot connect to %s (%s: %s): check the servers are up and fleet.credential "
                "is this user's; next try in %.0f s",
                ", ".join(fleet.servers),
                type(exc).__name__,
                exc,
                wait,
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, FIRST_CONNECT_MAX_WAIT_S)


async def close(client: Client) -> None:
    """Close the link, even in the middle of a reconnection: nats-py then writes its pending buffer
    to a TLS transport already torn down and raises AttributeError (nats-py 2.16, asyncio sslproto);
    what was pending is published again by the collector's next start, or was a kiosk's only."""
    with contextlib.suppress(AttributeError, nats.errors.Error, OSError):
        await client.close()
