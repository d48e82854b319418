"""PostgreSQL side of the ingestor: one transaction per batch, idempotent by construction.

Readings go in with binary COPY into a session temp table, then `INSERT … ON CONFLICT (point_id, ts)
DO NOTHING` (a redelivered or retained message writes nothing), then `ops.point_latest` is upserted
only where the batch holds a newer reading. Events use their own natural keys the same way. Rows
are inserted sorted by key, so two replicas writing overlapping keys lock in the same order and do
not deadlock; a deadlock or serialization failure is retried by the caller like any other failure.
The caller acknowledges the MQTT messages only after `write` returned, i.e. after COMMIT.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import psycopg

from ingest_daemons.mqtt_ingestor.router import DeadLetter, PointInfo, RegistrySnapshot, Work
from ingest_daemons.mqtt_ingestor.units import UnitMismatch, conversion
from mcs.db.engine import libpq_url

log = logging.getLogger(__name__)

CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    ts timestamptz NOT NULL, point_id integer NOT NULL, value double precision, quality smallint NOT NULL
) ON COMMIT DELETE ROWS
"""
COPY_STAGE = "COPY ingest_stage (ts, point_id, value, quality) FROM STDIN (FORMAT BINARY)"
INSERT_TELEMETRY = """
INSERT INTO raw.telemetry (ts, point_id, value, quality)
SELECT ts, point_id, value, quality FROM ingest_stage ORDER BY point_id, ts
ON CONFLICT (point_id, ts) DO NOTHING
"""
UPSERT_LATEST = """
INSERT INTO ops.point_latest AS l (point_id, ts, value, quality, received_at)
SELECT DISTINCT ON (point_id) point_id, ts, value, quality, now() FROM ingest_stage ORDER BY point_id, ts DESC
ON CONFLICT (point_id) DO UPDATE
SET ts = excluded.ts, value = excluded.value, quality = excluded.quality, received_at = excluded.received_at
WHERE l.ts < excluded.ts
"""
INSERT_DEAD = """
INSERT INTO raw.dead_letter (topic, payload, payload_size, category, reason) VALUES (%s, %s, %s, %s, %s)
"""
INSERT_UNREGISTERED = """
INSERT INTO raw.unregistered_readings (site_id, block_id, subsystem, tag, ts, value, quality, unit)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (site_id, block_id, tag, ts) DO NOTHING
"""
INSERT_MODE = """
INSERT INTO raw.mode_events (site_id, block_id, ts, state, previous, trigger, valves, guards, operator)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s) ON CONFLICT (site_id, block_id, ts) DO NOTHING
"""
INSERT_HEARTBEAT = """
INSERT INTO raw.edge_heartbeats (site_id, block_id, ts, edge_id, uptime_s, adapters, buffer, system)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s::jsonb) ON CONFLICT (site_id, block_id, ts) DO NOTHING
"""
INSERT_ALARM = """
INSERT INTO raw.edge_alarm_events (site_id, block_id, ts, alarm_id, action, priority, sensor_tag, subsystem,
                                   value, threshold, direction, description)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (alarm_id, action, ts) DO NOTHING
"""
INSERT_RESPONSE = """
INSERT INTO raw.command_responses (site_id, block_id, ts, request_id, status, reason, result)
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (request_id, ts) DO NOTHING
"""
# First answer wins (a redelivered reply changes nothing); a reply after the command timed out
# still records what the edge did.
UPDATE_COMMAND = """
UPDATE ops.commands
SET status = %(status)s, answered_at = %(ts)s,
    response = jsonb_strip_nulls(jsonb_build_object('status', %(status)s::text, 'reason', %(reason)s::text,
                                                    'result', %(result)s::jsonb))
WHERE request_id = %(request_id)s AND answered_at IS NULL
"""
SELECT_POINTS = """
SELECT site_id, block_id, tag, point_id, unit, subsystem, poll_ms FROM ref.active_points
"""
SELECT_BLOCKS = "SELECT site_id, block_id FROM ref.blocks WHERE retired_at IS NULL"
# Claim held readings whose point now exists (DELETE … RETURNING: a second replica cannot claim them too).
CLAIM_UNREGISTERED = """
DELETE FROM raw.unregistered_readings u
USING ref.active_points p
WHERE p.site_id = u.site_id AND p.block_id = u.block_id AND p.tag = u.tag
RETURNING u.site_id, u.block_id, u.subsystem, u.tag, u.ts, u.value, u.quality, u.unit, p.point_id, p.unit
"""


@dataclass
class WriteResult:
    written: int = 0
    duplicates: int = 0


