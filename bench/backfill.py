"""Backfill throughput: rows/s of `mcs backfill`, against a plain binary COPY of the same rows.

    .venv/bin/python bench/backfill.py [--days 30] [--site ab-baldwinsville] [--writers 2]

Uses MCS_BENCH_DATABASE_URL (a superuser URL; a scratch database is created and dropped) or starts
an embedded PostgreSQL. Prints: the backfill (model generation + binary COPY into a temp table +
INSERT … ON CONFLICT DO NOTHING), the idempotent re-run, and the baseline — the same rows, dumped
to a file first, loaded with one plain binary COPY into an empty table with the same UNIQUE
(point_id, ts) — measured in the same run on the same server.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_db import scratch_database  # noqa: E402
from mcs.db.engine import make_engine  # noqa: E402
from mcs.registry import load_site_files, sync_registry  # noqa: E402
from simulator.backfill import backfill  # noqa: E402

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"


def plain_copy_rate(url: str, workdir: Path) -> tuple[int, float]:
    dump = workdir / "telemetry.copy"
    export = "COPY (SELECT ts, point_id, value, quality FROM raw.telemetry) TO STDOUT (FORMAT BINARY)"
    with psycopg.connect(url) as conn, conn.cursor() as cur, open(dump, "wb") as f, cur.copy(export) as cp:
        for chunk in cp:
            f.write(chunk)
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_plain (ts timestamptz NOT NULL, point_id integer NOT NULL, "
                     "value double precision, quality smallint NOT NULL, UNIQUE (point_id, ts))")
        conn.commit()
        began = time.monotonic()
        load = "COPY bench_plain (ts, point_id, value, quality) FROM STDIN (FORMAT BINARY)"
        with conn.cursor() as cur, open(dump, "rb") as f, cur.copy(load) as cp:
            while chunk := f.read(1 << 20):
                cp.write(chunk)
        conn.commit()
        seconds = time.monotonic() - began
        rows = conn.execute("SELECT count(*) FROM bench_plain").fetchone()[0]
    dump.unlink()
    return rows, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--site", default="ab-baldwinsville")
    ap.add_argument("--writers", type=int, default=2)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database() as db:
        engine = make_engine(db.url)
        sync_registry(engine, [s for s in load_site_files(SITES_DIR) if s.site_id == args.site])
        engine.dispose()
        first = backfill(db.url, args.days, site_id=args.site, writers=args.writers, progress=False)
        again = backfill(db.url, args.days, site_id=args.site, writers=args.writers, progress=False,
                         end=first.end)
        rows, copy_s = plain_copy_rate(db.url, Path(tmp))
        copy_rate = rows / copy_s
        print(f"site {args.site}, {args.days:g} days, {len(first.blocks)} block(s), "
              f"{os.cpu_count()} cores, storage {'embedded' if db.embedded else 'given server'}")
        print(f"backfill        {first.rows_generated:>12,} rows in {first.seconds:7.1f} s "
              f"= {first.rows_per_s:>9,.0f} rows/s (inserted {first.rows_inserted:,}, "
              f"{first.mode_events} mode events)")
        print(f"re-run (no-op)  {again.rows_generated:>12,} rows in {again.seconds:7.1f} s "
              f"= {again.rows_per_s:>9,.0f} rows/s (inserted {again.rows_inserted:,})")
        print(f"plain COPY      {rows:>12,} rows in {copy_s:7.1f} s = {copy_rate:>9,.0f} rows/s (baseline)")
        print(f"ratio backfill / plain COPY = {first.rows_per_s / copy_rate:.2f}")

if __name__ == "__main__":
    main()
