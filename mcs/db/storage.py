"""Storage maintenance that is the same call in both storage modes (see migration 0001)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

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


def run_maintenance(url: str, now: datetime | None = None) -> dict[str, int | str]:
    now = now or datetime.now(UTC)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            created = conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"),
                                   {"a": now - timedelta(days=1), "b": now + PARTITIONS_AHEAD}).scalar_one()
            dropped = conn.execute(text("SELECT raw.apply_retention(:now)"), {"now": now}).scalar_one()
            mode = conn.execute(text("SELECT raw.storage_mode()")).scalar_one()
        return {"storage": mode, "partitions_created": created, "partitions_dropped": dropped}
    finally:
        engine.dispose()
