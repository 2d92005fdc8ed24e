"""Shared set-up for the benchmarks: a temporary config and store filled like a real wall."""

from __future__ import annotations

import asyncio
import resource
import tempfile
from pathlib import Path

from sources.demo import DemoSettings, DemoSource
from wall.engine.config import WallConfig, load_config
from wall.engine.store import Store


def make_config(body: str, storage: str = "") -> tuple[WallConfig, Path]:
    """A config in a fresh temporary folder, with its state directory beside it."""
    folder = Path(tempfile.mkdtemp(prefix="wall-bench-"))
    path = folder / "wall.toml"
    path.write_text(f'[storage]\nstate_dir = "{folder / "state"}"\n{storage}{body}', encoding="utf-8")
    return load_config(path, env={}), path


def fill_store(store: Store, rounds: int = 40) -> None:
    """Store a day of demo content under the name 'demo' (posts of every kind, counts)."""
    demo = DemoSource(DemoSettings(name="demo", type="demo"))
    for _ in range(rounds):
        store.apply("demo", asyncio.run(demo.poll()))


def rss_mb() -> dict[str, float]:
    """Current and peak resident memory of this process, in MB."""
    status = Path("/proc/self/status").read_text()
    fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
    return {
        "rss_mb": round(int(fields["VmRSS"]) / 1024, 1),
        "peak_rss_mb": round(
            max(int(fields["VmHWM"]) / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), 1
        ),
    }
