"""Peak memory of preparing pictures (`wall.engine.images.prepare_image`): each picture bomb alone, the five
bombs in a row, and ordinary photos, each measurement in a fresh process (`resource.getrusage`).

Run `python -m bench pictures`; `python -m bench.pictures decode FILE...` is one measurement.
The bombs are made at run time (tests/hostile/bombs.py) by another process and written to a
temporary folder: Linux keeps a process's peak (`ru_maxrss`) across `exec`, so a parent that had
made them would lend its own peak to every measurement.
"""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.hostile.bombs import BOMBS, ordinary_photos

ROOT = Path(__file__).resolve().parent.parent


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def decode(paths: list[str]) -> dict[str, object]:
    """Prepare each file in turn in this process; the peak memory it took over the baseline."""
    from wall.engine.images import ImageError, prepare_image

    pictures = [Path(p).read_bytes() for p in paths]
    baseline = peak_mb()
    outcomes = []
    for path, data in zip(paths, pictures, strict=True):
        try:
            outcomes.append(f"{Path(path).stem}: shown ({len(prepare_image(data))} bytes)")
        except ImageError as exc:
            outcomes.append(f"{Path(path).stem}: refused ({exc})")
    peak = peak_mb()
    return {
        "baseline_peak_mb": baseline,
        "peak_mb": peak,
        "added_mb": round(peak - baseline, 1),
        "estimated_mb": [estimated_mb(data) for data in pictures],  # after the peak was read
        "outcomes": outcomes,
    }


def estimated_mb(data: bytes) -> float:
    """What `prepare_image` estimates preparing `data` would take (`decode_cost`), in MB."""
    from PIL import Image

    from wall.engine.images import MAX_SIDE_PX, decode_cost, fitted_size

    with Image.open(io.BytesIO(data)) as probe:
        if probe.format == "JPEG":
            probe.draft("RGB", fitted_size(probe.size, MAX_SIDE_PX))
        return round(decode_cost(probe, data) / 2**20, 1)


def measure(paths: list[Path]) -> dict[str, object]:
    """One `decode` in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.pictures", "decode", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=600,
    )
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def make(folder: Path) -> None:
    """Write the bombs and the ordinary photos into `folder`, one file each, named by kind."""
    for name, build in BOMBS.items():
        (folder / f"bomb-{name}").write_bytes(build())
    for name, data in ordinary_photos().items():
        (folder / f"photo-{name}").write_bytes(data)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wall-bench-pictures-") as folder:
        subprocess.run([sys.executable, "-m", "bench.pictures", "make", folder], cwd=ROOT, check=True)
        bombs = sorted(Path(folder).glob("bomb-*"))
        photos = sorted(Path(folder).glob("photo-*"))
        report: dict[str, object] = {p.name: measure([p]) for p in bombs}
        report["five_bombs_in_a_row"] = measure(bombs)
        report.update({p.name: measure([p]) for p in photos})
    print(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1:2] == ["decode"]:
        print(json.dumps(decode(sys.argv[2:])))
    elif sys.argv[1:2] == ["make"]:
        make(Path(sys.argv[2]))
    else:
        main()
