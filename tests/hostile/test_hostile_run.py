"""The hostile run, short: a real `wall run` for two poll rounds against the hostile loopback servers
of tests/hostile/servers.py (the same run `python -m bench hostile` makes for 10 minutes).

What a person would notice, asserted: the wall stays up and keeps painting, nothing reaches the
private listener that stands for the LAN, no configured secret appears in anything the wall writes
or prints, hostile posts are shown as safe text, and `wall status` says why the bomb feeds fail.
Speed and memory are measured by the bench, never asserted here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.hostile import HostileRun, run_hostile, traceback_excerpts
from tests.hostile.servers import HostileServer
from wall.engine.store import Store

SECONDS = 35  # the first poll, and the second one 15 s later, fully handled
SHOWN_SOURCES = ("rss-hostile", "jsonfeed-hostile", "masto")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> HostileRun:
    """One run shared by the tests below (about 90 s: 35 s of `wall run`, then `wall fetch` of a
    trickling feed, which gives up after 40 s)."""
    folder = tmp_path_factory.mktemp("hostile")
    return run_hostile(SECONDS, folder, fetch=["rss-hostile", "masto", "masto-odd", "yt-echo", "slow-feed"])


@pytest.mark.timeout(300)
def test_the_wall_stays_up_and_keeps_painting(hostile_run: HostileRun) -> None:
    run = hostile_run
    assert run.alive_at_end, run.stderr()[-2000:]
    assert run.exit_status == 0, run.stderr()[-2000:]
    assert run.ready_after_s is not None  # READY=1: the first frame was painted
    # The GUI thread's watchdog pings (the timer a frozen GUI stops) still came at the end of the run.
    assert [beat for beat in run.beats if beat > run.stopped_at - 5]
    on_screen = (run.status_running.get("running") or {}).get("on_screen") or []
    assert on_screen and "nothing" not in on_screen, run.status_running
    # Unhandled errors in the journal: a task that died, an async generator torn down wrongly, any
    # traceback (what hostile servers do is expected: each failure is one line naming the source).
    unhandled = [
        line
        for line in run.stderr().splitlines()
        if "Task exception was never retrieved" in line
        or line.startswith(("Exception ignored in", "Traceback"))
    ]
    assert unhandled == [], "\n\n".join(traceback_excerpts(run.stderr())) or "\n".join(unhandled[:10])


@pytest.mark.timeout(300)
def test_no_request_reaches_the_private_listener(hostile_run: HostileRun) -> None:
    assert (hostile_run.private_requests, hostile_run.private_request_lines) == (0, [])
    journal = hostile_run.stderr()
    # The run did put private addresses in front of the wall, and it refused them...
    assert "refused by the outbound policy" in journal
    # ...while it still loaded an ordinary picture from a configured source's own origin (pictures
    # trickling from the Mastodon server's origin meanwhile).
    assert hostile_run.server_requests["feeds"].get("/pic/good", 0) >= 1
    assert hostile_run.token_on_pictures == 0


@pytest.mark.timeout(300)
def test_no_secret_appears_in_any_output(hostile_run: HostileRun) -> None:
    """The Mastodon token (echoed in post texts, names and a 401 body) and the YouTube key (echoed
    in an API error's reason) are in no log line, status, `wall fetch` line, store or state file."""
    outputs = hostile_run.outputs
    assert "wall run stderr" in outputs and "wall status --json" in outputs
    assert any(name.startswith("state/wall.sqlite3") for name in outputs)
    assert {f"wall fetch {n} --json" for n in ("masto", "yt-echo")} <= set(outputs)
    assert hostile_run.secrets == {}, f"secrets found in: {hostile_run.secrets}"


@pytest.mark.timeout(300)
def test_hostile_posts_are_shown_as_safe_text(hostile_run: HostileRun) -> None:
    store = Store(hostile_run.state_dir / "wall.sqlite3", read_only=True)
    try:
        shown = [p for p in store.recent_posts("mention", 200) if p.source in SHOWN_SOURCES]
    finally:
        store.close()
    assert {p.source for p in shown} == set(SHOWN_SOURCES)
    texts = [p.text for p in shown]
    assert any(t.startswith("Bonjour le hall") for t in texts)  # the script's post, without the script
    for text in texts:
        assert "<script" not in text and "alert(" not in text
        assert "<iframe" not in text and "<b>" not in text
        assert "file:" not in text and "passwd" not in text
        assert "\u202e" not in text and "\u202c" not in text
        assert len(text) < 20_000  # a 100,200-character word is cut
        assert text.count("\u0336") + text.count("\u0337") < 10  # zalgo's stacked marks are dropped


@pytest.mark.timeout(300)
def test_wall_status_says_why_the_bomb_feeds_fail(hostile_run: HostileRun) -> None:
    rows = {row["source"]: row for row in hostile_run.status_after.get("sources", [])}
    for name in ("bomb-gzip", "bomb-200mb", "endless-feed"):
        assert rows[name]["health"] != "ok"
        assert "too large" in rows[name]["last_error"], rows[name]
    assert rows["rss-hostile"]["health"] == "ok" and rows["masto"]["health"] == "ok"


@pytest.mark.timeout(300)
def test_wall_fetch_gives_up_on_a_server_trickling_a_byte_a_second(hostile_run: HostileRun) -> None:
    """`wall fetch` (run by comms and facilities by hand) ends with a reason instead of waiting as long
    as a hostile server keeps sending: after max(30 s, twice the request timeout), here 40 s."""
    output = hostile_run.outputs["wall fetch slow-feed --json"].decode()
    assert "slow-feed: no complete answer within 40 s" in output, output[-500:]


def test_bench_help_prints_help_and_runs_nothing() -> None:
    """`python -m bench --help` once ran a benchmark named --help and wrote a results file (issue 14)."""
    root = Path(__file__).resolve().parents[2]
    results = root / "bench" / "results" / "latest.json"
    before = results.stat().st_mtime_ns if results.exists() else None
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, cwd=root, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m bench") and "hostile" in done.stdout
    assert (results.stat().st_mtime_ns if results.exists() else None) == before


def gzip_pictures_only(feeds: HostileServer, _mastodon: HostileServer) -> str:
    """One feed whose 12 pictures a round are gzip bombs on its own origin, on one 12-post panel."""
    return (
        f'[[sources]]\nname = "pictures"\ntype = "rss"\nurl = "{feeds.url("/feed/gzip-pictures")}"\n'
        'interval = 15\n[[panels]]\ntype = "mentions"\nduration = 3\nlimit = 12\n'
    )


@pytest.mark.timeout(300)
def test_refused_pictures_never_stop_the_wall_polling(tmp_path: Path) -> None:
    """Each picture refused over the size cap used to keep its connection (the pool's 24 were all
    taken after two rounds): from then on every poll "timed out" and no new post ever came. Found by
    `bench hostile`, where every source was stale after 4 minutes."""
    run = run_hostile(55, tmp_path, fetch=[], network="timeout = 5\n", sources=gzip_pictures_only)
    feeds = run.server_requests["feeds"]
    assert feeds.get("/pic/gzip", 0) >= 24  # the wall did try (and refuse) two rounds of pictures
    assert feeds.get("/feed/gzip-pictures", 0) >= 4  # polls at about 0, 15, 30 and 45 s were answered
    (row,) = run.status_after["sources"]
    assert (row["health"], row["last_error"]) == ("ok", ""), row
