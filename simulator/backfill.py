"""History backfill: N days of the block model straight into raw.telemetry and raw.mode_events.

Resolution: one sample per point per `resolution_s` (default 60 s, on the model's absolute minute
grid), whatever the point's poll rate. At schedule poll rates a block is ≈ 7.6 M rows/day, 30 days
≈ 230 M rows — hours of inserts; at one-minute samples it is 270 points × 1440 = 0.39 M rows/day,
11.7 M rows for 30 days, which this machine stores in about two minutes. Live data from the
pollers keeps the full poll rate; history is what the one-minute tier would show anyway.

Writes are idempotent: binary COPY into a temporary table, then INSERT … ON CONFLICT DO NOTHING on
raw.telemetry's UNIQUE (point_id, ts); timestamps are on an absolute grid and values are a pure
function of (seed, time), so re-running a range adds nothing. Generation (numpy, this thread)
overlaps with the database work (a writer thread per connection).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg
from tqdm import tqdm

from mcs.db.engine import libpq_url, make_engine
from simulator.model.mode_fsm import Transition
from simulator.model.spec import STEP_S
from simulator.plant import SimulatedBlock, quality
from simulator.registry_view import BlockBinding, load_bindings

CHUNK_STEPS = 720          # 12 h of model steps per generated batch
PG_EPOCH_US = 946_684_800 * 1_000_000
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)
ROW_DTYPE = np.dtype([("n", ">i2"), ("l_ts", ">i4"), ("ts", ">i8"), ("l_id", ">i4"), ("id", ">i4"),
                      ("l_v", ">i4"), ("v", ">f8"), ("l_q", ">i4"), ("q", ">i2")])

CREATE_STAGE = """CREATE TEMP TABLE IF NOT EXISTS sim_backfill_stage
    (ts timestamptz NOT NULL, point_id integer NOT NULL, value double precision, quality smallint NOT NULL)"""
COPY_STAGE = "COPY sim_backfill_stage (ts, point_id, value, quality) FROM STDIN (FORMAT BINARY)"
MERGE_STAGE = """INSERT INTO raw.telemetry (ts, point_id, value, quality)
    SELECT ts, point_id, value, quality FROM sim_backfill_stage ON CONFLICT (point_id, ts) DO NOTHING"""
INSERT_MODE_EVENT = """INSERT INTO raw.mode_events
    (site_id, block_id, ts, state, previous, trigger, valves, guards, operator)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (site_id, block_id, ts) DO NOTHING"""


@dataclass
class BackfillReport:
    start: datetime
    end: datetime
    blocks: list[str] = field(default_factory=list)
    rows_generated: int = 0
    rows_inserted: int = 0
    mode_events: int = 0
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows_generated / self.seconds if self.seconds else 0.0


def copy_payload(ts_s: np.ndarray, point_ids: np.ndarray, values: np.ndarray, qualities: np.ndarray) -> bytes:
    """A PostgreSQL binary COPY stream for (timestamptz, int4, float8, int2) rows, built with numpy."""
    rows = np.empty(len(ts_s), dtype=ROW_DTYPE)
    rows["n"], rows["l_ts"], rows["l_id"], rows["l_v"], rows["l_q"] = 4, 8, 4, 8, 2
    rows["ts"] = np.round(ts_s * 1_000_000).astype(np.int64) - PG_EPOCH_US
    rows["id"], rows["v"], rows["q"] = point_ids, values, qualities
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


class Writer(threading.Thread):
    """Stages batches on its own connection; the sum of inserted rows is read after join()."""

    def __init__(self, url: str, jobs: queue.Queue) -> None:
        super().__init__(daemon=True)
        self.url, self.jobs = url, jobs
        self.inserted = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.url) as conn:
                conn.execute(CREATE_STAGE)
                while (payload := self.jobs.get()) is not None:
                    with conn.cursor() as cur:
                        with cur.copy(COPY_STAGE) as copy:
                            copy.write(payload)
                        cur.execute(MERGE_STAGE)
                        self.inserted += max(cur.rowcount, 0)
                        cur.execute("TRUNCATE sim_backfill_stage")
                    conn.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to the generating thread
            self.error = exc
            while self.jobs.get() is not None:  # drain so the producer never blocks forever
                pass


def _mode_rows(binding: BlockBinding, transitions: list[Transition], lo: float, hi: float) -> list[tuple]:
    return [(binding.spec.site_id, binding.spec.block_id, datetime.fromtimestamp(tr.ts, UTC), tr.state.name,
             tr.previous.name, tr.trigger, json.dumps(tr.valves), json.dumps(tr.guards), tr.operator)
            for tr in transitions if lo <= tr.ts < hi]


def backfill(database_url: str, days: float, site_id: str | None = None, seed: int = 0, resolution_s: int = 60,
             end: datetime | None = None, writers: int = 2, progress: bool = True) -> BackfillReport:
    if resolution_s % STEP_S:
        raise ValueError(f"resolution must be a multiple of {STEP_S} s")
    engine = make_engine(database_url)
    try:
        bindings = load_bindings(engine, site_id, seed)
    finally:
        engine.dispose()
    end_s = (int((end or datetime.now(UTC)).timestamp()) // resolution_s) * resolution_s
    start_s = end_s - int(days * 86400) // resolution_s * resolution_s
    report = BackfillReport(datetime.fromtimestamp(start_s, UTC), datetime.fromtimestamp(end_s, UTC))
    url = libpq_url(database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT raw.ensure_telemetry_partitions(%s, %s)", (report.start, report.end))

    began = time.monotonic()
    jobs: queue.Queue = queue.Queue(maxsize=2 * writers)
    pool = [Writer(url, jobs) for _ in range(writers)]
    for w in pool:
        w.start()
    total_steps = sum(max(0, (end_s - max(start_s, b.spec.epoch_s)) // STEP_S) for b in bindings)
    bar = _progress(total_steps, progress)
    mode_rows: list[tuple] = []
    try:
        for binding in bindings:
            points = [p for p in binding.points if p.point_id is not None and p.protocol != "derived"]
            if not points:
                continue
            report.blocks.append("/".join(binding.key))
            bar.set_description(f"backfill {'/'.join(binding.key)}")
            sim = SimulatedBlock(binding)
            model = sim.model
            state = model.fast_forward(model.initial_state(), max(model.step_at(start_s), 0))
            stop = model.step_at(end_s)
            ids = np.array([p.point_id for p in points], dtype=np.int32)
            while state.step < stop:
                n = min(CHUNK_STEPS, stop - state.step)
                state, frame = model.advance(state, n)
                idx = np.nonzero(frame.t.astype(np.int64) % resolution_s == 0)[0]
                t = frame.t[idx]
                values = sim.values(frame, idx, t, points)
                v = np.stack([values[p.tag] for p in points])                    # (points, samples)
                q = np.stack([quality(values[p.tag], p) for p in points])
                payload = copy_payload(np.tile(t, len(points)), np.repeat(ids, len(t)), v.ravel(), q.ravel())
                report.rows_generated += v.size
                _put(jobs, payload, pool)
                mode_rows += _mode_rows(binding, frame.transitions, start_s, end_s)
                bar.update(n)
    finally:
        for _ in pool:
            jobs.put(None)
        for w in pool:
            w.join()
        bar.close()
    for w in pool:
        if w.error is not None:
            raise w.error
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(INSERT_MODE_EVENT, mode_rows)
        conn.commit()
    report.mode_events = len(mode_rows)
    report.rows_inserted = sum(w.inserted for w in pool)
    report.seconds = time.monotonic() - began
    return report


def _put(jobs: queue.Queue, payload: bytes, pool: list[Writer]) -> None:
    """Queue a batch, failing fast if a writer died (instead of blocking on a full queue)."""
    while True:
        for w in pool:
            if w.error is not None:
                raise w.error
        try:
            jobs.put(payload, timeout=1.0)
            return
        except queue.Full:
            continue


def _progress(total: int, enabled: bool) -> tqdm:
    return tqdm(total=total, unit="min", unit_scale=True, desc="backfill (model minutes)", disable=not enabled,
                mininterval=1.0)