class Store:
    """One psycopg connection for the data path (reconnects on demand)."""

    def __init__(self, database_url: str) -> None:
        self.url = libpq_url(database_url)
        self.conn: psycopg.Connection[Any] | None = None
        self.storage_mode = "postgres"
        self._partition_days: set[date] = set()

    def connect(self) -> psycopg.Connection[Any]:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.close()
            conn = psycopg.connect(self.url, connect_timeout=10, application_name="mcs-ingest")
            conn.execute(CREATE_STAGE)
            self.storage_mode = conn.execute("SELECT raw.storage_mode()").fetchone()[0]  # type: ignore[index]
            conn.commit()
            self.conn = conn
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):     # closing a broken connection
                self.conn.close()
            self.conn = None

    # ---------------------------------------------------------------------------------- registry
    def load_registry(self) -> RegistrySnapshot:
        conn = self.connect()
        snap = RegistrySnapshot()
        with conn.transaction():
            for site, block, tag, pid, unit, subsystem, poll_ms in conn.execute(SELECT_POINTS):
                snap.points[(site, block, tag)] = PointInfo(pid, unit, subsystem, poll_ms)
            snap.blocks = {(s, b) for s, b in conn.execute(SELECT_BLOCKS)}
        return snap

    def release_unregistered(self) -> tuple[int, int]:
        """Move held readings of points registered since into raw.telemetry: (released, dead-lettered)."""
        conn = self.connect()
        with conn.transaction():
            claimed = conn.execute(CLAIM_UNREGISTERED).fetchall()
            if not claimed:
                return 0, 0
            work = Work()
            for site, block, subsystem, tag, ts, value, quality, unit, pid, canonical in claimed:
                try:
                    scale, offset = conversion(unit or "", canonical)
                except UnitMismatch as exc:
                    payload = orjson.dumps({"tag": tag, "ts": ts.isoformat(), "v": value, "u": unit, "q": quality})
                    work.dead.append(DeadLetter(f"microlink/{site}/{block}/{subsystem}/{tag}", payload,
                                                "UNIT_ERROR", f"held reading released: {exc}"))
                    continue
                work.rows.append((ts, pid, value * scale + offset, quality))
            self._write_in_tx(conn, work)
        log.info("released %d held readings of newly registered points (%d unit errors)", len(work.rows),
                 len(work.dead))
        return len(work.rows), len(work.dead)

    # -------------------------------------------------------------------------------------- write
    def ensure_partitions(self, work: Work) -> None:
        """Daily partitions for the batch's days (plain-PostgreSQL storage), in their own short
        transaction: partition creation locks raw.telemetry, which must not be held with a batch."""
        if self.storage_mode != "postgres" or not work.rows:
            return
        first = min(r[0] for r in work.rows).astimezone(UTC).date()
        last = max(r[0] for r in work.rows).astimezone(UTC).date()
        days = {first + timedelta(days=i) for i in range((last - first).days + 1)}
        missing = days - self._partition_days
        if not missing:
            return
        conn = self.connect()
        lo = datetime.combine(min(missing), datetime.min.time(), UTC)
        hi = datetime.combine(max(missing), datetime.min.time(), UTC) + timedelta(days=1)
        with conn.transaction():
            conn.execute("SELECT raw.ensure_telemetry_partitions(%s, %s)", (lo, hi))
        self._partition_days |= missing

    def write(self, work: Work) -> WriteResult:
        conn = self.connect()
        self.ensure_partitions(work)
        with conn.transaction():
            return self._write_in_tx(conn, work)

    def _write_in_tx(self, conn: psycopg.Connection[Any], work: Work) -> WriteResult:
        result = WriteResult()
        if work.rows:
            with conn.cursor() as cur:
                with cur.copy(COPY_STAGE) as copy:
                    copy.set_types(["timestamptz", "int4", "float8", "int2"])
                    for row in work.rows:
                        copy.write_row(row)
                cur.execute(INSERT_TELEMETRY)
                result.written = cur.rowcount
                result.duplicates = len(work.rows) - cur.rowcount
                cur.execute(UPSERT_LATEST)
        with conn.cursor() as cur:
            if work.dead:
                cur.executemany(INSERT_DEAD, [d.row() for d in work.dead])
            if work.unregistered:
                cur.executemany(INSERT_UNREGISTERED, sorted(work.unregistered, key=lambda r: (r[0], r[1], r[3], r[4])))
            if work.modes:
                cur.executemany(INSERT_MODE, sorted(work.modes, key=lambda r: (r[0], r[1], r[2])))
            if work.heartbeats:
                cur.executemany(INSERT_HEARTBEAT, sorted(work.heartbeats, key=lambda r: (r[0], r[1], r[2])))
            if work.alarms:
                cur.executemany(INSERT_ALARM, sorted(work.alarms, key=lambda r: (r[3], r[4], r[2])))
            if work.responses:
                responses = sorted(work.responses, key=lambda r: (r[3], r[2]))
                cur.executemany(INSERT_RESPONSE, responses)
                cur.executemany(UPDATE_COMMAND, [{"status": r[4], "ts": r[2], "reason": r[5], "result": r[6],
                                                  "request_id": r[3]} for r in responses])
        return result
