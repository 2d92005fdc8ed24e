"""A real `wall run` against hostile loopback servers (tests/hostile/servers.py) for `--seconds`.

Run as `python -m bench hostile [--seconds 600]`. Every source polls every 15 s (the minimum) and a
failing one every 30 s (`max_backoff`, the minimum), so bombs, trickling bodies, private-address
pictures and echoed secrets keep coming for the whole run. Reported (issue 12's targets): peak and
final RSS, RSS growth (< 20 MB: the last minute's median against the second minute's), CPU seconds,
the longest GUI stall, requests that reached the private listener (must be 0) and secrets found in
any output (must be 0).

Why a subprocess and not an in-process `WallRuntime`: the run is what a kiosk runs (`wall run`, its
logging with secrets masked, its config loading from the environment), and its memory is the wall's
alone. The GUI heartbeat needs no hook: `wall run` already sends `WATCHDOG=1` from a GUI-thread
timer to `$NOTIFY_SOCKET` every `WATCHDOG_USEC / 2`. With WATCHDOG_USEC=10000 that is a 5 ms beat,
as in bench/stall.py, and the kernel stamps each datagram on arrival (SO_TIMESTAMPNS), so a busy
bench process does not add stalls of its own. A gap between two beats is time the GUI thread could
not paint. (The beat itself costs the wall ~200 tiny datagrams a second, counted in its CPU.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hostile.corpus import Secrets
from tests.hostile.servers import HostileServer, PrivateListener, files_under, secrets_found

ROOT = Path(__file__).resolve().parent.parent
SCREEN = ROOT / "assets" / "qt" / "offscreen-1920x1080.json"
INTERVAL = 15  # seconds, the minimum a source may poll at
HEARTBEAT_MS = 5
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python 3.11 does not name it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class NotifySocket:
    """A stand-in for systemd's notify socket: records each datagram with the kernel's arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []  # (CLOCK_REALTIME seconds, text)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        # Drained without pause: the wall's send blocks when this socket's queue is full.
        while not self._stop.is_set():
            try:
                data, ancillary, _, _ = self._sock.recvmsg(4096, socket.CMSG_SPACE(16))
            except (TimeoutError, OSError):
                continue
            stamp = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", value[:16])
                    stamp = seconds + nanoseconds / 1e9
            self.messages.append((stamp, data.decode(errors="replace")))

    def beats(self, since: float, until: float) -> list[float]:
        """Arrival times of the WATCHDOG=1 pings between two CLOCK_REALTIME instants."""
        return [t for t, m in list(self.messages) if m == "WATCHDOG=1" and since <= t <= until]

    def first(self, message: str) -> float | None:
        """When `message` first arrived (e.g. READY=1, sent after the first painted frame)."""
        return next((t for t, m in list(self.messages) if m == message), None)

    def text(self) -> bytes:
        """Every message but the pings, as systemd would show them (`STATUS=` lines)."""
        return "\n".join(m for _, m in list(self.messages) if m != "WATCHDOG=1").encode()

    def close(self) -> None:
        """Stop reading and remove the socket file."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        self.path.unlink(missing_ok=True)


@dataclass
class Sample:
    """One look at the wall process in /proc."""

    at: float  # seconds since spawn
    rss_mb: float
    cpu_s: float


@dataclass
class HostileRun:
    """Everything one hostile run produced: the figures and the outputs they were read from."""

    seconds: float
    exit_status: int | None = None
    alive_at_end: bool = False
    samples: list[Sample] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    beats: list[float] = field(default_factory=list)  # heartbeat arrivals, first frame to SIGTERM
    spawned_at: float = 0.0  # when `wall run` was started (CLOCK_REALTIME, as the beats)
    stopped_at: float = 0.0  # when SIGTERM was sent
    ready_after_s: float | None = None
    private_requests: int = 0
    private_request_lines: list[str] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)
    secrets: dict[str, int] = field(default_factory=dict)
    status_running: dict[str, Any] = field(default_factory=dict)
    status_after: dict[str, Any] = field(default_factory=dict)
    server_requests: dict[str, dict[str, int]] = field(default_factory=dict)  # by server, by route
    token_on_pictures: int = 0
    requests_at: list[tuple[float, str]] = field(default_factory=list)  # (CLOCK_REALTIME, server route)
    fetch_seconds: dict[str, float] = field(default_factory=dict)
    state_dir: Path = Path()
    cache_dir: Path = Path()

    def longest_stalls(self, count: int = 5) -> list[dict[str, object]]:
        """The longest GUI stalls: when (seconds after spawn), how long, and which hostile answers
        were asked for in the 3 seconds before (what the wall was busy with)."""
        gaps = sorted(zip(self.beats, self.beats[1:], strict=False), key=lambda g: g[0] - g[1])[:count]
        found = []
        for start, end in gaps:
            before = sorted({route for at, route in self.requests_at if start - 3 <= at <= end})
            found.append(
                {
                    "stall_ms": round((end - start) * 1000 - HEARTBEAT_MS, 1),
                    "at_s": round(start - self.spawned_at, 1),
                    "requests_just_before": before,
                }
            )
        return found

    def stalls_ms(self) -> list[float]:
        """Each gap between two heartbeats beyond the beat's own period, in ms."""
        return [
            max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in zip(self.beats, self.beats[1:], strict=False)
        ]

    def rss_each_minute(self) -> list[float]:
        """The RSS at the end of each full minute of the run, in MB."""
        firsts: dict[int, float] = {}
        for sample in self.samples:
            firsts.setdefault(int(sample.at // 60), round(sample.rss_mb, 1))
        return [firsts[minute] for minute in sorted(firsts) if minute > 0]

    def stderr(self) -> str:
        """What the wall wrote to stderr: the journal of a kiosk."""
        return self.outputs.get("wall run stderr", b"").decode(errors="replace")

    def report(self) -> dict[str, object]:
        """The JSON figures (`python -m bench hostile`)."""
        stalls = sorted(self.stalls_ms())
        rss = [s.rss_mb for s in self.samples]
        warm = next((s for s in self.samples if s.at >= min(60.0, self.seconds / 3)), None)
        final = self.samples[-1] if self.samples else None
        # Growth is what stays: the median of the last minute's samples (one a second) against the
        # median of the minute after the warm-up. A single sample may fall on a burst of picture
        # downloads (every failed picture is asked for again after 5 minutes), freed a second later.
        span = min(60.0, self.seconds / 3)
        first = [s.rss_mb for s in self.samples if span <= s.at < 2 * span]
        last = [s.rss_mb for s in self.samples if s.at >= self.seconds - span]
        growth = statistics.median(last) - statistics.median(first) if first and last else None
        log = self.stderr()
        return {
            "targets": {
                "private_requests": 0,
                "secrets_found": 0,
                "rss_growth_mb": "< 20",
                "peak_rss_mb": "< 300",
            },
            "seconds": self.seconds,
            "exit_status": self.exit_status,
            "alive_until_stopped": self.alive_at_end,
            "private_requests": self.private_requests,
            "private_request_lines": self.private_request_lines[:10],
            "secrets_found": sum(self.secrets.values()),
            "secrets_found_in": self.secrets,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "final_rss_mb": round(final.rss_mb, 1) if final else None,
            "rss_after_warmup_mb": round(warm.rss_mb, 1) if warm else None,
            "rss_growth_mb": round(growth, 1) if growth is not None else None,
            "rss_last_sample_minus_warm_mb": round(final.rss_mb - warm.rss_mb, 1) if final and warm else None,
            "rss_each_minute_mb": self.rss_each_minute(),
            "rss_max_sampled_mb": round(max(rss), 1) if rss else None,
            "cpu_seconds": round(final.cpu_s, 1) if final else None,
            "cpu_share_of_a_core": round(final.cpu_s / final.at, 3) if final and final.at else None,
            "first_frame_after_s": round(self.ready_after_s, 2) if self.ready_after_s is not None else None,
            "heartbeats": len(self.beats),
            "max_gui_stall_ms": round(stalls[-1], 1) if stalls else None,
            "p99_gui_stall_ms": round(stalls[int(0.99 * (len(stalls) - 1))], 1) if stalls else None,
            "gui_stalls_over_17ms": sum(1 for s in stalls if s > 17),
            "gui_stalls_over_100ms": sum(1 for s in stalls if s > 100),
            "longest_gui_stalls": self.longest_stalls(),
            "pictures_refused_by_policy": log.count("refused by the outbound policy"),
            "images_skipped": log.count("image skipped"),
            "tracebacks": log.count("Traceback"),
            "traceback_excerpts": traceback_excerpts(log),
            "token_sent_with_pictures": self.token_on_pictures,
            "server_requests": self.server_requests,
            "wall_fetch_seconds": self.fetch_seconds,
            "sources": {
                row["source"]: f"{row['health']}: {str(row['last_error'])[:120]}"
                for row in self.status_after.get("sources", [])
            },
        }


def traceback_excerpts(log: str, limit: int = 5) -> list[str]:
    """Each traceback in a journal, with the log line that announced it and its last line (what
    failed, and where): a failure the run met is named in the report, not lost with its folder."""
    lines = log.splitlines()
    found: list[str] = []
    for number, line in enumerate(lines):
        if not line.startswith("Traceback") or len(found) >= limit:
            continue
        end = number + 1
        while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
            end += 1
        block = lines[max(0, number - 1) : min(end + 1, len(lines))]
        found.append("\n".join([*block[:2], "  ...", *block[-7:]] if len(block) > 12 else block))
    return found


def _proc(pid: int) -> tuple[float, float, float] | None:
    """(RSS MB, peak RSS MB, CPU seconds) of a live process, from /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
    ticks = stat.rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / CLOCK_TICKS  # utime, stime
    return int(fields.get("VmRSS", 0)) / 1024, int(fields.get("VmHWM", 0)) / 1024, cpu


def _wall(config: Path, env: dict[str, str], *args: str, timeout: float = 150) -> tuple[bytes, float]:
    """Run one `wall` command; its stdout and stderr together, and how long it took."""
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "wall.cli", *args, "--config", str(config)],
            capture_output=True,
            env=env,
            cwd=ROOT,
            timeout=timeout,
        )
        out = done.stdout + b"\n" + done.stderr
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + b"\n" + (exc.stderr or b"") + f"\n(no answer in {timeout} s)".encode()
    return out, time.monotonic() - started


def _json_line(data: bytes) -> dict[str, Any]:
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    return {}


def run_hostile(
    seconds: float,
    folder: Path,
    *,
    fetch: Sequence[str] | None = None,
    interval: float = INTERVAL,
    network: str = "max_backoff = 30\n",
    sources: Callable[[HostileServer, HostileServer], str] | None = None,
) -> HostileRun:
    """Run `wall run` for `seconds` against fresh hostile servers, stop it with SIGTERM, then read
    `wall status` and `wall fetch NAME --json` (`fetch`: these sources; None: all of them).

    `network`: the `[network]` table's lines; `sources(feeds, mastodon)`: the `[[sources]]` and
    `[[panels]]` to run with instead of every hostile source (`HostileServer.sources_toml`)."""
    secrets = Secrets()
    private = PrivateListener()
    bound = min(120.0, seconds + 30)
    server = HostileServer(private, secrets, max_response_seconds=bound)
    mastodon = HostileServer(private, secrets, max_response_seconds=bound)  # its own origin, as an instance
    state, cache = folder / "state", folder / "cache"
    config = folder / "wall.toml"
    body = sources(server, mastodon) if sources is not None else server.sources_toml(interval, mastodon)
    config.write_text(f'[storage]\nstate_dir = "{state}"\n[network]\n{network}{body}', encoding="utf-8")
    notify = NotifySocket(folder / "notify.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WALL_", "NOTIFY_", "WATCHDOG_"))}
    env.update(
        QT_QPA_PLATFORM=f"offscreen:configfile={SCREEN}",
        QT_API="pyside6",
        XDG_CACHE_HOME=str(cache),
        XDG_STATE_HOME=str(folder / "xdg-state"),
        **server.secret_env(),
    )
    run = HostileRun(seconds=seconds, state_dir=state, cache_dir=cache / "lobby-wall")
    log_out, log_err = folder / "wall-run.out", folder / "wall-run.err"
    wall_env = {**env, "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": str(2000 * HEARTBEAT_MS)}
    spawned_wall = run.spawned_at = time.time()
    spawned = time.monotonic()
    with log_out.open("wb") as out, log_err.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "run", "--config", str(config)],
            stdout=out,
            stderr=err,
            env=wall_env,
            cwd=ROOT,
        )
    try:
        status_at = max(1.0, seconds - 8)  # `wall status` while it runs (its record is written every 30 s)
        asked = False
        while (elapsed := time.monotonic() - spawned) < seconds and process.poll() is None:
            looked = _proc(process.pid)
            if looked is not None:
                run.samples.append(Sample(elapsed, looked[0], looked[2]))
                run.peak_rss_mb = max(run.peak_rss_mb, looked[1])
            if not asked and elapsed >= status_at:
                asked = True
                for args in (("status",), ("status", "--json")):
                    text, _ = _wall(config, env, *args)
                    run.outputs[f"wall {' '.join(args)} (running)"] = text
                    if "--json" in args:
                        run.status_running = _json_line(text)
            time.sleep(1.0 - (time.monotonic() - spawned) % 1.0)
        run.alive_at_end = process.poll() is None
        stopped_wall = run.stopped_at = time.time()
        looked = _proc(process.pid)
        if looked is not None:
            run.peak_rss_mb = max(run.peak_rss_mb, looked[1])
        process.send_signal(signal.SIGTERM)
        try:
            run.exit_status = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            run.exit_status = process.wait()
        ready = notify.first("READY=1")
        run.ready_after_s = ready - spawned_wall if ready is not None else None
        run.beats = notify.beats(ready or spawned_wall, stopped_wall)
        for args in (("status",), ("status", "--json")):
            text, _ = _wall(config, env, *args)
            run.outputs[f"wall {' '.join(args)}"] = text
            if "--json" in args:
                run.status_after = _json_line(text)
        names = (
            list(fetch)
            if fetch is not None
            else [row["source"] for row in run.status_after.get("sources", [])]
        )
        results: dict[str, tuple[bytes, float]] = {}
        threads = [
            threading.Thread(
                target=lambda n=name: results.__setitem__(n, _wall(config, env, "fetch", n, "--json"))
            )
            for name in names
        ]
        for thread in threads:  # concurrently: a fetch of a trickling feed takes as long as it trickles
            thread.start()
        for thread in threads:
            thread.join()
        for name, (text, took) in sorted(results.items()):
            run.outputs[f"wall fetch {name} --json"] = text
            run.fetch_seconds[name] = round(took, 1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.stop()
        mastodon.stop()
        private.stop()
        notify.close()
    run.outputs["wall run stdout"] = log_out.read_bytes()
    run.outputs["wall run stderr"] = log_err.read_bytes()
    run.outputs["systemd notify messages"] = notify.text()
    for where, base in (("state", state), ("cache", cache), ("xdg-state", folder / "xdg-state")):
        for name, data in files_under(base).items():
            run.outputs[f"{where}/{name}"] = data
    run.secrets = secrets_found(run.outputs, secrets.values())
    run.private_requests = private.hits
    run.private_request_lines = list(private.requests)
    run.server_requests = {"feeds": dict(server.tally.counts), "mastodon": dict(mastodon.tally.counts)}
    run.token_on_pictures = server.tally.token_on_pictures + mastodon.tally.token_on_pictures
    run.requests_at = sorted(server.tally.times + mastodon.tally.times)
    return run


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.hostile [--seconds N]`: one JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m bench hostile", description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the wall runs (default 600)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wall-hostile-") as folder:
        run = run_hostile(args.seconds, Path(folder))
    print(json.dumps(run.report()))


if __name__ == "__main__":
    main()
