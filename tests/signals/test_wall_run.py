"""`wall run` itself (a real process, offscreen): a spike in a local feed, over the week the store
kept, reaches the SMTP server at the first poll; the relay's password never reaches the log."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.signals.servers import smtp_server
from tests.signals.weeks import DAYS, office_rate, week
from tests.wall.test_app import start_wall, wait_for
from wall.core.model import Batch
from wall.engine.config import load_config
from wall.engine.services import open_store

PASSWORD = "Relay-pw-run-2026"


def spike_feed(now: datetime, count: int) -> str:
    items = "".join(
        f'<item><guid isPermaLink="false">spike-{n}</guid><link>https://news.example/{n}</link>'
        f"<title>Grève surprise au dépôt {n}</title><pubDate>{format_datetime(now)}</pubDate></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>{items}</channel></rss>'


def test_wall_run_mails_comms_at_the_first_poll_of_a_spike(tmp_path: Path, httpserver: HTTPServer) -> None:
    now = datetime.now(UTC)
    if now.minute == 59 and now.second > 30:  # the spike and its poll must fall in one clock hour
        time.sleep(61 - now.second)
        now = datetime.now(UTC)
    httpserver.expect_request("/feed").respond_with_data(
        spike_feed(now, 40), content_type="application/rss+xml"
    )
    path = tmp_path / "wall.toml"
    path.write_text(
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\nmax_posts_per_source = 5000\n'
        f'[[sources]]\nname = "presse"\ntype = "rss"\nurl = "{httpserver.url_for("/feed")}"\ninterval = 15\n'
        '[[panels]]\ntype = "mentions"\nduration = 5\n'
        "[signals]\nenabled = true\nmin_count = 10\n",
        encoding="utf-8",
    )
    store = open_store(load_config(path, env={}))
    quiet = week(lambda d, h: office_rate(h), start=now - timedelta(days=DAYS, hours=1))
    store.apply(
        "presse", Batch(posts=tuple(replace(p, source="presse") for p, _ in quiet if p.created_at < now))
    )
    store.close()

    with smtp_server("wall", PASSWORD) as (mailbox, port):
        target = f"mailto://wall:{PASSWORD}@127.0.0.1:{port}?to=comms@corp.example&from=wall@corp.example"
        wall = start_wall(path, env={"WALL_SIGNALS__NOTIFY": json.dumps([target])})
        try:
            arrived = wait_for(mailbox.received.is_set, timeout=60)
            wall.send_signal(signal.SIGTERM)
            _, stderr = wall.communicate(timeout=30)
        finally:
            wall.kill()

    assert arrived, stderr[-3000:]
    [message] = mailbox.messages
    assert "Alerte mur : volume de mentions" in str(message["Subject"])
    assert "signals: Alerte mur : volume de mentions" in stderr
    assert PASSWORD not in stderr and "Traceback" not in stderr
