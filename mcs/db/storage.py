"""Storage maintenance that is the same call in both storage modes (see migration 0001)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from mcs.db.engine import make_engine

# Partitions are created a week ahead so a late maintenance run never leaves ingest without one.
PARTITIONS_AHEAD = timedelta(days=7)


def storage_mode(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT raw.storage_mode()")).scalar_one()
    finally:
        engine.dispose()


def run_timescaledb_jobs(engine: Engine) -> int:
    """Run the compression and continuous-aggregate policies now (each job in its own transaction).

    We do not rely on TimescaleDB's background scheduler: on PostgreSQL 15.20 its jobs fail with
    "cannot drop portal", so maintenance runs them explicitly instead.
    """
    with engine.connect() as conn:
        job_ids = conn.execute(text(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name IN "
            "('policy_compression', 'policy_refresh_continuous_aggregate') ORDER BY job_id")).scalars().all()
    for job_id in job_ids:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CALL run_job(:id)"), {"id": job_id})
    return len(job_ids)


def run_maintenance(url: str, now: datetime | None = None) -> dict[str, int | str]:
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            created = conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"),
                                   {"a": now - timedelta(days=1), "b": now + PARTITIONS_AHEAD}).scalar_one()
            dropped = conn.execute(text("SELECT raw.apply_retention(:now)"), {"now": now}).scalar_one()
            mode = conn.execute(text("SELECT raw.storage_mode()")).scalar_one()
        jobs = run_timescaledb_jobs(engine) if mode == "timescaledb" else 0
        return {"storage": mode, "partitions_created": created, "partitions_dropped": dropped, "jobs_run": jobs}
    finally:
        engine.dispose()
