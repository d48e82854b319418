"""The core dbt marts against independent computations from the raw readings (tests/integration/dbt/conftest.py
builds them once over three Baldwinsville days including the end of daylight saving)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from mcs.physics import thermal_power_kw, water_cp, water_density
from tests.integration.dbt.conftest import BLOCK, DATES, SELECT, SITE, TZ, BuiltProject, failure_tail, window_vars

DST_DAY = DATES[1]       # 2026-11-01: 25 local hours


def frame(project: BuiltProject, sql: str, **params: object) -> pd.DataFrame:
    with project.engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


RAW_DAY = """
    SELECT t.point_id, count(*) AS n, sum(t.value) AS sum_value, min(t.value) AS min_value, max(t.value) AS max_value,
           (array_agg(t.value ORDER BY t.ts))[1] AS first_value,
           (array_agg(t.value ORDER BY t.ts DESC))[1] AS last_value
    FROM raw.telemetry t JOIN ref.points p USING (point_id)
    WHERE p.site_id = :site AND t.quality < 2 AND t.value IS NOT NULL
      AND t.ts >= (CAST(:day AS date))::timestamp AT TIME ZONE :tz
      AND t.ts < (CAST(:day AS date) + 1)::timestamp AT TIME ZONE :tz
    GROUP BY t.point_id ORDER BY t.point_id"""


def test_rollup_tiers_carry_the_raw_day_exactly(built: BuiltProject) -> None:
    raw = frame(built, RAW_DAY, site=SITE, day=DST_DAY, tz=TZ).set_index("point_id")
    assert len(raw) > 250 and raw["n"].min() == 25 * 60     # one sample a minute, 25-hour day
    daily = frame(built, """SELECT point_id, n, sum_value, min_value, max_value, first_value, last_value, avg_value
                            FROM marts.fct_rollup_1d WHERE local_date = CAST(:day AS date)""",
                  day=DST_DAY).set_index("point_id").loc[raw.index]
    assert (daily["n"] == raw["n"]).all()
    for col in ("sum_value", "min_value", "max_value", "first_value", "last_value"):
        np.testing.assert_allclose(daily[col], raw[col], rtol=1e-9, atol=1e-6, err_msg=col)
    np.testing.assert_allclose(daily["avg_value"], raw["sum_value"] / raw["n"], rtol=1e-9, atol=1e-9)
    for tier in ("1m", "5m", "1h"):
        sums = frame(built, f"""SELECT point_id, sum(n) AS n, sum(sum_value) AS sum_value, min(min_value) AS min_value,
                                       max(max_value) AS max_value FROM marts.fct_rollup_{tier}
                                WHERE local_date = CAST(:day AS date) GROUP BY point_id""",
                     day=DST_DAY).set_index("point_id").loc[raw.index]
        assert (sums["n"] == raw["n"]).all(), tier
        np.testing.assert_allclose(sums["sum_value"], raw["sum_value"], rtol=1e-9, atol=1e-6, err_msg=tier)
        np.testing.assert_allclose(sums["max_value"], raw["max_value"], rtol=0, atol=0, err_msg=tier)


def test_hours_and_days_are_site_local_across_the_dst_change(built: BuiltProject) -> None:
    hours = frame(built, """SELECT local_date, count(DISTINCT bucket) AS hours, min(bucket) AS first_hour
                            FROM marts.fct_rollup_1h GROUP BY local_date ORDER BY local_date""")
    assert hours["hours"].tolist() == [24, 25, 24]
    assert [str(d) for d in hours["local_date"]] == list(DATES)
    day = frame(built, "SELECT DISTINCT bucket FROM marts.fct_rollup_1d WHERE local_date = CAST(:d AS date)", d=DST_DAY)
    assert day["bucket"].tolist() == [pd.Timestamp("2026-11-01 04:00", tz="UTC")]   # midnight EDT
    expected = frame(built, """SELECT local_date, max(expected_intervals) AS e FROM marts.fct_energy_daily
                               GROUP BY local_date ORDER BY local_date""")
    assert expected["e"].tolist() == [288, 300, 288]


def test_daily_kwh_equals_the_counter_delta(built: BuiltProject) -> None:
    readings = frame(built, """
        SELECT p.tag, (t.ts AT TIME ZONE :tz)::date AS local_date,
               (array_agg(t.value ORDER BY t.ts DESC))[1] AS last_value
        FROM raw.telemetry t JOIN ref.points p USING (point_id)
        WHERE p.site_id = :site AND p.billing_role IN ('facility_energy_kwh', 'it_energy_kwh', 'rack_energy_kwh')
          AND t.quality < 2
        GROUP BY 1, 2""", site=SITE, tz=TZ).pivot(index="local_date", columns="tag", values="last_value")
    delta = readings.diff().iloc[1:]                                   # end of day − end of the day before
    daily = frame(built, """SELECT e.local_date, p.tag, e.kwh, e.kwh_integrated, e.n_intervals, e.expected_intervals,
                                   e.needs_review
                            FROM marts.fct_energy_daily e JOIN ref.points p ON p.point_id = e.energy_point_id
                            WHERE e.local_date > CAST(:first AS date)""", first=DATES[0])
    assert len(daily) == 2 * 18                                        # MET-01, 3 PDUs, 14 racks
    for row in daily.itertuples():
        assert row.kwh == pytest.approx(delta.loc[row.local_date, row.tag], rel=1e-9, abs=1e-6), row
        assert row.kwh_integrated == pytest.approx(row.kwh, rel=0.01), row     # cross-check within 1 %
        assert row.n_intervals == row.expected_intervals and not row.needs_review, row
    customer = frame(built, """SELECT customer, count(DISTINCT meter_tag) AS racks FROM marts.fct_energy_daily
                               WHERE meter_role = 'rack' AND customer IS NOT NULL GROUP BY customer""")
    assert customer.to_dict("records") == [{"customer": "gpucloud", "racks": 6}]


def _raw_minutes(project: BuiltProject, tags: list[str]) -> pd.DataFrame:
    df = frame(project, """SELECT t.ts, p.tag, t.value FROM raw.telemetry t JOIN ref.points p USING (point_id)
                           WHERE p.site_id = :site AND p.block_id = :block AND p.tag = ANY(:tags) AND t.quality < 2""",
               site=SITE, block=BLOCK, tags=tags)
    wide = df.pivot(index="ts", columns="tag", values="value").dropna()
    wide["local_date"] = wide.index.tz_convert(TZ).date
    return wide


def test_heat_metered_and_calculated_agree_with_python(built: BuiltProject) -> None:
    m = _raw_minutes(built, ["FT-BIL", "TT-BIL-s", "TT-BIL-r"])
    dt = m["TT-BIL-s"] - m["TT-BIL-r"]
    kw = thermal_power_kw(m["FT-BIL"].to_numpy(), m["TT-BIL-s"].to_numpy(), m["TT-BIL-r"].to_numpy(), 0.0)
    kw = np.where(dt < -0.5, np.nan, np.where(dt < 0, 0.0, kw))
    python_kwht = pd.Series(kw / 60.0, index=m.index).groupby(m["local_date"]).sum()
    daily = frame(built, "SELECT local_date, kwht_metered, kwht_calculated, diff_ratio FROM marts.fct_heat_daily "
                         "ORDER BY local_date").set_index("local_date")
    assert len(daily) == 3
    for day, row in daily.iterrows():
        assert row.kwht_calculated == pytest.approx(python_kwht[day], rel=1e-6)   # SQL twin of mcs.physics
        if row.kwht_metered > 100:
            assert abs(row.diff_ratio) < 0.03, (day, row)                          # commissioning accepts ±3 %


def test_sql_fluid_properties_match_mcs_physics(built: BuiltProject) -> None:
    minutes = frame(built, """SELECT bucket, supply_c, return_c, water_density_kg_m3, water_cp_kj_kgk, kw_loop2,
                                     kw_rejected, glycol_pct
                              FROM intermediate.int_heat_calculated_1m WHERE local_date = CAST(:d AS date)""",
                    d=DST_DAY).set_index("bucket")
    mean = ((minutes["supply_c"] + minutes["return_c"]) / 2.0).to_numpy()
    np.testing.assert_allclose(minutes["water_density_kg_m3"], water_density(mean), rtol=1e-12)
    np.testing.assert_allclose(minutes["water_cp_kj_kgk"], water_cp(mean), rtol=1e-12)
    raw = _raw_minutes(built, ["FT-L2", "TT-L2s", "TT-L2r", "CT-glycol", "V-REJ-pos", "TT-DCin", "TT-DCout"])
    raw = raw[raw["local_date"].astype(str) == DST_DAY]
    sql = minutes.loc[raw.index]
    loop2 = np.array([max(thermal_power_kw(f, s, r, g), 0.0)
                      for f, s, r, g in zip(raw["FT-L2"], raw["TT-L2s"], raw["TT-L2r"], raw["CT-glycol"], strict=True)])
    rejected = np.array([max(thermal_power_kw(f * v / 100.0, i, o, g), 0.0) for f, v, i, o, g in
                         zip(raw["FT-L2"], raw["V-REJ-pos"], raw["TT-DCin"], raw["TT-DCout"], raw["CT-glycol"],
                             strict=True)])
    assert len(loop2) > 1400
    np.testing.assert_allclose(sql["kw_loop2"], loop2, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(sql["kw_rejected"], rejected, rtol=1e-9, atol=1e-9)


def test_heat_is_billable_only_in_export_or_mixed(built: BuiltProject) -> None:
    intervals = frame(built, "SELECT mode, valid_from, valid_to, is_billable FROM marts.fct_mode_intervals "
                             "WHERE site_id = :s ORDER BY valid_from", s=SITE)
    assert intervals["valid_to"].iloc[:-1].tolist() == intervals["valid_from"].iloc[1:].tolist()   # no gaps
    assert set(intervals["mode"]) & {"EXPORT", "MIXED"} and "REJECT" in set(intervals["mode"])
    heat = frame(built, "SELECT mode, n_modes, kwht_metered, billable_fraction, billable_kwht, kwht_held "
                        "FROM marts.fct_heat_5m")
    pure_reject = heat[(heat["mode"] == "REJECT") & (heat["n_modes"] == 1)]
    assert len(pure_reject) > 0 and (pure_reject["billable_kwht"] == 0).all()
    pure_export = heat[heat["mode"].isin(["EXPORT", "MIXED"]) & (heat["n_modes"] == 1)]
    assert (pure_export["billable_fraction"] == 1.0).all()
    exported = (heat["kwht_metered"] * heat["billable_fraction"]).sum()
    assert heat["billable_kwht"].sum() + heat["kwht_held"].sum() == pytest.approx(exported, rel=1e-9)
    assert heat["billable_kwht"].sum() > 0


def test_efficiency_is_a_ratio_of_energies(built: BuiltProject) -> None:
    eff = frame(built, "SELECT * FROM marts.fct_efficiency_daily ORDER BY local_date")
    energy = frame(built, """SELECT local_date, sum(kwh) FILTER (WHERE meter_role = 'facility') AS f,
                                    sum(kwh) FILTER (WHERE meter_role = 'it') AS it
                             FROM marts.fct_energy_daily GROUP BY local_date ORDER BY local_date""")
    assert len(eff) == 3
    assert eff["pue"].between(1.0, 1.6).all()
    np.testing.assert_allclose(eff["pue"], energy["f"] / energy["it"], rtol=1e-12)
    np.testing.assert_allclose(eff["ere"], (eff["facility_kwh"] - eff["reused_kwht"]) / eff["it_kwh"], rtol=1e-12)
    assert eff["erf"].between(0.0, 1.0).all() and (eff["ere"] <= eff["pue"]).all()
    assert eff["heat_capture_ratio"].between(0.85, 0.95).all()        # design list: L1 capture 0.85–0.95
    monthly = frame(built, "SELECT pue, facility_kwh, it_kwh FROM marts.fct_efficiency_monthly "
                           "WHERE month_start = DATE '2026-11-01'")
    nov = eff[eff["local_date"].astype(str) > "2026-10-31"]
    assert monthly["pue"].iloc[0] == pytest.approx(nov["facility_kwh"].sum() / nov["it_kwh"].sum(), rel=1e-12)


SNAPSHOT_KEYS = {
    "fct_rollup_1m": ["point_id", "bucket"], "fct_rollup_5m": ["point_id", "bucket"],
    "fct_rollup_1h": ["point_id", "bucket"], "fct_rollup_1d": ["point_id", "local_date"],
    "fct_energy_5m": ["energy_point_id", "bucket"], "fct_energy_daily": ["energy_point_id", "local_date"],
    "fct_heat_5m": ["bucket"], "fct_heat_daily": ["local_date"], "fct_mode_intervals": ["interval_id"],
    "fct_efficiency_daily": ["local_date"], "fct_efficiency_monthly": ["month_start"],
}
FLOAT_TYPES = ("double precision", "numeric", "real")


def _differences(conn, table: str, keys: list[str]) -> int:  # noqa: ANN001 - a SQLAlchemy connection
    """Rows of marts.<table> missing from, extra to, or differing from the snapshot (floats within 1e-9)."""
    cols = conn.execute(text("""SELECT column_name, data_type FROM information_schema.columns
                                WHERE table_schema = 'marts' AND table_name = :t"""), {"t": table}).all()
    checks = []
    for name, dtype in cols:
        if name in keys:
            continue
        if dtype in FLOAT_TYPES:
            checks.append(f"(o.{name} IS NULL) <> (n.{name} IS NULL) OR "
                          f"abs(o.{name} - n.{name}) > 1e-9 * greatest(abs(o.{name}), 1)")
        else:
            checks.append(f"o.{name} IS DISTINCT FROM n.{name}")
    join = " AND ".join(f"o.{k} = n.{k}" for k in keys)
    sql = (f"SELECT count(*) FROM rebuild_snapshot.{table} o FULL JOIN marts.{table} n ON {join} "
           f"WHERE o.{keys[0]} IS NULL OR n.{keys[0]} IS NULL OR " + " OR ".join(f"({c})" for c in checks))
    return conn.execute(text(sql)).scalar_one()


def test_rebuilding_one_day_gives_identical_numbers(built: BuiltProject) -> None:
    with built.engine.begin() as conn:
        conn.execute(text("CREATE SCHEMA rebuild_snapshot"))
        for table in SNAPSHOT_KEYS:
            conn.execute(text(f"CREATE TABLE rebuild_snapshot.{table} AS SELECT * FROM marts.{table}"))
    try:
        result = built.dbt("run", "--select", *SELECT, "--vars", window_vars(DST_DAY, DST_DAY))
        assert result.returncode == 0, failure_tail(result)
        assert "INSERT 0 405000" in result.stdout      # incremental path: the 25-hour day of 1-min rows again
        with built.engine.connect() as conn:
            differing = {t: _differences(conn, t, keys) for t, keys in SNAPSHOT_KEYS.items()}
        assert differing == dict.fromkeys(SNAPSHOT_KEYS, 0)
    finally:
        with built.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA rebuild_snapshot CASCADE"))


def test_sqlfluff_lint_passes_on_the_core_models(built: BuiltProject) -> None:
    code, output = built.lint_result()
    assert code == 0, output[-4000:]
