"""Start and stop a real snac2 server (a small Mastodon-API server) for tests.

Follows the recipe in shared/DESIGN.md: `snac init` answered on stdin, `"protocol": "http"` in
server.json, `snac adduser`, `snac httpd`, ready when `GET /api/v1/instance` answers.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers.common import log_tail, wait_until_answering

INSTALL_HINT = (
    "snac2 is not installed (no `snac` on PATH): run `sudo scripts/install-debian-deps.sh` "
    "(Debian package snac2 from bookworm-backports)"
)


NUM_THREADS = 32  # snac delivers to itself from the same pool that serves requests: 4 threads deadlock


class SnacError(RuntimeError):
    """snac2 is missing, or a snac command or the server failed."""


def snac_binary() -> str:
    """Path of the `snac` program; SnacError with an install hint when it is missing."""
    path = shutil.which("snac")
    if path is None:
        raise SnacError(INSTALL_HINT)
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SnacServer:
    """A running `snac httpd` on 127.0.0.1 with its data directory."""

    directory: Path
    port: int
    binary: str
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0  # seconds from `snac init` to the API answering
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.directory.parent / f"{self.directory.name}-httpd.log"

    @property
    def base_url(self) -> str:
        """Where the Mastodon API answers."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """The host name snac puts in actor URLs and `acct` (`user@host`)."""
        return f"localhost:{self.port}"

    def run(self, *args: str, stdin: str = "") -> str:
        """Run `snac ARGS...` on this server's directory; its stdout, or SnacError with stderr."""
        done = subprocess.run(
            [self.binary, args[0], str(self.directory), *args[1:]],
            input=stdin.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise SnacError(
                f"snac {' '.join(args)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
            )
        return done.stdout.decode(errors="replace")

    def add_user(self, uid: str, *, display_name: str = "", show_contact_metrics: bool = True) -> None:
        """Create a local user; snac hides follower counts unless `show_contact_metrics` is set."""
        self.run("adduser", uid)
        config: dict[str, Any] = {"show_contact_metrics": show_contact_metrics}
        if display_name:
            config["name"] = display_name
        self.update_user(uid, **config)

    def update_user(self, uid: str, **values: Any) -> None:
        """Change keys of a user's `user.json` (snac reads it again on every request)."""
        path = self.directory / "user" / uid / "user.json"
        data = json.loads(path.read_text())
        data.update(values)
        path.write_text(json.dumps(data, indent=4))

    def note(self, uid: str, text: str) -> None:
        """Publish a public note as `uid` (hashtags in the text are indexed at once)."""
        self.run("note", uid, text)

    def follow(self, follower: str, uid: str) -> None:
        """Make local user `follower` follow local user `uid` (delivered by snac's queue in a few seconds)."""
        self.run("follow", follower, f"http://{self.host}/{uid}")

    def start(self, timeout: float = 15.0) -> None:
        """Initialise the directory, start `snac httpd` and wait until the API answers."""
        began = time.monotonic()
        answers = f"127.0.0.1\n{self.port}\n{self.host}\n\n\n"  # address, port, host, prefix, admin email
        done = subprocess.run(
            [self.binary, "init", str(self.directory)],
            input=answers.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise SnacError(f"snac init failed: {done.stderr.decode(errors='replace')}")
        server_json = self.directory / "server.json"
        config = json.loads(server_json.read_text())
        config["protocol"] = "http"  # links and actor URLs must match the plain-HTTP listener
        config["num_threads"] = NUM_THREADS
        server_json.write_text(json.dumps(config, indent=4))
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.binary, "httpd", str(self.directory)], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready(began + timeout)
        self.started_in = time.monotonic() - began

    def _wait_ready(self, deadline: float) -> None:
        def failed(reason: str) -> SnacError:
            self.stop()
            return SnacError(f"snac httpd {reason}: {self.log_tail()}")

        wait_until_answering(f"{self.base_url}/api/v1/instance", deadline, self.process, failed)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the httpd log, for error messages."""
        return log_tail(self.log_path, lines)

    def stop(self, grace: float = 1.0) -> None:
        """Stop the httpd process: SIGTERM, then SIGKILL after `grace` seconds.

        snac takes about 3 s to stop its background thread; the data is thrown away, so do not wait.
        """
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_snac(directory: Path, *, attempts: int = 3) -> SnacServer:
    """A started snac2 server with its data in `directory` (which must not exist yet).

    The port is picked free just before starting; another process may grab it first, so retry.
    """
    binary = snac_binary()
    last: SnacError | None = None
    for attempt in range(attempts):
        data = directory if attempt == 0 else directory.with_name(f"{directory.name}-{attempt}")
        server = SnacServer(directory=data, port=free_port(), binary=binary)
        try:
            server.start()
        except SnacError as exc:
            server.stop()
            last = exc
            continue
        return server
    assert last is not None
    raise last
