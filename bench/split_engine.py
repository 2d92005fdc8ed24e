"""`bench.split`'s engine process: the real `Engine`, headless, writing to the display over a pipe.

`python -m bench.split_engine --config FILE --fd N --report FILE` runs what `wall run` runs on its
asyncio side (config, HTTP client, store, `Engine`: sources, poller, consent, moderation, pictures'
downloads and decodes) on a plain asyncio loop, with a `Screen` that forwards every call as a JSON
line (`bench.split_wire`) on the unix socket `N`. It never imports PySide6, qasync or widgets: at
the end it writes what it loaded of them to the report and exits with status 3 if anything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.split_wire import (
    ENGINE_FORBIDDEN,
    counts_out,
    forbidden_loaded,
    image_out,
    line,
    posts_out,
    statuses_out,
)
from wall.core.model import Count, Post, PostKind, SourceStatus
from wall.engine.config import WallConfig, load_config
from wall.engine.engine import Engine
from wall.engine.logs import config_secrets, setup_logging
from wall.engine.moderation.decisions import PublishedAnnouncement
from wall.engine.services import make_client, open_store
from wall.shell.memory import memory_breakdown, prepare_for_long_run, worker_pool

log = logging.getLogger("bench.split")  # its SIGUSR1 line: bench.split_wire.MEMORY_MARKER

FIRST_FRAME_WAIT_S = 1.0  # as `wall.shell.runtime`: polling starts after the first frame, or this


class DisplayLink(asyncio.Protocol):
    """The engine's end of the socket: buffered writes, and the display's lines handed to `on_line`."""

    def __init__(self, on_line: Callable[[dict[str, Any]], None]) -> None:
        self._on_line = on_line
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self.closed = asyncio.Event()
        self.lines_sent = 0
        self.bytes_sent = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to write to."""
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        """Hand each complete line to `on_line`."""
        *complete, self._buffer = (self._buffer + data).split(b"\n")
        for raw in complete:
            self._on_line(json.loads(raw))

    def connection_lost(self, exc: Exception | None) -> None:
        """The display went away: the engine stops."""
        self.closed.set()

    def send(self, data: bytes) -> None:
        """Queue one line (asyncio writes it when the socket takes it; never blocks the loop)."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)
            self.lines_sent += 1
            self.bytes_sent += len(data)


class ForwardingScreen:
    """A `wall.engine.engine.Screen` that sends every call to the display process."""

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send
        self._statuses: dict[str, SourceStatus] = {}
        self.requester: Callable[[str], None] | None = None
        self.images_sent = 0

    def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Forward `Hub.set_posts`."""
        self._send(line("set_posts", kind=kind, posts=posts_out(posts)))

    def set_replay_pool(self, kind: PostKind, posts: Sequence[Post]) -> None:
        """Forward `Hub.set_replay_pool`."""
        self._send(line("set_replay_pool", kind=kind, posts=posts_out(posts)))

    def set_counts(self, latest: Sequence[Count], history: dict[str, list[Count]]) -> None:
        """Forward `Hub.set_counts`."""
        self._send(line("set_counts", **counts_out(latest, history)))

    def set_statuses(self, statuses: Sequence[SourceStatus]) -> None:
        """Forward `Hub.set_statuses` (and keep them: the moderation page reads them here)."""
        self._statuses = {status.source: status for status in statuses}
        self._send(line("set_statuses", statuses=statuses_out(statuses)))

    def update_status(self, status: SourceStatus) -> None:
        """Forward `Hub.update_status`."""
        self._statuses[status.source] = status
        self._send(line("update_status", status=status.to_dict()))

    def statuses(self) -> list[SourceStatus]:
        """The statuses last written."""
        return list(self._statuses.values())

    def set_announcement(self, announcement: PublishedAnnouncement | None) -> None:
        """Forward `Hub.set_announcement`."""
        self._send(line("set_announcement", announcement=announcement.to_dict() if announcement else None))

    def set_image_requester(self, requester: Callable[[str], None]) -> None:
        """The engine's picture loader: called when the display's cards ask for a picture."""
        self.requester = requester

    def add_image(self, url: str, data: bytes | None) -> None:
        """Forward a prepared picture (bytes as base64; None: it failed)."""
        if data is not None:
            self.images_sent += 1
        self._send(line("add_image", url=url, data=image_out(data)))

    def forget_images(self, urls: Iterable[str]) -> None:
        """Forward `Hub.forget_images`."""
        self._send(line("forget_images", urls=list(urls)))


