"""Start and stop a real Synapse homeserver (Matrix) for tests, and act as its users.

Follows the recipe in shared/DESIGN.md, without YAML: Synapse reads its config with a YAML loader,
so the config is written as JSON (a subset of YAML) into a temporary directory: one HTTP listener
on 127.0.0.1 (no '::1'), SQLite, no trusted key servers, rate limits raised so tests never meet
them. Users are registered through the shared-secret admin API (what `register_new_matrix_user`
does, without a process start per user). Synapse runs from its own venv, made by
`scripts/install-synapse.sh`, so that its pins never move the app's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.servers.common import log_tail, wait_until_answering

ROOT = Path(__file__).resolve().parents[2]
SERVER_NAME = "localhost"
INSTALL_HINT = (
    "Synapse is not installed: run `bash scripts/install-synapse.sh` (PyPI matrix-synapse in .venv-synapse)"
)
LOOSE_LIMIT = {"per_second": 1000, "burst_count": 1000}


class SynapseError(RuntimeError):
    """Synapse is missing, or it or one of its API calls failed."""


def synapse_python() -> str:
    """The python of Synapse's venv: $WALL_SYNAPSE_PYTHON, else $WALL_SYNAPSE_VENV/bin/python,
    else .venv-synapse/bin/python in the repository; SynapseError with an install hint if missing."""
    explicit = os.environ.get("WALL_SYNAPSE_PYTHON")
    venv = Path(os.environ.get("WALL_SYNAPSE_VENV") or ROOT / ".venv-synapse")
    python = Path(explicit) if explicit else venv / "bin" / "python"
    if not python.is_file():
        raise SynapseError(f"{INSTALL_HINT} (no {python})")
    return str(python)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def homeserver_config(directory: Path, port: int, shared_secret: str) -> dict[str, Any]:
    """The homeserver.yaml content (as a dict) for a throwaway test server."""
    return {
        "server_name": SERVER_NAME,
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client", "media"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "media_store_path": str(directory / "media_store"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "presence": {"enabled": False},
        # Synapse answers an identical /sync (same user, filter and `since`) from a 2-minute cache:
        # tests start several fresh sources (no `since`) on one room and must see its present state.
        "caches": {"sync_response_cache_duration": 0},
        "enable_authenticated_media": True,
        "rc_message": LOOSE_LIMIT,
        "rc_registration": LOOSE_LIMIT,
        "rc_login": {"address": LOOSE_LIMIT, "account": LOOSE_LIMIT, "failed_attempts": LOOSE_LIMIT},
        "rc_joins": {"local": LOOSE_LIMIT, "remote": LOOSE_LIMIT},
        "rc_joins_per_room": LOOSE_LIMIT,
        "rc_invites": {"per_room": LOOSE_LIMIT, "per_user": LOOSE_LIMIT, "per_issuer": LOOSE_LIMIT},
        "rc_admin_redaction": LOOSE_LIMIT,
        "rc_room_creation": LOOSE_LIMIT,
        "rc_media_create": LOOSE_LIMIT,
    }


@dataclass(frozen=True)
class User:
    """A registered Matrix user and its access token."""

    user_id: str
    token: str
    password: str


@dataclass
class SynapseServer:
    """A running Synapse on 127.0.0.1 with its data directory."""

    directory: Path
    port: int
    python: str
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0  # seconds from writing the config to /health answering
    shared_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    _txn: int = 0

    @property
    def base_url(self) -> str:
        """The homeserver's client-server API root."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "homeserver.yaml"

    @property
    def log_path(self) -> Path:
        return self.directory / "synapse.log"

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> None:
        """Write the config and a signing key, start Synapse and wait until /health answers."""
        began = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=False)
        config = homeserver_config(self.directory, self.port, self.shared_secret)
        self.config_path.write_text(json.dumps(config, indent=2))
        # Synapse's signing key format: "<algorithm> <version> <unpadded base64 seed>".
        seed = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        (self.directory / "signing.key").write_text(f"ed25519 a_test {seed}\n")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        self._wait_ready(began + timeout)
        self.started_in = time.monotonic() - began

    def _wait_ready(self, deadline: float) -> None:
        def failed(reason: str) -> SynapseError:
            self.stop()
            return SynapseError(f"synapse {reason}: {self.log_tail()}")

        wait_until_answering(f"{self.base_url}/health", deadline, self.process, failed, poll=0.05)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of Synapse's output, for error messages."""
        return log_tail(self.log_path, lines)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    # -- HTTP ----------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str = "",
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        """One client-server API call; the decoded JSON answer, or SynapseError with the error body."""
        payload = data if data is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.base_url}{path}", data=payload, method=method)
        if payload is not None:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise SynapseError(f"{method} {path} failed ({exc.code}): {detail}") from None

    def _next_txn(self) -> str:
        self._txn += 1
        return f"t{time.monotonic_ns()}-{self._txn}"

    # -- users ---------------------------------------------------------------------------------------

    def register(self, localpart: str, *, display_name: str = "", admin: bool = False) -> User:
        """Register a user with the shared secret (Synapse admin API) and return its token."""
        password = secrets.token_urlsafe(12)
        nonce = self.call("GET", "/_synapse/admin/v1/register")["nonce"]
        message = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self.shared_secret.encode(), message.encode(), digestmod=hashlib.sha1)
        body: dict[str, Any] = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        if display_name:
            body["displayname"] = display_name
        answer = self.call("POST", "/_synapse/admin/v1/register", body)
        return User(user_id=answer["user_id"], token=answer["access_token"], password=password)

    def login(self, user: User) -> str:
        """A fresh access token for `user` (m.login.password)."""
        answer = self.call(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user.user_id},
                "password": user.password,
            },
        )
        token: str = answer["access_token"]
        return token

    def set_display_name(self, user: User, name: str) -> None:
        self.call(
            "PUT",
            f"/_matrix/client/v3/profile/{quote(user.user_id)}/displayname",
            {"displayname": name},
            token=user.token,
        )

    # -- rooms ---------------------------------------------------------------------------------------

    def create_room(self, owner: User, name: str, *, alias: str = "", members: tuple[User, ...] = ()) -> str:
        """A room named `name` created by `owner`, with `members` invited and joined; its room id."""
        body: dict[str, Any] = {"name": name, "preset": "private_chat"}
        if alias:
            body["room_alias_name"] = alias
        room_id: str = self.call("POST", "/_matrix/client/v3/createRoom", body, token=owner.token)["room_id"]
        for member in members:
            self.call(
                "POST",
                f"/_matrix/client/v3/rooms/{quote(room_id)}/invite",
                {"user_id": member.user_id},
                token=owner.token,
            )
            self.call("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/join", {}, token=member.token)
        return room_id

    def send(
        self, user: User, room_id: str, content: dict[str, Any], event_type: str = "m.room.message"
    ) -> str:
        """Send an event; its event id."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id)}/send/{event_type}/{self._next_txn()}"
        event_id: str = self.call("PUT", path, content, token=user.token)["event_id"]
        return event_id

    def send_text(
        self, user: User, room_id: str, body: str, *, msgtype: str = "m.text", html: str = ""
    ) -> str:
        """Send a text (or notice/emote) message, with an HTML formatted body if given."""
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if html:
            content |= {"format": "org.matrix.custom.html", "formatted_body": html}
        return self.send(user, room_id, content)

    def upload(self, user: User, data: bytes, *, filename: str, content_type: str) -> str:
        """Upload media; its mxc:// URI."""
        path = f"/_matrix/media/v3/upload?filename={quote(filename)}"
        uri: str = self.call("POST", path, data=data, content_type=content_type, token=user.token)[
            "content_uri"
        ]
        return uri

    def send_image(
        self,
        user: User,
        room_id: str,
        data: bytes,
        *,
        filename: str,
        caption: str = "",
        size: tuple[int, int],
    ) -> str:
        """Upload a PNG and send it as m.image (`body` is the caption when given, else the filename)."""
        uri = self.upload(user, data, filename=filename, content_type="image/png")
        content: dict[str, Any] = {
            "msgtype": "m.image",
            "body": caption or filename,
            "url": uri,
            "info": {"mimetype": "image/png", "size": len(data), "w": size[0], "h": size[1]},
        }
        if caption:
            content["filename"] = filename
        return self.send(user, room_id, content)

    def edit(self, user: User, room_id: str, event_id: str, new_body: str) -> str:
        """Replace the text of `event_id` (an m.replace relation)."""
        return self.send(
            user,
            room_id,
            {
                "msgtype": "m.text",
                "body": f"* {new_body}",
                "m.new_content": {"msgtype": "m.text", "body": new_body},
                "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
            },
        )

    def redact(self, user: User, room_id: str, event_id: str, reason: str = "") -> str:
        """Redact (delete) an event."""
        path = (
            f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/{quote(event_id, safe='')}/{self._next_txn()}"
        )
        answer_id: str = self.call("PUT", path, {"reason": reason} if reason else {}, token=user.token)[
            "event_id"
        ]
        return answer_id


def start_synapse(directory: Path, *, attempts: int = 3) -> SynapseServer:
    """A started Synapse with its data in `directory` (which must not exist yet).

    The port is picked free just before starting; another process may grab it first, so retry.
    """
    python = synapse_python()
    last: SynapseError | None = None
    for attempt in range(attempts):
        data = directory if attempt == 0 else directory.with_name(f"{directory.name}-{attempt}")
        server = SynapseServer(directory=data, port=free_port(), python=python)
        try:
            server.start()
        except SynapseError as exc:
            server.stop()
            last = exc
            continue
        return server
    assert last is not None
    raise last
