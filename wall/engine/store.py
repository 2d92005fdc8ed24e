"""What the wall has seen, kept in SQLite so a restart shows the last content at once.

Posts are upserted by key (source + id), so re-polling is idempotent and an edit replaces the
old text; deletions remove the row; each source keeps at most `max_posts_per_source` posts.
Every count observation that changes a value is kept (30 days) for deltas and sparklines.
People's moderation decisions, the authors they blocked (until unblocked), the panic flag, the
announcement published from the page and the audit log of their actions are kept apart from the
rules' verdicts, so re-judging never undoes them (`wall.engine.moderation.decisions`).
The database runs in WAL mode with `synchronous=FULL`: a kill -9 or a power cut loses nothing that
was committed. Methods are synchronous and thread-safe; the poller calls `apply` from a worker
thread so SQLite never blocks the GUI thread.

The wall must start whatever state its folder is in (issue 12): `open_resilient` moves a corrupt
file aside and starts a new one, and runs from memory (with the last readable content) when the
folder is read-only or full. A write that fails later (the disk filled up) is remembered in
`write_problem` until a write succeeds again, so `wall status` can say so.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wall.core.model import Batch, Count, Post, PostKind, SourceStatus, as_utc, iso, utcnow
from wall.engine.moderation.decisions import (
    AuditEntry,
    BlockedAuthor,
    Decision,
    PublishedAnnouncement,
    QueueFilter,
    QueueItem,
)
from wall.engine.moderation.rules import BLOCKED_AUTHOR, Verdict

log = logging.getLogger("wall.engine.store")

SCHEMA_VERSION = 1
RETIRED_GRACE_DAYS = 7  # the data of a source taken out of the config is deleted after this long
COUNT_HISTORY_DAYS = 30
COUNT_SAMPLE_SECONDS = 600  # an unchanged value is recorded again at most every 10 minutes
PAGE_SIZE = 250  # posts read at once by jobs over a whole source (`pages_of`): ~0.3 s of re-judging

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_ts REAL NOT NULL,
    data TEXT NOT NULL,
    verdict TEXT
);
CREATE INDEX IF NOT EXISTS posts_by_kind_time ON posts (kind, created_ts DESC);
CREATE INDEX IF NOT EXISTS posts_by_source_time ON posts (source, created_ts DESC);
CREATE TABLE IF NOT EXISTS counts (
    key TEXT NOT NULL,
    observed_ts REAL NOT NULL,
    value INTEGER,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS counts_by_key_time ON counts (key, observed_ts DESC);
CREATE TABLE IF NOT EXISTS statuses (source TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS source_state (source TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Sources no longer configured: off the screen at once, their data deleted after a grace period
-- (an empty or half-written config saved by mistake must not wipe the wall's history).
CREATE TABLE IF NOT EXISTS retired_sources (source TEXT PRIMARY KEY, since REAL NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    key TEXT PRIMARY KEY,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'hide', 'pin')),
    who TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS blocked_authors (
    author TEXT PRIMARY KEY,
    who TEXT NOT NULL,
    at REAL NOT NULL,
    network TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    post_key TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    post_key TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
-- A post that leaves the store (deleted at its source, capped, purged) takes its decision along.
-- INSERT OR REPLACE of an edited post does not fire it: recursive triggers are off.
CREATE TRIGGER IF NOT EXISTS decisions_follow_posts AFTER DELETE ON posts
BEGIN DELETE FROM decisions WHERE key = OLD.key; END;
"""

# On screen: not hidden by a person, not by a blocked author (stronger than an earlier approval),
# and approved or pinned by a person, else allowed by the rules. `wall.engine.decisions.status_of` agrees.
_SHOWN = (
    "COALESCE(d.decision, '') != 'hide' AND COALESCE(json_extract(p.verdict, '$.reason'), '') != ? "
    "AND (d.decision IN ('approve', 'pin') OR p.verdict IS NULL OR json_extract(p.verdict, '$.shown')) "
    "AND p.source NOT IN (SELECT source FROM retired_sources)"
)
_COUNT_SHOWN = "json_extract(data, '$.source') NOT IN (SELECT source FROM retired_sources)"

# SQLite's primary result codes that mean "this file cannot be used as it is", by what to do.
_CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_STORAGE_CODES = {
    sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_READONLY,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PERM,
    *_CORRUPT_CODES,
}