def looks_out(config: WallConfig) -> dict[str, Any]:
    """The windows' settings as plain JSON (`bench.split_wire.looks_in` reads them back)."""
    branding = config.wall.branding
    return {
        "wall": {
            "language": config.wall.language,
            "timezone": config.wall.timezone,
            "transition": config.wall.transition,
            "branding": {
                "name": branding.name,
                "logo": branding.logo,
                "theme": branding.theme,
                "accent": branding.accent,
                "font": branding.font,
                "background_colour": branding.background_colour,
                "background_image": branding.background_image,
            },
        },
        "panels": [
            {**panel.model_dump(), "replay_after": panel.replay_after.total_seconds()}
            for panel in config.effective_panels()
        ],
        "screens": [
            {"output": screen.output, "panels": list(screen.panels)} for screen in config.effective_screens()
        ],
    }


async def serve(config: WallConfig, fd: int) -> dict[str, object]:
    """Run the engine until SIGTERM/SIGINT or until the display goes away; what was sent."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(worker_pool())  # as `wall run`: threads on demand, 4 at most
    painted = asyncio.Event()
    screen: ForwardingScreen | None = None
    requested = 0

    def on_line(message: dict[str, Any]) -> None:
        nonlocal requested
        if message["op"] == "painted":
            painted.set()
        elif message["op"] == "want_image" and screen is not None and screen.requester is not None:
            requested += 1
            screen.requester(str(message["url"]))

    link = DisplayLink(on_line)
    await loop.create_unix_connection(lambda: link, sock=socket.socket(fileno=fd))
    client = make_client(config)
    store = open_store(config)
    screen = ForwardingScreen(link.send)
    link.send(line("looks", **looks_out(config)))
    engine = Engine(config, store, screen, client)
    engine.fill_screen_from_store()
    link.send(line("filled"))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # `bench.split` reads where the memory is from the log, as `bench pss` does from `wall run`'s.
    loop.add_signal_handler(signal.SIGUSR1, lambda: log.info("memory %s", json.dumps(memory_breakdown())))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(painted.wait(), FIRST_FRAME_WAIT_S)
    engine.start()
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(link.closed.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in waits:
        wait.cancel()
    await engine.stop()
    await client.aclose()
    store.close()
    return {
        "lines_sent": link.lines_sent,
        "mb_sent": round(link.bytes_sent / 2**20, 2),
        "pictures_sent": screen.images_sent,
        "pictures_requested": requested,
    }


def main(argv: list[str]) -> int:
    """`python -m bench.split_engine --config FILE --fd N --report FILE`."""
    parser = argparse.ArgumentParser(prog="python -m bench.split_engine", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="the wall.toml to run")
    parser.add_argument("--fd", type=int, required=True, help="the unix socket to the display")
    parser.add_argument("--report", type=Path, required=True, help="where to write the JSON report")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    setup_logging("INFO", config_secrets(config))
    prepare_for_long_run()  # as `WallRuntime`: two malloc heaps, big buffers mapped on their own
    report = asyncio.run(serve(config, args.fd))
    loaded = forbidden_loaded(ENGINE_FORBIDDEN, sys.modules)
    args.report.write_text(json.dumps({**report, "forbidden_loaded": loaded}), encoding="utf-8")
    return 3 if loaded else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
