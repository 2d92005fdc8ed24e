"""Time to screen: start -> first content frame, and post -> pixel with polling and with streaming.

Targets (issue 14): first content frame <= 1 s after spawn with a stored store; post -> pixel
<= interval + 2 s polling, p95 <= 2 s streaming, whatever panel is up.

Every figure comes from a real `python -m wall.cli run` (on its own Xvfb 1920x1080 when installed,
as `bench frames` does; else offscreen) started with `--paint-log FILE`: the opt-in
`wall.shell.paint_probe.PaintProbe` appends a line, stamped with the system's monotonic clock, the
first time a card showing a post (or a counter tile) is painted on screen. This process stamps the
same clock when it spawns the wall and when it publishes a post, so the two compare directly.

- **first content frame**: spawn -> first painted post or counter, with the default panels
  (whatever the rotation opens with), RUNS times each: on an empty store (the demo source's first
  poll brings the content), on a store with a day of demo content, and on a full one (that day plus
  FULL_STORE_POSTS mentions, their pictures on disk: the demo's are local files). The wall reads
  compiled bytecode, as on a kiosk (`make` compiles the wall's modules at install, pip the
  packages'): a first, untimed run writes it to a cache of the bench's own. Each run also times
  the stop: SIGTERM -> the process gone (`stop_median_s`; systemd allows 90 s), on a full store
  while the stored posts are being judged again.
- **post -> pixel**: a loopback Mastodon API served from this process (threads): a hashtag
  timeline the wall polls every `POLL_INTERVAL_S`, and for streaming the same instance announcing
  its streaming API, whose server-sent events carry each post as it is published. POSTS posts are
  published every `POST_EVERY_S` seconds, whatever panel is up; a post never painted within
  `NEVER_AFTER_S` counts as missed. Measured with the wall's default rotation (whatever panel is
  up), and for streaming also with the mentions panel alone (the transport, no wait for a turn).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from bench.common import fill_store, make_config
from bench.idle import on_xvfb
from bench.mastodon_server import status
from wall.core.model import POST_KINDS, Batch
from wall.engine.services import open_store
from wall.engine.store import Store

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
FULL_STORE_POSTS = 10_000
POSTS = int(os.environ.get("BENCH_LATENCY_POSTS", "10"))
POST_EVERY_S = 7.0  # not a divisor of the interval or of a panel's time: posts land at every phase
POLL_INTERVAL_S = 15  # the smallest interval a source may have
NEVER_AFTER_S = 60.0
SETTLE_S = 8.0  # the wall starts, reads the instance, opens its stream
FIRST_ID = 100_000
MENTIONS_ONLY = '[[panels]]\ntype = "mentions"\nduration = 8\n'
TOKEN = "bench-latency-token"  # a loopback server's; the wall streams only with a token


class Instance:
    """What the loopback Mastodon API serves: published statuses and who waits for them."""

    def __init__(self, streaming: bool) -> None:
        self.streaming = streaming
        self.statuses: list[dict[str, Any]] = []
        self.published: dict[str, float] = {}  # status id -> monotonic time it was published
        self.changed = threading.Condition()
        self.closed = False
        self.port = 0

    def publish(self, number: int) -> str:
        """Publish status `number` now (newest); returns its id."""
        item = status(number)
        item["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with self.changed:
            self.statuses.append(item)
            self.published[str(item["id"])] = time.monotonic()
            self.changed.notify_all()
        return str(item["id"])


def handler(instance: Instance) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving `instance`."""

    class Api(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/api/v2/instance" and instance.streaming:
                # The API's own origin: the outbound policy lets the wall reach it (on the LAN) as
                # it reaches the API; another host on a loopback address would be refused.
                self._json({"configuration": {"urls": {"streaming": f"ws://127.0.0.1:{instance.port}"}}})
            elif url.path == "/api/v1/timelines/tag/brand":
                self._timeline(query)
            elif url.path == "/api/v1/streaming/hashtag" and instance.streaming:
                self._stream()
            else:
                self.send_error(404)

        def _json(self, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _timeline(self, query: dict[str, str]) -> None:
            with instance.changed:
                oldest_first = list(instance.statuses)
            limit = int(query.get("limit", 20))
            low = int(query.get("min_id") or query.get("since_id") or 0)
            above = [s for s in oldest_first if int(s["id"]) > low]
            # Mastodon: min_id gives the statuses immediately newer than it, the others the newest.
            chosen = above[:limit] if "min_id" in query else above[-limit:]
            self._json(chosen[::-1])  # newest first

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.flush()
            with instance.changed:
                sent = len(instance.statuses)
            try:
                while not instance.closed:
                    with instance.changed:
                        if len(instance.statuses) == sent and not instance.closed:
                            instance.changed.wait(10)  # woken by a publication, else a heartbeat
                        new = instance.statuses[sent:]
                    sent += len(new)
                    for item in new:
                        self.wfile.write(f"event: update\ndata: {json.dumps(item)}\n\n".encode())
                    if not new:
                        self.wfile.write(b":thump\n\n")  # Mastodon's heartbeat
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return

    return Api


def spawn_wall(path: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`wall run` with the paint probe on."""
    return subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(path), "--paint-log", str(log)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log.with_suffix(".log"), "w")
        if os.environ.get("BENCH_LATENCY_DEBUG")
        else subprocess.DEVNULL,
    )


def paints(log: Path) -> list[dict[str, Any]]:
    """The paint probe's lines so far."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


def fill_full_store(store: Store, posts: int = FULL_STORE_POSTS) -> None:
    """A day of demo content, then `posts` more mentions made from the demo's (same pictures)."""
    fill_store(store)
    models = [post for post in store.recent_posts("mention", 50)] or [
        post for kind in POST_KINDS for post in store.recent_posts(kind, 50)
    ]
    start = datetime.now(UTC) - timedelta(days=2)
    made = [
        replace(
            models[n % len(models)],
            source="demo",
            id=f"full-{n}",
            kind="mention",
            created_at=start + timedelta(seconds=10 * n),
        )
        for n in range(posts)
    ]
    for first in range(0, posts, 1000):  # a poll's worth a transaction, as the poller stores them
        store.apply("demo", Batch(posts=tuple(made[first : first + 1000])))


def with_bytecode(env: dict[str, str]) -> dict[str, str]:
    """`env` for a wall that reads compiled bytecode from a cache of its own, as an installed one does."""
    kept = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**kept, "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="wall-bench-pycache-")}


def first_content_frame(env: dict[str, str], store_content: str) -> dict[str, object]:
    """Spawn -> first painted post or counter, with the default panels, on a store that is `empty`,
    `stored` (a day of demo content) or `full` (that and FULL_STORE_POSTS more posts)."""

    def prepare() -> Path:
        config, path = make_config(
            '[[sources]]\nname = "demo"\ntype = "demo"\ninterval = 3600\n'
            '[[sources]]\nname = "offline"\ntype = "rss"\nurl = "http://127.0.0.1:9/feed"\n',
            storage="max_posts_per_source = 20000\n",
        )
        store = open_store(config)
        if store_content == "stored":
            fill_store(store)
        elif store_content == "full":
            fill_full_store(store)
        posts.append(store.post_count())
        store.close()
        return path

    posts: list[int] = []
    path = prepare()
    if "PYTHONPYCACHEPREFIX" in env:  # untimed: writes the bytecode, as an install does
        warm_up = path.parent / "paints-warm-up.jsonl"
        wall = spawn_wall(path, warm_up, env)
        deadline = time.monotonic() + 60
        while not paints(warm_up) and time.monotonic() < deadline:
            time.sleep(0.05)
        wall.terminate()
        wall.wait(timeout=30)
        if store_content == "empty":
            path = prepare()
    seconds: list[float] = []
    stops: list[float] = []
    for run in range(RUNS):
        if store_content == "empty" and run:  # each run starts empty: the last one stored the demo's posts
            path = prepare()
        log = path.parent / f"paints-{run}.jsonl"
        spawned = time.monotonic()
        wall = spawn_wall(path, log, env)
        try:
            while not (lines := paints(log)) and time.monotonic() - spawned < 60:
                time.sleep(0.02)
            if lines:
                seconds.append(lines[0]["t"] - spawned)
        finally:
            asked = time.monotonic()
            wall.terminate()
            wall.wait(timeout=90)
            stops.append(time.monotonic() - asked)
    return {
        "target_s": 1.0,
        "stored_posts": posts[0],
        "runs": RUNS,
        "painted_runs": len(seconds),
        "median_s": round(statistics.median(seconds), 3) if seconds else None,
        "max_s": round(max(seconds), 3) if seconds else None,
        "stop_median_s": round(statistics.median(stops), 2),
        "stop_max_s": round(max(stops), 2),
    }


def serve_instance(streaming: bool) -> tuple[Instance, ThreadingHTTPServer]:
    """A loopback Mastodon API answering from threads, its first status already published (the
    wall's cursor starts after it)."""
    instance = Instance(streaming)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(instance))
    server.daemon_threads = True
    instance.port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    instance.publish(FIRST_ID)
    return instance, server


def stop_instance(instance: Instance, server: ThreadingHTTPServer) -> None:
    """End the streams (they wait for a publication) and the server."""
    instance.closed = True
    with instance.changed:
        instance.changed.notify_all()
    server.shutdown()


def instance_config(instance: Instance, *, demo_interval: int, panels: str = "") -> Path:
    """A config polling `instance`'s hashtag every POLL_INTERVAL_S, with the demo source and
    `panels`, on a store filled with a day of demo content; returns its path."""
    config, path = make_config(
        f'[[sources]]\nname = "masto"\ntype = "mastodon"\nbase_url = "http://127.0.0.1:{instance.port}"\n'
        f'hashtags = ["brand"]\ninterval = {POLL_INTERVAL_S}\n'
        f'[[sources]]\nname = "demo"\ntype = "demo"\ninterval = {demo_interval}\n' + panels
    )
    store = open_store(config)
    fill_store(store)
    store.close()
    return path


def post_to_pixel(env: dict[str, str], streaming: bool, panels: str = "") -> dict[str, object]:
    """Publish POSTS posts on a loopback instance; how long until each is painted (`panels`: the
    `[[panels]]` tables, default: the wall's default rotation)."""
    instance, server = serve_instance(streaming)
    path = instance_config(instance, demo_interval=3600, panels=panels)
    log = path.parent / "paints.jsonl"
    wall = spawn_wall(path, log, {**env, "WALL_SOURCES__MASTO__TOKEN": TOKEN} if streaming else env)
    ids: list[str] = []
    try:
        time.sleep(SETTLE_S)
        for number in range(FIRST_ID + 1, FIRST_ID + 1 + POSTS):
            ids.append(instance.publish(number))
            time.sleep(POST_EVERY_S)
        deadline = time.monotonic() + NEVER_AFTER_S - POST_EVERY_S
        while time.monotonic() < deadline:
            painted = {line["key"] for line in paints(log)}
            if all(f"masto:{i}" in painted for i in ids):
                break
            time.sleep(0.2)
    finally:
        wall.terminate()
        wall.wait(timeout=30)
        stop_instance(instance, server)
    painted_at = {line["key"]: line["t"] for line in paints(log)}
    delays = sorted(
        painted_at[f"masto:{i}"] - instance.published[i] for i in ids if f"masto:{i}" in painted_at
    )
    return {
        "mode": "streaming (server-sent events)" if streaming else f"polling every {POLL_INTERVAL_S} s",
        "target": "p95 <= 2 s" if streaming else f"<= {POLL_INTERVAL_S + 2} s (interval + 2 s)",
        "posts": len(ids),
        "painted": len(delays),
        "p50_s": round(statistics.median(delays), 2) if delays else None,
        "p95_s": round(delays[min(len(delays) - 1, int(0.95 * len(delays)))], 2) if delays else None,
        "max_s": round(delays[-1], 2) if delays else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--first-frame-only", action="store_true", help="measure start -> first content frame only"
    )
    first_only = parser.parse_args().first_frame_only
    env = dict(os.environ)
    xvfb, platform = on_xvfb(env, fallback="offscreen 1920x1080")
    try:
        result: dict[str, object] = {
            "platform": platform,
            "painted": "first paint on screen of a card with the post (wall run --paint-log)",
            "first_content_frame": first_content_frame(with_bytecode(env), "stored"),
            "first_content_frame_empty_store": first_content_frame(with_bytecode(env), "empty"),
            "first_content_frame_full_store": first_content_frame(with_bytecode(env), "full"),
        }
        if not first_only:
            result["post_to_pixel_polling"] = post_to_pixel(env, streaming=False)
            result["post_to_pixel_streaming"] = post_to_pixel(env, streaming=True)
            # The transport alone: the mentions panel always up, so no wait for its turn.
            result["post_to_pixel_streaming_mentions_up"] = post_to_pixel(
                env, streaming=True, panels=MENTIONS_ONLY
            )
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
