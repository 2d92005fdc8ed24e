"""Proof of play: what each kiosk showed, where and when, kept `[fleet] proof_days` on the broker.

A kiosk turns what is on its screens into records (`ProofTracker`: post, panel, screen, start, seconds
on screen), keeps them in a small SQLite outbox next to its store (`ProofOutbox`) and publishes them
on its own status subject (`ProofSender`) when the link is up. Each record has a fixed id sent as
`Nats-Msg-Id`: a record sent again after a lost acknowledgement is dropped by the stream's
de-duplication, and the collector's answer counts each id once as well, so nothing counts twice.

The collector creates the stream (`ensure_proof_stream`; kiosks may not) and answers "was this post
shown, where, when" from it (`find_proof`): the stream is independent of the collector's store, so
the answer survives the post's deletion there.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from wall.core.model import Post, as_utc, utcnow
from wall.core.tasks import cancel_until_done
from wall.engine.fleet.layout import PROOF_STREAM, PROOF_SUBJECTS, post_digest, proof_subject
from wall.engine.fleet.link import close, connect
from wall.engine.fleet.settings import FleetSettings

log = logging.getLogger("wall.engine.fleet.proof")

FORMAT = 1
LONGEST_RECORD_S = 300.0  # a post on screen for hours is recorded every 5 min: a crash loses 5 min at most
# A stretch's first record ends after a minute: the page answers "shown" for a post that stays on
# screen (a lobby with one post never turns it) within a minute, not 5; a post that turns with its
# panel (most) ends before and costs no more records.
FIRST_RECORD_S = 60.0
DUPLICATE_WINDOW_S = 3600.0  # the stream drops an id it saw within this (a resend after a lost ack)
SEND_EVERY_S = 2.0
LAST_SEND_S = 2.0
CONNECT_TIMEOUT_S = 5.0  # `wall proof`
BATCH = 200
_BROKER_ERRORS = (nats.errors.Error, TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class ProofRecord:
    """One uninterrupted stretch of a post on one screen."""

    post_key: str
    source: str
    url: str
    panel: str  # the panel type ("mentions", "internal", ...), or "notice" for the "Nouveau" card
    site: str
    screen: str
    display: int  # which of the kiosk's screens (0: the first)
    started_at: datetime
    seconds: float

    @property
    def id(self) -> str:
        """The same record always has the same id (`Nats-Msg-Id`, and the answer's de-duplication)."""
        parts = (
            self.site,
            self.screen,
            str(self.display),
            self.panel,
            self.post_key,
            self.started_at.isoformat(),
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]

    def to_dict(self) -> dict[str, Any]:
        """As published (JSON)."""
        return {**asdict(self), "started_at": self.started_at.isoformat(), "v": FORMAT, "id": self.id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProofRecord:
        """From a published value (KeyError, ValueError or TypeError when it is not one)."""
        return cls(
            post_key=str(data["post_key"]),
            source=str(data["source"]),
            url=str(data.get("url", "")),
            panel=str(data["panel"]),
            site=str(data["site"]),
            screen=str(data["screen"]),
            display=int(data.get("display", 0)),
            started_at=as_utc(datetime.fromisoformat(str(data["started_at"]))),
            seconds=float(data["seconds"]),
        )


@dataclass(frozen=True, slots=True)
class Showing:
    """A post readable on screen now: on a card of the panel up, on a window that is painted."""

    post: Post
    panel: str
    display: int = 0


@dataclass(slots=True)
class _Open:
    post: Post
    started_at: datetime
    first: bool = True  # the stretch's first record (cut after FIRST_RECORD_S, the next ones after LONGEST)


class ProofTracker:
    """Turns successive looks at the screens into records: a post counts from the first look that
    finds it on screen to the first look that does not (or `FIRST_RECORD_S`, then every
    `LONGEST_RECORD_S`, a new record)."""

    def __init__(self, site: str, screen: str) -> None:
        self.site = site
        self.screen = screen
        self._open: dict[tuple[str, str, int], _Open] = {}

    def observe(self, now: datetime, showing: Iterable[Showing]) -> list[ProofRecord]:
        """What is on screen at `now`; returns the records that ended."""
        seen: dict[tuple[str, str, int], Post] = {(s.post.key, s.panel, s.display): s.post for s in showing}
        ended: list[ProofRecord] = []
        for slot, opened in list(self._open.items()):
            limit = FIRST_RECORD_S if opened.first else LONGEST_RECORD_S
            long = (now - opened.started_at).total_seconds() >= limit
            if slot not in seen or long:
                ended.append(self._record(slot, opened, now))
                del self._open[slot]
                if slot in seen:  # the same stretch goes on
                    self._open[slot] = _Open(seen[slot], now, first=False)
        for slot, post in seen.items():
            if slot not in self._open:
                self._open[slot] = _Open(post, now)
        return ended

    def flush(self, now: datetime) -> list[ProofRecord]:
        """End every stretch now (the wall stops, sleeps or panics)."""
        return self.observe(now, ())

    def _record(self, slot: tuple[str, str, int], opened: _Open, now: datetime) -> ProofRecord:
        post = opened.post
        seconds = max(0.0, round((now - opened.started_at).total_seconds(), 1))
        return ProofRecord(
            post.key,
            post.source,
            post.url,
            slot[1],
            self.site,
            self.screen,
            slot[2],
            opened.started_at,
            seconds,
        )


class ProofOutbox:
    """The kiosk's records not yet acknowledged by the stream, in a SQLite file of their own (the
    store's file is the content's: a full outbox never gets in its way)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox"
            " (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, body TEXT NOT NULL)"
        )

    def add(self, records: Sequence[ProofRecord]) -> None:
        """Keep `records` until sent (a record already kept is kept once)."""
        rows = [
            (r.id, r.started_at.isoformat(), json.dumps(r.to_dict(), ensure_ascii=False)) for r in records
        ]
        self._db.executemany("INSERT OR IGNORE INTO outbox VALUES (?, ?, ?)", rows)

    def unsent(self, limit: int = BATCH) -> list[ProofRecord]:
        """The oldest records still to send."""
        rows = self._db.execute("SELECT body FROM outbox ORDER BY started_at LIMIT ?", (limit,))
        return [ProofRecord.from_dict(json.loads(body)) for (body,) in rows]

    def sent(self, ids: Iterable[str]) -> None:
        """The stream has these: forget them."""
        self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def drop_older_than(self, cutoff: datetime) -> int:
        """Records the broker would no longer keep anyway (a kiosk offline for longer than proof_days)."""
        return self._db.execute("DELETE FROM outbox WHERE started_at < ?", (cutoff.isoformat(),)).rowcount

    def count(self) -> int:
        """How many records wait."""
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class ProofSender:
    """Publishes the outbox to the proof stream whenever the link is up; never blocks the screen."""

    def __init__(
        self,
        fleet: FleetSettings,
        outbox: ProofOutbox,
        link: Callable[[], Client | None],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.fleet = fleet
        self.outbox = outbox
        self._link = link
        self._clock = clock
        self._incoming: list[ProofRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published = 0  # records the stream acknowledged (tests, `wall status`)

    def add(self, records: Sequence[ProofRecord]) -> None:
        """Records that ended (called from the screen's side: only a list append)."""
        if records:
            self._incoming.extend(records)
            self._wake.set()

    def start(self) -> None:
        """Send in the background."""
        self._task = asyncio.ensure_future(self._send_forever())

    async def stop(self) -> None:
        """Keep what is still waiting in the outbox (sent at the next start), and stop."""
        if self._task is not None:
            await cancel_until_done([self._task])
        await asyncio.to_thread(self._keep_incoming)
        with contextlib.suppress(*_BROKER_ERRORS):  # a last try; what is left waits for the next start
            await asyncio.wait_for(self.send_waiting(), LAST_SEND_S)
        self.outbox.close()

    def _keep_incoming(self) -> None:
        incoming, self._incoming = self._incoming, []
        self.outbox.add(incoming)

    async def _send_forever(self) -> None:
        failing = False
        while True:
            # asyncio.wait, not wait_for: Python 3.11's wait_for swallows a cancellation that comes
            # as the event is set (`stop` right after the last `add`), and this task never ended.
            waiter = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({waiter}, timeout=SEND_EVERY_S)
            finally:
                waiter.cancel()
            self._wake.clear()
            await asyncio.to_thread(self._keep_incoming)
            try:
                await self.send_waiting()
            except _BROKER_ERRORS as exc:
                if not failing:  # the first failure in full, the repeats silently until it works
                    log.warning(
                        "fleet: proof of play kept on the kiosk for now (%s: %s)", type(exc).__name__, exc
                    )
                failing = True
                continue
            failing = False

    async def send_waiting(self) -> None:
        """Publish every waiting record (one at a time: each is forgotten once acknowledged)."""
        link = self._link()
        if link is None or not link.is_connected:
            return
        js = link.jetstream()
        cutoff = self._clock() - timedelta(days=self.fleet.proof_days)
        await asyncio.to_thread(self.outbox.drop_older_than, cutoff)
        while records := await asyncio.to_thread(self.outbox.unsent):
            for record in records:
                data = json.dumps(record.to_dict(), ensure_ascii=False).encode()
                subject = proof_subject(record.site, record.screen, record.post_key)
                await js.publish(subject, data, headers={"Nats-Msg-Id": record.id}, timeout=5)
                await asyncio.to_thread(self.outbox.sent, [record.id])
                self.published += 1


# --- the collector's side ------------------------------------------------------------------------
async def ensure_proof_stream(js: JetStreamContext, fleet: FleetSettings) -> None:
    """Create the proof stream, or bring its age limit and copies in line with `[fleet]`."""
    config = StreamConfig(
        name=PROOF_STREAM,
        subjects=[PROOF_SUBJECTS],
        storage=StorageType.FILE,
        max_age=fleet.proof_days * 86400.0,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=fleet.replicas,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:  # exists with other limits (proof_days changed)
        await js.update_stream(config)


@dataclass(slots=True)
class ProofAnswer:
    """Where and when a post was shown (each record once)."""

    query: str
    records: list[ProofRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """For `wall proof --json` and the page."""
        return {
            "query": self.query,
            "shown": bool(self.records),
            "seconds": round(sum(r.seconds for r in self.records), 1),
            "screens": sorted({f"{r.site}/{r.screen}" for r in self.records}),
            "records": [r.to_dict() for r in self.records],
        }

    def lines(self, proof_days: int) -> list[str]:
        """For `wall proof`: one line a record, then a summary."""
        if not self.records:
            return [
                f"{self.query}: not shown on any screen in the last {proof_days} days (stream {PROOF_STREAM})"
            ]
        out = [
            f"{r.started_at:%Y-%m-%d %H:%M:%S} UTC  {r.site}/{r.screen}"
            + (f" (display {r.display + 1})" if r.display else "")
            + f"  {r.panel}  {r.seconds:.0f} s  {r.post_key}"
            for r in self.records
        ]
        summary = self.to_dict()
        out.append(
            f"{self.query}: shown {len(self.records)} time(s) on {len(summary['screens'])} screen(s) "
            f"({', '.join(summary['screens'])}), {summary['seconds']:.0f} s in all"
        )
        return out


async def find_proof(js: JetStreamContext, query: str) -> ProofAnswer:
    """Every record of the post `query` (its key `source:id`, or its URL) the stream still keeps,
    oldest first. A key reads only that post's records; a URL reads every record, one request
    each (fine for a takedown question now and then; ask by key on a big fleet)."""
    by_url = "://" in query
    subject = PROOF_SUBJECTS if by_url else PROOF_SUBJECTS.replace(">", f"{post_digest(query)}")
    answer = ProofAnswer(query)
    try:
        info = await js.stream_info(PROOF_STREAM, subjects_filter=subject)
    except nats.js.errors.NotFoundError:
        return answer  # no kiosk has sent anything yet (the collector creates the stream at start)
    wanted = sum((info.state.subjects or {}).values())
    if not wanted:
        return answer
    # Message gets by subject from the stream's leader, not a consumer: an ephemeral consumer can
    # be placed on a node that just died and time out (tests/fleet/test_resilience.py).
    seen: set[str] = set()
    sequence = 1
    for _ in range(wanted):
        try:
            message = await js.get_msg(PROOF_STREAM, seq=sequence, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            break  # aged out meanwhile
        sequence = (message.seq or sequence) + 1
        try:
            record = ProofRecord.from_dict(json.loads(message.data or b""))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("proof: message %s is not a record (%s); skipped", message.subject, exc)
            continue
        if message.subject != proof_subject(record.site, record.screen, record.post_key):
            # The subject is what the broker let that kiosk publish on; the body is its word only.
            log.warning(
                "proof: %s holds a record of %s/%s; skipped", message.subject, record.site, record.screen
            )
            continue
        if record.id not in seen and (record.url == query if by_url else record.post_key == query):
            seen.add(record.id)
            answer.records.append(record)
    answer.records.sort(key=lambda r: (r.started_at, r.site, r.screen, r.display))
    return answer


@dataclass(frozen=True, slots=True)
class PostProof:
    """The collector's page's answer (`wall.web.fleet_desk.FleetDesk.proof`): the records, the post as
    the collector's store still holds it (None: deleted there, or never stored), the period the
    stream keeps, and why the broker gave no answer ("" when it did)."""

    answer: ProofAnswer
    post: Post | None
    proof_days: int
    unavailable: str = ""


class ProofUnavailable(RuntimeError):
    """The broker did not answer (`wall proof` says so, naming the servers)."""


async def query_proof(fleet: FleetSettings, query: str) -> ProofAnswer:
    """`find_proof` over a link of its own (`wall proof`; the page uses the collector's link)."""
    try:
        # Bounded: nats-py's first connection retries forever (reconnecting is what a kiosk wants),
        # and a person at a prompt wants an answer.
        link = await asyncio.wait_for(connect(fleet, name="wall-proof"), CONNECT_TIMEOUT_S)
    except (*_BROKER_ERRORS, ssl.SSLError) as exc:
        raise ProofUnavailable(
            f"cannot reach {', '.join(fleet.servers)} ({type(exc).__name__}: {exc}): check the servers "
            "are up and fleet.credential is the collector's"
        ) from None
    try:
        return await find_proof(link.jetstream(), query)
    except _BROKER_ERRORS as exc:
        raise ProofUnavailable(f"the proof stream did not answer ({type(exc).__name__}: {exc})") from None
    finally:
        await close(link)
