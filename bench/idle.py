"""What an idle wall costs: wakeups a second and CPU of a real `wall run`, at rest and over a rotation.

Targets (issue 14): at rest (one panel, so no rotation) <= 10 wakeups/s and <= 0.5 % of a core;
over a full rotation with transitions, the wall plus the X server <= 2.3 % of a core.

The wall runs as `python -m wall.cli run` on a stored store (demo content, no network), on its own
Xvfb at 1920x1080 when Xvfb is installed (as `bench frames` does), else offscreen.

- **Wakeups** are the voluntary context switches of the wall's threads, read from
  `/proc/PID/task/*/status` before and after the window: a thread switches out voluntarily each time
  it blocks (a timer wait, a poll, a queue), and each such block ends in one wakeup. It counts every
  thread (Qt's, asyncio's, the store's, Python's pools) without touching the wall's code, which a
  hook in the event loop would not. The GUI thread (the task whose id is the process id) is also
  given alone: that is where timers fire.
- **CPU** is the time on a core of every thread, from `/proc/PID/task/*/schedstat` (nanoseconds,
  finer than `/proc/PID/stat`'s 10 ms ticks, which would round 0.5 % of 60 s to a few ticks).

Each panel is measured alone (`rest_<panel>`, its default duration and featured turn), read in
1-second slices: **between transitions** is the median slice (the issue's rest: nothing moves but
the clock's minute; a featured or page turn lasts about a second, so most slices are rest), and
`with_turns` the whole window, its own turns included. The wall is not touched: the slices are
read from outside, from the same counters.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import fill_store, make_config
from bench.frames import free_display
from wall.engine.services import open_store

ROOT = Path(__file__).resolve().parent.parent
REST_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "45"))
SLICE_SECONDS = 1.0
SETTLE_SECONDS = 10.0  # start-up, the first fetches and the first garbage collections are not rest
PANEL_SECONDS = 8
TARGETS = {"rest_wakeups_per_s": 10.0, "rest_cpu_percent": 0.5, "rotation_cpu_percent_with_x": 2.3}
SOURCES = '[[sources]]\nname = "demo"\ntype = "demo"\ninterval = 3600\n'
# At rest: one panel, so the rotation is off; each with its own motion (fans: its pages; mentions and
# internal: the featured post's turn; clock: its minute) at the panel's default timings.
REST_PANELS: dict[str, str] = {
    "fans": "",
    "mentions": "",
    "internal": "",
    "trends": "",
    "clock": "",
    "announcement": 'text = "Portes ouvertes samedi 10 h"\n',
}
ROTATION = "".join(
    f'[[panels]]\ntype = "{kind}"\nduration = {PANEL_SECONDS}\n'
    for kind in ("fans", "mentions", "internal", "clock")
)


def task_counters(pid: int) -> dict[int, tuple[int, int]]:
    """Per thread of `pid`: (voluntary context switches, nanoseconds on a core)."""
    counters: dict[int, tuple[int, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
            on_cpu = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between the listing and the read
        switches = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_"))
        counters[int(task.name)] = (switches, on_cpu)
    return counters


def measure(pid: int, seconds: float, x_server: int | None) -> dict[str, object]:
    """Wakeups a second (all threads, GUI thread) and CPU % of one core over `seconds`, and the
    same in SLICE_SECONDS slices: their median is the cost between transitions."""
    first, x_first = task_counters(pid), task_counters(x_server) if x_server else {}
    started = time.monotonic()
    marks = [(started, first, x_first)]
    while (now := time.monotonic()) < started + seconds:
        time.sleep(min(SLICE_SECONDS, started + seconds - now))
        marks.append((time.monotonic(), task_counters(pid), task_counters(x_server) if x_server else {}))

    def delta(old: dict[int, tuple[int, int]], new: dict[int, tuple[int, int]], field: int) -> int:
        # A thread born during the window counts from zero; one that ended is lost (rare at rest).
        return sum(value[field] - old.get(tid, (0, 0))[field] for tid, value in new.items())

    def figures(a: int, b: int) -> dict[str, float]:
        (t0, before, x_before), (t1, after, x_after) = marks[a], marks[b]
        elapsed = t1 - t0
        wall_cpu = delta(before, after, 1) / 1e9 / elapsed * 100
        result = {
            "seconds": round(elapsed, 1),
            "wakeups_per_s": round(delta(before, after, 0) / elapsed, 2),
            "gui_thread_wakeups_per_s": round((after[pid][0] - before[pid][0]) / elapsed, 2),
            "threads": len(after),
            "cpu_percent": round(wall_cpu, 3),
        }
        if x_server:
            x_cpu = delta(x_before, x_after, 1) / 1e9 / elapsed * 100
            result["cpu_percent_with_x"] = round(wall_cpu + x_cpu, 3)
        return result

    whole = figures(0, len(marks) - 1)
    slices = [figures(i, i + 1) for i in range(len(marks) - 1)]
    wakeups = sorted(s["wakeups_per_s"] for s in slices)
    cpu = sorted(s["cpu_percent"] for s in slices)
    return {
        **whole,
        "between_transitions": {
            "wakeups_per_s": statistics.median(wakeups),
            "cpu_percent": round(statistics.median(cpu), 3),
            "busiest_slice_wakeups_per_s": wakeups[-1],
        },
    }


def run_wall(panels: str, env: dict[str, str], seconds: float, x_server: int | None) -> dict[str, object]:
    """Start `wall run` on a stored store with these panels, let it settle, measure `seconds`."""
    config, path = make_config(SOURCES + panels)
    store = open_store(config)
    fill_store(store)
    store.close()
    wall = subprocess.Popen(
        [sys.executable, "-m", "wall.cli", "run", "--config", str(path)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(SETTLE_SECONDS)
        if wall.poll() is not None:
            raise RuntimeError(f"wall run exited with status {wall.returncode} before the measurement")
        return measure(wall.pid, seconds, x_server)
    finally:
        wall.terminate()
        wall.wait(timeout=30)


def start_xvfb() -> tuple[subprocess.Popen[bytes], int]:
    """An Xvfb 1920x1080 on a free display; returns it and its display number."""
    display = free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{display}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket_path = Path(f"/tmp/.X11-unix/X{display}")
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if time.monotonic() > deadline or xvfb.poll() is not None:
            xvfb.kill()
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.05)
    return xvfb, display


def on_xvfb(env: dict[str, str], *, fallback: str) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Point `env` at a fresh Xvfb screen when one starts (the caller stops it); else leave the
    environment offscreen. Returns the X server and what the platform is, `fallback` without Xvfb."""
    try:
        xvfb, display = start_xvfb()
    except (OSError, RuntimeError):
        return None, fallback
    env.update(DISPLAY=f":{display}", QT_QPA_PLATFORM="xcb")
    return xvfb, "xcb on Xvfb 1920x1080x24"


def main() -> None:
    env = dict(os.environ)
    xvfb, platform = on_xvfb(env, fallback="offscreen 1920x1080 (no Xvfb: no X server CPU)")
    x_pid = xvfb.pid if xvfb is not None else None
    try:
        chosen = [k for k in os.environ.get("BENCH_IDLE_PANELS", ",".join(REST_PANELS)).split(",") if k]
        rest = {
            f"rest_{kind}": run_wall(
                f'[[panels]]\ntype = "{kind}"\n{REST_PANELS[kind]}', env, REST_SECONDS, x_pid
            )
            for kind in chosen
        }
        # Two full turns of the four panels: every transition twice, the clock panel twice.
        rotation = (
            run_wall(ROTATION, env, 2 * 4 * PANEL_SECONDS, x_pid)
            if os.environ.get("BENCH_IDLE_ROTATION", "1") != "0"
            else {}
        )
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
    print(
        json.dumps(
            {
                "platform": platform,
                "wakeups": "voluntary context switches of every thread, /proc/PID/task/*/status",
                **rest,
                "rotation_4_panels": rotation,
                "targets": TARGETS,
            }
        )
    )


if __name__ == "__main__":
    main()
