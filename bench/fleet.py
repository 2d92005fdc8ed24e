"""`bench fleet`: one collector and many simulated kiosks on one local nats-server (issue 16).

- **decision -> kiosk**: a moderator's hide on the collector (`Engine.act`, the page's path) until
  each kiosk's screen no longer lists the post; ROUNDS decisions, p50/p99 over every kiosk and the
  worst "last kiosk" of a round. Target: p99 <= 1 s. Also until the value came off each kiosk's
  watch ("receipt"): SWARM_SIZE kiosks share one process's GIL, and the 200 share the machine's
  cores, so their store writes (~7 ms each) queue; a real kiosk has its own CPU. The collector is
  a child process running the real `start_collector` (engine, `FleetPublisher`); the kiosks are
  the real `KioskReceiver`, each with its own link and SQLite store, headless, in child processes
  of SWARM_SIZE kiosks each. Every process stamps `time.monotonic()` (the system's monotonic
  clock), so their times compare.
- **broker**: CPU (% of one core over the decisions) and RSS; **collector**: RSS.
- **API requests per poll**: requests the loopback source server receives for one poll with 1 kiosk
  running, then with all of them: equal (kiosks never poll).
- **kiosk memory**: a real `wall run` (offscreen 1920x1080, default panels) in fleet mode, and one
  standalone polling the same feed: RSS after RUN_S seconds.
- **broker away** (`--outage-seconds`, 60 by default): the broker stopped, a decision made meanwhile,
  the broker started again: seconds until the last kiosk has it, and how many got it.

- **leader kills** (`--leader-kills N`, a measure of its own): a 3-node cluster, R3 buckets, one
  site of LEADER_KIOSKS kiosks; N times the node leading the site's KV stream is killed (SIGKILL)
  and a decision made at once: seconds from the kill until the last kiosk has it, then the node is
  started again and the cluster settles before the next kill.

`python -m bench.fleet [--kiosks 200] [--outage-seconds 60]` and
`python -m bench.fleet --leader-kills 5` each print one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats.errors
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench.common import rss_mb
from tests.servers.nats import START_TIMEOUT_S, NatsFleet, make_fleet

ROOT = Path(__file__).resolve().parent.parent
SCREEN = ROOT / "assets" / "qt" / "offscreen-1920x1080.json"
SCREENS_PER_SITE = 10
SWARM_SIZE = 50  # kiosks per child process (a process's loop and GIL, as on a real fleet: one each)
POSTS = 30
ROUNDS = 10
RUN_S = 20.0
TARGET_P99_S = 1.0
NEVER_AFTER_S = 60.0
LEADER_KIOSKS = 3
SETTLE_TIMEOUT_S = 60.0


def screens(kiosks: int) -> list[str]:
    """`site/screen` names: sites of SCREENS_PER_SITE screens."""
    return [f"s{i // SCREENS_PER_SITE:02d}/k{i % SCREENS_PER_SITE}" for i in range(kiosks)]


def feed(server: HTTPServer) -> str:
    """A JSON Feed of POSTS posts on the loopback source server; returns its URL."""
    items = [
        {
            "id": f"p{i:02d}",
            "content_text": f"Post {i} #brand",
            "date_published": f"2026-12-01T{i // 60 + 8:02d}:{i % 60:02d}:00Z",
        }
        for i in range(POSTS)
    ]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "news", "items": items})

    def answer(_request: Request) -> Response:
        return Response(body, content_type="application/feed+json")

    server.expect_request("/news.json").respond_with_handler(answer)
    return server.url_for("/news.json")


def source_requests(server: HTTPServer) -> int:
    """Requests the source server has answered so far."""
    return sum(1 for request, _ in server.log if request.path == "/news.json")


# --- the children --------------------------------------------------------------------------------
def _say(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


async def _stdin_lines() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def collector_child(config_path: Path) -> None:
    """The real collector; commands on stdin: poll, hide KEY, rss, quit."""
    from wall.engine.config import load_config
    from wall.engine.fleet.collector import start_collector

    collector = await start_collector(load_config(config_path))
    engine = collector.engine
    for source in engine.sources:
        await engine.poller.poll_once(source)
    await collector.publisher.drained()
    _say({"ready": True})
    commands = await _stdin_lines()
    while line := (await commands.readline()).decode().split():
        if line[0] == "poll":
            for source in engine.sources:
                await engine.poller.poll_once(source)
            await collector.publisher.drained()
            _say({"polled": True})
        elif line[0] == "hide":
            decided = time.monotonic()
            await engine.act(line[1], "hide", "bench")
            _say({"decided": line[1], "t": decided})
            await collector.publisher.drained()  # the broker has it (a leader kill: once re-elected)
            _say({"written": line[1], "t": time.monotonic()})
        elif line[0] == "rss":
            _say(rss_mb())
        else:
            break
    await collector.stop()


async def kiosks_child(fleet_dir: Path, servers: list[str], names: list[str], state: Path) -> None:
    """Headless kiosks (the real receive path); prints when each has all posts, and each post that
    leaves a kiosk's screen."""
    from tests.support.screen import RecordingScreen
    from wall.core.model import Post, PostKind
    from wall.engine.config import parse_config
    from wall.engine.fleet.layout import kiosk_user
    from wall.engine.fleet.receiver import KioskReceiver
    from wall.engine.services import open_store

    ready: set[int] = set()
    arrived: dict[int, float] = {}  # kiosk -> when the value being applied came off its watch

    class TimingReceiver(KioskReceiver):
        def __init__(self, index: int, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.index = index

        async def _apply(self, key: str, revision: int, data: bytes) -> None:
            arrived[self.index] = time.monotonic()
            await super()._apply(key, revision, data)

    class TimingScreen(RecordingScreen):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

        def set_posts(self, kind: PostKind, posts: Sequence[Post]) -> None:
            now = time.monotonic()
            before = {p.key for p in self.posts[kind]}
            super().set_posts(kind, posts)
            for key in before - {p.key for p in posts}:
                _say({"k": self.index, "gone": key, "t": now, "arrived": arrived.get(self.index, now)})
            if kind == "mention" and len(posts) >= POSTS and self.index not in ready:
                ready.add(self.index)
                if len(ready) == len(names):
                    _say({"ready": len(names)})

    receivers = []
    ca = fleet_dir / "ca.pem"
    for index, name in enumerate(names):
        site, screen = name.split("/")
        credentials = fleet_dir / "credentials" / kiosk_user(site, screen)
        data = {
            "storage": {"state_dir": str(state / name)},
            "fleet": {"servers": servers, "site": site, "screen": screen, "ca_file": str(ca)},
        }
        config = parse_config(data, "kiosk.toml", {"CREDENTIALS_DIRECTORY": str(credentials)})
        assert config.fleet is not None
        pictures = state / name / "pictures"
        store = open_store(config)
        receiver = TimingReceiver(index, config.fleet, store, TimingScreen(index), pictures=pictures)
        receiver.start()
        receivers.append(receiver)
    commands = await _stdin_lines()
    while (await commands.readline()).decode().strip() == "rss":
        _say(rss_mb())
    for receiver in receivers:
        await receiver.stop()


# --- the measurement -----------------------------------------------------------------------------
class Child:
    """A child process speaking JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process, names: Sequence[str] = ()) -> None:
        self.process = process
        self.names = list(names)  # the kiosks of a swarm
        self.lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if line.startswith(b"{"):
                await self.lines.put(json.loads(line))

    async def send(self, command: str) -> None:
        """One command line."""
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, key: str, timeout: float = NEVER_AFTER_S) -> dict[str, Any]:
        """The next line holding `key` (others are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            line = await asyncio.wait_for(self.lines.get(), max(0.01, deadline - time.monotonic()))
            if key in line:
                return line

    async def stop(self) -> None:
        """Ask it to quit (closing its stdin), kill it after 30 s."""
        with_stdin = self.process.stdin
        if with_stdin is not None and not with_stdin.is_closing():
            with_stdin.write(b"quit\n")
            with_stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()


async def spawn(*args: str, env: dict[str, str] | None = None, names: Sequence[str] = ()) -> Child:
    """`python -m bench.fleet ARGS` with JSON lines on its stdout and commands on its stdin."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.fleet",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    return Child(process, names)


def proc_rss_mb(pid: int) -> float:
    """Resident memory of another process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def gather_gone(swarms: list[Child], key: str) -> list[tuple[float, float]]:
    """Each kiosk's times for `key`: the value off its watch, and the post off its screen (the
    kiosks that did within NEVER_AFTER_S)."""
    deadline = time.monotonic() + NEVER_AFTER_S

    async def drain(swarm: Child) -> list[tuple[float, float]]:
        got: dict[int, tuple[float, float]] = {}
        try:
            while len(got) < len(swarm.names):
                line = await asyncio.wait_for(swarm.lines.get(), max(0.01, deadline - time.monotonic()))
                if line.get("gone") == key:
                    got[int(line["k"])] = (float(line["arrived"]), float(line["t"]))
        except TimeoutError:
            pass  # counted as missed
        return list(got.values())

    return [t for times in await asyncio.gather(*(drain(s) for s in swarms)) for t in times]


async def start_swarms(broker: NatsFleet, names: list[str], state: Path) -> list[Child]:
    """Kiosk processes of SWARM_SIZE kiosks each, once every kiosk shows every post."""
    swarms = []
    for start in range(0, len(names), SWARM_SIZE):
        chunk = names[start : start + SWARM_SIZE]
        swarm = await spawn(
            "--role",
            "kiosks",
            "--fleet-dir",
            str(broker.files.folder),
            "--servers",
            ",".join(broker.servers),
            "--names",
            ",".join(chunk),
            "--state",
            str(state),
            names=chunk,
        )
        swarms.append(swarm)
    for swarm in swarms:
        await swarm.expect("ready")
    return swarms


def smaps_mb(pid: int) -> dict[str, float]:
    """Another process's memory by kind (/proc/PID/smaps_rollup): what is its own (anonymous: the
    Python heap, Qt's buffers) and what is shared files (libraries, fonts)."""
    kept = {"Rss": "rss", "Pss_Anon": "pss_anon", "Pss_File": "pss_file", "Anonymous": "anonymous"}
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in kept:
            out[f"{kept[name]}_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return out


def wall_run_rss(config: Path, env: dict[str, str]) -> dict[str, float]:
    """Memory of a real `wall run` RUN_S seconds after its start (offscreen 1920x1080, default panels)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    try:
        time.sleep(RUN_S)
        return {"vmrss_mb": proc_rss_mb(process.pid), **smaps_mb(process.pid)}
    finally:
        process.terminate()
        process.wait(timeout=30)


def compare_kiosk_rss(
    broker: NatsFleet, folder: Path, url: str, env: dict[str, str], runs: int
) -> dict[str, Any]:
    """A kiosk's memory in fleet mode (site s00, whose bucket holds the feed's POSTS posts) against a
    standalone wall polling the same feed: the same default panels, the same POSTS posts, an empty
    store at each start, measured RUN_S s after it; `runs` of each, alternated (the machine's load
    drifts), medians compared."""
    run_env = env | {
        "QT_QPA_PLATFORM": f"offscreen:configfile={SCREEN}",
        "QT_API": "pyside6",
        "CREDENTIALS_DIRECTORY": str(broker.files.credentials["kiosk-s00-k0"].parent),
    }
    measured: dict[str, list[dict[str, float]]] = {"fleet": [], "standalone": []}
    for run in range(runs):
        for mode in measured:
            config = folder / f"{mode}-{run}.toml"
            state = f'[storage]\nstate_dir = "{folder / f"{mode}-{run}"}"\n'
            if mode == "fleet":
                config.write_text(
                    f"{state}[fleet]\nservers = {json.dumps(broker.servers)}\n"
                    f'site = "s00"\nscreen = "k0"\nca_file = "{broker.files.ca}"\n'
                )
            else:
                config.write_text(f'{state}[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\n')
            measured[mode].append(wall_run_rss(config, run_env))
    out: dict[str, Any] = {"runs": runs, "after_s": RUN_S}
    for mode, figures in measured.items():
        out[f"{mode}_rss_mb"] = [f["vmrss_mb"] for f in figures]
        for name in figures[0]:
            out[f"{mode}_{name.removesuffix('_mb')}_median_mb"] = round(
                statistics.median(f[name] for f in figures), 1
            )
    return out


async def measure(kiosks: int, outage_s: float, rss_runs: int = 3) -> dict[str, Any]:
    """The whole bench (see the module's docstring)."""
    folder = Path(tempfile.mkdtemp(prefix="wall-bench-fleet-"))
    names = screens(kiosks)
    sites = sorted({n.split("/")[0] for n in names})
    broker = make_fleet(folder, names)
    broker.start()
    source = HTTPServer(host="127.0.0.1")
    source.start()
    swarms: list[Child] = []
    collector: Child | None = None
    try:
        url = feed(source)
        collector_toml = folder / "collector.toml"
        collector_toml.write_text(
            f'[storage]\nstate_dir = "{folder / "collector"}"\n'
            f"[fleet]\nservers = {json.dumps(broker.servers)}\nsites = {json.dumps(sites)}\n"
            f'ca_file = "{broker.files.ca}"\n'
            f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\ninterval = 3600\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
        collector_env = env | {"CREDENTIALS_DIRECTORY": str(broker.files.credentials["collector"].parent)}
        collector = await spawn("--role", "collector", "--config", str(collector_toml), env=collector_env)
        await collector.expect("ready")

        # One real kiosk's memory, fleet against standalone, before the swarms load the machine and
        # before any decision (both show the same POSTS posts).
        kiosk_rss = await asyncio.to_thread(compare_kiosk_rss, broker, folder, url, env, rss_runs)

        # API requests per poll: one kiosk, then all of them.
        swarms = await start_swarms(broker, names[:1], folder / "one")
        before = source_requests(source)
        await collector.send("poll")
        await collector.expect("polled")
        with_one = source_requests(source) - before
        await swarms[0].stop()
        swarms = await start_swarms(broker, names, folder / "all")
        before = source_requests(source)
        await collector.send("poll")
        await collector.expect("polled")
        with_all = source_requests(source) - before

        # Decisions.
        broker_pid = broker.nodes[0].process.pid  # type: ignore[union-attr]
        cpu_before, wall_before = proc_cpu_s(broker_pid), time.monotonic()
        latencies: list[float] = []
        receipts: list[float] = []
        last_kiosk: list[float] = []
        missed = 0
        for round_ in range(ROUNDS):
            key = f"news:p{POSTS - 1 - round_:02d}"
            await collector.send(f"hide {key}")
            decided = float((await collector.expect("decided"))["t"])
            times = await gather_gone(swarms, key)
            missed += kiosks - len(times)
            delays = [t - decided for _, t in times]
            latencies += delays
            receipts += [arrived - decided for arrived, _ in times]
            last_kiosk.append(max(delays, default=NEVER_AFTER_S))
            await asyncio.sleep(0.5)
        broker_cpu = (proc_cpu_s(broker_pid) - cpu_before) / (time.monotonic() - wall_before) * 100
        broker_rss = proc_rss_mb(broker_pid)
        await collector.send("rss")
        collector_rss = (await collector.expect("rss_mb"))["rss_mb"]
        swarm_rss = []
        for swarm in swarms:
            await swarm.send("rss")
            swarm_rss.append((await swarm.expect("rss_mb"))["rss_mb"])

        # The broker away: a decision made meanwhile reaches every kiosk after.
        outage: dict[str, Any] = {}
        if outage_s > 0:
            broker.stop()
            key = f"news:p{POSTS - 1 - ROUNDS:02d}"
            await collector.send(f"hide {key}")
            await collector.expect("decided")
            await asyncio.sleep(outage_s)
            broker.start()
            back = time.monotonic()
            times = await gather_gone(swarms, key)
            outage = {
                "outage_s": outage_s,
                "kiosks_caught_up": len(times),
                "broker_back_to_last_kiosk_s": round(max((t for _, t in times), default=back) - back, 3),
            }

    finally:
        for swarm in swarms:
            await swarm.stop()
        if collector is not None:
            await collector.stop()
        broker.stop()
        source.stop()
    return {
        "kiosks": kiosks,
        "sites": len(sites),
        "rounds": ROUNDS,
        "target_p99_s": TARGET_P99_S,
        "decision_to_kiosk_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "decision_to_kiosk_p99_s": round(percentile(latencies, 0.99), 3) if latencies else None,
        "decision_to_last_kiosk_max_s": round(max(last_kiosk), 3),
        "decision_to_kiosk_receipt_p50_s": round(statistics.median(receipts), 3) if receipts else None,
        "decision_to_kiosk_receipt_p99_s": round(percentile(receipts, 0.99), 3) if receipts else None,
        "deliveries_missed": missed,
        "broker_cpu_percent_of_a_core": round(broker_cpu, 1),
        "broker_rss_mb": broker_rss,
        "collector_rss_mb": collector_rss,
        "kiosk_swarm_rss_mb": swarm_rss,
        "api_requests_per_poll_with_1_kiosk": with_one,
        f"api_requests_per_poll_with_{kiosks}_kiosks": with_all,
        "kiosk_memory": kiosk_rss,
        "broker_away": outage,
    }


async def measure_kiosk_rss(runs: int) -> dict[str, Any]:
    """Only the kiosk's memory, fleet against standalone (see `compare_kiosk_rss`)."""
    folder = Path(tempfile.mkdtemp(prefix="wall-bench-rss-"))
    broker = make_fleet(folder, ["s00/k0"])
    broker.start()
    source = HTTPServer(host="127.0.0.1")
    source.start()
    collector: Child | None = None
    try:
        url = feed(source)
        collector_toml = folder / "collector.toml"
        collector_toml.write_text(
            f'[storage]\nstate_dir = "{folder / "collector"}"\n'
            f'[fleet]\nservers = {json.dumps(broker.servers)}\nsites = ["s00"]\n'
            f'ca_file = "{broker.files.ca}"\n'
            f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\ninterval = 3600\n'
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
        credentials = str(broker.files.credentials["collector"].parent)
        collector = await spawn(
            "--role",
            "collector",
            "--config",
            str(collector_toml),
            env=env | {"CREDENTIALS_DIRECTORY": credentials},
        )
        await collector.expect("ready")
        return {"kiosk_memory": await asyncio.to_thread(compare_kiosk_rss, broker, folder, url, env, runs)}
    finally:
        if collector is not None:
            await collector.stop()
        broker.stop()
        source.stop()


async def settled(js: Any, stream: str, replicas: int) -> None:
    """Until `stream` has a leader and every replica is current (a killed node started again)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            cluster = (await js.stream_info(stream)).cluster
        except (nats.errors.Error, TimeoutError):  # no leader yet: no answer, or 503
            cluster = None
        peers = (cluster.replicas or []) if cluster else []
        if cluster and cluster.leader and len(peers) == replicas - 1 and all(p.current for p in peers):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{stream} did not settle in {SETTLE_TIMEOUT_S:.0f} s")


async def measure_leader_kills(kills: int) -> dict[str, Any]:
    """Kill the leader of a site's KV stream `kills` times; each time a decision made at once must
    reach every kiosk: seconds from the kill to the last kiosk (see the module's docstring)."""
    from wall.engine.config import parse_config
    from wall.engine.fleet.link import close, connect

    folder = Path(tempfile.mkdtemp(prefix="wall-bench-leader-"))
    names = [f"s00/k{i}" for i in range(LEADER_KIOSKS)]
    broker = make_fleet(folder, names, nodes=3)
    broker.start()
    source = HTTPServer(host="127.0.0.1")
    source.start()
    swarms: list[Child] = []
    collector: Child | None = None
    link = None
    stream = "KV_wall-s00"
    try:
        url = feed(source)
        collector_toml = folder / "collector.toml"
        collector_toml.write_text(
            f'[storage]\nstate_dir = "{folder / "collector"}"\n'
            f'[fleet]\nservers = {json.dumps(broker.servers)}\nsites = ["s00"]\n'
            f'ca_file = "{broker.files.ca}"\nreplicas = 3\n'
            f'[[sources]]\nname = "news"\ntype = "rss"\nurl = "{url}"\ninterval = 3600\n'
        )
        credentials = str(broker.files.credentials["collector"].parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
        collector = await spawn(
            "--role",
            "collector",
            "--config",
            str(collector_toml),
            env=env | {"CREDENTIALS_DIRECTORY": credentials},
        )
        await collector.expect("ready")
        swarms = await start_swarms(broker, names, folder / "kiosks")
        config = parse_config(
            {
                "storage": {"state_dir": str(folder / "bench")},
                "fleet": {"servers": broker.servers, "sites": ["s00"], "ca_file": str(broker.files.ca)},
            },
            "bench.toml",
            {"CREDENTIALS_DIRECTORY": credentials},
        )
        assert config.fleet is not None
        link = await connect(config.fleet, name="bench")
        js = link.jetstream(timeout=2)
        recoveries: list[float] = []
        writes: list[float] = []  # the collector's write accepted by the new leader
        missed = 0
        for kill in range(kills):
            await settled(js, stream, 3)
            leader = (await js.stream_info(stream)).cluster
            node = next(n for n in broker.nodes if leader is not None and n.name == leader.leader)
            assert node.process is not None
            node.process.kill()  # SIGKILL: the leader dies, no goodbye
            killed = time.monotonic()
            node.process.wait()
            key = f"news:p{POSTS - 1 - kill:02d}"
            await collector.send(f"hide {key}")  # a decision during the leader change
            await collector.expect("decided")
            written = float((await collector.expect("written"))["t"])
            times = await gather_gone(swarms, key)
            missed += len(names) - len(times)
            recoveries.append(round(max((t for _, t in times), default=killed + NEVER_AFTER_S) - killed, 3))
            writes.append(round(written - killed, 3))
            node.start()
            node.wait_ready(time.monotonic() + START_TIMEOUT_S)
    finally:
        if link is not None:
            await close(link)
        for swarm in swarms:
            await swarm.stop()
        if collector is not None:
            await collector.stop()
        broker.stop()
        source.stop()
    return {
        "leader_kills": kills,
        "kiosks": len(names),
        "kill_to_last_kiosk_s": recoveries,
        "kill_to_last_kiosk_median_s": round(statistics.median(recoveries), 3),
        "kill_to_last_kiosk_max_s": max(recoveries),
        "kill_to_collector_write_s": writes,
        "deliveries_missed": missed,
    }


def main(argv: list[str]) -> int:
    """`python -m bench.fleet [--kiosks N] [--outage-seconds S]` (and the children's roles)."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet")
    parser.add_argument("--kiosks", type=int, default=200, help="simulated kiosks (default 200)")
    parser.add_argument("--outage-seconds", type=float, default=60.0, help="broker away (0: skip)")
    parser.add_argument(
        "--leader-kills", type=int, default=0, help="measure only N kills of a 3-node cluster's leader"
    )
    parser.add_argument(
        "--kiosk-rss",
        type=int,
        default=0,
        metavar="RUNS",
        help="measure only a kiosk's memory, RUNS of each mode",
    )
    parser.add_argument("--role", choices=["bench", "collector", "kiosks"], default="bench")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--fleet-dir", type=Path)
    parser.add_argument("--servers", default="")
    parser.add_argument("--names", default="")
    parser.add_argument("--state", type=Path)
    args = parser.parse_args(argv)
    if args.role == "collector":
        asyncio.run(collector_child(args.config))
    elif args.role == "kiosks":
        asyncio.run(kiosks_child(args.fleet_dir, args.servers.split(","), args.names.split(","), args.state))
    elif args.kiosk_rss > 0:
        print(json.dumps(asyncio.run(measure_kiosk_rss(args.kiosk_rss))))
    elif args.leader_kills > 0:
        print(json.dumps(asyncio.run(measure_leader_kills(args.leader_kills))))
    else:
        print(json.dumps(asyncio.run(measure(args.kiosks, args.outage_seconds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
