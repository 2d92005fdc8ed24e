"""Real nats-server processes on loopback for the fleet's tests: the configs are written from
`wall fleet init`'s output (its CA, certificate and users), one node or a 3-node cluster with TLS
routes; each node keeps its ports and its JetStream folder across a stop and a start."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers.common import log_tail, wait_until_answering
from tests.servers.snac2 import free_port
from wall.engine.fleet.init import FleetFiles, Screen, init_fleet, server_config

INSTALL_HINT = (
    "nats-server is missing: install the Debian package nats-server (scripts/install-debian-deps.sh)"
)
START_TIMEOUT_S = 15.0


class NatsError(RuntimeError):
    """A nats-server that would not start."""


@dataclass
class NatsNode:
    """One nats-server process and what it needs to start again with the same ports and data."""

    name: str
    port: int
    monitor_port: int
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What a client's `[fleet] servers` lists."""
        return f"tls://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (its config and JetStream folder are kept from any previous run)."""
        binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")
        if binary is None:
            raise NatsError(INSTALL_HINT)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config), "-m", str(self.monitor_port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config.parent,
            )

    def wait_ready(self, deadline: float) -> None:
        """Until its monitoring port says it is healthy (JetStream included)."""
        url = f"http://127.0.0.1:{self.monitor_port}/healthz"
        wait_until_answering(url, deadline, self.process, self._failed, poll=0.05)

    def _failed(self, reason: str) -> NatsError:
        return NatsError(f"nats-server {self.name} {reason}:\n{log_tail(self.log, 20)}")

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and wait for the process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class NatsFleet:
    """The fleet's folder (`wall fleet init`) and its running nodes."""

    files: FleetFiles
    nodes: list[NatsNode] = field(default_factory=list)

    @property
    def servers(self) -> list[str]:
        """Every node's URL."""
        return [node.url for node in self.nodes]

    def credential(self, user: str) -> str:
        """The credential `wall fleet init` wrote for `user` (its NKey seed)."""
        return self.files.credentials[user].read_text(encoding="utf-8").strip()

    def start(self) -> None:
        """Start every node and wait until each is healthy."""
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        for node in self.nodes:
            node.wait_ready(deadline)

    def stop(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()


def make_fleet(directory: Path, screens: Sequence[str], *, nodes: int = 1) -> NatsFleet:
    """Run `wall fleet init` into `directory`/fleet and write `nodes` nodes' configs (not started)."""
    files = init_fleet(directory / "fleet", [Screen.parse(s) for s in screens])
    fleet = NatsFleet(files)
    ports = [free_port() for _ in range(nodes)]
    routes = [f"127.0.0.1:{free_port()}" for _ in range(nodes)] if nodes > 1 else []
    for index in range(nodes):
        name = f"n{index + 1}"
        config = files.folder / f"{name}.conf"
        text = server_config(
            files,
            name=name,
            listen=f"127.0.0.1:{ports[index]}",
            store_dir=files.folder / f"js-{name}",
            cluster_listen=routes[index] if routes else "",
            routes=routes,
        )
        config.write_text(text, encoding="utf-8")
        fleet.nodes.append(NatsNode(name, ports[index], free_port(), config, files.folder / f"{name}.log"))
    return fleet
