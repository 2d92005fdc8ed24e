"""Memory of a real `wall run` as the kiosk runs it: PSS and RSS, and where they go.

Target (issue 14): PSS of the wall process <= 80 MB (it was 94 MB in the issue's table).

The wall runs as `python -m wall.cli run` on its own Xvfb at 1920x1080 (offscreen without Xvfb)
with the fans, mentions and clock panels, a loopback Mastodon API polled every 15 s that publishes
a post every 10 s (bench/latency.py's), and the demo source for the fans. It samples PSS every 2 s
once the wall is steady (`steady_from_s`: after the hand-back of its library pages, 210 s in; the
last 60 s of a shorter run), counts the pages read again from disk (`major_faults`),
and after `--seconds` (360 by default; `--keep-file-pages`: the wall keeps them) it reads, from
outside the process:

- `/proc/PID/smaps_rollup`: PSS (each shared page divided among the processes that map it) and
  RSS, each split into anonymous (the process's own) and file-mapped;
- `/proc/PID/smaps`: PSS by what is mapped: Qt, ICU, Python, other libraries, fonts, heap, anonymous;
  and by file, the 25 biggest (`pss_by_file_mb`: which of Qt's libraries and plug-ins are paid for);

and from inside, `memory_breakdown()` (C heap, Python heap, SQLite), which the wall logs on SIGUSR1.

The breakdowns are read at rest: a transition holds two pictures of the screen (15 MB at 1920x1080)
for about 1.5 s, every rotation (15 s here), and the end of the run can fall in one (`at_end`). They
were read there before, which put 15 MB of pictures in "anonymous" and `c_heap_mmapped_mb` (19 MB
instead of 4.5). `at_rest` is the moment they were read; `transition_extra_mb` is the highest sample
above the median; `threads` the wall's threads by name.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.idle import on_xvfb
from bench.latency import FIRST_ID, instance_config, serve_instance, stop_instance
from wall.shell.memory import HAND_BACK_SWITCH

ROOT = Path(__file__).resolve().parent.parent
TARGET_PSS_MB = 80.0
POST_EVERY_S = 10.0
SAMPLE_EVERY_S = 2.0  # a crossfade holds two extra screens (16 MB) for 0.6 s: take the median
SETTLE_S = 30.0  # start-up and the first polls are not the steady state
# `wall run` gives its library pages back at the first turn 2 minutes after its first one (~15 s in,
# wall.shell.memory.FIRST_AFTER), and reads those it still needs again within the next minute: the
# steady state of the wall as it runs for days starts after that.
STEADY_AFTER_HAND_BACK_S = 210.0
TOP_FILES = 25  # the files mapped with the most PSS, by name, in the result
# At rest: the process's own memory within this much of its median (a transition adds ~15 MB).
REST_MARGIN_MB = 2.0
REST_WAIT_S = 30.0  # how long to wait for a moment at rest after the run (two rotations)
PANELS = "".join(f'[[panels]]\ntype = "{kind}"\n' for kind in ("fans", "mentions", "clock"))
# What a mapping is, by its path (first match wins): where the file-mapped memory goes.
KINDS = (
    ("icu", re.compile(r"libicu")),
    ("qt", re.compile(r"PySide6|shiboken6|libQt6|/Qt/")),
    ("fonts", re.compile(r"\.(ttf|otf|ttc|pcf|pfb)(\.gz)?$|fontconfig")),
    ("python", re.compile(r"python3|libpython|\.cpython-")),
    ("c_heap_main", re.compile(r"^\[heap\]$")),
    ("stacks", re.compile(r"^\[stack")),
    ("other_files", re.compile(r"^/")),
)


def rollup(pid: int) -> dict[str, float]:
    """PSS and RSS of `pid` in MB, each with its anonymous and file-mapped parts."""
    fields = dict(
        (line.split(":")[0], int(line.split()[1]))
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    )
    return {
        "pss_mb": round(fields["Pss"] / 1024, 1),
        "pss_anon_mb": round(fields.get("Pss_Anon", 0) / 1024, 1),
        "pss_file_mb": round(fields.get("Pss_File", 0) / 1024, 1),
        "rss_mb": round(fields["Rss"] / 1024, 1),
    }


def major_faults(pid: int) -> int:
    """How many times `pid` waited for a page to be read from disk (a library page given back and
    needed again, among others)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[9])


