"""Time to rebuild one block-day of roll-ups and energy marts with dbt, in rows/s of raw scanned.

    .venv/bin/python bench/dbt_build.py [--days 2] [--site ab-baldwinsville] [--timescaledb auto|off]

Uses MCS_BENCH_DATABASE_URL (a superuser URL; a scratch database is created and dropped) or starts
an embedded PostgreSQL. Backfills `--days` of one site (one sample per point per minute), builds the
core models once (staging, roll-ups, energy, heat, efficiency, modes), then times the incremental
rebuild of one complete site-local day (`--vars {min_date: D, max_date: D}`: delete + insert of that
day in every windowed model). Prints the rebuild's database time per model, the whole invocation's
wall time (dbt start-up and parsing included), and the baseline measured in the same run on the same
server: one plain SQL statement that aggregates the same raw rows to one-minute buckets into a new
table (the least any roll-up pipeline must do).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_database  # noqa: E402
from mcs.db.engine import libpq_env, make_engine  # noqa: E402
from mcs.registry import load_site_files, sync_registry  # noqa: E402
from simulator.backfill import backfill  # noqa: E402

SELECT = ["path:models/staging", "path:models/intermediate/int_points_located.sql",
          "path:models/intermediate/int_meters_paired.sql", "path:models/intermediate/int_heat_calculated_1m.sql",
          "path:models/marts/core", "path:models/marts/rollups", "path:models/marts/energy", "path:models/marts/heat",
          "path:models/marts/efficiency", "path:models/marts/modes"]

BASELINE = """CREATE TABLE bench_minutes AS
    SELECT t.point_id, date_bin('1 minute', t.ts, TIMESTAMPTZ '2000-01-01') AS bucket,
           count(t.value) AS n, sum(t.value) AS s, min(t.value) AS lo, max(t.value) AS hi
    FROM raw.telemetry t WHERE t.ts >= %s AND t.ts < %s AND t.quality < 2
    GROUP BY 1, 2"""


def dbt(env: dict[str, str], *args: str) -> tuple[float, dict]:
    began = time.monotonic()
    cmd = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(ROOT / "dbt"),
           "--profiles-dir", str(ROOT / "dbt")]
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - began
    if result.returncode:
        sys.exit(f"dbt {args[0]} failed:\n" + "\n".join(result.stdout.splitlines()[-30:]))
    return wall, json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=2,
                        help="days of history to backfill (≥ 2: one complete day is rebuilt)")
    parser.add_argument("--site", default="ab-baldwinsville")
    parser.add_argument("--timescaledb", choices=["auto", "off"], default="auto",
                        help="storage path of the scratch database (auto: TimescaleDB where installed)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mcs-bench-dbt-") as tmp_dir, scratch_database(args.timescaledb) as db:
        tmp, url = Path(tmp_dir), db.url
        engine = make_engine(url)
        site = next(s for s in load_site_files(ROOT / "sites") if s.site_id == args.site)
        sync_registry(engine, [site])
        engine.dispose()
        tz = ZoneInfo(site.site.timezone)
        local_today = datetime.now(tz).date()
        end = datetime.combine(local_today, datetime.min.time(), tz).astimezone(UTC)   # last local midnight
        start = datetime.combine(local_today - timedelta(days=args.days), datetime.min.time(), tz).astimezone(UTC)
        report = backfill(url, (end - start) / timedelta(days=1), site_id=args.site, end=end, progress=False)
        first, day = (local_today - timedelta(days=args.days)).isoformat(), (local_today - timedelta(days=1))
        env = {**os.environ, **libpq_env(url), "DBT_TARGET_PATH": str(tmp / "target"),
               "DBT_LOG_PATH": str(tmp / "logs"), "MCS_DBT_THREADS": "2"}
        day_lo = datetime.combine(day, datetime.min.time(), tz)
        day_hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        with psycopg.connect(url) as conn:
            raw_rows = conn.execute("SELECT count(*) FROM raw.telemetry WHERE ts >= %s AND ts < %s",
                                    (day_lo, day_hi)).fetchone()[0]
        build_wall, _ = dbt(env, "run", "--select", *SELECT, "--vars",
                            json.dumps({"min_date": first, "max_date": day.isoformat()}))
        window = json.dumps({"min_date": day.isoformat(), "max_date": day.isoformat()})
        dbt(env, "parse", "--vars", window)           # so the timed run below reuses a warm partial parse
        wall, results = dbt(env, "run", "--select", *SELECT, "--vars", window)
        per_model = sorted(((r["execution_time"], r["unique_id"].split(".")[-1]) for r in results["results"]),
                           reverse=True)
        db_time = sum(t for t, _ in per_model)
        with psycopg.connect(url) as conn:
            began = time.monotonic()
            conn.execute(BASELINE, (day_lo, day_hi))
            conn.commit()
            baseline = time.monotonic() - began
        with psycopg.connect(url) as conn:
            storage = conn.execute("SELECT raw.storage_mode()").fetchone()[0]
        print(f"storage {storage}; site {args.site}: backfilled {report.rows_inserted:,} raw rows ({args.days} days); "
              f"first build of the core models {build_wall:.1f} s")
        print(f"rebuild of one block-day ({day}, {raw_rows:,} raw rows):")
        for seconds, model in per_model[:8]:
            print(f"  {model:<28} {seconds:6.2f} s")
        print(f"  all models (database time)   {db_time:6.2f} s  → {raw_rows / db_time:,.0f} raw rows/s")
        print(f"  whole dbt invocation (wall)  {wall:6.2f} s  → {raw_rows / wall:,.0f} raw rows/s")
        print(f"baseline: plain 1-minute GROUP BY of the same rows into a table {baseline:.2f} s "
              f"→ {raw_rows / baseline:,.0f} rows/s")
        print(f"ratio (dbt database time / baseline): {db_time / baseline:.1f}×; "
              f"fct_rollup_1m alone: {dict((m, t) for t, m in per_model)['fct_rollup_1m'] / baseline:.1f}×")

if __name__ == "__main__":
    main()
