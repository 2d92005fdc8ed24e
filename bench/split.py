"""What splitting the wall into a display process and an engine process would cost in memory (issue 14).

Not the product: a faithful measurement, so the product's owners can decide with numbers. One
process cannot reach PSS <= 80 MB (importing the fixed stack alone is ~98 MB RSS); the estimate was a
display of ~55-60 MB and an engine of ~55 MB, ~10-20 MB more together than one process.

`bench pss`'s scenario (a loopback Mastodon API polled every 15 s with a post every 10 s, the demo
source for the fans, the fans, mentions and clock panels, on its own Xvfb 1920x1080 when there is
one, else offscreen), for the same time (150 s), as two real processes joined by a unix socket:

- the engine (`bench.split_engine`): the real `Engine` on a plain asyncio loop, with a `Screen`
  that sends every call as a JSON line (pictures as base64); it asserts it never loaded PySide6,
  qasync or widgets;
- the display (`bench.split_display`): PySide6, the widgets and `wall.core`, a real `Hub` fed by a
  `QSocketNotifier`, the windows `wall run` shows, built from plain settings the engine sends once;
  it asserts it never loaded pydantic, pydantic-settings, httpx, httpcore, asyncio, qasync or Pillow.

Each process's PSS is sampled as `bench pss` samples `wall run` (every SAMPLE_EVERY_S after
SETTLE_S: the medians), with its breakdowns at rest (`pss_by_mapping_mb`, `pss_by_file_mb`,
`breakdown`: `memory_breakdown()` read on SIGUSR1). `sum` is the median of the two processes' PSS
summed sample by sample (PSS shares the pages the two map alike, Python's code among them, so the
sum counts them once; RSS counts them twice). `one_process` is `bench pss` itself, run by this
bench right after on the same X server: the same hour, the same machine load.

`post_to_pixel`: each published post, publication -> sent by the engine (poll, moderation,
store) -> applied in the display's hub (the pipe: JSON out, socket, JSON in) -> first painted on
screen (its panel's turn or the "Nouveau" card; `wall.shell.paint_probe`, as `bench latency`).
`pipe_line_ms`: sent -> applied, for every line the display received.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bench.idle import on_xvfb
from bench.latency import FIRST_ID, Instance, instance_config, paints, serve_instance, stop_instance
from bench.pss import (
    PANELS,
    POST_EVERY_S,
    REST_MARGIN_MB,
    REST_WAIT_S,
    SAMPLE_EVERY_S,
    SETTLE_S,
    TARGET_PSS_MB,
    breakdown_from_log,
    pss_by_file,
    pss_by_mapping,
    rollup,
    steady_figures,
    threads_by_name,
)
from bench.pss import measure as measure_one_process
from bench.split_wire import MEMORY_MARKER

ROOT = Path(__file__).resolve().parent.parent
STOP_WAIT_S = 30.0


@dataclass
class Pair:
    """The two children of one run, and the files they write."""

    engine: subprocess.Popen[bytes]
    display: subprocess.Popen[bytes]
    folder: Path

    def log(self, who: str) -> Path:
        """The child's stderr (its log)."""
        return self.folder / f"{who}.log"

    def report(self, who: str) -> Path:
        """The JSON the child writes when it ends."""
        return self.folder / f"{who}-report.json"

    @property
    def paint_log(self) -> Path:
        """The display's first paints of posts (`wall.shell.paint_probe`)."""
        return self.folder / "paints.jsonl"

    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        """Both children by name."""
        return {"display": self.display, "engine": self.engine}


def spawn_pair(config: Path, env: dict[str, str], folder: Path | None = None) -> Pair:
    """Start the engine on `config` and the display, joined by a unix socket."""
    folder = folder or Path(tempfile.mkdtemp(prefix="wall-bench-split-"))
    engine_end, display_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for who, end, options in (
            ("engine", engine_end, ["--config", str(config)]),
            ("display", display_end, ["--paint-log", str(folder / "paints.jsonl")]),
        ):
            with (folder / f"{who}.log").open("wb") as errors:
                started[who] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        f"bench.split_{who}",
                        "--fd",
                        str(end.fileno()),
                        "--report",
                        str(folder / f"{who}-report.json"),
                        *options,
                    ],
                    pass_fds=(end.fileno(),),
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
    finally:
        engine_end.close()  # the children hold their own ends now
        display_end.close()
    return Pair(started["engine"], started["display"], folder)


def stop_pair(pair: Pair) -> dict[str, dict[str, Any]]:
    """SIGTERM the engine (it stops, and closes the socket), then let the display end on that (as it
    would if the engine died; SIGTERM after STOP_WAIT_S); each one's report and exit status."""
    reports: dict[str, dict[str, Any]] = {}
    for who, process in (("engine", pair.engine), ("display", pair.display)):
        if who == "engine" and process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        path = pair.report(who)
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        reports[who] = {**found, "exit_status": process.returncode}
    return reports


def at_rest(pair: Pair, display_anon_median_mb: float) -> dict[str, dict[str, object]]:
    """Both processes' breakdowns read while no transition holds the display's pictures (its own
    memory within REST_MARGIN_MB of its median before and after reading; else read again)."""
    deadline = time.monotonic() + REST_WAIT_S
    found: dict[str, dict[str, object]] = {}
    while time.monotonic() < deadline:
        if rollup(pair.display.pid)["pss_anon_mb"] > display_anon_median_mb + REST_MARGIN_MB:
            time.sleep(0.2)
            continue
        found = {
            who: {
                "at_rest": rollup(process.pid),
                "pss_by_mapping_mb": pss_by_mapping(process.pid),
                "pss_by_file_mb": pss_by_file(process.pid),
                "threads": threads_by_name(process.pid),
                "breakdown": breakdown_from_log(process, pair.log(who), MEMORY_MARKER),
            }
            for who, process in pair.processes().items()
        }
        if rollup(pair.display.pid)["pss_anon_mb"] <= display_anon_median_mb + REST_MARGIN_MB:
            return found
    note = "none found: the breakdowns may include a transition's pictures"
    return {who: {**found.get(who, {}), "at_rest": note} for who in ("display", "engine")}


