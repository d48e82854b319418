"""mcs.tiering: the span → tier rule (domain §6.3) and series() over the built roll-up marts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from mcs.tiering import Tier, series, tier_for
from tests.integration.dbt.conftest import BLOCK, END, SITE, START, BuiltProject

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("span", "tier"), [
    (timedelta(minutes=5), Tier.RAW), (timedelta(hours=2) - timedelta(seconds=1), Tier.RAW),
    (timedelta(hours=2), Tier.MIN_1), (timedelta(hours=11, minutes=59), Tier.MIN_1),
    (timedelta(hours=12), Tier.MIN_5), (timedelta(days=3) - timedelta(seconds=1), Tier.MIN_5),
    (timedelta(days=3), Tier.HOUR_1), (timedelta(days=89), Tier.HOUR_1),
    (timedelta(days=90), Tier.DAY_1), (timedelta(days=400), Tier.DAY_1),
])
def test_tier_for_follows_the_documented_rule(span: timedelta, tier: Tier) -> None:
    assert tier_for(T0, T0 + span) is tier


def test_tier_for_refuses_a_reversed_range_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="before start"):
        tier_for(T0, T0 - timedelta(hours=1))
    with pytest.raises(ValueError, match="unknown tier"):
        Tier.named("2min")
    with pytest.raises(ValueError, match="timezone-aware"):
        series(None, [1], T0.replace(tzinfo=None), T0.replace(tzinfo=None))  # type: ignore[arg-type]


def _point(built: BuiltProject, tag: str) -> int:
    with built.engine.connect() as conn:
        return conn.execute(text("SELECT point_id FROM ref.points WHERE site_id = :s AND block_id = :b AND tag = :t"),
                            {"s": SITE, "b": BLOCK, "t": tag}).scalar_one()


def test_series_reads_each_tier_with_count_weighted_averages(built: BuiltProject) -> None:
    pid = _point(built, "TT-L2s")
    raw = series(built.engine, [pid], T0, T0 + timedelta(hours=1))
    assert len(raw) == 60 and (raw["avg"] == raw["min"]).all() and list(raw.columns) == ["ts", "point_id", "avg",
                                                                                           "min", "max"]
    five = series(built.engine, [pid], T0 - timedelta(hours=12), T0 + timedelta(hours=12))
    assert len(five) == 24 * 12 and (five["ts"].diff().dropna() == pd.Timedelta(minutes=5)).all()
    first = five.iloc[0]
    minutes = raw_values(built, pid, first["ts"], first["ts"] + timedelta(minutes=5))
    assert first["avg"] == pytest.approx(np.mean(minutes), rel=1e-12)
    assert (first["min"], first["max"]) == (min(minutes), max(minutes))
    hourly = series(built.engine, [pid], START, END)
    assert len(hourly) == 73                                   # 24 + 25 + 24 site-local hours
    daily = series(built.engine, [pid], END - timedelta(days=120), END)
    assert len(daily) == 3


def raw_values(built: BuiltProject, pid: int, start: datetime, end: datetime) -> list[float]:
    with built.engine.connect() as conn:
        rows = conn.execute(text("SELECT value FROM raw.telemetry WHERE point_id = :p AND ts >= :a AND ts < :b"),
                            {"p": pid, "a": start, "b": end}).scalars().all()
    return list(rows)


def test_series_fills_the_stretch_dbt_has_not_built_from_raw(built: BuiltProject) -> None:
    pid = _point(built, "TT-AMB")
    late = [(END + timedelta(minutes=m, seconds=s), 10.0 + m) for m in range(10) for s in (0, 30)]
    with built.engine.begin() as conn:
        conn.execute(text("SELECT raw.ensure_telemetry_partitions(:a, :b)"), {"a": END, "b": END + timedelta(hours=1)})
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value, quality) VALUES (:ts, :p, :v, 0)"),
                     [{"ts": ts, "p": pid, "v": v} for ts, v in late])
    try:
        df = series(built.engine, [pid], END - timedelta(hours=6), END + timedelta(minutes=10))
        assert len(df) == 6 * 60 + 10
        tail = df[df["ts"] >= END]
        assert tail["avg"].tolist() == [10.0 + m for m in range(10)]
        assert (df["ts"].diff().dropna() == pd.Timedelta(minutes=1)).all()
    finally:
        with built.engine.begin() as conn:
            conn.execute(text("DELETE FROM raw.telemetry WHERE point_id = :p AND ts >= :a"), {"p": pid, "a": END})
