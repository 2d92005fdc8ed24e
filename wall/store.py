"""What the wall has seen, kept in SQLite so a restart shows the last content at once.

Posts are upserted by key (source + id), so re-polling is idempotent and an edit replaces the
old text; deletions remove the row; each source keeps at most `max_posts_per_source` posts.
Every count observation that changes a value is kept (30 days) for deltas and sparklines.
People's moderation decisions, the authors they blocked (until unblocked), the panic flag, the
announcement published from the page and the audit log of their actions are kept apart from the
rules' verdicts, so re-judging never undoes them (`wall.decisions`).
The database runs in WAL mode with `synchronous=FULL`: a kill -9 or a power cut loses nothing that
was committed. Methods are synchronous and thread-safe; the poller calls `apply` from a worker
thread so SQLite never blocks the GUI thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from wall.decisions import (
    AuditEntry,
    BlockedAuthor,
    Decision,
    PublishedAnnouncement,
    QueueFilter,
    QueueItem,
)
from wall.model import Batch, Count, Post, PostKind, SourceStatus, as_utc, iso, utcnow
from wall.moderation import BLOCKED_AUTHOR, Verdict

SCHEMA_VERSION = 1
COUNT_HISTORY_DAYS = 30
COUNT_SAMPLE_SECONDS = 600  # an unchanged value is recorded again at most every 10 minutes

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
# and approved or pinned by a person, else allowed by the rules. `wall.decisions.status_of` agrees.
_SHOWN = (
    "COALESCE(d.decision, '') != 'hide' AND COALESCE(json_extract(p.verdict, '$.reason'), '') != ? "
    "AND (d.decision IN ('approve', 'pin') OR p.verdict IS NULL OR json_extract(p.verdict, '$.shown'))"
)


@dataclass(slots=True)
class StoreChange:
    """What an `apply` changed, so the hub refreshes only what it must."""

    kinds: set[PostKind] = field(default_factory=set)
    counts: bool = False

    def __bool__(self) -> bool:
        return bool(self.kinds or self.counts)


class Store:
    """SQLite-backed posts, counts, statuses and source cursors."""

    def __init__(self, path: Path | str, *, max_posts_per_source: int = 500, read_only: bool = False) -> None:
        self.path = Path(path)
        self.max_posts_per_source = max_posts_per_source
        self._lock = threading.Lock()
        if read_only:  # `wall status`: never create nor change the running wall's database
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, check_same_thread=False, isolation_level=None, timeout=10
            )
            return
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
            return cur.rowcount

    def save_status(self, status: SourceStatus) -> None:
        """Remember a source's health (read by `wall status`)."""
        self._put("statuses", status.source, status.to_dict())

    def save_state(self, source: str, state: Mapping[str, Any]) -> None:
        """Remember a source's cursor so a restart resumes where it stopped."""
        self._put("source_state", source, dict(state))

    def set_meta(self, key: str, value: Any) -> None:
        """Store a small JSON value (runtime info for `wall status`)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (key, json.dumps(value, default=str)),
            )

    def _put(self, table: str, source: str, data: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} (source, data) VALUES (?, ?)",
                (source, json.dumps(data, ensure_ascii=False, default=str)),
            )

    # --- reads -------------------------------------------------------------------------
    def recent_posts(self, kind: PostKind, limit: int = 50) -> list[Post]:
        """Posts of one kind that moderation and people let on screen: pinned first, then newest
        first (pictures removed where moderation said so)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT p.data, p.verdict FROM posts p LEFT JOIN decisions d ON d.key = p.key "
                f"WHERE p.kind = ? AND {_SHOWN} "
                "ORDER BY COALESCE(d.decision = 'pin', 0) DESC, p.created_ts DESC LIMIT ?",
                (kind, BLOCKED_AUTHOR, limit),
            ).fetchall()
        posts = []
        for data, verdict in rows:
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
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM posts WHERE source = ? ORDER BY created_ts", (source,)
            ).fetchall()
        return [Post.from_dict(json.loads(r[0])) for r in rows]

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
                "FROM counts GROUP BY key) m ON c.key = m.key AND c.observed_ts = m.ts ORDER BY m.first"
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
        """`wall.counts.daily_history(self.count_history(since), zone)` without decoding every row:
        per counter key, the last observation with a value of each local day, oldest first.

        The wall asks for it after every poll that changed a count, and a week of polls is thousands
        of rows per counter: decoding them all made a burst of small Python objects that grew with
        the history (8.7 MB for a week of 14 counters), and Python's heap seldom gives back what a
        burst took: objects kept meanwhile pin its arenas (the soak's growth after day 2).
        """
        last: dict[str, dict[date, int]] = {}  # key -> local day -> rowid of its last observation
        with self._lock:
            rows = self._db.execute(
                "SELECT key, observed_ts, value IS NULL, rowid FROM counts WHERE observed_ts >= ? "
                "ORDER BY observed_ts",
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

    def _audit(self, now: datetime, who: str, action: str, post_key: str, detail: str) -> None:
        self._db.execute(
            "INSERT INTO audit (at, who, action, post_key, detail) VALUES (?,?,?,?,?)",
            (as_utc(now).timestamp(), who, action, post_key, detail),
        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _verdict_json(verdict: Verdict | None) -> str | None:
    if verdict is None:
        return None
    return json.dumps(
        {"shown": verdict.shown, "reason": verdict.reason, "hide_media": verdict.hide_media}, sort_keys=True
    )
