"""Server-side render time of the Streamlit pages (p50/p95), against an empty page in the same run.

    .venv/bin/python bench/streamlit_render.py [--days 35] [--runs 30]

Uses MCS_BENCH_DATABASE_URL (a superuser URL; a scratch database is created and dropped) or starts
an embedded PostgreSQL; loads the demo site ab-baldwinsville, backfills `--days` of one-minute
history (a month-plus: 35 days ≈ 13.6 M rows) and fills ops.point_latest. Each page is rendered by
streamlit.testing AppTest (the same script run the server does per rerun, minus the websocket):

* baseline — a page with one title (Streamlit's own per-run overhead);
* Live NOC, live caches cold — the data Streamlit caches for 2–5 s (latest values, mode, alarm
  counts, heartbeat) is dropped before every run, as on a NOC wall refreshing every 5 s;
* Live NOC, warm — every query answered from the TTL cache (other viewers of the same block);
* trend of 10 points over 90 days (daily tier) and over 30 days (hourly tier), series cache cold —
  first reading raw.telemetry (no dbt marts yet: queries bucket raw rows with the tiering rule), then,
  with `--rollups` (default), after `dbt run --select +fct_rollup_1d` built the roll-up marts that
  mcs.tiering reads in production.

Targets (issue 8): Live NOC p95 < 300 ms; 90-day trend of 10 points p95 < 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch_db import scratch_database  # noqa: E402
from mcs.db.engine import libpq_url, make_engine  # noqa: E402
from mcs.registry import load_site_files, sync_registry  # noqa: E402

APP = str(ROOT / "streamlit_app" / "app.py")
SITE, BLOCK = "ab-baldwinsville", "block-01"
TREND_TAGS = ["TT-L2s", "TT-L2r", "FT-L2", "TT-HXsOut", "TT-HXsIn", "MET-T1-kWt", "MET-01-kW", "PDU-01-kW",
              "TT-R01-in", "TT-AMB"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def measure(name: str, at: object, runs: int, before: Callable[[], None] | None = None) -> tuple[float, float]:
    at.run()  # type: ignore[attr-defined]  # warm-up (imports, registry caches, first connections)
    if at.exception:  # type: ignore[attr-defined]
        raise SystemExit(f"{name}: the page raised {[e.message for e in at.exception]}")  # type: ignore[attr-defined]
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        began = time.perf_counter()
        at.run()  # type: ignore[attr-defined]
        times.append((time.perf_counter() - began) * 1000)
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"{name:<44} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({runs} runs)")
    return p50, p95


def signed_in(page: str, state: dict[str, object] | None = None):  # noqa: ANN201 - an AppTest
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["mcs_user"] = {"username": "bench", "name": "Bench", "role": "admin", "sites": []}
    at.run()
    at.switch_page(page)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at


def build_rollups(url: str, workdir: Path) -> None:
    """dbt run of the roll-up marts and their parents, with dbt's target/logs outside the shared tree."""
    import subprocess

    from mcs.db.engine import libpq_env

    env = {**os.environ, **libpq_env(url)}
    cmd = [str(Path(sys.executable).parent / "dbt"), "run", "--select", "+fct_rollup_1d", "--project-dir",
           str(ROOT / "dbt"), "--profiles-dir", str(ROOT / "dbt"), "--target-path", str(workdir / "dbt-target"),
           "--log-path", str(workdir / "dbt-logs"), "--full-refresh", "--quiet"]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dbt run failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=35.0)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-rollups", dest="rollups", action="store_false",
                    help="skip building the dbt roll-up marts (only the raw-fallback trend figures)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database() as db:
        url = db.url
        from streamlit.testing.v1 import AppTest

        from simulator.backfill import backfill

        engine = make_engine(url)
        sync_registry(engine, [s for s in load_site_files(ROOT / "sites") if s.site_id == SITE])
        engine.dispose()
        began = time.monotonic()
        report = backfill(url, args.days, site_id=SITE, progress=False)
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute("""INSERT INTO ops.point_latest (point_id, ts, value, quality)
                            SELECT DISTINCT ON (point_id) point_id, ts, value, quality FROM raw.telemetry
                            WHERE ts >= now() - interval '15 minutes' ORDER BY point_id, ts DESC""")
            conn.execute("ANALYZE")
            conn.commit()
        print(f"{SITE}/{BLOCK}: {args.days:g} days, {report.rows_inserted:,} rows backfilled in "
              f"{time.monotonic() - began:.0f} s; {os.cpu_count()} cores; "
              f"{'embedded PostgreSQL' if db.embedded else 'given server'}, no dbt marts (raw-tier fallback); "
              f"load average {os.getloadavg()[0]:.1f}")
        os.environ["MCS_DATABASE_URL"] = url

        from streamlit_app import queries as q

        def live_cold() -> None:
            for fn in (q.latest, q.mode_now, q.alarm_counts, q.edge_heartbeat):
                fn.clear()

        base_p50, base_p95 = measure("baseline: empty page", AppTest.from_string(
            "import streamlit as st\nst.title('baseline')", default_timeout=60), args.runs)
        noc = signed_in("pages/operators/live_noc.py")
        noc_p50, noc_p95 = measure("Live NOC, live caches cold", noc, args.runs, live_cold)
        measure("Live NOC, warm caches", noc, args.runs)
        trend90 = signed_in("pages/analysts/trends.py", {"trend_tags": TREND_TAGS, "trend_range": "90 days"})
        t90_p50, t90_p95 = measure("trend 10 points x 90 days (1 day), cold", trend90, max(args.runs // 3, 5),
                                   q.series.clear)
        trend30 = signed_in("pages/analysts/trends.py", {"trend_tags": TREND_TAGS, "trend_range": "30 days"})
        measure("trend 10 points x 30 days (1 h), cold", trend30, max(args.runs // 3, 5), q.series.clear)
        if args.rollups:
            began = time.monotonic()
            build_rollups(url, Path(tmp))
            print(f"dbt roll-up marts (+fct_rollup_1d) built in {time.monotonic() - began:.0f} s")
            trend90 = signed_in("pages/analysts/trends.py", {"trend_tags": TREND_TAGS, "trend_range": "90 days"})
            t90_p50, t90_p95 = measure("trend 10 points x 90 days (1 day), marts", trend90,
                                       max(args.runs // 3, 5), q.series.clear)
            trend30 = signed_in("pages/analysts/trends.py", {"trend_tags": TREND_TAGS, "trend_range": "30 days"})
            measure("trend 10 points x 30 days (1 h), marts", trend30, max(args.runs // 3, 5), q.series.clear)
        print(f"load average at the end {os.getloadavg()[0]:.1f} (other processes on this machine skew figures)")
        print(f"Live NOC p95 / baseline p95 = {noc_p95 / base_p95:.1f}x; target p95 < 300 ms: "
              f"{'met' if noc_p95 < 300 else 'NOT met'}")
        print(f"90-day trend p95 / baseline p95 = {t90_p95 / base_p95:.1f}x; target p95 < 1000 ms: "
              f"{'met' if t90_p95 < 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
