"""`python -m bench [first_frame|stall|memory ...]`: run the benchmarks, print one JSON document.

Each measurement runs in its own process so one cannot warm up or pollute another. Targets
(from the foundation issue): first frame <= 1.0 s, GUI stall max <= 17 ms, RSS <= 150 MB; frame
intervals during crossfades under Xvfb (issue 7): mean 16.7 ms, max <= 20 ms; a simulated week
(soak, issue 6): memory flat from day to day, RSS <= 120 MB at the end (issue 14); an idle
wall (issue 14): <= 10 wakeups/s and <= 0.5 % of a core at rest, <= 2.3 % with the X server over
a rotation; latency (issue 14): first content
frame <= 1 s, post -> pixel p95 <= 2 s streaming, <= interval + 2 s polling; `frames_4k`: the
transitions at 3840x2160 (issue 14); `pss` (issue 14): PSS of
a real `wall run` polling a loopback Mastodon API <= 80 MB, and where it goes. `hostile` (issue 12,
`--seconds`, 600 by default): a real `wall run` against hostile loopback servers: 0 private requests,
0 secrets in outputs, RSS growth under 20 MB, peak under 300 MB. `signals` (issue 17): the weak-signal
detector's cost per poll beside a poll's: negligible.
`split` (issue 14, only when named): the `pss` scenario as a display process and an engine process,
each one's PSS and their sum beside `pss`'s one process.
`video` (issue 15, only when named: it installs PySide6-Addons in a venv of its own): a muted video
loop on a card, against those targets. `fleet` (issue 16, `--kiosks`, 200
by default): one collector and simulated kiosks on a local nats-server: decision -> last kiosk
p99 <= 1 s, API requests per poll equal with 1 and N kiosks, a kiosk's RSS in fleet mode no higher
than standalone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SCREEN = ROOT / "assets" / "qt" / "offscreen-1920x1080.json"
ALL = (
    "first_frame",
    "stall",
    "memory",
    "frames",
    "frames_4k",
    "soak",
    "pictures",
    "idle",
    "latency",
    "pss",
    "signals",
    "fleet",
)
# Benchmarks that are another one run with options: `frames_4k` is `frames` on a 3840x2160 screen (issue 14).
VARIANTS: dict[str, tuple[str, list[str]]] = {"frames_4k": ("frames", ["--size", "3840x2160"])}


def bench_env() -> dict[str, str]:
    """The environment every measurement runs in: offscreen 1920x1080, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN}"
    env["QT_API"] = "pyside6"
    return env


def run_one(name: str, options: list[str] | None = None, timeout: float = 900) -> dict[str, object]:
    """Run one measurement in a child process and return its JSON result."""
    name, extra = VARIANTS.get(name, (name, []))
    options = [*extra, *(options or [])]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *options],
        capture_output=True,
        text=True,
        env=bench_env(),
        cwd=ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-5:], "exit_status": proc.returncode}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


# A real `wall run` against hostile loopback servers, 10 minutes by default (issue 12).
HOSTILE = "hostile"
# Run only when named: a one-off decision (issue 15) that installs ~0.7 GB of PySide6 in its own venv;
# `split` (issue 14): what two processes, display and engine, would cost beside `pss` (~6 minutes).
ON_REQUEST = ("video", "split")


def _arguments(argv: list[str]) -> argparse.Namespace:
    known = [*ALL, HOSTILE, *ON_REQUEST]
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmarks, each in its own process; print one JSON document and write it "
        "to bench/results/latest.json.",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all but video): {', '.join(known)}",
    )
    parser.add_argument(
        "--seconds", type=float, default=600.0, help="how long `hostile` runs the wall (default 600)"
    )
    parser.add_argument("--kiosks", type=int, default=200, help="simulated kiosks of `fleet` (default 200)")
    args = parser.parse_args(argv)
    if unknown := [n for n in args.names if n not in known]:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose among {', '.join(known)}")
    return args


def main(argv: list[str]) -> int:
    """`python -m bench [NAME ...] [--seconds N]`; `--help` lists the benchmarks."""
    args = _arguments(argv)
    names = args.names or [*ALL, HOSTILE]
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": "offscreen 1920x1080",
        },
    }
    for name in names:
        if name == HOSTILE:
            report[name] = run_one(name, ["--seconds", str(args.seconds)], timeout=args.seconds + 600)
        elif name == "fleet":
            report[name] = run_one(name, ["--kiosks", str(args.kiosks)])
        else:
            report[name] = run_one(name)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