def post_to_pixel(
    instance: Instance, ids: list[str], pair: Pair, display: dict[str, Any]
) -> dict[str, object]:
    """Publication -> sent by the engine -> applied in the display's hub -> painted, per post (s)."""
    painted = {line["key"]: line["t"] for line in paints(pair.paint_log)}
    seen: dict[str, list[float]] = display.get("first_seen", {})
    steps: dict[str, list[float]] = {"engine_s": [], "pipe_s": [], "on_screen_s": [], "total_s": []}
    for post_id in ids:
        key = f"masto:{post_id}"
        if key not in painted or key not in seen:
            continue
        published, (sent, applied), shown = instance.published[post_id], seen[key], painted[key]
        for step, value in zip(
            steps, (sent - published, applied - sent, shown - applied, shown - published), strict=True
        ):
            steps[step].append(value)

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "median": round(statistics.median(ordered), 3),
            "max": round(ordered[-1], 3),
        }

    return {
        "posts": len(ids),
        "painted": len(steps["total_s"]),
        **{step: summary(values) for step, values in steps.items() if values},
    }


def measure_split(seconds: float, env: dict[str, str], x_server: int | None) -> dict[str, object]:
    """Run the engine and the display `seconds` against a loopback Mastodon API; their memory."""
    instance, server = serve_instance(streaming=False)
    path = instance_config(instance, demo_interval=60, panels=PANELS)
    pair = spawn_pair(path, env, path.parent)
    samples: list[tuple[float, dict[str, float], dict[str, float]]] = []
    ids: list[str] = []
    reports: dict[str, dict[str, Any]] = {}
    try:
        started = time.monotonic()
        number, next_post, next_sample = FIRST_ID + 1, started + POST_EVERY_S, started + SAMPLE_EVERY_S
        while (now := time.monotonic()) < started + seconds:
            for who, process in pair.processes().items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"the {who} exited with status {process.returncode}: see {pair.log(who)}"
                    )
            if now >= next_post:
                ids.append(instance.publish(number))
                number, next_post = number + 1, next_post + POST_EVERY_S
            if now >= next_sample:
                samples.append((now - started, rollup(pair.display.pid), rollup(pair.engine.pid)))
                next_sample += SAMPLE_EVERY_S
            time.sleep(0.2)
        steady = [(display, engine) for at, display, engine in samples if at >= SETTLE_S]
        display_anon = statistics.median(d["pss_anon_mb"] for d, _ in steady)
        rest = at_rest(pair, display_anon)
        ends = {who: rollup(process.pid) for who, process in pair.processes().items()}
        x_pss = rollup(x_server)["pss_mb"] if x_server is not None else None
    finally:
        reports = stop_pair(pair)
        stop_instance(instance, server)
    if loaded := {
        who: r.get("forbidden_loaded") for who, r in reports.items() if r.get("forbidden_loaded") != []
    }:
        raise RuntimeError(
            f"a child loaded what it must not (or wrote no report): {loaded}: see {pair.folder}"
        )
    summed = {
        key: round(statistics.median(d[key] + e[key] for d, e in steady), 1)
        for key in ("pss_mb", "pss_anon_mb", "pss_file_mb", "rss_mb")
    }
    display_report = reports["display"]
    result: dict[str, object] = {
        "seconds": seconds,
        "posts_published": len(ids),
        "sum": {**summed, "rss_note": "RSS counts the pages both map (Python, libc) twice; PSS once"},
        "display": {
            **steady_figures([d for d, _ in steady]),
            "at_end": ends["display"],
            **rest["display"],
            "child": {k: v for k, v in display_report.items() if k != "first_seen"},
        },
        "engine": {
            **steady_figures([e for _, e in steady]),
            "at_end": ends["engine"],
            **rest["engine"],
            "child": reports["engine"],
        },
        "pss_every_10s_mb": [
            [d["pss_mb"], e["pss_mb"]] for _, d, e in samples[:: max(1, int(10 / SAMPLE_EVERY_S))]
        ],
        "pipe_line_ms": display_report.get("line_ms"),
        "post_to_pixel": post_to_pixel(instance, ids, pair, display_report),
    }
    if x_pss is not None:
        result["pss_x_server_mb"] = x_pss
    return result


def main(argv: list[str]) -> None:
    """`python -m bench.split [--seconds 150] [--no-one-process]`: one JSON object."""
    parser = argparse.ArgumentParser(prog="python -m bench.split", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="how long each run lasts (default 150)")
    parser.add_argument(
        "--no-one-process",
        action="store_true",
        help="skip `bench pss` (the one-process figure) after the split",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    xvfb, platform = on_xvfb(env, fallback="offscreen 1920x1080 (no Xvfb)")
    x_pid = xvfb.pid if xvfb is not None else None
    try:
        split = measure_split(args.seconds, env, x_pid)
        one = None if args.no_one_process else measure_one_process(args.seconds, env, x_pid)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    result: dict[str, object] = {"platform": platform, "target_pss_mb": TARGET_PSS_MB, **split}
    if one is not None:
        summed = cast(dict[str, float], split["sum"])
        result["one_process"] = one
        result["split_minus_one_process_pss_mb"] = round(summed["pss_mb"] - cast(float, one["pss_mb"]), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
