"""`mcs alarms replay --from --to [--site] [--block]`: the live state machine over stored history.

Telemetry (raw.telemetry_all), mode events and edge heartbeats of the window are merged in time order
(mode before telemetry at the same instant) and fed to the same `Processor` the live engine uses, on an
in-memory store that starts empty at `--from`; silent-source / heartbeat / mode-duration checks run
on data time every `tick_s`. The result is then written with INSERT … ON CONFLICT DO NOTHING: alarm ids
are deterministic (`{block}-{tag}-{unix_ms}` of the onset) and events are unique per (alarm_id, event,
ts), so replaying a window twice changes nothing, and rows an operator has since acted on are left as
they are. An instance that would collide with an open live instance of the same condition (a window
that overlaps the live engine) is skipped with its events, never duplicated. Replay never notifies.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import Engine

from mcs.alarms.processor import MemoryStore, Processor
from mcs.alarms.rules import SuppressionRules
from mcs.alarms.state_machine import DEFAULT_POLICY, PointSpec, Policy
from mcs.alarms.store import event_params, record_params
from mcs.db.engine import libpq_url
from mcs.registry import points_for
from mcs.runtime import UserError

log = logging.getLogger("mcs.alarms.replay")

TELEMETRY_SQL = """SELECT ts, point_id, value, quality FROM raw.telemetry_all
                   WHERE ts >= %s AND ts < %s AND point_id = ANY(%s) ORDER BY ts, point_id"""
MODES_SQL = """SELECT ts, site_id, block_id, state, previous, trigger FROM raw.mode_events
               WHERE ts >= %s AND ts < %s AND (site_id, block_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
               ORDER BY ts"""
MODE_BEFORE_SQL = """SELECT DISTINCT ON (site_id, block_id) site_id, block_id, state, ts FROM raw.mode_events
                     WHERE ts < %s ORDER BY site_id, block_id, ts DESC"""
HEARTBEATS_SQL = """SELECT ts, site_id, block_id FROM raw.edge_heartbeats
                    WHERE ts >= %s AND ts < %s ORDER BY ts"""


@dataclass
class ReplayReport:
    start: datetime
    end: datetime
    blocks: list[str] = field(default_factory=list)
    rows: int = 0
    mode_events: int = 0
    heartbeats: int = 0
    alarms: int = 0
    events: int = 0
    alarms_written: int = 0
    events_written: int = 0
    skipped_conflicts: int = 0
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "rows_per_s": round(self.rows_per_s)}


def _chunks(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    lo = start
    while lo < end:
        hi = min(lo + step, end)
        yield lo, hi
        lo = hi


def run_replay(processor: Processor, conn: psycopg.Connection, specs: list[PointSpec], start: datetime,
               end: datetime, tick_s: float, chunk: timedelta, report: ReplayReport) -> None:
    """Feed the window into `processor` in time order (pure evaluation; the store decides where it lands)."""
    by_id = {s.point_id: processor.evaluators[(s.site_id, s.block_id, s.tag)] for s in specs
             if s.point_id is not None}
    ids = list(by_id)
    blocks = sorted({(s.site_id, s.block_id) for s in specs})
    for row in conn.execute(MODE_BEFORE_SQL, (start,)).fetchall():
        if (row[0], row[1]) in blocks:
            processor.restore([], {(row[0], row[1]): (row[2], row[3])}, {}, {})
    sites, blks = [b[0] for b in blocks], [b[1] for b in blocks]
    tick = timedelta(seconds=tick_s)
    next_tick = start + tick
    for lo, hi in _chunks(start, end, chunk):
        # Time-ordered merge: (ts, order, payload) with mode events (0) and heartbeats (1) before telemetry (2).
        modes = [(r[0], 0, r[1:]) for r in conn.execute(MODES_SQL, (lo, hi, sites, blks)).fetchall()]
        beats = [(r[0], 1, r[1:]) for r in conn.execute(HEARTBEATS_SQL, (lo, hi)).fetchall()
                 if (r[1], r[2]) in blocks]
        report.mode_events += len(modes)
        report.heartbeats += len(beats)
        with conn.cursor(name="alarm_replay") as cur:
            cur.itersize = 20_000
            cur.execute(TELEMETRY_SQL, (lo, hi, ids))
            telemetry = ((r[0], 2, r) for r in cur)
            for ts, kind, item in heapq.merge(modes, beats, telemetry, key=lambda x: (x[0], x[1])):
                while ts >= next_tick:
                    processor.tick(next_tick)
                    next_tick += tick
                if kind == 2:
                    ev = by_id[item[1]]
                    if item[2] is not None:
                        report.rows += 1
                        conds = processor.sample(ev, ts, item[2], item[3])
                        if conds:
                            processor.apply_all(conds)
                elif kind == 0:
                    site, block, state, previous, trigger = item
                    processor.mode(site, block, ts, state, previous, trigger)
                else:
                    processor.heartbeat(item[0], item[1], ts)


def write_result(conn: psycopg.Connection, store: MemoryStore, report: ReplayReport) -> None:
    """Insert what replay produced, changing nothing that exists (see the module docstring)."""
    recs = sorted(store.records.values(), key=lambda r: r.raised_at)
    with conn.transaction():
        for rec in recs:
            p = record_params(rec)
            cols = list(p)
            sql = (f"INSERT INTO ops.alarms ({', '.join(cols)}) VALUES ({', '.join('%(' + c + ')s' for c in cols)}) "
                   "ON CONFLICT DO NOTHING")
            report.alarms_written += conn.execute(sql, p).rowcount
        present = {r[0] for r in conn.execute("SELECT alarm_id FROM ops.alarms WHERE alarm_id = ANY(%s)",
                                              ([r.alarm_id for r in recs],)).fetchall()}
        report.skipped_conflicts = len({r.alarm_id for r in recs} - present)
        events = [event_params(e) for e in store.events if e.alarm_id in present]
        if events:
            cols = list(events[0])
            sql = (f"INSERT INTO ops.alarm_events ({', '.join(cols)}) "
                   f"VALUES ({', '.join('%(' + c + ')s' for c in cols)}) ON CONFLICT DO NOTHING")
            with conn.cursor() as cur:
                for e in events:
                    cur.execute(sql, e)
                    report.events_written += cur.rowcount


def replay(engine: Engine, database_url: str, start: datetime, end: datetime, site_id: str | None = None,
           block_id: str | None = None, policy: Policy = DEFAULT_POLICY, rules: SuppressionRules | None = None,
           tick_s: float = 300.0, chunk: timedelta = timedelta(hours=6), write: bool = True) -> ReplayReport:
    if end <= start:
        raise UserError(f"replay: --to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    specs = [PointSpec.from_row(r) for r in points_for(engine, site_id=site_id, block_id=block_id)]
    if not specs:
        raise UserError(f"replay: no registered points for site {site_id or '*'} block {block_id or '*'}")
    report = ReplayReport(start, end, sorted({f"{s.site_id}/{s.block_id}" for s in specs}))
    store = MemoryStore()
    processor = Processor(store, specs, policy, rules or SuppressionRules(), source="replay")
    began = time.monotonic()
    with psycopg.connect(libpq_url(database_url)) as conn:
        run_replay(processor, conn, specs, start, end, tick_s, chunk, report)
        report.alarms, report.events = len(store.records), len(store.events)
        if write:
            write_result(conn, store, report)
    report.seconds = time.monotonic() - began
    log.info("replay %s → %s: %d rows, %d alarms, %d events (%d / %d new) in %.1f s", start, end, report.rows,
             report.alarms, report.events, report.alarms_written, report.events_written, report.seconds)
    return report
