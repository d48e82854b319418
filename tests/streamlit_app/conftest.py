"""One database for all Streamlit page tests: demo sites, a few hours of simulated history, live values.

Built once per session (≈ 10 s): the registry (both demo sites), a 3-hour backfill of
ab-baldwinsville/block-01 through the real simulator, ops.point_latest filled from the newest raw
reading per point (what the ingestor maintains), a handful of alarms in ops.alarms with their
RAISED events, one command and one report artifact with files on disk. Tests that change state
(acknowledging) use their own alarm rows, so test order does not matter.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from streamlit.testing.v1 import AppTest

from mcs.db.engine import make_engine
from tests.conftest import with_database
from tests.fixtures.registry import load_demo_sites

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py")
SITE, BLOCK = "ab-baldwinsville", "block-01"
BACKFILL_HOURS = 3

ALARMS = [
    # alarm_id, tag, subsystem, priority, state, minutes ago, value, threshold, description
    ("seed-TT-L2s-1", "TT-L2s", "thermal-l2", "P1", "ACTIVE_UNACK", 40, 53.2, 52.0, "Loop 2 supply high"),
    ("seed-PT-HX-dP-1", "PT-HX-dP", "thermal-hx", "P2", "ACTIVE_UNACK", 90, 51.8, 50.0, "HX dP high (fouling)"),
    ("seed-SW-01-cpu-1", "SW-01-cpu", "network", "P3", "RTN_UNACK", 120, 85.0, 80.0, "Core switch CPU high"),
    ("seed-VIB-01-1", "VIB-01", "thermal-l2", "P2", "ACTIVE_ACK", 150, 7.4, 7.1, "Pump PP-01 vibration high"),
    # Reserved for the acknowledge tests (each test acts on its own rows).
    ("ack-single-TT-CDU1r", "TT-CDU1r", "thermal-l1", "P1", "ACTIVE_UNACK", 10, 52.0, 50.0, "CDU-01 return high"),
    ("ack-bulk-TT-R01-in", "TT-R01-in", "environmental", "P2", "ACTIVE_UNACK", 12, 30.1, 29.0, "Rack 01 inlet high"),
    ("ack-bulk-TT-R02-in", "TT-R02-in", "environmental", "P2", "ACTIVE_UNACK", 13, 30.3, 29.0, "Rack 02 inlet high"),
    ("finance-TT-R03-in", "TT-R03-in", "environmental", "P3", "ACTIVE_UNACK", 14, 28.4, 28.0, "Rack 03 inlet high"),
    ("shelve-TT-R04-in", "TT-R04-in", "environmental", "P3", "ACTIVE_UNACK", 15, 28.5, 28.0, "Rack 04 inlet high"),
]


def seed_live_and_alarms(url: str, report_dir: Path) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        # What the ingestor maintains: the newest reading of every point.
        conn.execute("""
            INSERT INTO ops.point_latest (point_id, ts, value, quality)
            SELECT DISTINCT ON (point_id) point_id, ts, value, quality FROM raw.telemetry
            ORDER BY point_id, ts DESC
            ON CONFLICT (point_id) DO UPDATE SET ts = excluded.ts, value = excluded.value""")
        for alarm_id, tag, sub, pri, state, ago, value, thr, desc in ALARMS:
            raised = now - timedelta(minutes=ago)
            pid = conn.execute("SELECT point_id FROM ref.points WHERE site_id=%s AND block_id=%s AND tag=%s",
                               (SITE, BLOCK, tag)).fetchone()
            acked = raised + timedelta(minutes=2) if state == "ACTIVE_ACK" else None
            cleared = raised + timedelta(minutes=5) if state == "RTN_UNACK" else None
            conn.execute("""
                INSERT INTO ops.alarms (alarm_id, site_id, block_id, point_id, tag, subsystem, kind, priority,
                    active_priority, direction, state, raised_at, acked_at, acked_by, cleared_at, value, threshold,
                    last_value, description, source)
                VALUES (%s, %s, %s, %s, %s, %s, 'limit', %s, %s, 'HIGH', %s, %s, %s, %s, %s, %s, %s, %s, %s,
                        'engine')""",
                (alarm_id, SITE, BLOCK, pid[0] if pid else None, tag, sub, pri,
                 None if state == "RTN_UNACK" else pri, state, raised, acked, "operator" if acked else None,
                 cleared, value, thr, value, desc))
            conn.execute("""
                INSERT INTO ops.alarm_events (alarm_id, site_id, block_id, tag, priority, ts, event, state_after,
                    value, threshold, source)
                VALUES (%s, %s, %s, %s, %s, %s, 'RAISED', 'ACTIVE_UNACK', %s, %s, 'engine')""",
                (alarm_id, SITE, BLOCK, tag, pri, raised, value, thr))
        conn.execute("""
            INSERT INTO raw.edge_heartbeats (site_id, block_id, ts, edge_id, uptime_s, adapters, buffer, system)
            VALUES (%s, %s, %s, 'edge-ab-bville-01', 86430,
                    '{"modbus": {"status": "running", "reads_total": 1503344, "errors_total": 4,
                                 "devices_online": 13, "devices_total": 13}}',
                    '{"depth": 0, "capacity": 5000000, "cloud_connected": true, "replay_active": false}', '{}')""",
                     (SITE, BLOCK, now - timedelta(seconds=10)))
        conn.execute("""
            INSERT INTO ops.commands (request_id, site_id, block_id, target, cmd, params, source, status, requested_at,
                sent_at, answered_at, response)
            VALUES (%s, %s, %s, 'edge', 'diagnostics_request', '{}', 'operator:operator', 'accepted', %s, %s, %s,
                    '{"status": "accepted"}')""",
                     (uuid.uuid4(), SITE, BLOCK, now - timedelta(minutes=3), now - timedelta(minutes=3),
                      now - timedelta(minutes=3)))
        pdf = report_dir / "invoice_monthly_ab-baldwinsville_2026-11.pdf"
        pdf.write_bytes(b"%PDF-1.4 demo invoice\n")
        data = report_dir / "invoice_monthly_ab-baldwinsville_2026-11.csv"
        data.write_text("line,amount\ncolo,71400\n")
        conn.execute("""
            INSERT INTO ops.report_artifacts (report, site_id, period, pdf_path, data_path, content_hash, data_window,
                window_start, window_end, code_version, run_id)
            VALUES ('invoice_monthly', %s, '2026-11', %s, %s, %s, '2026-11-01/2026-12-01', %s, %s, 'test', 'run-1')""",
                     (SITE, str(pdf), str(data), hashlib.sha256(pdf.read_bytes()).hexdigest(),
                      datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)))
        conn.commit()


@pytest.fixture(scope="session")
def app_database_url(pg_server_url: str, migrated_template: str,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from simulator.backfill import backfill

    name = f"mcs_app_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = with_database(pg_server_url, name)
    eng = make_engine(url)
    try:
        load_demo_sites(eng)
    finally:
        eng.dispose()
    backfill(url, days=BACKFILL_HOURS / 24, site_id=SITE, progress=False)
    seed_live_and_alarms(url, tmp_path_factory.mktemp("reports"))
    old = os.environ.get("MCS_DATABASE_URL")
    os.environ["MCS_DATABASE_URL"] = url
    try:
        yield url
    finally:
        if old is None:
            os.environ.pop("MCS_DATABASE_URL", None)
        else:
            os.environ["MCS_DATABASE_URL"] = old
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def signed_in(role: str, page: str | None = None, timeout: float = 60, sites: tuple[str, ...] = ()) -> AppTest:
    """An AppTest of the app with a user of `role` (restricted to `sites`, if given) signed in, on `page`."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.session_state["mcs_user"] = {"username": role, "name": f"Test {role}", "role": role, "sites": list(sites)}
    at.run()
    if page is not None:
        at.switch_page(page).run()
    return at
