"""`wall`: run the lobby wall, check its config, try a source, render a panel, read its status."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wall.core.model import Count, Post, SourceStatus, as_utc, utcnow
from wall.core.paths import ASSETS_DIR, read_runtime_record, state_dir
from wall.core.secrets import MaskedStream
from wall.engine.config import (
    ConfigProblems,
    WallConfig,
    load_config,
    load_last_good,
    resolve_config_path,
)
from wall.engine.consent import consent_for
from wall.engine.fleet.settings import FleetSettings
from wall.engine.moderation.decisions import Decision, status_of
from wall.engine.moderation.rules import Moderator, Verdict

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
PROBE_HEADERS = ("source", "type", "health", "detail")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `wall` console script."""
    started = time.monotonic()
    args = _parser().parse_args(argv)
    # Whatever a command prints goes through the secrets' mask (wall.core.secrets): a source's error or
    # a post may echo a configured key.
    sys.stdout, sys.stderr = MaskedStream.wrap(sys.stdout), MaskedStream.wrap(sys.stderr)
    command = args.command or "run"
    try:
        if command == "check-config":
            return _check_config(args)
        if command == "demo":
            return _demo(args)
        if command == "run":
            return _run_with_fallback(args, started)
        if command == "status":  # typed in a shell: the wall's systemd credentials are not needed
            return _status(_load_or_last_good(args, need_secrets=False), args)
        if command == "purge":
            return _purge(load_config(resolve_config_path(args.config), need_secrets=False))
        if command == "fleet":
            return _fleet_init(args)
        config = _load(args)
        if command == "collect":
            return _collect(config, args)
        if command == "proof":
            return _proof(config, args)
        if command == "fetch":
            return asyncio.run(_fetch(config, args.source))
        if command == "snapshot":
            return _snapshot(config, args)
        if command == "signals":
            return _signals(config, args)
    except ConfigProblems as problems:
        for line in problems.lines:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    raise AssertionError(command)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="PATH", help="config file (default: $WALL_CONFIG or /etc/lobby-wall/wall.toml)"
    )
    parser = argparse.ArgumentParser(prog="wall", description="Lobby social media wall", parents=[common])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", parents=[common], help="run the wall (default)")
    for p in (parser, run):
        p.add_argument("--windowed", action="store_true", help="a normal window instead of full screen")
        p.add_argument("--exit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
        p.add_argument("--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS)
        p.add_argument("--paint-log", type=Path, metavar="FILE", help=argparse.SUPPRESS)  # bench latency
        p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    demo = sub.add_parser(
        "demo", parents=[common], help="the built-in demo (PNG files when there is no display)"
    )
    demo.add_argument("--windowed", action="store_true")
    demo.add_argument("--out", default="demo-out", help="folder for the PNG files without a display")
    demo.add_argument("--size", default="1920x1080", help="WxH of the PNG files")
    check = sub.add_parser("check-config", parents=[common], help="validate the config file")
    check.add_argument("--probe", action="store_true", help="also poll every enabled source once and report")
    fetch = sub.add_parser(
        "fetch", parents=[common], help="poll one source once and print what it would show"
    )
    fetch.add_argument("source", help="the source's name in the config")
    fetch.add_argument("--json", action="store_true", help="one JSON object a line (the only format)")
    snap = sub.add_parser("snapshot", parents=[common], help="render one panel to a PNG file")
    snap.add_argument(
        "--panel",
        required=True,
        help="panel type (fans, mentions, internal, trends, announcement, clock) or index",
    )
    snap.add_argument("--out", required=True, help="PNG file to write")
    snap.add_argument("--size", default="1920x1080", help="WxH")
    snap.add_argument("--demo", action="store_true", help="use the demo content instead of the stored one")
    sub.add_parser(
        "purge",
        parents=[common],
        help="remove now what consent and retention no longer allow (the running wall does it hourly)",
    )
    status = sub.add_parser("status", parents=[common], help="each source's health")
    status.add_argument("--json", action="store_true")
    collect = sub.add_parser("collect", parents=[common], help="the fleet's headless collector (no Qt)")
    collect.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    proof = sub.add_parser(
        "proof",
        parents=[common],
        help="was this post shown on the fleet's screens, where and when (exit 1: not shown)",
    )
    proof.add_argument("post", help="the post's key (source:id, as on the page) or its URL")
    proof.add_argument("--json", action="store_true")
    fleet = sub.add_parser("fleet", help="set up a fleet of walls on NATS (docs/fleet.md)")
    init = fleet.add_subparsers(dest="fleet_command", required=True).add_parser(
        "init", help="CA, server certificate, nats-server config, one credential per kiosk"
    )
    init.add_argument(
        "--dir", required=True, type=Path, help="folder to write (kept and completed if it exists)"
    )
    init.add_argument("--site", action="append", default=[], help="a site (the screens' sites are added)")
    init.add_argument("--screen", action="append", default=[], help="SITE/SCREEN, e.g. lyon/hall-1 (repeat)")
    init.add_argument("--name", action="append", default=[], help="a name or address of the servers (repeat)")
    init.add_argument("--listen", default="127.0.0.1:4222", help="host:port of the one-node server.conf")
    signals = sub.add_parser("signals", parents=[common], help="replay the stored posts through [signals]")
    signals.add_argument("--since", default="7d", help="how far back to report alerts: 7d, 12h, 90m")
    signals.add_argument("--json", action="store_true", help="one JSON object an alert")
    return parser


def _fleet_init(args: argparse.Namespace) -> int:
    """`wall fleet init`: prints where each file went, never a password."""
    from wall.engine.fleet.init import FleetInitError, Screen, init_fleet

    try:
        files = init_fleet(
            args.dir, [Screen.parse(s) for s in args.screen], names=args.name, listen=args.listen
        )
    except FleetInitError as exc:
        print(f"wall fleet init: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"CA: {files.ca}\nserver: {files.server} (nats-server -c {files.server})")
    for user, path in files.credentials.items():
        print(f"credential of {user}: {path}")
    return 0


def _collector_fleet(config: WallConfig, command_and_fix: str) -> FleetSettings | None:
    """A collector's [fleet]; else None, having said so with the file, the field and the fix."""
    if config.fleet is not None and config.fleet.role == "collector":
        return config.fleet
    print(f"{config.path}: fleet.sites: is missing: `wall {command_and_fix}", file=sys.stderr)
    return None


def _collect(config: WallConfig, args: argparse.Namespace) -> int:
    from wall.engine.fleet import load_nats_without_websockets

    load_nats_without_websockets()
    from wall.engine.fleet.collector import collect
    from wall.engine.logs import config_secrets, setup_logging

    if (
        _collector_fleet(
            config, 'collect` needs [fleet] with servers, ca_file and sites = ["hq", ...] (docs/fleet.md)'
        )
        is None
    ):
        return EXIT_CONFIG
    setup_logging(args.log_level, config_secrets(config))
    if not config.web.enabled:
        return asyncio.run(collect(config))
    from wall.web.fleet_desk import collector_page  # the page for the whole fleet (aiohttp, no Qt)

    return asyncio.run(collect(config, collector_page(config)))


def _proof(config: WallConfig, args: argparse.Namespace) -> int:
    """`wall proof`: the fleet's proof of play for one post, from the broker's stream."""
    from wall.engine.fleet import load_nats_without_websockets

    load_nats_without_websockets()
    from wall.engine.fleet.proof import ProofUnavailable, query_proof

    fleet = _collector_fleet(
        config,
        "proof` reads the fleet's proof of play with the collector's [fleet] (servers, ca_file, sites): "
        "pass --config collector.toml",
    )
    if fleet is None:
        return EXIT_CONFIG
    try:
        answer = asyncio.run(query_proof(fleet, args.post))
    except ProofUnavailable as exc:
        print(f"{config.path}: fleet.servers: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print("\n".join(answer.lines(fleet.proof_days)))
    return 0 if answer.records else 1


def _load(args: argparse.Namespace) -> WallConfig:
    return load_config(resolve_config_path(args.config))


def _check_config(args: argparse.Namespace) -> int:
    path = resolve_config_path(args.config)
    try:
        config = load_config(path)
    except ConfigProblems as problems:
        for line in problems.lines:
            print(line, file=sys.stderr)
        return EXIT_CONFIG
    print(f"{path}: OK: {len(config.sources)} source(s), {len(config.effective_panels())} panel(s)")
    if args.probe:
        return asyncio.run(_probe(config))
    return 0


async def _probe(config: WallConfig) -> int:
    """Poll every enabled source once, concurrently, and print one line each: what comms need to
    know before the wall goes live (a token refused shows as needs_attention, never on screen)."""
    from sources.base import PermanentError, SourceError
    from wall.engine.services import build_sources, make_client

    async with make_client(config) as client:
        sources = build_sources(config, client)

        async def one(source: Any) -> tuple[str, str]:
            try:
                batch = await asyncio.wait_for(source.poll(), timeout=max(30.0, config.network.timeout * 2))
            except PermanentError as exc:
                return "needs_attention", str(exc)
            except (SourceError, TimeoutError) as exc:
                return "failing", str(exc) or "no answer in time"
            return "ok", f"{len(batch.posts)} post(s), {len(batch.counts)} count(s)"

        results = await asyncio.gather(*(one(s) for s in sources))
    rows = [
        (s.settings.name, s.settings.type, health, detail)
        for s, (health, detail) in zip(sources, results, strict=True)
    ]
    rows += [(s.name, s.type, "disabled", "") for s in config.sources if not s.enabled]
    print_table(PROBE_HEADERS, rows)
    return 0 if all(r[2] in ("ok", "disabled") for r in rows) else 1


def _load_or_last_good(args: argparse.Namespace, *, need_secrets: bool = True) -> WallConfig:
    """The config, or (saying why) the last good copy the running wall fell back to."""
    path = resolve_config_path(args.config)
    try:
        return load_config(path, need_secrets=need_secrets)
    except ConfigProblems as problems:
        fallback = load_last_good(path, need_secrets=need_secrets)
        if fallback is None:
            raise
        for line in problems.lines:
            print(line, file=sys.stderr)
        return fallback


def _run_with_fallback(args: argparse.Namespace, started: float) -> int:
    """`wall run`: on a config that no longer loads, run on the last good one rather than go dark."""
    path = resolve_config_path(args.config)
    try:
        config = load_config(path)
    except ConfigProblems as problems:
        fallback = load_last_good(path)
        if fallback is None:
            raise
        refused = [*problems.lines, f"{path}: refused; running on the last good copy {fallback.path}"]
        for line in refused:
            print(line, file=sys.stderr)
        return _run(fallback, args, started, refused, path)
    return _run(config, args, started, [], path)  # the wall keeps a copy once it has applied it


def _run(config: WallConfig, args: argparse.Namespace, started: float, refused: list[str], path: Path) -> int:
    from wall.engine.logs import config_secrets, setup_logging
    from wall.shell.runtime import run_wall

    web_token = [config.web.token.get_secret_value()] if config.web.token else []
    setup_logging(args.log_level, [*config_secrets(config), *web_token])
    return run_wall(
        config,
        windowed=args.windowed,
        exit_after=args.exit_after,
        exit_after_first_frame=args.exit_after_first_frame,
        started=started,
        config_problems=refused,
        config_path=path,
        paint_log=args.paint_log,
    )


def _has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return False
    return bool(platform or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _demo(args: argparse.Namespace) -> int:
    config = load_config(ASSETS_DIR / "demo.toml")
    demo_state = str(state_dir().parent / "lobby-wall-demo")
    config = config.model_copy(
        update={"storage": config.storage.model_copy(update={"state_dir": demo_state})}
    )
    if _has_display():
        from wall.engine.logs import setup_logging
        from wall.shell.runtime import run_wall

        setup_logging("INFO")
        return run_wall(config, windowed=args.windowed)
    from wall.shell.snapshots import render_panels

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    panels = config.effective_panels()
    targets = [(i, str(out / f"{i + 1}-{p.type}.png")) for i, p in enumerate(panels)]
    print("No display found: rendering the demo panels to PNG files instead.")
    for path in render_panels(config, targets, _size(args.size), use_demo=True):
        print(Path(path).resolve())
    return 0


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"--size: {text!r} is not WxH, e.g. 1920x1080") from None
    if not (200 <= width <= 8000 and 200 <= height <= 8000):
        raise SystemExit(f"--size: {text!r} is out of range: use 200 to 8000 pixels a side")
    return width, height


def _snapshot(config: WallConfig, args: argparse.Namespace) -> int:
    from wall.shell.snapshots import render_panels

    panels = config.effective_panels()
    if args.panel.isdigit() and int(args.panel) < len(panels):
        index = int(args.panel)
    else:
        matches = [i for i, p in enumerate(panels) if p.type == args.panel]
        if not matches:
            names = ", ".join(sorted({p.type for p in panels}))
            print(f"snapshot: no panel {args.panel!r} in {config.path}: use one of {names}", file=sys.stderr)
            return EXIT_CONFIG
        index = matches[0]
    for path in render_panels(config, [(index, args.out)], _size(args.size), use_demo=args.demo):
        print(Path(path).resolve())
    return 0


def post_line(post: Post, verdict: Verdict | None = None) -> dict[str, Any]:
    """The `wall fetch --json` line of a post, with its moderation verdict."""
    verdict = verdict or Verdict(True)
    return {
        "type": "post",
        "id": post.id,
        "kind": post.kind,
        "network": post.network,
        "author_name": post.author.name,
        "author_handle": post.author.handle,
        "text": post.text,
        "url": post.url,
        "created_at": post.to_dict()["created_at"],
        "media": [m.url for m in post.media],
        "sensitive": post.sensitive,
        "shown": verdict.shown,
        "reason": verdict.reason,
    }


def count_line(count: Count) -> dict[str, Any]:
    """The `wall fetch --json` line of a count."""
    return {"type": "count", "network": count.network, "account": count.account, "value": count.value}


async def _fetch(config: WallConfig, name: str) -> int:
    from sources.base import SourceError
    from wall.engine.poller import admit
    from wall.engine.services import build_sources, make_client

    settings = config.source(name)
    if settings is None:
        known = ", ".join(s.name for s in config.sources) or "(none)"
        print(f"{config.path}: no source is named {name!r}: use one of {known}", file=sys.stderr)
        return EXIT_CONFIG
    config = config.model_copy(update={"sources": [settings.model_copy(update={"enabled": True})]})
    deadline = max(30.0, config.network.timeout * 2)  # as --probe: a trickling server cannot hold it
    async with make_client(config) as client:
        (source,) = build_sources(config, client)
        try:
            batch = await asyncio.wait_for(source.poll(), timeout=deadline)
        except TimeoutError:
            print(f"{name}: no complete answer within {deadline:.0f} s", file=sys.stderr)
            return 1
        except SourceError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 1
    consent = consent_for(settings)
    now = datetime.now(UTC)
    batch = admit(batch, now)  # as the running wall would store it: no date in the future
    blocked, decisions = _page_moderation(config, [p.key for p in batch.posts])
    verdicts = Moderator(config.moderation_for(settings), blocked_authors=blocked).judge_many(
        [p for p in batch.posts if not consent.refusal(p, now)]
    )
    for post in sorted(batch.posts, key=lambda p: p.created_at, reverse=True):
        refusal = consent.refusal(post, now)
        verdict = Verdict(False, refusal) if refusal else verdicts.get(post.key)
        decision = None if refusal else decisions.get(post.key)
        line = post_line(consent.present(post), verdict)
        if decision is not None:  # what people decided on the moderation page wins, as on screen
            line["decision"] = decision
            line["shown"] = status_of(verdict, decision) == "shown"
        print(json.dumps(line, ensure_ascii=False))
    for post_id in batch.deleted:
        print(json.dumps({"type": "deleted", "id": post_id}))
    for count in batch.counts:
        print(json.dumps(count_line(count), ensure_ascii=False))
    return 0


def _page_moderation(config: WallConfig, keys: list[str]) -> tuple[list[str], dict[str, Decision]]:
    """The authors blocked and the decisions taken on the moderation page, from the wall's store
    when it has one (`wall fetch` does not create it): so `shown` says what the screen would do."""
    from wall.engine.services import store_path
    from wall.engine.store import Store

    path = store_path(config)
    if not path.is_file():
        return [], {}
    try:
        store = Store(path, read_only=True)  # the wall's own file: never changed from here
        try:
            decisions = {key: decision for key in keys if (decision := store.decision(key)) is not None}
            return store.blocked_authors(), decisions
        finally:
            store.close()
    except sqlite3.Error as exc:  # not readable by this user, or being replaced: rules only
        print(f"{path}: {exc}: the moderation page's decisions are left out", file=sys.stderr)
        return [], {}


def _purge(config: WallConfig) -> int:
    from wall.core.paths import cache_dir
    from wall.engine.images import forget_cached
    from wall.engine.services import consents, open_store, purge

    store = open_store(config)
    if store.problem():  # purging a copy in memory would only pretend
        print(f"purge: nothing removed: {store.problem()}", file=sys.stderr)
        store.close()
        return 1
    try:
        # Explicitly asked: sources no longer configured lose their data now, not after the grace period.
        gone = store.forget_sources([s.name for s in config.sources if s.enabled])
        purged = purge(store, consents(config), datetime.now(UTC))
    finally:
        store.close()
    pictures = forget_cached(cache_dir(), purged.image_urls)
    print(
        f"purged {purged.posts} posts (consent, retention), {gone} of sources no longer configured, "
        f"and {pictures} cached pictures"
    )
    return 0


def _signals(config: WallConfig, args: argparse.Namespace) -> int:
    """Print the alerts `[signals]` would have raised on the stored posts (issue 17)."""
    from wall.engine.services import store_path
    from wall.engine.signals.history import alert_line, parse_span, replay_store
    from wall.engine.store import Store

    try:
        span = parse_span(args.since)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    path = store_path(config)
    if not path.is_file():
        print(f"no state at {path}: the wall has not run with this config (or state_dir differs)")
        return 1
    store = Store(path, read_only=True)  # the wall's own file: never changed from here
    try:
        now = utcnow()
        alerts = replay_store(store, config, since=now - span, until=now)
    finally:
        store.close()
    for alert in alerts:
        print(json.dumps(alert.to_dict(), ensure_ascii=False) if args.json else alert_line(alert))
    if not args.json:
        print(f"{sum(a.state == 'alert' for a in alerts)} alert(s) since {args.since} ({path})")
    return 0


def _status(config: WallConfig, args: argparse.Namespace) -> int:
    from wall.engine.services import store_path
    from wall.engine.store import Store

    path = store_path(config)
    # The running wall's own record first: it is written outside the state directory, so it still
    # tells the truth when the store cannot be written (full or read-only disk, store in memory).
    live = read_runtime_record(path)
    if not path.is_file() and not (live and _alive(int(live.get("pid", 0)))):
        print(f"no state at {path}: the wall has not run with this config (or state_dir differs)")
        return 1
    statuses: dict[str, SourceStatus] = {}
    runtime, panic, announcement, awaiting, unreadable = None, False, None, 0, ""
    notices: list[str] = []
    try:
        store = Store(path, read_only=True)
        try:
            statuses = {s.source: s for s in store.statuses()}
            runtime = store.meta("runtime")
            panic = store.panic()
            announcement = store.announcement()
            notices = store.meta("store_notices") or []
            try:
                awaiting = len(store.queue("awaiting", limit=100_000))
            except sqlite3.OperationalError:  # a store written before the moderation page existed
                awaiting = 0
        finally:
            store.close()
    except sqlite3.Error as exc:  # corrupt, or not there: the wall itself moves it aside or runs from memory
        unreadable = f"{path} cannot be read: {exc}"
    if live and _alive(int(live.get("pid", 0))):
        runtime = live
    if runtime and not _alive(int(runtime.get("pid", 0))):
        runtime = None  # killed, frozen and restarted, or a power cut: the record is stale
    rows = []
    listed = [(s.name, s.type, s.enabled) for s in config.sources]
    if config.fleet is not None and config.fleet.role == "kiosk":
        # A fleet's kiosk polls nothing: its sources are the collector's, their health as received.
        listed = [(name, "collector", True) for name in sorted(statuses)]
    for name, kind, enabled in listed:
        status = statuses.get(name)
        rows.append(
            {
                "source": name,
                "type": kind,
                "health": status.health.value if status else ("disabled" if not enabled else "never polled"),
                "last_success": _when(status.last_success if status else None),
                "last_error": status.last_error if status else "",
                "next_poll": _when(status.next_poll if status else None),
            }
        )
    if args.json:
        published = announcement.to_dict() if announcement is not None else None
        moderation = {"panic": panic, "awaiting_approval": awaiting, "announcement": published}
        store_info = {
            "path": str(path),
            "problem": (runtime or {}).get("store_problem") or unreadable,
            "notices": (runtime or {}).get("store_notices") or notices,
        }
        print(
            json.dumps(
                {"running": runtime, "store": store_info, "moderation": moderation, "sources": rows},
                ensure_ascii=False,
            )
        )
        return 0
    if runtime:
        print(f"wall running: pid {runtime.get('pid')}, {_uptime(runtime.get('started_at'))}")
        if runtime.get("on_screen"):
            print(f"on screen: {' | '.join(runtime['on_screen'])}; memory {runtime.get('memory_mb', '?')} MB")
        if runtime.get("open") is False:
            print("closed (outside opening hours): screens black, polling paused")
        if link := runtime.get("fleet_link"):  # a fleet's kiosk (issue 16)
            since = as_utc(datetime.fromisoformat(link["since"])).strftime("%Y-%m-%d %H:%M:%SZ")
            state = "up" if link["up"] else "DOWN (the screen keeps its content; it catches up when back)"
            print(f"fleet link: {state} since {since}")
        for line in runtime.get("config_problems") or []:
            print(f"  config: {line}")
        for line in runtime.get("restart_needed") or []:
            print(f"  restart needed: {line}")
        if runtime.get("store_problem"):
            print(f"STORE: {runtime['store_problem']}")
    else:
        print("wall not running (last known state below)")
    if unreadable:
        print(f"STORE: {unreadable}")
    for line in (runtime or {}).get("store_notices") or notices:
        print(f"store: {line}")
    if panic:
        print("PANIC SCREEN ON: the wall shows only the logo (release it on the moderation page)")
    print(f"posts awaiting approval: {awaiting}")
    if announcement is not None:
        by = f" by {announcement.who}" if announcement.who else ""
        print(f"announcement published{by}: {announcement.title or announcement.text[:60]}")
    headers = ("source", "type", "health", "last_success", "next_poll", "last_error")
    print_table(headers, [tuple(str(row[h]) for h in headers) for row in rows])
    return 0


def _uptime(started_at: str | None) -> str:
    """'up 2 h 05 min (since 2026-11-24 07:30 UTC)'."""
    if not started_at:
        return "since ?"
    since = as_utc(datetime.fromisoformat(started_at))
    minutes = int((utcnow() - since).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    up = (f"{days} d " if days else "") + f"{hours} h {minutes:02d} min"
    return f"up {up} (since {since:%Y-%m-%d %H:%M} UTC)"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns for a terminal: a header line in capitals, then one line per row."""
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by the kiosk user
    return True


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (as_utc(value) - utcnow()).total_seconds()
    stamp = as_utc(value).strftime("%Y-%m-%d %H:%M:%SZ")
    if seconds >= 0:
        return f"{stamp} (in {seconds:.0f} s)"
    return f"{stamp} ({-seconds:.0f} s ago)"


if __name__ == "__main__":
    raise SystemExit(main())
