"""`wall signals`: the stored posts replayed through `[signals]`, as comms type it to tune thresholds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.signals.weeks import DAYS, SHOWN, burst, office_rate, week
from tests.wall.test_cli import config, wall
from wall.core.model import Batch
from wall.engine.config import load_config
from wall.engine.services import open_store


def test_wall_signals_prints_the_alert_it_would_have_raised(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=DAYS)
    spike = burst(5, 14, 60, "Rappel produit : les freins lâchent", SHOWN, 100_000, start)
    posts = week(
        lambda d, h: office_rate(h), start=start, extra=lambda d, h: spike if (d, h) == (5, 14) else []
    )
    path = config(
        tmp_path,
        '[[sources]]\nname = "feed"\ntype = "rss"\nurl = "http://127.0.0.1:9/feed"\n'
        "[signals]\nmin_count = 10\n",
    )
    store = open_store(load_config(path))
    # The store keeps 500 posts a source by default: room here for the whole week.
    store.max_posts_per_source = 10_000
    store.apply("feed", Batch(posts=tuple(p for p, _ in posts)), verdicts={p.key: v for p, v in posts if v})
    store.close()

    text = wall("signals", "--config", str(path), "--since", "7d")
    as_json = wall("signals", "--config", str(path), "--json")

    assert text.returncode == 0, text.stderr
    spike_at = start + timedelta(days=5, hours=14)
    lines = text.stdout.splitlines()
    assert [line for line in lines if "Alerte mur" in line] == [
        next(line for line in lines if line.startswith(f"{spike_at:%Y-%m-%d %H}:") and "Alerte mur" in line)
    ]
    assert lines[-1].startswith("1 alert(s) since 7d")
    alerts = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(a["signal"], a["state"], a["at"][:13]) for a in alerts] == [
        ("volume", "alert", f"{spike_at:%Y-%m-%dT%H}"),
        ("volume", "over", alerts[1]["at"][:13]),
    ]
    assert alerts[0]["observed"] > alerts[0]["threshold"] >= 10 and len(alerts[0]["evidence"]) == 5


def test_wall_signals_names_a_wrong_span(tmp_path: Path) -> None:
    path = config(tmp_path, "")
    result = wall("signals", "--config", str(path), "--since", "a week")
    assert result.returncode == 2
    assert result.stderr.strip() == "--since: 'a week' is not a span: write it as 7d, 12h or 90m"
