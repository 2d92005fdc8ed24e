"""The detector's own compact copy of the posts it watches, in `signals.sqlite3` beside the store.

The store keeps at most `max_posts_per_source` posts (500 by default: half a day of a busy source),
but the baselines need a week: each watched post is kept here as the detector counts it (its key,
time, hidden or not, tone, watch words) for `baseline_days` + 1 days, so a restart starts with its
baselines whatever the store's cap. Nothing a person wrote or is named by (text, author, link) is
kept here: a post purged for consent or retention leaves no content behind; an alert quotes only
posts the store still has or this run saw. Used from the store thread only. A file that cannot be
opened gives a log in memory (the detector then learns again), as the store itself does.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from wall.engine.signals.detector import Observation

log = logging.getLogger("wall.engine.signals.observations")

FILE_NAME = "signals.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    key TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    hidden INTEGER NOT NULL,
    tone REAL,
    watch TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS observations_by_time ON observations (ts);
"""


class ObservationLog:
    """Observations kept in SQLite (see the module doc)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            self._db = self._open(self.path)
        except sqlite3.Error as exc:
            log.warning("signals: cannot use %s (%s): baselines kept in memory until a restart", path, exc)
            self._db = self._open(":memory:")

    @staticmethod
    def _open(path: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        return db

    def load(self) -> list[Observation]:
        """Every kept observation, oldest first."""
        rows = self._db.execute(
            "SELECT key, ts, hidden, tone, watch FROM observations ORDER BY ts"
        ).fetchall()
        return [
            Observation(key, ts, bool(hidden), tone, tuple(json.loads(watch)), url="", author="", excerpt="")
            for key, ts, hidden, tone, watch in rows
        ]

    def save(self, observations: Iterable[Observation]) -> None:
        """Keep (or replace, for an edit) these observations, in one transaction."""
        rows = [(o.key, o.ts, int(o.hidden), o.tone, json.dumps(o.watch)) for o in observations]
        self._write("INSERT OR REPLACE INTO observations VALUES (?,?,?,?,?)", rows)

    def forget(self, keys: Iterable[str]) -> None:
        """Drop the observations of deleted posts."""
        self._write("DELETE FROM observations WHERE key = ?", [(key,) for key in keys])

    def prune(self, before: float) -> None:
        """Drop the observations older than `before` (POSIX seconds)."""
        self._write("DELETE FROM observations WHERE ts < ?", [(before,)])

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def _write(self, statement: str, rows: Sequence[tuple[object, ...]]) -> None:
        if not rows:
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(statement, rows)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:  # a full disk: the detector goes on from memory
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            log.warning("signals: cannot write %s: %s", self.path, exc)


def log_path(store_path: Path, in_memory: bool) -> Path | str:
    """Where the observations live: beside the store's file, in memory when the store is."""
    if in_memory or str(store_path) == ":memory:":
        return ":memory:"
    return store_path.with_name(FILE_NAME)
