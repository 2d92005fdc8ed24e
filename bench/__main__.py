"""`python -m bench [first_frame|stall|memory ...]`: run the benchmarks, print one JSON document.

Each measurement runs in its own process so one cannot warm up or pollute another. Targets
(from the foundation issue): first frame <= 1.0 s, GUI stall max <= 17 ms, RSS <= 150 MB; frame
intervals during crossfades under Xvfb (issue 7): mean 16.7 ms, max <= 20 ms; a simulated week
(soak, issue 6): memory flat from day to day; an idle wall (issue 14): <= 10 wakeups/s and <= 0.5 %
of a core at rest, <= 2.3 % with the X server over a rotation; latency (issue 14): first content
frame <= 1 s, post -> pixel p95 <= 2 s streaming, <= interval + 2 s polling.
"""

from __future__ import annotations

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
ALL = ("first_frame", "stall", "memory", "frames", "soak", "pictures", "idle", "latency")


def bench_env() -> dict[str, str]:
    """The environment every measurement runs in: offscreen 1920x1080, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALL_")}
    env["QT_QPA_PLATFORM"] = f"offscreen:configfile={SCREEN}"
    env["QT_API"] = "pyside6"
    return env


def run_one(name: str) -> dict[str, object]:
    """Run one measurement in a child process and return its JSON result."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{name}"],
        capture_output=True,
        text=True,
        env=bench_env(),
        cwd=ROOT,
        timeout=900,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-5:], "exit_status": proc.returncode}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    return result


def main(argv: list[str]) -> int:
    names = argv or list(ALL)
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": "offscreen 1920x1080",
        },
    }
    for name in names:
        report[name] = run_one(name)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
