"""Self-monitoring queries on a real database: heartbeats, freshness, dead-letter growth, edges."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg

from mcs.self_monitoring import evaluate, heartbeat_ok, security_findings, snapshot
from tests.integration.infra.registry_data import seed_registry

STATE_SQL = """
INSERT INTO ops.ingest_counters (component, instance, ts, counters) VALUES
    ('ingestor', 'a', now(), '{"mqtt_connected": true}'),
    ('ingestor', 'b', now() - interval '10 minutes', '{}');
INSERT INTO raw.dead_letter (received_at, topic, payload, payload_size, category, reason)
SELECT now() - g * interval '1 second', 'microlink/x', 'x', 1, 'SENSOR_UNKNOWN', 'unknown tag'
FROM generate_series(1, 150) g;
INSERT INTO raw.edge_heartbeats (site_id, block_id, ts, edge_id, uptime_s, adapters, buffer) VALUES
    ('ab-baldwinsville', 'block-01', now() - interval '5 minutes', 'edge-ab-bville-01', 10, '{}', '{"depth": 0}'),
    ('rfg-foods-jhb', 'block-01', now() - interval '10 seconds', 'e1', 10,
     '{"bacnet": {"status": "error"}, "modbus": {"status": "running"}}',
     '{"depth": 1200, "cloud_connected": false, "replay_active": false}'),
    ('rfg-foods-jhb', 'block-02', now() - interval '20 seconds', 'e2', 10, '{}',
     '{"depth": 0, "cloud_connected": true, "replay_active": false}');
"""


def test_snapshot_finds_what_is_wrong(database_url: str) -> None:
    seed_registry(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute(STATE_SQL)
        snap = snapshot(conn)
    assert [(b["site_id"], b["block_id"]) for b in snap.freshness] == [
        ("ab-baldwinsville", "block-01"), ("rfg-foods-jhb", "block-01"), ("rfg-foods-jhb", "block-02")]
    assert {(e["block_id"], e["spool_depth"]) for e in snap.edges if e["site_id"] == "rfg-foods-jhb"} == {
        ("block-01", 1200), ("block-02", 0)}
    found = {(f.code, f.subject) for f in evaluate(snap)}
    assert found == {("EDGE_OFFLINE", "ab-baldwinsville/block-01"), ("EDGE_BUFFERING", "rfg-foods-jhb/block-01"),
                     ("ADAPTER_ERROR", "rfg-foods-jhb/block-01"), ("DAEMON_STALE", "ingestor/b"),
                     ("DEAD_LETTER_GROWTH", "SENSOR_UNKNOWN")}


def test_heartbeat_probe(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("INSERT INTO ops.ingest_counters (component, instance, ts, counters) VALUES "
                     "('ingestor', 'a', now(), %s)", (json.dumps({}),))
        conn.commit()
        assert heartbeat_ok(conn, "ingestor", 90)
        assert heartbeat_ok(conn, "ingestor", 90, instance="a")
        assert not heartbeat_ok(conn, "ingestor", 90, instance="z")
        assert not heartbeat_ok(conn, "alarm-engine", 90)
    env = {"MCS_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    probe = [sys.executable, "-m", "mcs.self_monitoring", "heartbeat", "--max-age", "90", "--component"]
    assert subprocess.run([*probe, "ingestor"], env=env, capture_output=True, timeout=60).returncode == 0
    missing = subprocess.run([*probe, "alarm-engine"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no counters from alarm-engine" in missing.stdout


def test_security_drift_is_reported(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert security_findings(conn) == []  # as migrated
        conn.execute("GRANT SELECT ON raw.telemetry, raw.telemetry_1m TO mcs_tenant")
        conn.execute("ALTER TABLE ref.points NO FORCE ROW LEVEL SECURITY")
        found = {(f.code, f.subject) for f in security_findings(conn)}
        conn.execute("REVOKE SELECT ON raw.telemetry, raw.telemetry_1m FROM mcs_tenant")
        conn.execute("ALTER TABLE ref.points FORCE ROW LEVEL SECURITY")
    assert found == {("TENANT_EXPOSED", "raw.telemetry"), ("TENANT_EXPOSED", "raw.telemetry_1m"),
                     ("TENANT_EXPOSED", "ref.points")}


def test_privileged_runtime_role_is_reported(database_url: str) -> None:
    # Roles are cluster-wide: change one inside a transaction that is rolled back.
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER ROLE mcs_app CREATEDB")
        found = [(f.code, f.subject) for f in security_findings(conn)]
        conn.rollback()
        assert conn.execute("SELECT rolcreatedb FROM pg_roles WHERE rolname = 'mcs_app'").fetchone() == (False,)
    assert found == [("ROLE_PRIVILEGED", "mcs_app")]
