"""Query tiering: read a time series at the resolution its span calls for (domain §6.3).

| span `end − start` | source                  | resolution |
|--------------------|-------------------------|------------|
| < 2 h              | raw.telemetry           | native     |
| 2 h – < 12 h       | marts.fct_rollup_1m     | 1 min      |
| 12 h – < 3 d       | marts.fct_rollup_5m     | 5 min      |
| 3 d – < 90 d       | marts.fct_rollup_1h     | 1 h (site-local hours) |
| ≥ 90 d             | marts.fct_rollup_1d     | 1 day (site-local days) |

Why: a chart stays at a few hundred to a few thousand points per series whatever the range, and
the roll-ups carry sum/count/min/max so averages stay count-weighted (never an average of averages).

The roll-up marts are built by dbt on a schedule, so they lag the raw data; the part of the range
after the newest built bucket (or all of it, before dbt has ever run) is aggregated from raw readings
with the same bucket width, so a live chart never ends early. BAD readings are left out everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, bindparam, text

COLUMNS = ["ts", "point_id", "avg", "min", "max"]


@dataclass(frozen=True)
class TierSpec:
    name: str
    table: str | None            # None: raw.telemetry
    step: timedelta | None       # None: native resolution
    below: timedelta | None      # the tier serves spans shorter than this (None: any longer span)


class Tier(enum.Enum):
    RAW = TierSpec("raw", None, None, timedelta(hours=2))
    MIN_1 = TierSpec("1min", "marts.fct_rollup_1m", timedelta(minutes=1), timedelta(hours=12))
    MIN_5 = TierSpec("5min", "marts.fct_rollup_5m", timedelta(minutes=5), timedelta(days=3))
    HOUR_1 = TierSpec("1hour", "marts.fct_rollup_1h", timedelta(hours=1), timedelta(days=90))
    DAY_1 = TierSpec("1day", "marts.fct_rollup_1d", timedelta(days=1), None)

    @property
    def table(self) -> str | None:
        return self.value.table

    @property
    def step(self) -> timedelta | None:
        return self.value.step

    @classmethod
    def named(cls, name: str) -> Tier:
        for tier in cls:
            if tier.value.name == name:
                return tier
        raise ValueError(f"unknown tier {name!r}: use one of {', '.join(t.value.name for t in cls)}")


def tier_for(start: datetime, end: datetime) -> Tier:
    """The tier for a query over [start, end): raw < 2 h, 1 min < 12 h, 5 min < 3 d, 1 h < 90 d, else 1 day."""
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    span = end - start
    for tier in Tier:
        if tier.value.below is None or span < tier.value.below:
            return tier
    return Tier.DAY_1  # pragma: no cover - DAY_1 has no upper bound


RAW_SQL = text("""
    SELECT ts, point_id, value AS avg, value AS min, value AS max
    FROM raw.telemetry_all
    WHERE point_id IN :ids AND ts >= :start AND ts < :end AND quality < 2 AND value IS NOT NULL
    ORDER BY ts, point_id""").bindparams(bindparam("ids", expanding=True))

# Roll-up rows whose bucket starts inside [start, end). Tables are fixed names from Tier, never input.
ROLLUP_SQL = """
    SELECT bucket AS ts, point_id, avg_value AS avg, min_value AS min, max_value AS max
    FROM {table}
    WHERE point_id IN :ids AND bucket >= :start AND bucket < :end AND n > 0
    ORDER BY bucket, point_id"""

# The same buckets straight from raw readings (UTC-aligned, which equals site-local for minutes and,
# in whole-hour zones, for hours), for the stretch the marts do not cover yet.
RAW_BUCKETS_SQL = text("""
    SELECT date_bin(CAST(:step AS interval), ts, TIMESTAMPTZ '2000-01-01') AS ts, point_id,
           sum(value) / count(value) AS avg, min(value) AS min, max(value) AS max
    FROM raw.telemetry_all
    WHERE point_id IN :ids AND ts >= :start AND ts < :end AND quality < 2 AND value IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2""").bindparams(bindparam("ids", expanding=True))

LATEST_BUCKET_SQL = "SELECT max(bucket) FROM {table} WHERE point_id IN :ids AND bucket >= :start AND bucket < :end"


def series(engine: Engine, point_ids: Sequence[int], start: datetime, end: datetime,
           tier: Tier | str | None = None) -> pd.DataFrame:
    """DataFrame(ts, point_id, avg, min, max) over [start, end) at `tier` (default: tier_for the span).

    `start`/`end` must be timezone-aware. Raw rows come back with avg = min = max = value.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware datetimes")
    chosen = tier_for(start, end) if tier is None else (Tier.named(tier) if isinstance(tier, str) else tier)
    ids = sorted({int(i) for i in point_ids})
    if not ids or end <= start:
        return _empty()
    params = {"ids": ids, "start": start, "end": end}
    with engine.connect() as conn:
        if chosen.table is None:
            return _frame(conn.execute(RAW_SQL, params))
        built = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": chosen.table}).scalar()
        parts: list[pd.DataFrame] = []
        tail_from = start
        if built:
            rollup = text(ROLLUP_SQL.format(table=chosen.table)).bindparams(bindparam("ids", expanding=True))
            parts.append(_frame(conn.execute(rollup, params)))
            latest_sql = text(LATEST_BUCKET_SQL.format(table=chosen.table)).bindparams(bindparam("ids", expanding=True))
            latest = conn.execute(latest_sql, params).scalar()
            if latest is not None:
                tail_from = latest + chosen.step
        if tail_from < end and chosen is not Tier.DAY_1:
            step_s = int(chosen.step.total_seconds())
            tail = conn.execute(RAW_BUCKETS_SQL, {**params, "start": tail_from, "step": f"{step_s} seconds"})
            parts.append(_frame(tail))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return _empty()
    return pd.concat(parts, ignore_index=True).sort_values(["ts", "point_id"], ignore_index=True)


def _frame(result) -> pd.DataFrame:  # noqa: ANN001 - a SQLAlchemy CursorResult
    df = pd.DataFrame(result.fetchall(), columns=COLUMNS)
    if df.empty:
        return _empty()
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    df["point_id"] = df["point_id"].astype("int64")
    for col in ("avg", "min", "max"):
        df[col] = df[col].astype("float64")
    return df


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.to_datetime(pd.Series([], dtype="object"), utc=True),
                         "point_id": pd.Series([], dtype="int64"), "avg": pd.Series([], dtype="float64"),
                         "min": pd.Series([], dtype="float64"), "max": pd.Series([], dtype="float64")})
