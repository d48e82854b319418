"""Store-and-forward spool: a bounded, on-disk SQLite queue of outgoing MQTT messages.

Every message the edge publishes is written here first and deleted only once the broker has
acknowledged it (PUBACK), so a broken link, a broker restart or an edge crash loses nothing: on
restart the spool is replayed from its oldest row, in order, with the original payloads (and so the
original `ts`). A message replayed after a crash may reach the cloud twice; the ingestor is
idempotent on (point_id, ts), which is why at-least-once is the right trade.

* Durability: WAL journal, `synchronous=FULL`, one transaction per appended batch (a poll cycle),
  so a power cut loses at most the batch being written — not up to 999 rows as the reference did.
* Retained messages: a replayed message keeps its retain flag only if it is the newest spooled
  message of its topic, so old values never overwrite newer retained values at the broker (the
  reference's replay defect, domain §5.8).
* Bounded: `capacity` rows (default 5,000,000 ≈ 16 h of a block at schedule rates). A warning is
  logged when the spool passes 90 % (again after it fell below 80 %). When it is full, room is made
  by evicting the OLDEST TELEMETRY rows first — mode changes, alarms, heartbeats and command replies
  are kept unless nothing else is left — and every eviction is logged with its count and the
  running total (`evicted_total`). The newest data is kept because it is what operators act on, and
  billing counters are cumulative, so a later reading still carries the energy of the evicted span.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 5_000_000
WARN_RATIO, REARM_RATIO = 0.9, 0.8

SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_topic ON spool (topic, id);
"""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    kind: str = "telemetry"       # telemetry | mode | alarm | heartbeat | response
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool            # already resolved: only the newest row of a retained topic keeps it
    created_at: float


class Spool:
    def __init__(self, path: str | Path, capacity: int = DEFAULT_CAPACITY) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.capacity = int(capacity)
        self._lock = threading.Lock()
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        self.depth = int(self.conn.execute("SELECT count(*) FROM spool").fetchone()[0])
        self.evicted_total = 0
        self.appended_total = 0
        self._warned = self.depth >= WARN_RATIO * self.capacity
        if self.depth:
            log.info("spool %s: %d messages from a previous run will be replayed", self.path, self.depth)

    # -- writing ---------------------------------------------------------------------------------------
    def append(self, messages: list[Message]) -> None:
        if not messages:
            return
        now = time.time()
        rows = [(m.topic, m.payload, m.qos, int(m.retain), m.kind, m.created_at or now) for m in messages]
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                overflow = self.depth + len(rows) - self.capacity
                if overflow > 0:
                    self._evict(overflow)
                if len(rows) > self.capacity:            # a batch larger than the whole spool
                    dropped = len(rows) - self.capacity
                    rows = rows[dropped:]
                    self.evicted_total += dropped
                    log.error("spool full: %d messages of one batch dropped (capacity %d)", dropped, self.capacity)
                self.conn.executemany("INSERT INTO spool (topic, payload, qos, retain, kind, created_at) "
                                      "VALUES (?, ?, ?, ?, ?, ?)", rows)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.depth += len(rows)
            self.appended_total += len(rows)
            self._check_level()

    def _evict(self, n: int) -> None:
        """Make room for n rows: oldest telemetry first, then oldest anything. Logged, never silent."""
        cur = self.conn.execute("DELETE FROM spool WHERE id IN (SELECT id FROM spool WHERE kind = 'telemetry' "
                                "ORDER BY id LIMIT ?)", (n,))
        gone = cur.rowcount
        if gone < n:
            gone += self.conn.execute("DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY id LIMIT ?)",
                                      (n - gone,)).rowcount
        self.depth -= gone
        self.evicted_total += gone
        log.error("spool full (%d messages): evicted the %d oldest (telemetry first); %d evicted since start",
                  self.capacity, gone, self.evicted_total)

    def _check_level(self) -> None:
        if not self._warned and self.depth >= WARN_RATIO * self.capacity:
            self._warned = True
            log.warning("spool %s is %.0f %% full (%d of %d messages); when full the oldest telemetry is evicted",
                        self.path, 100 * self.depth / self.capacity, self.depth, self.capacity)
        elif self._warned and self.depth < REARM_RATIO * self.capacity:
            self._warned = False

    # -- reading / acknowledging -------------------------------------------------------------------------
    def peek(self, after_id: int = 0, limit: int = 500) -> list[Row]:
        """The next rows in order; `retain` is true only for a retained topic's newest spooled row."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT s.id, s.topic, s.payload, s.qos, s.retain, s.created_at, "
                "       NOT EXISTS (SELECT 1 FROM spool n WHERE n.topic = s.topic AND n.id > s.id) "
                "FROM spool s WHERE s.id > ? ORDER BY s.id LIMIT ?", (after_id, limit)).fetchall()
        return [Row(r[0], r[1], bytes(r[2]), r[3], bool(r[4]) and bool(r[6]), r[5]) for r in rows]

    def delete(self, ids: list[int]) -> None:
        if not ids:
            return
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            n = 0
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                n += self.conn.execute(f"DELETE FROM spool WHERE id IN ({','.join('?' * len(chunk))})",
                                       chunk).rowcount
            self.conn.execute("COMMIT")
            self.depth -= n
            self._check_level()

    def oldest_ts(self) -> float | None:
        with self._lock:
            row = self.conn.execute("SELECT created_at FROM spool ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT count(*) FROM spool").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.conn.close()