@dataclass(slots=True)
class StoreChange:
    """What an `apply` changed, so the hub refreshes only what it must."""

    kinds: set[PostKind] = field(default_factory=set)
    counts: bool = False

    def __bool__(self) -> bool:
        return bool(self.kinds or self.counts)


class Store:
    """SQLite-backed posts, counts, statuses and source cursors."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_posts_per_source: int = 500,
        read_only: bool = False,
        in_memory_because: str = "",
    ) -> None:
        self.path = Path(path)
        self.max_posts_per_source = max_posts_per_source
        self._lock = threading.Lock()
        # Why the wall runs from memory ("" when on its file), and what happened to the file at start.
        self.in_memory_because = in_memory_because
        self.notices: list[str] = []
        self.write_problem = ""  # the last write's storage error, "" once a write succeeds again
        self.on_write_problem: Callable[[str], object] | None = None  # called when it changes
        if read_only:  # `wall status`: never create nor change the running wall's database
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10
            )
            return
        if in_memory_because:
            self._db = _readable_copy(self.path)
        else:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        # 512 KB of page cache (SQLite's default is 2 MB): the wall reads a few hundred small rows a
        # poll, and a kiosk that runs for months keeps what it does not need for nothing.
        self._db.execute("PRAGMA cache_size=-512")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(posts)")}
        if "verdict" not in columns:  # a store written before moderation existed
            self._db.execute("ALTER TABLE posts ADD COLUMN verdict TEXT")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(blocked_authors)")}
        for column in ("network", "name", "post_key"):  # blocks made before the page listed them
            if column not in columns:
                self._db.execute(f"ALTER TABLE blocked_authors ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        """Close the database (further calls fail)."""
        with self._lock:
            self._db.close()

    def check_usable(self) -> None:
        """Raise sqlite3.DatabaseError unless every page reads back and a write commits: a truncated
        file opens fine and fails later, a full disk fails only on the first write."""
        with self._lock:
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            error = sqlite3.DatabaseError(f"database disk image is malformed: {problems[0]}")
            error.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
            raise error
        self.set_meta("opened_at", utcnow().isoformat())

    def problem(self) -> str:
        """What `wall status` says about the store: "" when it is on its file and writes succeed."""
        if self.in_memory_because:
            return (
                f"running from memory: {self.in_memory_because}; the screen shows the last readable "
                "content, and what arrives now is lost at the next restart"
            )
        return self.write_problem

    def _wrote(self, error: sqlite3.Error | None) -> None:
        """Remember whether the storage took the last write (only storage errors count)."""
        if error is not None and _primary_code(error) not in _STORAGE_CODES:
            return
        problem = "" if error is None else _storage_problem(self.path, error)
        if problem == self.write_problem:
            return
        if problem:
            log.error("store: %s", problem)
        else:
            log.warning("store: %s can be written again", self.path)
        self.write_problem = problem
        if self.on_write_problem is not None:
            self.on_write_problem(problem)

    # --- writes ------------------------------------------------------------------------
    def apply(
        self,
        source: str,
        batch: Batch,
        *,
        now: datetime | None = None,
        verdicts: Mapping[str, Verdict] | None = None,
    ) -> StoreChange:
        """Record one batch from `source` in a single transaction, with each post's moderation
        verdict (by post key; a post without one is shown)."""
        change = StoreChange()
        if not batch:
            return change
        now = now or utcnow()
        with self._lock, self._transaction():
            for post in batch.posts:
                row = self._db.execute(
                    "SELECT data, created_ts, verdict FROM posts WHERE key = ?", (post.key,)
                ).fetchone()
                verdict = _verdict_json((verdicts or {}).get(post.key))
                if row is not None:
                    # A post keeps the time it was first seen with: undated feed items get "now" on
                    # every poll and would otherwise jump back to the top of the wall.
                    post = replace(post, created_at=datetime.fromtimestamp(row[1], UTC))
                data = json.dumps(post.to_dict(), ensure_ascii=False, sort_keys=True)
                if row is not None and row[0] == data and row[2] == verdict:
                    continue
                self._db.execute(
                    "INSERT OR REPLACE INTO posts (key, source, id, kind, created_ts, data, verdict) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        post.key,
                        post.source,
                        post.id,
                        post.kind,
                        as_utc(post.created_at).timestamp(),
                        data,
                        verdict,
                    ),
                )
                change.kinds.add(post.kind)
            for post_id in batch.deleted:
                key = f"{source}:{post_id}"
                row = self._db.execute("DELETE FROM posts WHERE key = ? RETURNING kind", (key,)).fetchone()
                if row is not None:
                    change.kinds.add(row[0])
            if batch.posts:
                change.kinds |= self._cap(source)
            for count in batch.counts:
                change.counts |= self._record_count(count)
            self._db.execute(
                "DELETE FROM counts WHERE observed_ts < ?",
                ((now - timedelta(days=COUNT_HISTORY_DAYS)).timestamp(),),
            )
        return change

    def date_back_future(self, now: datetime, skew: timedelta) -> set[PostKind]:
        """Date `now` the posts dated later than `now` + `skew` (an undated item first seen while the
        clock was a year ahead would stay first for that year); returns the kinds that changed."""
        latest = as_utc(now) + skew
        with self._lock, self._transaction():
            rows = self._db.execute(
                "UPDATE posts SET created_ts = ?, data = json_set(data, '$.created_at', ?) "
                "WHERE created_ts > ? RETURNING kind",
                (as_utc(now).timestamp(), iso(now), latest.timestamp()),
            ).fetchall()
            # ISO 8601 in UTC with a Z compares as text.
            rows += self._db.execute(
                "UPDATE posts SET data = json_set(data, '$.edited_at', ?) "
                "WHERE json_extract(data, '$.edited_at') > ? RETURNING kind",
                (iso(now), iso(latest)),
            ).fetchall()
        return {row[0] for row in rows}

    def _cap(self, source: str) -> set[PostKind]:
        rows = self._db.execute(
            "DELETE FROM posts WHERE key IN (SELECT key FROM posts WHERE source = ? "
            "ORDER BY created_ts DESC LIMIT -1 OFFSET ?) RETURNING kind",
            (source, self.max_posts_per_source),
        ).fetchall()
        return {r[0] for r in rows}

    def _record_count(self, count: Count) -> bool:
        if (
            count.value == 0
            and self._db.execute(
                "SELECT 1 FROM counts WHERE key = ? AND value > 0 LIMIT 1", (count.key,)
            ).fetchone()
        ):
            # An account does not lose every fan at once: the API hid the number (YouTube's
            # hidden subscriber count, a Graph permission gone). Unknown, not a loss.
            count = replace(count, value=None)
        ts = as_utc(count.observed_at).timestamp()
        last = self._db.execute(
            "SELECT value, observed_ts FROM counts WHERE key = ? ORDER BY observed_ts DESC LIMIT 1",
            (count.key,),
        ).fetchone()
        if last is not None and last[0] == count.value and ts - last[1] < COUNT_SAMPLE_SECONDS:
            return False
        self._db.execute(
            "INSERT INTO counts (key, observed_ts, value, data) VALUES (?,?,?,?)",
            (count.key, ts, count.value, json.dumps(count.to_dict(), ensure_ascii=False)),
        )
        return last is None or last[0] != count.value

    def forget_sources(self, keep: Iterable[str]) -> int:
        """Drop everything of sources no longer configured or disabled: posts, counts, statuses and
        cursors (comms disable a source to take its content off the screen). Returns the posts gone."""
        names = list(keep)
        marks = ",".join("?" * len(names)) or "''"
        with self._lock, self._transaction():
            cur = self._db.execute(f"DELETE FROM posts WHERE source NOT IN ({marks})", names)
            for table in ("statuses", "source_state"):
                self._db.execute(f"DELETE FROM {table} WHERE source NOT IN ({marks})", names)
            counts = self._db.execute("SELECT DISTINCT key, data FROM counts").fetchall()
            gone = {key for key, data in counts if json.loads(data).get("source") not in names}
            self._db.executemany("DELETE FROM counts WHERE key = ?", [(key,) for key in gone])
            self._db.execute(f"DELETE FROM retired_sources WHERE source NOT IN ({marks})", names)
            return cur.rowcount

    def retire_sources(
        self, keep: Iterable[str], *, now: datetime | None = None, grace_days: float = RETIRED_GRACE_DAYS
    ) -> list[str]:
        """Take the sources not in `keep` off the screen now, and delete their data (`forget_sources`)
        only once they have been out of the config for `grace_days`: a reload never destroys.
        A source back in `keep` gets its posts back. Returns the sources whose data was deleted."""
        names = set(keep)
        now = now or utcnow()
        with self._lock, self._transaction():
            stored = {
                r[0] for r in self._db.execute("SELECT source FROM posts UNION SELECT source FROM statuses")
            }
            stored |= {
                r[0]
                for r in self._db.execute("SELECT DISTINCT json_extract(data, '$.source') FROM counts")
                if r[0] is not None
            }
            retired = dict(self._db.execute("SELECT source, since FROM retired_sources").fetchall())
            for name in names & set(retired):
                self._db.execute("DELETE FROM retired_sources WHERE source = ?", (name,))
            for name in stored - names - set(retired):
                self._db.execute(
                    "INSERT INTO retired_sources (source, since) VALUES (?, ?)",
                    (name, as_utc(now).timestamp()),
                )
            limit = (now - timedelta(days=grace_days)).timestamp()
            expired = sorted(name for name, since in retired.items() if name not in names and since <= limit)
        if expired:
            self.forget_sources(sorted(stored - set(expired)))
            log.info("deleted the data of %s, out of the config for %g days", ", ".join(expired), grace_days)
        return expired

    def retired_sources(self) -> dict[str, datetime]:
        """Sources off the screen because they left the config, with the time they left it."""
        with self._lock:
            rows = self._db.execute("SELECT source, since FROM retired_sources ORDER BY source").fetchall()
        return {name: datetime.fromtimestamp(since, UTC) for name, since in rows}

    def save_status(self, status: SourceStatus) -> None:
        """Remember a source's health (read by `wall status`)."""
        self._put("statuses", status.source, status.to_dict())

    def save_state(self, source: str, state: Mapping[str, Any]) -> None:
        """Remember a source's cursor so a restart resumes where it stopped."""
        self._put("source_state", source, dict(state))

    def set_meta(self, key: str, value: Any) -> None:
        """Store a small JSON value (runtime info for `wall status`)."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (key, json.dumps(value, default=str)),
            )

    def _put(self, table: str, source: str, data: Mapping[str, Any]) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} (source, data) VALUES (?, ?)",
                (source, json.dumps(data, ensure_ascii=False, default=str)),
            )

    # --- reads -------------------------------------------------------------------------
    def recent_posts(
        self,
        kind: PostKind,
        limit: int = 50,
        *,
        since: datetime | None = None,
        groups: Sequence[Collection[str]] = (),
    ) -> list[Post]:
        """Posts of one kind that moderation and people let on screen (written `since` then, if
        given): pinned first, then newest first (pictures removed where moderation said so). With
        `groups` (source names: a fleet's sites), the first `limit` of each group, together, so
        that one busy group cannot push another's posts out."""
        oldest = as_utc(since).timestamp() if since is not None else float("-inf")
        select = (
            "SELECT p.data, p.verdict, COALESCE(d.decision = 'pin', 0) AS pin, p.created_ts AS ts "
            f"FROM posts p LEFT JOIN decisions d ON d.key = p.key WHERE p.kind = ? AND p.created_ts >= ? "
            f"AND {_SHOWN}"
        )
        order = "ORDER BY pin DESC, ts DESC"
        sql, params = f"{select} {order} LIMIT ?", [kind, oldest, BLOCKED_AUTHOR, limit]
        if groups:
            parts, params = [], []
            for group in groups:
                marks = ",".join("?" * len(group))
                parts.append(f"SELECT * FROM ({select} AND p.source IN ({marks}) {order} LIMIT ?)")
                params += [kind, oldest, BLOCKED_AUTHOR, *sorted(group), limit]
            sql = f"{' UNION '.join(parts)} {order}"
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        posts = []
        for data, verdict, _pin, _ts in rows:
            post = Post.from_dict(json.loads(data))
            if verdict and json.loads(verdict).get("hide_media"):
                post = replace(post, media=())
            posts.append(post)
        return posts

    def post_keys(self, source: str) -> list[str]:
        """The keys of every kept post of one source."""
        with self._lock:
            rows = self._db.execute("SELECT key FROM posts WHERE source = ?", (source,)).fetchall()
        return [r[0] for r in rows]

    def sources(self) -> list[str]:
        """Names of the sources that have posts in the store."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT source FROM posts ORDER BY source").fetchall()
        return [r[0] for r in rows]

    def posts_of(self, source: str) -> list[Post]:
        """Every kept post of one source, oldest first, whatever its verdict (for re-judging)."""
        return [post for page in self.pages_of(source) for post in page]

    def pages_of(self, source: str, size: int = PAGE_SIZE) -> Iterator[list[Post]]:
        """The kept posts of one source, oldest first (ties by key), `size` at a time: a job over
        a full store (re-judging, purging) holds one page of posts, not 10,000, and the store's
        lock is free between pages. Posts deleted or added between two pages are skipped or
        seen as they would be by a job that started later."""
        after: tuple[float, str] = (float("-inf"), "")
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT data, created_ts, key FROM posts WHERE source = ? "
                    "AND (created_ts > ? OR (created_ts = ? AND key > ?)) "
                    "ORDER BY created_ts, key LIMIT ?",
                    (source, after[0], after[0], after[1], size),
                ).fetchall()
            if not rows:
                return
            yield [Post.from_dict(json.loads(r[0])) for r in rows]
            if len(rows) < size:
                return
            after = (rows[-1][1], rows[-1][2])

    def verdicts(self, source: str) -> dict[str, Verdict]:
        """The stored verdict of each judged post of one source, by post key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, verdict FROM posts WHERE source = ? AND verdict IS NOT NULL", (source,)
            ).fetchall()
        return {key: Verdict(**json.loads(v)) for key, v in rows}

    def set_verdicts(self, verdicts: Mapping[str, Verdict]) -> set[PostKind]:
        """Replace the verdicts of already stored posts; returns the kinds whose screen changed."""
        kinds: set[PostKind] = set()
        with self._lock, self._transaction():
            for key, verdict in verdicts.items():
                row = self._db.execute(
                    "UPDATE posts SET verdict = ? WHERE key = ? AND verdict IS NOT ? RETURNING kind",
                    (_verdict_json(verdict), key, _verdict_json(verdict)),
                ).fetchone()
                if row is not None:
                    kinds.add(row[0])
        return kinds

    def post_count(self, source: str | None = None) -> int:
        """How many posts are kept (for one source, or in all)."""
        with self._lock:
            if source is None:
                return int(self._db.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
            return int(
                self._db.execute("SELECT COUNT(*) FROM posts WHERE source = ?", (source,)).fetchone()[0]
            )

    def latest_counts(self) -> list[Count]:
        """The newest observation of every counter, in first-seen order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.data FROM counts c JOIN (SELECT key, MAX(observed_ts) AS ts, MIN(rowid) AS first "
                f"FROM counts WHERE {_COUNT_SHOWN} GROUP BY key) m ON c.key = m.key AND c.observed_ts = m.ts "
                "ORDER BY m.first"
            ).fetchall()
        seen: dict[str, Count] = {}
        for row in rows:
            count = Count.from_dict(json.loads(row[0]))
            seen.setdefault(count.key, count)
        return list(seen.values())

    def count_history(self, since: datetime) -> dict[str, list[Count]]:
        """Observations since `since`, per counter key, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, data FROM counts WHERE observed_ts >= ? ORDER BY observed_ts",
                (as_utc(since).timestamp(),),
            ).fetchall()
        history: dict[str, list[Count]] = {}
        for key, data in rows:
            history.setdefault(key, []).append(Count.from_dict(json.loads(data)))
        return history

    def daily_count_history(self, since: datetime, zone: ZoneInfo) -> dict[str, list[Count]]:
        """`wall.engine.counts.daily_history(self.count_history(since), zone)` without decoding every row:
        per counter key, the last observation with a value of each local day, oldest first.

        The wall asks for it after every poll that changed a count, and a week of polls is thousands
        of rows per counter: decoding them all made a burst of small Python objects that grew with
        the history (8.7 MB for a week of 14 counters), and Python's heap seldom gives back what a
        burst took: objects kept meanwhile pin its arenas (the soak's growth after day 2).
        """
        last: dict[str, dict[date, int]] = {}  # key -> local day -> rowid of its last observation
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, observed_ts, value IS NULL, rowid FROM counts WHERE observed_ts >= ? "
                f"AND {_COUNT_SHOWN} ORDER BY observed_ts",
                (as_utc(since).timestamp(),),
            )
            for key, ts, hidden, rowid in rows:  # one row at a time: no list of every observation
                days = last.setdefault(key, {})
                if not hidden:
                    days[datetime.fromtimestamp(ts, zone).date()] = rowid
            wanted = [rowid for days in last.values() for rowid in days.values()]
            # One statement whatever the number of rows (a statement per length would fill
            # sqlite3's statement cache).
            data: dict[int, str] = dict(
                self._db.execute(
                    "SELECT rowid, data FROM counts WHERE rowid IN (SELECT value FROM json_each(?))",
                    (json.dumps(wanted),),
                )
            )
        return {
            key: [Count.from_dict(json.loads(data[days[day]])) for day in sorted(days)]
            for key, days in last.items()
        }

    def statuses(self) -> list[SourceStatus]:
        """Every source's last known health."""
        with self._lock:
            rows = self._db.execute("SELECT data FROM statuses ORDER BY source").fetchall()
        return [SourceStatus.from_dict(json.loads(r[0])) for r in rows]

    def load_state(self, source: str) -> dict[str, Any]:
        """A source's saved cursor ({} when none)."""
        with self._lock:
            row = self._db.execute("SELECT data FROM source_state WHERE source = ?", (source,)).fetchone()
        return dict(json.loads(row[0])) if row else {}

    def meta(self, key: str) -> Any:
        """A value stored with `set_meta` (None when absent)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- people's decisions (the moderation page) ------------------------------------------
    def decide(
        self, key: str, decision: Decision, who: str, *, action: str = "", now: datetime | None = None
    ) -> PostKind | None:
        """Record a person's decision on a stored post (and audit it as `action`, by default the
        decision's name). Returns the post's kind, or None when no such post is stored."""
        now = now or utcnow()
        with self._lock, self._transaction():
            row = self._db.execute("SELECT kind FROM posts WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            self._db.execute(
                "INSERT OR REPLACE INTO decisions (key, decision, who, at) VALUES (?,?,?,?)",
                (key, decision, who, as_utc(now).timestamp()),
            )
            self._audit(now, who, action or decision, key, "")
        return row[0]  # type: ignore[no-any-return]

    def decision(self, key: str) -> Decision | None:
        """A person's decision on one post, if any."""
        with self._lock:
            row = self._db.execute("SELECT decision FROM decisions WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def block_author(
        self,
        author: str,
        who: str,
        *,
        post_key: str = "",
        network: str = "",
        name: str = "",
        now: datetime | None = None,
    ) -> None:
        """Add `author` (handle or name) to the stored blocklist, with the network and display name of
        the post it was blocked from (for the page's list), and audit it."""
        now = now or utcnow()
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO blocked_authors (author, who, at, network, name, post_key) "
                "VALUES (?,?,?,?,?,?)",
                (author, who, as_utc(now).timestamp(), network, name, post_key),
            )
            self._audit(now, who, "block author", post_key, author)

    def unblock_author(self, author: str, who: str, *, now: datetime | None = None) -> bool:
        """Take `author` off the stored blocklist, and audit it; False when they were not on it."""
        now = now or utcnow()
        with self._lock, self._transaction():
            gone = self._db.execute(
                "DELETE FROM blocked_authors WHERE author = ? RETURNING post_key", (author,)
            ).fetchone()
            if gone is None:
                return False
            self._audit(now, who, "unblock author", gone[0], author)
        return True

    def blocked_authors(self) -> list[str]:
        """Authors blocked from the moderation page, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT author FROM blocked_authors ORDER BY at, author").fetchall()
        return [r[0] for r in rows]

    def blocked_author_list(self) -> list[BlockedAuthor]:
        """Authors blocked from the moderation page, newest first, as the page lists them. A block made
        before the list existed takes its post from the audit log, and its network from that post
        when it is still stored."""
        with self._lock:
            rows = self._db.execute(
                "SELECT b.author, b.who, b.at, b.network, b.name, "
                "COALESCE(NULLIF(b.post_key, ''), (SELECT a.post_key FROM audit a "
                "WHERE a.action = 'block author' AND a.detail = b.author ORDER BY a.id DESC LIMIT 1), '') "
                "FROM blocked_authors b ORDER BY b.at DESC, b.author"
            ).fetchall()
            blocked = []
            for author, who, at, network, name, post_key in rows:
                if not network and post_key:
                    row = self._db.execute(
                        "SELECT json_extract(data, '$.network'), json_extract(data, '$.author_name') "
                        "FROM posts WHERE key = ?",
                        (post_key,),
                    ).fetchone()
                    if row is not None:
                        network, name = row[0] or "", name or row[1] or ""
                when = datetime.fromtimestamp(at, UTC)
                blocked.append(BlockedAuthor(author, who, when, network, name, post_key))
        return blocked

    def set_panic(self, on: bool, who: str, *, now: datetime | None = None) -> None:
        """Switch the panic screen on or off (kept across restarts), and audit it."""
        now = now or utcnow()
        with self._lock, self._transaction():
            value = {"on": on, "who": who, "at": as_utc(now).isoformat()}
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('panic', ?)", (json.dumps(value),)
            )
            self._audit(now, who, "panic on" if on else "panic off", "", "")

    def panic(self) -> bool:
        """True while the panic screen replaces every panel."""
        value = self.meta("panic")
        return bool(value and value.get("on"))

    def set_crisis(self, mode: str, who: str, detail: str = "", *, now: datetime | None = None) -> None:
        """Switch crisis mode on (`mode`: pre_moderation or hide_mentions) or off (""), kept across
        restarts, and audit it with why (issue 17: an alert switches it on, a person clears it)."""
        now = now or utcnow()
        with self._lock, self._transaction():
            value = {"mode": mode, "who": who, "at": as_utc(now).isoformat(), "detail": detail}
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('crisis', ?)",
                (json.dumps(value, ensure_ascii=False),),
            )
            self._audit(now, who, f"crisis on: {mode}" if mode else "crisis off", "", detail)

    def crisis(self) -> dict[str, str] | None:
        """Crisis mode while it is on: its mode, who or what switched it on, when, and why."""
        value = self.meta("crisis")
        if not (isinstance(value, dict) and value.get("mode")):
            return None
        return {k: str(v) for k, v in value.items()}

    def set_announcement(
        self, announcement: PublishedAnnouncement | None, who: str, now: datetime | None = None
    ) -> None:
        """Publish an announcement (None: withdraw it) for every announcement panel, kept across
        restarts, and audit it with what was published (withdrawing nothing records nothing)."""
        now = now or utcnow()
        with self._lock, self._transaction():
            if announcement is None:
                gone = self._db.execute(
                    "DELETE FROM meta WHERE key = 'announcement' RETURNING value"
                ).fetchone()
                if gone is not None:
                    title = str(json.loads(gone[0]).get("title", ""))
                    self._audit(now, who, "withdraw announcement", "", title)
                return
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('announcement', ?)",
                (json.dumps(replace(announcement, who=who, at=now).to_dict(), ensure_ascii=False),),
            )
            detail = " — ".join(
                part for part in (announcement.title, announcement.text, announcement.qr) if part
            )
            self._audit(now, who, "publish announcement", "", detail)

    def announcement(self) -> PublishedAnnouncement | None:
        """The announcement published from the page, if one is."""
        value = self.meta("announcement")
        return PublishedAnnouncement.from_dict(value) if isinstance(value, dict) else None

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The latest actions of people, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, who, action, post_key, detail FROM audit ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [AuditEntry(datetime.fromtimestamp(r[0], UTC), r[1], r[2], r[3], r[4]) for r in rows]

    def post(self, key: str) -> Post | None:
        """One stored post by key."""
        with self._lock:
            row = self._db.execute("SELECT data FROM posts WHERE key = ?", (key,)).fetchone()
        return Post.from_dict(json.loads(row[0])) if row else None

    def queue(self, show: QueueFilter = "all", limit: int = 200) -> list[QueueItem]:
        """Stored posts for the moderation page, newest first, with verdict and decision."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.data, p.verdict, d.decision FROM posts p LEFT JOIN decisions d ON d.key = p.key "
                "ORDER BY p.created_ts DESC, p.key"
            ).fetchall()
        items: list[QueueItem] = []
        for data, verdict, decision in rows:
            judged = Verdict(**json.loads(verdict)) if verdict else None
            item = QueueItem(Post.from_dict(json.loads(data)), judged, decision)
            if show == "all" or item.status == show:
                items.append(item)
                if len(items) >= limit:
                    break
        return items

    def audit(self, who: str, action: str, detail: str, *, now: datetime | None = None) -> None:
        """Record a person's action that has no post (a site's panic on the fleet's page)."""
        with self._lock, self._transaction():
            self._audit(now or utcnow(), who, action, "", detail)

    def _audit(self, now: datetime, who: str, action: str, post_key: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO audit (at, who, action, post_key, detail) VALUES (?,?,?,?,?)",
            (as_utc(now).timestamp(), who, action, post_key, detail),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._wrote)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode);
    tells `wrote` whether the storage took it."""

    def __init__(self, db: sqlite3.Connection, wrote: Callable[[sqlite3.Error | None], None]) -> None:
        self._db = db
        self._wrote = wrote

    def __enter__(self) -> None:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._wrote(exc)
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._rollback()
                self._wrote(error)
                raise
            self._wrote(None)
            return
        self._rollback()
        if isinstance(exc, sqlite3.Error):
            self._wrote(exc)

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (a full disk): nothing is left to undo then.
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")


def open_resilient(
    path: Path, *, max_posts_per_source: int = 500, clock: Callable[[], datetime] = utcnow
) -> Store:
    """The wall's store at `path`, whatever state it is in, so the wall always starts (issue 12):
    a corrupt file is moved aside (`wall.sqlite3.corrupt-YYYYmmddTHHMMSS`) and a new one started; a
    folder that refuses writes (read-only, full, a file where a folder should be) gives a store in
    memory holding the last readable content. What happened is logged and kept in `Store.notices`."""
    notices: list[str] = []
    try:
        return _open_checked(path, max_posts_per_source, notices)
    except (sqlite3.Error, OSError) as exc:
        why = _open_problem(path, exc)
        if isinstance(exc, sqlite3.Error) and _primary_code(exc) in _CORRUPT_CODES:
            try:
                aside = _move_aside(path, clock())
            except OSError as move_error:
                why = f"{why}, and it cannot be moved aside: {move_error.strerror or move_error}"
            else:
                notices.append(
                    f"{path} was corrupt ({exc}): moved aside to {aside.name}, a new store started"
                )
                log.error("store: %s", notices[-1])
                try:
                    return _open_checked(path, max_posts_per_source, notices)
                except (sqlite3.Error, OSError) as again:
                    why = _open_problem(path, again)
    log.error("store: %s: running from memory with the last readable content", why)
    store = Store(path, max_posts_per_source=max_posts_per_source, in_memory_because=why)
    store.notices = notices
    return store


def _open_checked(path: Path, max_posts_per_source: int, notices: list[str]) -> Store:
    store: Store | None = None
    try:
        store = Store(path, max_posts_per_source=max_posts_per_source)
        store.check_usable()
    except BaseException:
        if store is not None:
            store.close()
        raise
    store.notices = notices
    if notices:  # kept in the new store, so `wall status` tells it after the wall stopped too
        store.set_meta("store_notices", notices)
    return store


def _open_problem(path: Path, exc: sqlite3.Error | OSError) -> str:
    if isinstance(exc, OSError):
        return f"cannot open {path}: {exc.strerror or exc} ({exc.filename or path})"
    return _storage_problem(path, exc)


def _storage_problem(path: Path, exc: sqlite3.Error) -> str:
    """One line for a person: the file, SQLite's error, and what to do about it."""
    code = _primary_code(exc)
    name = getattr(exc, "sqlite_errorname", "") or "SQLITE_ERROR"
    fix = {
        sqlite3.SQLITE_FULL: "free space on its disk",
        sqlite3.SQLITE_READONLY: "make its folder writable by the wall's user",
        sqlite3.SQLITE_CANTOPEN: "make its folder exist and writable by the wall's user",
        sqlite3.SQLITE_PERM: "make its folder writable by the wall's user",
        sqlite3.SQLITE_IOERR: "check its disk (full, read-only or failing)",
    }.get(code, "check the file and its disk")
    return f"cannot write {path}: {exc} ({name}): {fix}"


