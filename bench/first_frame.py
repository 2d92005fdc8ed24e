"""Start to first frame with cached content: `wall run` with a full store and no network.

Measured from the moment the process is spawned to the moment it reports its first painted
frame, over several runs (the OS file cache is warm after the first).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from bench.common import fill_store, make_config
from wall.engine.services import open_store

RUNS = 7


def main() -> None:
    config, path = make_config(
        '[[sources]]\nname = "demo"\ntype = "demo"\ninterval = 3600\n'
        '[[sources]]\nname = "offline"\ntype = "rss"\nurl = "http://127.0.0.1:9/feed"\n'
    )
    store = open_store(config)
    fill_store(store)
    posts = store.post_count()
    store.close()
    spawn_to_frame, in_process = [], []
    for _ in range(RUNS):
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "wall.cli", "run", "--exit-after-first-frame", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("first-frame-seconds"):
                spawn_to_frame.append(time.monotonic() - started)
                in_process.append(float(line.split()[1]))
                break
        proc.wait(timeout=60)
    print(
        json.dumps(
            {
                "target_s": 1.0,
                "cached_posts": posts,
                "runs": RUNS,
                "spawn_to_first_frame_s": {
                    "median": round(statistics.median(spawn_to_frame), 3),
                    "max": round(max(spawn_to_frame), 3),
                    "first_run": round(spawn_to_frame[0], 3),
                },
                "main_to_first_frame_s": {"median": round(statistics.median(in_process), 3)},
            }
        )
    )


if __name__ == "__main__":
    main()
