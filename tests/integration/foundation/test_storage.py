"""The raw storage interface behaves the same in both storage modes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from mcs.db.storage import run_maintenance


def storage_mode(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT raw.storage_mode()")).scalar_one()


def test_telemetry_is_idempotent_on_point_and_time(storage_engine: Engine) -> None:
    ts = datetime.now(UTC).replace(microsecond=0)
    insert = text("INSERT INTO raw.telemetry (ts, point_id, value) VALUES (:ts, 1, :v) "
                  "ON CONFLICT (point_id, ts) DO NOTHING")
    with storage_engine.begin() as conn:
        conn.execute(insert, {"ts": ts, "v": 1.0})
        conn.execute(insert, {"ts": ts, "v": 2.0})
        rows = conn.execute(text("SELECT value FROM raw.telemetry WHERE point_id = 1")).scalars().all()
    assert rows == [1.0]


def test_readings_for_days_without_partition_are_kept_then_moved(storage_engine: Engine) -> None:
    if storage_mode(storage_engine) != "postgres":
        pytest.skip("partition management is the plain-PostgreSQL path; TimescaleDB creates chunks itself")
    old = datetime(2020, 1, 15, 12, tzinfo=UTC)
    with storage_engine.begin() as conn:
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value) VALUES (:ts, 7, 3.5)"), {"ts": old})
        parked = conn.execute(text("SELECT count(*) FROM raw.telemetry_default")).scalar_one()
        created = conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"),
                               {"a": old, "b": old + timedelta(hours=1)}).scalar_one()
        in_default = conn.execute(text("SELECT count(*) FROM raw.telemetry_default")).scalar_one()
        in_partition = conn.execute(text("SELECT count(*) FROM raw.telemetry_p20200115")).scalar_one()
    assert (parked, created, in_default, in_partition) == (1, 1, 0, 1)


def test_retention_drops_old_days_but_archives_billing_points(storage_engine: Engine) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=120)
    with storage_engine.begin() as conn:
        conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"),
                     {"a": old, "b": old + timedelta(days=1)})
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value) VALUES (:ts, 1, 10), (:ts, 2, 20),"
                          " (:now, 1, 11)"), {"ts": old, "now": now})
        # Make point 2 a billing meter without depending on the registry's tables.
        conn.execute(text("CREATE OR REPLACE FUNCTION raw.billing_point_ids() RETURNS SETOF integer "
                          "LANGUAGE sql STABLE AS $$ SELECT 2 $$"))
        conn.execute(text("SELECT raw.apply_retention(:now)"), {"now": now})
        remaining = conn.execute(text("SELECT point_id, value FROM raw.telemetry ORDER BY 1")).all()
        archived = conn.execute(text("SELECT point_id, value FROM raw.telemetry_archive")).all()
        everything = conn.execute(text("SELECT count(*) FROM raw.telemetry_all")).scalar_one()
    assert [tuple(r) for r in remaining] == [(1, 11.0)]
    assert [tuple(r) for r in archived] == [(2, 20.0)]
    assert everything == 2


def test_one_minute_rollup_keeps_sums_counts_and_extremes(storage_engine: Engine) -> None:
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    values = [4.0, 1.0, 7.0]
    with storage_engine.begin() as conn:
        for i, v in enumerate(values):
            conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value) VALUES (:ts, 3, :v)"),
                         {"ts": base + timedelta(seconds=10 * i), "v": v})
    if storage_mode(storage_engine) == "timescaledb":
        # The scheduler is off (see mcs.db.storage); materialise explicitly, outside a transaction.
        with storage_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CALL refresh_continuous_aggregate('raw.telemetry_1m', NULL, NULL)"))
    with storage_engine.connect() as conn:
        row = conn.execute(text("SELECT n, value_sum, value_min, value_max, value_first, value_last "
                                "FROM raw.telemetry_1m WHERE point_id = 3")).one()
    assert tuple(row) == (3, 12.0, 1.0, 7.0, 4.0, 7.0)


def test_maintenance_is_one_call_in_both_modes(storage_engine: Engine) -> None:
    url = storage_engine.url.render_as_string(hide_password=False)
    old = datetime.now(UTC) - timedelta(days=10)
    with storage_engine.begin() as conn:
        conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"), {"a": old, "b": old + timedelta(hours=1)})
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value) "
                          "SELECT :old + make_interval(secs => g), 5, g FROM generate_series(1, 500) g"),
                     {"old": old})
    result = run_maintenance(url)
    assert result["storage"] == storage_mode(storage_engine)
    with storage_engine.connect() as conn:
        if result["storage"] == "timescaledb":
            assert result["jobs_run"] >= 2  # compression + continuous aggregate policies
            compressed = conn.execute(text(
                "SELECT count(*) FROM timescaledb_information.chunks "
                "WHERE hypertable_name = 'telemetry' AND is_compressed")).scalar_one()
            assert compressed >= 1  # the 10-day-old chunk is past the 7-day compression threshold
        else:
            tomorrow = (datetime.now(UTC) + timedelta(days=6)).strftime("%Y%m%d")
            assert conn.execute(text("SELECT to_regclass(:name)"),
                                {"name": f"raw.telemetry_p{tomorrow}"}).scalar_one() is not None
        # Compressed or not, the readings read back the same.
        assert conn.execute(text("SELECT count(*), sum(value) FROM raw.telemetry WHERE point_id = 5")).one() == (
            500, 125250.0)
