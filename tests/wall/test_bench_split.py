"""`bench split` (issue 14) measures a wall split in two processes: what an owner checks before
trusting its figures. The engine process (the real `Engine`, polling a loopback Mastodon API) feeds
the display process over a socket; the display paints the engine's posts on screen, and neither
loads what the split is meant to leave out: no Qt in the engine, and in the display no pydantic,
httpx, asyncio, qasync or Pillow (the widgets once reached pydantic through the moderation rules'
`Verdict`, and Pillow through the branding checks)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.latency import FIRST_ID, instance_config, paints, serve_instance, stop_instance
from bench.mastodon_server import status
from bench.split import spawn_pair, stop_pair

PAINTED_WITHIN_S = 60.0  # two children start (~3 s each on a loaded machine), then the first poll


def test_the_display_process_paints_the_engine_posts_without_the_engine_stack(tmp_path: Path) -> None:
    instance, server = serve_instance(streaming=False)
    try:
        newest = instance.publish(FIRST_ID + 1)  # on the instance before the wall starts
        config = instance_config(instance, demo_interval=3600, panels='[[panels]]\ntype = "mentions"\n')
        pair = spawn_pair(config, dict(os.environ), tmp_path)
        try:
            deadline = time.monotonic() + PAINTED_WITHIN_S
            while f"masto:{newest}" not in {p["key"] for p in paints(pair.paint_log)}:
                assert pair.display.poll() is None, (tmp_path / "display.log").read_text()
                assert pair.engine.poll() is None, (tmp_path / "engine.log").read_text()
                assert time.monotonic() < deadline, "the engine's post never reached the display's screen"
                time.sleep(0.1)
        finally:
            reports = stop_pair(pair)
    finally:
        stop_instance(instance, server)
    painted = {p["key"]: p["text"] for p in paints(pair.paint_log)}
    # The card on screen shows the post the engine fetched, in the words the instance published.
    assert painted[f"masto:{newest}"].startswith(f"Post {newest} : ")
    assert str(status(int(newest))["content"]).removeprefix("<p>").startswith(painted[f"masto:{newest}"][:40])
    assert reports["engine"]["forbidden_loaded"] == [], reports["engine"]
    assert reports["display"]["forbidden_loaded"] == [], reports["display"]
    assert reports["engine"]["exit_status"] == 0 and reports["display"]["exit_status"] == 0, reports
    # The pictures the cards asked for crossed the socket (the demo's stored posts carry some).
    assert reports["display"]["pictures_received"] > 0
