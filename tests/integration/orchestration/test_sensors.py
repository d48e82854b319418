"""Sensors evaluated against a real database with build_sensor_context (no daemon, no runs launched)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context
from sqlalchemy import text

from orchestration.resources import McsDatabase
from orchestration.sensors import HEALTH_COMPONENT, late_data_sensor, stalled_ingest_sensor
from tests.fixtures.registry import load_demo_sites


@pytest.fixture
def loaded(engine, database_url):
    load_demo_sites(engine)
    return engine, database_url


def _point(engine, site: str, tag: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT min(point_id) FROM ref.points WHERE site_id = :s AND tag = :t"),
                            {"s": site, "t": tag}).scalar_one()


def _evaluate(sensor, url: str, cursor: str | None):
    with DagsterInstance.ephemeral() as instance, build_sensor_context(
            instance=instance, cursor=cursor, resources={"database": McsDatabase(url=url)}) as context:
        return sensor(context), context


def test_late_data_sensor_requests_the_closed_days_that_received_rows(loaded):
    engine, url = loaded
    now = datetime.now(UTC)
    # First tick: no cursor → it starts watching from now and requests nothing.
    first, _ = _evaluate(late_data_sensor, url, None)
    assert isinstance(first, SensorResult) and not first.run_requests and json.loads(first.cursor)["after"]

    # A replay lands: readings for a closed day (3 days ago, Baldwinsville local time), received 10 min ago.
    point = _point(engine, "ab-baldwinsville", "MET-01-kW")
    late_ts = (now - timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"),
                     {"a": late_ts - timedelta(days=1), "b": now + timedelta(days=1)})
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value, quality, received_at) "
                          "SELECT :ts + make_interval(mins => i), :p, 500, 0, :rx FROM generate_series(0, 9) i"),
                     {"ts": late_ts, "p": point, "rx": now - timedelta(minutes=10)})
        # A reading received on its own (open) day is not late.
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value, quality, received_at) "
                          "VALUES (:ts, :p, 1, 0, :ts)"), {"ts": now - timedelta(minutes=15), "p": point})
    cursor = json.dumps({"after": (now - timedelta(hours=1)).isoformat()})
    result, _ = _evaluate(late_data_sensor, url, cursor)
    assert isinstance(result, SensorResult)
    local_day = (late_ts - timedelta(hours=5)).date().isoformat()  # 15:00 UTC is mid-day in New York
    daily = [r for r in result.run_requests if r.job_name == "late_days_rebuild"]
    assert [r.partition_key for r in daily] == [local_day]
    assert daily[0].tags["mcs/late-rows"] == "10"
    # The cursor moved forward: the same rows are not requested again.
    assert json.loads(result.cursor)["after"] > json.loads(cursor)["after"]

    again, _ = _evaluate(late_data_sensor, url, result.cursor)
    assert not again.run_requests


def test_stalled_ingest_sensor_flags_a_silent_site(loaded):
    engine, url = loaded
    quiet = _point(engine, "ab-baldwinsville", "MET-01-kW")
    busy = _point(engine, "rfg-foods-jhb", "MET-01-kW")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for point, received in ((quiet, now - timedelta(hours=1)), (busy, now - timedelta(seconds=20))):
            conn.execute(text("INSERT INTO ops.point_latest (point_id, ts, value, quality, received_at) "
                              "VALUES (:p, :r, 1, 0, :r)"), {"p": point, "r": received})
    result, context = _evaluate(stalled_ingest_sensor, url, None)
    reason = result.skip_message if hasattr(result, "skip_message") else str(result)
    assert "STALLED ab-baldwinsville" in reason and "rfg-foods-jhb" not in reason.split("STALLED")[1]
    assert json.loads(context.cursor) == ["ab-baldwinsville"]
    with engine.connect() as conn:
        flags = dict(conn.execute(text("SELECT instance, (counters->>'stalled')::boolean FROM ops.ingest_counters "
                                       "WHERE component = :c"), {"c": HEALTH_COMPONENT}).all())
    assert flags == {"ab-baldwinsville": True, "rfg-foods-jhb": False}


def test_schedules_target_the_closed_periods():
    from dagster import build_schedule_context

    from orchestration.definitions import defs
    from orchestration.partitions import site_ids
    from orchestration.schedules import monthly_reports_schedule

    after_month = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    requests = list(monthly_reports_schedule(after_month))
    assert sorted(r.partition_key for r in requests) == sorted(f"2026-10-01|{s}" for s in site_ids())
    assert "ab-baldwinsville" in site_ids() and "rfg-foods-jhb" in site_ids()

    after_day = build_schedule_context(scheduled_execution_time=datetime(2026, 11, 2, 6, 15, tzinfo=UTC))
    daily_schedule = defs.resolve_schedule_def("daily_rollups_after_day_close")
    (daily,) = list(daily_schedule.evaluate_tick(after_day).run_requests)
    assert daily.partition_key == "2026-11-01"
