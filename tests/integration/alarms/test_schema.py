"""Migration 0003_alarms on a real PostgreSQL: tables, append-only logs, grants, one open alarm per condition."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors


def _alarm(conn: psycopg.Connection, alarm_id: str, state: str = "ACTIVE_UNACK") -> None:
    conn.execute(
        """INSERT INTO ops.alarms (alarm_id, site_id, block_id, tag, kind, priority, state, raised_at, closed_at)
           VALUES (%s, 's-site', 'block-01', 'TT-L2s', 'limit', 'P2', %s, now(),
                   CASE WHEN %s = 'CLOSED' THEN now() END)""",
        (alarm_id, state, state))


def test_alarm_events_and_audit_log_are_append_only(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _alarm(conn, "block-01-TT-L2s-1")
        conn.execute("""INSERT INTO ops.alarm_events (alarm_id, site_id, block_id, tag, priority, ts, event,
                            state_after, source) VALUES ('block-01-TT-L2s-1', 's-site', 'block-01', 'TT-L2s',
                            'P2', now(), 'RAISED', 'ACTIVE_UNACK', 'engine')""")
        conn.execute("INSERT INTO ops.audit_log (actor, role, action, target) "
                     "VALUES ('nick', 'operator', 'alarm.ack', 'x')")
        for sql in ("UPDATE ops.alarm_events SET reason = 'x'", "DELETE FROM ops.alarm_events",
                    "UPDATE ops.audit_log SET reason = 'x'", "DELETE FROM ops.audit_log"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM ops.alarm_events").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM ops.audit_log").fetchone() == (1,)


def test_one_open_instance_per_condition(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _alarm(conn, "block-01-TT-L2s-1", "CLOSED")
        _alarm(conn, "block-01-TT-L2s-2")
        with pytest.raises(errors.UniqueViolation):
            _alarm(conn, "block-01-TT-L2s-3")


def test_grants(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        def has(role: str, table: str, privilege: str) -> bool:
            return conn.execute("SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)).fetchone()[0]

        for role in ("mcs_app", "mcs_alarm"):
            assert has(role, "ops.alarms", "UPDATE")
            assert has(role, "ops.alarm_events", "INSERT")
            assert not has(role, "ops.alarm_events", "UPDATE")
            assert not has(role, "ops.audit_log", "DELETE")
        assert has("mcs_transform", "ops.alarm_events", "SELECT")
        assert not has("mcs_transform", "ops.alarms", "UPDATE")
        assert not has("mcs_tenant", "ops.alarms", "SELECT")
