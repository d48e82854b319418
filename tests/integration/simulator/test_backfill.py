"""History backfill into a real PostgreSQL: row counts, idempotency, mode events, physical counters."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from sqlalchemy import text

from simulator.backfill import backfill
from tests.fixtures.registry import load_demo_sites

END = datetime(2026, 3, 11, 0, 0, tzinfo=UTC)  # a Tuesday..Wednesday window of the demo block


def test_backfill_is_complete_idempotent_and_physical(engine, database_url):
    load_demo_sites(engine, ("ab-baldwinsville",))
    with engine.connect() as conn:
        points = conn.execute(text("SELECT count(*) FROM ref.points WHERE site_id = 'ab-baldwinsville' "
                                   "AND retired_at IS NULL AND protocol <> 'derived'")).scalar_one()
    first = backfill(database_url, 1, site_id="ab-baldwinsville", seed=5, end=END, progress=False)
    assert first.rows_generated == points * 1440 == first.rows_inserted
    again = backfill(database_url, 1, site_id="ab-baldwinsville", seed=5, end=END, progress=False)
    assert again.rows_generated == first.rows_generated and again.rows_inserted == 0

    with psycopg.connect(database_url) as conn:
        n_rows, lo, hi = conn.execute("SELECT count(*), min(ts), max(ts) FROM raw.telemetry").fetchone()
        assert n_rows == first.rows_generated
        assert lo == datetime(2026, 3, 10, tzinfo=UTC) and hi == datetime(2026, 3, 10, 23, 59, tzinfo=UTC)
        kwh = [r[0] for r in conn.execute(
            "SELECT t.value FROM raw.telemetry t JOIN ref.points p USING (point_id) "
            "WHERE p.tag = 'MET-01-kWh' ORDER BY t.ts")]
        assert len(kwh) == 1440 and all(b >= a for a, b in zip(kwh, kwh[1:], strict=False))
        events = conn.execute("SELECT state, previous, trigger, valves FROM raw.mode_events ORDER BY ts").fetchall()
        assert events and all(e[0] in ("EXPORT", "MIXED", "REJECT") for e in events)
        assert {"v_exp", "v_rej"} == set(events[0][3])
        uncertain = conn.execute("SELECT count(*) FROM raw.telemetry WHERE quality <> 0").fetchone()[0]
        assert uncertain < 0.01 * n_rows   # the nominal plant stays inside the registry's ranges