def pss_by_mapping(pid: int) -> dict[str, float]:
    """PSS of `pid` in MB by what is mapped (see KINDS; `anonymous`: thread heaps, Qt's pictures,
    Python's arenas, everything malloc gets with mmap)."""
    totals: dict[str, int] = defaultdict(int)
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", head[0]):
            name = head[5] if len(head) > 5 else ""
        elif head[0] == "Pss:":
            kind = next(
                (k for k, pattern in KINDS if pattern.search(name)), "anonymous" if not name else "other"
            )
            totals[kind] += int(head[1])
    return {kind: round(kb / 1024, 1) for kind, kb in sorted(totals.items(), key=lambda item: -item[1])}


def pss_by_file(pid: int, top: int = TOP_FILES) -> dict[str, float]:
    """PSS of `pid` in MB for each of the `top` files mapped with the most (the library or plug-in
    by name): which of Qt's libraries and plug-ins a running wall pays for."""
    totals: dict[str, int] = defaultdict(int)
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if re.fullmatch(r"[0-9a-f]+-[0-9a-f]+", head[0]):
            name = head[5] if len(head) > 5 and head[5].startswith("/") else ""
        elif head[0] == "Pss:" and name:
            totals[Path(name).name] += int(head[1])
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:top]
    return {file: round(kb / 1024, 2) for file, kb in ranked}


def threads_by_name(pid: int) -> dict[str, int]:
    """How many threads `pid` has, by name (Python's own threads are all "python")."""
    names: dict[str, int] = defaultdict(int)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            names[(task / "comm").read_text().strip()] += 1
        except OSError:  # the thread ended while we looked
            continue
    return dict(sorted(names.items(), key=lambda item: (-item[1], item[0])))


def at_rest(wall: subprocess.Popen[bytes], log: Path, anon_median_mb: float) -> dict[str, object]:
    """The breakdowns read while no transition holds its pictures: the process's own memory within
    REST_MARGIN_MB of `anon_median_mb` before and after reading them (else read again)."""
    deadline = time.monotonic() + REST_WAIT_S
    found: dict[str, object] = {}
    while time.monotonic() < deadline:
        before = rollup(wall.pid)
        if before["pss_anon_mb"] > anon_median_mb + REST_MARGIN_MB:
            time.sleep(0.2)
            continue
        found = {
            "at_rest": before,
            "pss_by_mapping_mb": pss_by_mapping(wall.pid),
            "pss_by_file_mb": pss_by_file(wall.pid),
            "threads": threads_by_name(wall.pid),
            "breakdown": breakdown_from_log(wall, log),
        }
        if rollup(wall.pid)["pss_anon_mb"] <= anon_median_mb + REST_MARGIN_MB:
            return found
    return {**found, "at_rest": "none found: the breakdowns may include a transition's pictures"}


RUNTIME_MEMORY_MARKER = "wall.shell.runtime: memory "  # the log line `wall run` writes on SIGUSR1


def breakdown_from_log(
    process: subprocess.Popen[bytes], log: Path, marker: str = RUNTIME_MEMORY_MARKER
) -> dict[str, float]:
    """Ask a child for `memory_breakdown()` (SIGUSR1) and read it from its log: the JSON after
    `marker` on the line it writes."""

    def lines() -> list[str]:
        return [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if marker in x]

    seen = len(lines())
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(found := lines()) > seen:
            figures: dict[str, float] = json.loads(found[-1].split(marker, 1)[1])
            return figures
        time.sleep(0.1)
    return {}


