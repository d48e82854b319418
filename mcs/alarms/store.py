"""ops.alarms / ops.alarm_events in PostgreSQL: the one authoritative alarm state.

Every read of an alarm row in a transaction takes its row lock (SELECT … FOR UPDATE), so the engine
(any number of replicas), replay and operators (any number of app sessions) serialise on the row they
change; whoever comes second sees the first one's result (two acks → one ACKED). Rows of a block are
locked in alarm_id order. A deadlock, or two replicas inserting the first instance of one condition
at once (the partial unique index refuses the second), surfaces as `Conflict`: the caller retries the
whole transaction, which then finds the other writer's row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from typing import Any

from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mcs.alarms.processor import Conflict
from mcs.alarms.state_machine import AlarmRecord, EventRow

RECORD_FIELDS = tuple(f.name for f in fields(AlarmRecord))
_COLS = ", ".join(RECORD_FIELDS)


def _row_to_record(row: Any) -> AlarmRecord:
    d = {k: row[k] for k in RECORD_FIELDS}
    d["edge_alarm_ids"] = tuple(d["edge_alarm_ids"] or ())
    return AlarmRecord(**d)


SELECT_OPEN_FOR = text(f"""SELECT {_COLS} FROM ops.alarms
    WHERE site_id = :site_id AND block_id = :block_id AND tag = :tag AND kind = :kind AND state <> 'CLOSED'
    FOR UPDATE""")
SELECT_BY_ID = text(f"SELECT {_COLS} FROM ops.alarms WHERE alarm_id = :alarm_id FOR UPDATE")
SELECT_BY_EDGE_ID = text(f"""SELECT {_COLS} FROM ops.alarms WHERE edge_alarm_ids @> ARRAY[CAST(:aid AS text)]
    ORDER BY raised_at DESC LIMIT 1 FOR UPDATE""")
SELECT_OPEN_IN_BLOCK = text(f"""SELECT {_COLS} FROM ops.alarms
    WHERE site_id = :site_id AND block_id = :block_id AND state <> 'CLOSED' ORDER BY alarm_id FOR UPDATE""")
SELECT_LATEST_FOR = text(f"""SELECT {_COLS} FROM ops.alarms
    WHERE site_id = :site_id AND block_id = :block_id AND tag = :tag ORDER BY raised_at DESC, alarm_id DESC LIMIT 1""")
UPSERT = text(f"""INSERT INTO ops.alarms ({_COLS}, updated_at)
    VALUES ({", ".join(":" + f for f in RECORD_FIELDS)}, now())
    ON CONFLICT (alarm_id) DO UPDATE SET
    {", ".join(f"{f} = excluded.{f}" for f in RECORD_FIELDS if f != "alarm_id")}, updated_at = now()""")
INSERT_EVENT = text("""INSERT INTO ops.alarm_events
    (alarm_id, site_id, block_id, tag, priority, ts, event, state_after, value, threshold, actor, reason, source)
    VALUES (:alarm_id, :site_id, :block_id, :tag, :priority, :ts, :event, :state_after, :value, :threshold, :actor,
            :reason, :source)
    ON CONFLICT (alarm_id, event, ts) DO NOTHING RETURNING event_id""")


def record_params(rec: AlarmRecord) -> dict[str, Any]:
    d = {f: getattr(rec, f) for f in RECORD_FIELDS}
    d["edge_alarm_ids"] = list(rec.edge_alarm_ids)
    return d


def event_params(e: EventRow) -> dict[str, Any]:
    return {f.name: getattr(e, f.name) for f in fields(EventRow)}


class DbTx:
    """One transaction over ops.alarms; see the module docstring for the locking rules."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, sql: Any, **params: Any) -> AlarmRecord | None:
        row = self.conn.execute(sql, params).mappings().first()
        return _row_to_record(row) if row is not None else None

    def open_for(self, site_id: str, block_id: str, tag: str, kind: str) -> AlarmRecord | None:
        return self._one(SELECT_OPEN_FOR, site_id=site_id, block_id=block_id, tag=tag, kind=kind)

    def get(self, alarm_id: str) -> AlarmRecord | None:
        return self._one(SELECT_BY_ID, alarm_id=alarm_id)

    def by_edge_id(self, edge_alarm_id: str) -> AlarmRecord | None:
        return self._one(SELECT_BY_EDGE_ID, aid=edge_alarm_id)

    def open_in_block(self, site_id: str, block_id: str) -> list[AlarmRecord]:
        rows = self.conn.execute(SELECT_OPEN_IN_BLOCK, {"site_id": site_id, "block_id": block_id}).mappings().all()
        return [_row_to_record(r) for r in rows]

    def latest_for(self, site_id: str, block_id: str, tag: str) -> AlarmRecord | None:
        return self._one(SELECT_LATEST_FOR, site_id=site_id, block_id=block_id, tag=tag)

    def save(self, rec: AlarmRecord, events: list[EventRow]) -> list[EventRow]:
        self.conn.execute(UPSERT, record_params(rec))
        new = []
        for e in events:
            if self.conn.execute(INSERT_EVENT, event_params(e)).first() is not None:
                new.append(e)
        return new


class DbStore:
    """The PostgreSQL store (SQLAlchemy engine, psycopg 3)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[DbTx]:
        try:
            with self.engine.begin() as conn:
                yield DbTx(conn)
        except DBAPIError as exc:
            if isinstance(exc.orig, (pg_errors.DeadlockDetected, pg_errors.UniqueViolation,
                                     pg_errors.SerializationFailure, pg_errors.LockNotAvailable)):
                raise Conflict(str(exc.orig)) from exc
            raise


# ------------------------------------------------------------------------------ restart state
def load_open(engine: Engine) -> list[AlarmRecord]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {_COLS} FROM ops.alarms WHERE state <> 'CLOSED'")).mappings().all()
    return [_row_to_record(r) for r in rows]


def load_modes(engine: Engine) -> dict[tuple[str, str], tuple[str, datetime]]:
    with engine.connect() as conn:
        rows = conn.execute(text("""SELECT DISTINCT ON (site_id, block_id) site_id, block_id, state, ts
                                    FROM raw.mode_events ORDER BY site_id, block_id, ts DESC""")).all()
    return {(r.site_id, r.block_id): (r.state, r.ts) for r in rows}


def load_heartbeats(engine: Engine) -> dict[tuple[str, str], datetime]:
    """Last heartbeat per block as the ingestor received it (its arrival time: the engine's clock)."""
    with engine.connect() as conn:
        rows = conn.execute(text("""SELECT site_id, block_id, max(received_at) AS ts FROM raw.edge_heartbeats
                                    GROUP BY 1, 2""")).all()
    return {(r.site_id, r.block_id): r.ts for r in rows}


def load_last_seen(engine: Engine) -> dict[tuple[str, str, str], datetime]:
    with engine.connect() as conn:
        rows = conn.execute(text("""SELECT p.site_id, p.block_id, p.tag, l.received_at FROM ops.point_latest l
                                    JOIN ref.points p USING (point_id)""")).all()
    return {(r.site_id, r.block_id, r.tag): r.received_at for r in rows}


def expired_shelves(engine: Engine, now: datetime, limit: int = 200) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("""SELECT alarm_id FROM ops.alarms WHERE state <> 'CLOSED'
                                    AND shelved_until IS NOT NULL AND shelved_until <= :now LIMIT :limit"""),
                            {"now": now, "limit": limit}).all()
    return [r.alarm_id for r in rows]
