"""Replay over backfilled history (simulator.backfill, 3 h of the demo block) plus a cooling-failure episode at
2-s resolution: the expected alarm sequence, cascade suppression, and replaying twice changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from ingest_daemons.alarms.cli import alarms as alarms_cli
from ingest_daemons.alarms.replay import replay
from mcs.db.engine import libpq_url, make_engine
from simulator.backfill import backfill
from tests.conftest import with_database
from tests.fixtures.registry import load_demo_sites
from tests.integration.alarms.conftest import BLOCK, SITE, rows

HOURS = 3
END = datetime.now(UTC).replace(second=0, microsecond=0)
START = END - timedelta(hours=HOURS)
FAIL_FROM, FAIL_TO = END - timedelta(minutes=40), END - timedelta(minutes=30)


@pytest.fixture(scope="module")
def history(pg_server_url: str, migrated_template: str) -> Iterator[tuple[str, Engine]]:
    """One database for the module: demo registry, 3 h backfill, a COOLING_FAILURE episode (CDU-01 pump trip,
    rack coolant climbing 0.2 K/s, CDU flow collapsing) written the way the scenario shapes the readings."""
    name = f"mcs_test_replay_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = with_database(pg_server_url, name)
    engine = make_engine(url)
    try:
        load_demo_sites(engine, (SITE,))
        backfill(url, days=HOURS / 24, site_id=SITE, end=END, progress=False)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            ids = dict(conn.execute("SELECT tag, point_id FROM ref.points WHERE site_id = %s AND block_id = %s",
                                    (SITE, BLOCK)).fetchall())
            racks = sorted(t for t in ids if t.startswith("TT-R") and t.endswith("-cool"))[:5]
            data = []
            t = FAIL_FROM
            while t < FAIL_TO:
                elapsed = (t - FAIL_FROM).total_seconds()
                data.append((t, ids["CDU1-status"], 0.0))
                data.append((t, ids["FT-CDU1"], 2.0))
                data += [(t, ids[r], 46.0 + min(0.2 * elapsed, 30.0)) for r in racks]
                t += timedelta(seconds=2)
            with conn.cursor() as cur:
                cur.executemany("""INSERT INTO raw.telemetry (ts, point_id, value, quality) VALUES (%s, %s, %s, 0)
                                   ON CONFLICT (point_id, ts) DO UPDATE SET value = excluded.value""", data)
        yield url, engine
    finally:
        engine.dispose()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def snapshot(engine: Engine) -> tuple[list, list]:
    alarms = [dict(r) for r in rows(engine, "SELECT * FROM ops.alarms ORDER BY alarm_id")]
    for a in alarms:
        a.pop("updated_at"), a.pop("created_at")
    events = [dict(r) for r in rows(engine, """SELECT alarm_id, event, ts, state_after, priority, source
                                                FROM ops.alarm_events ORDER BY alarm_id, ts, event_id""")]
    return alarms, events


def test_replay_cooling_failure_history_and_twice_changes_nothing(history: tuple[str, Engine]) -> None:
    url, engine = history
    first = replay(engine, url, START, END, SITE)
    assert first.rows > 45_000 and first.alarms_written == first.alarms and first.events_written == first.events
    before = snapshot(engine)

    # the expected sequence: the pump trip (P1, CDU1-status low 0) is the cause …
    [cdu] = rows(engine, "SELECT * FROM ops.alarms WHERE tag = 'CDU1-status'")
    assert (cdu["priority"], cdu["kind"], cdu["source"]) == ("P1", "bool", "replay")
    assert FAIL_FROM <= cdu["raised_at"] <= FAIL_FROM + timedelta(seconds=10)        # 5 s on-delay
    assert [e["event"] for e in rows(engine, "SELECT event FROM ops.alarm_events WHERE alarm_id = :a "
                                     "ORDER BY event_id", a=cdu["alarm_id"])] == ["RAISED", "CLEARED"]
    # … the rack coolant climbs through P2 52 → P1 55 → P0 60 as one escalating alarm per rack, and the
    # flow collapse: all consequential, so suppressed by the trip and released when it cleared
    racks = rows(engine, "SELECT * FROM ops.alarms WHERE tag LIKE 'TT-R%%-cool' AND raised_at >= :t", t=FAIL_FROM)
    assert len(racks) == 5 and {r["priority"] for r in racks} == {"P0"}
    for r in racks:
        evs = [e["event"] for e in rows(engine, "SELECT event FROM ops.alarm_events WHERE alarm_id = :a "
                                        "ORDER BY event_id", a=r["alarm_id"])]
        assert evs[:2] == ["RAISED", "SUPPRESSED"] and evs.count("ESCALATED") == 2, evs
        assert "UNSUPPRESSED" not in evs or evs.index("UNSUPPRESSED") > evs.index("ESCALATED")
    flow = rows(engine, "SELECT * FROM ops.alarm_events WHERE tag = 'FT-CDU1' ORDER BY event_id")
    assert [e["event"] for e in flow][:2] == ["RAISED", "SUPPRESSED"]
    assert {e["source"] for e in rows(engine, "SELECT source FROM ops.alarm_events")} == {"replay"}

    second = replay(engine, url, START, END, SITE)
    assert (second.alarms, second.events) == (first.alarms, first.events)
    assert (second.alarms_written, second.events_written) == (0, 0)
    assert snapshot(engine) == before


def test_replay_leaves_operator_actions_alone_and_the_cli_lists(history: tuple[str, Engine],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    url, engine = history
    from mcs.alarms import actions
    from mcs.settings import get_settings

    replay(engine, url, START, END, SITE)
    [cdu] = rows(engine, "SELECT alarm_id FROM ops.alarms WHERE tag = 'CDU1-status'")
    actions.ack(engine, [cdu["alarm_id"]], "nick", "operator")
    replay(engine, url, START, END, SITE)
    assert rows(engine, "SELECT state FROM ops.alarms WHERE alarm_id = :a", a=cdu["alarm_id"])[0]["state"] == "CLOSED"

    monkeypatch.setenv("MCS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(alarms_cli, ["replay", "--from", START.isoformat(), "--to", END.isoformat(),
                                         "--site", SITE, "--json"])
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["events_written"] == 0
        listed = runner.invoke(alarms_cli, ["list", "--json", "--state", "all", "--site", SITE])
        assert listed.exit_code == 0, listed.output
        items = json.loads(listed.stdout)
        assert {"site_id", "block_id", "tag", "priority", "state", "raised_at"} <= set(items[0])
        assert any(i["tag"] == "CDU1-status" and i["state"] == "CLOSED" for i in items)
        bad = runner.invoke(alarms_cli, ["ack", cdu["alarm_id"], "--role", "finance", "--actor", "fiona"])
        assert bad.exit_code != 0 and "only operator or admin" in str(bad.exception or bad.output)
    finally:
        get_settings.cache_clear()