def steady_figures(samples: list[dict[str, float]]) -> dict[str, object]:
    """The figures of one process from its samples after SETTLE_S: medians of each, and the PSS's
    mean, extremes and what a transition adds over the median."""
    pss = [s["pss_mb"] for s in samples]
    return {
        **{key: statistics.median(s[key] for s in samples) for key in samples[0]},
        "pss_mean_mb": round(statistics.fmean(pss), 1),
        "pss_max_mb": max(pss),
        "pss_min_mb": min(pss),
        "transition_extra_mb": round(max(pss) - statistics.median(pss), 1),
    }


def measure(
    seconds: float, env: dict[str, str], x_server: int | None, settle_s: float = SETTLE_S
) -> dict[str, object]:
    """Run the wall `seconds` against a loopback Mastodon API; its memory from `settle_s` on and at
    the end."""
    instance, server = serve_instance(streaming=False)
    path = instance_config(instance, demo_interval=60, panels=PANELS)
    log = path.parent / "wall.log"
    with log.open("wb") as errors:
        wall = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "run", "--config", str(path)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    samples: list[tuple[float, dict[str, float]]] = []
    faults_at_settle: int | None = None
    try:
        started = time.monotonic()
        number, next_post, next_sample = FIRST_ID + 1, started + POST_EVERY_S, started + SAMPLE_EVERY_S
        while (now := time.monotonic()) < started + seconds:
            if wall.poll() is not None:
                raise RuntimeError(f"wall run exited with status {wall.returncode}: see {log}")
            if now >= next_post:
                instance.publish(number)
                number, next_post = number + 1, next_post + POST_EVERY_S
            if now >= next_sample:
                samples.append((now - started, rollup(wall.pid)))
                next_sample += SAMPLE_EVERY_S
                if faults_at_settle is None and now - started >= settle_s:
                    faults_at_settle = major_faults(wall.pid)
            time.sleep(0.2)
        steady = [sample for at, sample in samples if at >= settle_s]
        faults = major_faults(wall.pid)
        result: dict[str, object] = {
            "seconds": seconds,
            "steady_from_s": settle_s,
            "posts_published": number - FIRST_ID - 1,
            **steady_figures(steady),  # one sample every SAMPLE_EVERY_S
            "pss_every_10s_mb": [s["pss_mb"] for at, s in samples][:: max(1, int(10 / SAMPLE_EVERY_S))],
            "at_end": rollup(wall.pid),
            # pages read from disk again: the library pages the wall gave back and needed after all
            "major_faults": {
                "in_all": faults,
                "after_settling": faults - (faults_at_settle or 0),
            },
            **at_rest(wall, log, statistics.median(s["pss_anon_mb"] for s in steady)),
        }
        if x_server is not None:
            result["pss_x_server_mb"] = rollup(x_server)["pss_mb"]
        return result
    finally:
        wall.terminate()
        wall.wait(timeout=30)
        stop_instance(instance, server)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pss", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=STEADY_AFTER_HAND_BACK_S + 150,
        help=f"how long the wall runs (default {STEADY_AFTER_HAND_BACK_S + 150:.0f}: 150 s once steady)",
    )
    parser.add_argument(
        "--keep-file-pages",
        action="store_true",
        help="the wall keeps the library and font pages it touched (as before 2026-12-07): for comparison",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.keep_file_pages:
        env[HAND_BACK_SWITCH] = "0"
    xvfb, platform = on_xvfb(env, fallback="offscreen 1920x1080 (no Xvfb)")
    try:
        settle = min(STEADY_AFTER_HAND_BACK_S, max(SETTLE_S, args.seconds - 60))  # (a short run: 60 s)
        result = measure(args.seconds, env, xvfb.pid if xvfb is not None else None, settle)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    print(
        json.dumps(
            {
                "platform": platform,
                "target_pss_mb": TARGET_PSS_MB,
                "keep_file_pages": args.keep_file_pages,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