def _primary_code(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _move_aside(path: Path, now: datetime) -> Path:
    """Rename a corrupt store and its WAL files out of the way (kept for a post-mortem)."""
    suffix = f".corrupt-{now:%Y%m%dT%H%M%S}"
    aside = path.with_name(path.name + suffix)
    path.rename(aside)
    for extra in ("-wal", "-shm"):  # a stale WAL must never be replayed into the new file
        companion = path.with_name(path.name + extra)
        if companion.exists():
            companion.rename(path.with_name(path.name + extra + suffix))
    return aside


def _readable_copy(path: Path) -> sqlite3.Connection:
    """An in-memory database holding what can still be read of the file at `path` (SQLite's backup
    API), or an empty one. A read-only folder cannot hold WAL's shared-memory file, so `immutable=1`
    is the last resort (it skips the WAL's uncheckpointed tail)."""
    for options in ("mode=ro", "immutable=1") if path.is_file() else ():
        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        try:
            source = sqlite3.connect(f"file:{path}?{options}", uri=True)
            try:
                source.backup(memory)
            finally:
                source.close()
            if [row[0] for row in memory.execute("PRAGMA quick_check")] == ["ok"]:
                return memory
        except sqlite3.Error as exc:
            log.warning("store: %s cannot be read (%s): %s", path, options, exc)
        memory.close()
    return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)


def _verdict_json(verdict: Verdict | None) -> str | None:
    if verdict is None:
        return None
    return json.dumps(
        {"shown": verdict.shown, "reason": verdict.reason, "hide_media": verdict.hide_media}, sort_keys=True
    )
