"""The dbt business marts (alarms, SLA, finance, lender, ESG, DCIM) on real simulator history.

One module-scoped database: the demo registry, two site-local days of ab-baldwinsville/block-01
backfilled by the simulator, `mcs alarms replay` over them, a hand-built alarm set with known
answers (known_alarms.py), and the lender contract given the financing inputs DSCR needs. `dbt build`
runs once; the tests compare its figures with the hand-computed values and with independent Python
computations from raw telemetry and the contract terms, then rebuild and require identical figures.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from mcs.db.engine import libpq_env, make_engine
from simulator.backfill import backfill
from tests.fixtures.registry import load_demo_sites
from tests.integration.dbt_business.known_alarms import (
    EXPECTED_DAY_2026_10_14,
    EXPECTED_SLA_OCTOBER,
    SITE,
    insert_known_alarms,
)

REPO = Path(__file__).resolve().parents[3]
DBT_DIR = REPO / "dbt"
# Two complete site-local days (EDT = UTC-4): 2026-10-13 and 2026-10-14.
BACKFILL_END = datetime(2026, 10, 15, 4, 0, tzinfo=UTC)
OPEX, DEBT_SERVICE = Decimal("20000"), Decimal("30000")
BUSINESS_TABLES = [
    "marts.fct_alarm_episodes", "marts.fct_alarm_kpis_10m", "marts.fct_alarm_kpis_hourly",
    "marts.fct_alarm_kpis_daily", "marts.fct_alarm_bad_actors", "marts.fct_uptime_monthly", "marts.fct_sla_monthly",
    "marts.fct_esg_monthly", "marts.fct_temperature_compliance_daily", "marts.fct_capacity_monthly",
    "marts.fct_ups_battery_health", "reports.invoice_monthly", "reports.heat_credit_monthly",
    "reports.sla_monthly", "reports.lender_monthly", "reports.lender_quarterly", "reports.esg_monthly",
]
BUSINESS_SELECTION = [
    "+path:models/marts/alarms", "+path:models/marts/sla", "+path:models/marts/finance",
    "+path:models/marts/lender", "+path:models/marts/esg", "+path:models/marts/dcim", "+path:models/reports",
    "path:tests/business", "path:seeds/business",
]


def cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Built:
    url: str
    engine: Engine
    build_output: str
    target: Path

    def rows(self, sql: str, **params: object) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def one(self, sql: str, **params: object) -> dict:
        rows = self.rows(sql, **params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {sql}"
        return rows[0]


def run_dbt(url: str, target: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **libpq_env(url), "MCS_DBT_THREADS": "2"}
    cmd = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_DIR), "--profiles-dir",
           str(DBT_DIR), "--target-path", str(target / "target"), "--log-path", str(target / "logs")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def built(pg_server_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    name = f"mcs_dbt_business_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = pg_server_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    target = tmp_path_factory.mktemp("dbt-business")
    try:
        load_demo_sites(engine)
        with engine.begin() as conn:  # the financing inputs of the sample lender contract (test only)
            conn.execute(text("UPDATE ref.contracts SET terms = terms || CAST(:t AS jsonb) WHERE kind = 'lender'"),
                         {"t": f'{{"opex_per_month": {OPEX}, "debt_service_per_month": {DEBT_SERVICE}}}'})
        backfill(url, 2, site_id=SITE, end=BACKFILL_END, progress=False)
        replay = subprocess.run(
            [str(Path(sys.executable).parent / "mcs"), "alarms", "replay", "--from", "2026-10-13T04:00:00Z",
             "--to", "2026-10-15T04:00:00Z", "--site", SITE, "--json"],
            env={**os.environ, "MCS_DATABASE_URL": url}, capture_output=True, text=True, timeout=300)
        assert replay.returncode == 0, replay.stderr[-2000:]
        insert_known_alarms(engine)
        result = run_dbt(url, target, "build", "--select", *BUSINESS_SELECTION)
        assert result.returncode == 0, result.stdout[-6000:]
        yield Built(url, engine, result.stdout, target)
    finally:
        engine.dispose()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_replay_adds_no_alarms_to_the_known_day(built: Built) -> None:
    """Precondition of the hand-computed KPIs: the nominal simulated plant raised nothing on 10-14
    (the simulator's own test guarantees no P0/P1 in a nominal week), so the known set is all there is."""
    extra = built.one("""SELECT count(*) AS n FROM ops.alarm_events WHERE event = 'RAISED' AND source = 'replay'
                         AND ts >= '2026-10-14 04:00+00' AND ts < '2026-10-15 04:00+00'""")
    assert extra["n"] == 0


def test_daily_isa_kpis_match_the_hand_computed_day(built: Built) -> None:
    row = built.one("SELECT * FROM marts.fct_alarm_kpis_daily WHERE site_id = :s AND local_date = '2026-10-14'", s=SITE)
    got = {k: (float(row[k]) if isinstance(row[k], Decimal) else row[k]) for k in EXPECTED_DAY_2026_10_14}
    assert got == EXPECTED_DAY_2026_10_14
    assert row["target_per_operator_day"] == 150 and row["target_pct_periods_in_flood"] == 1
    assert (row["target_pct_low_priority"], row["target_pct_medium_priority"], row["target_pct_high_priority"]) == (
        80, 15, 5)
    assert row["meets_isa_targets"] is False  # chattering and fleeting alarms present
    # 10-13: E plus whatever the replay raised at the start of its window, counted independently
    raised = built.one("""SELECT count(*) AS n FROM ops.alarm_events WHERE event = 'RAISED' AND site_id = :s
                          AND ts >= '2026-10-13 04:00+00' AND ts < '2026-10-14 04:00+00'""", s=SITE)["n"]
    before = built.one("SELECT alarms_raised_all, max_stale FROM marts.fct_alarm_kpis_daily "
                       "WHERE site_id = :s AND local_date = '2026-10-13'", s=SITE)
    assert before == {"alarms_raised_all": raised, "max_stale": 0}  # E is stale only after 24 h
    assert raised >= 1


def test_ten_minute_and_hourly_grains(built: Built) -> None:
    floods = built.rows("SELECT bucket_start, alarms_raised FROM marts.fct_alarm_kpis_10m "
                        "WHERE site_id = :s AND is_flood", s=SITE)
    assert floods == [{"bucket_start": datetime(2026, 10, 14, 14, 0, tzinfo=UTC), "alarms_raised": 12}]
    hour = built.one("SELECT alarms_raised, flood_minutes, rate_status, target_per_operator_hour "
                     "FROM marts.fct_alarm_kpis_hourly WHERE site_id = :s AND hour_start = '2026-10-14 14:00+00'",
                     s=SITE)
    assert hour == {"alarms_raised": 12, "flood_minutes": 10, "rate_status": "manageable",
                    "target_per_operator_hour": 6}
    periods = built.one("SELECT count(*) AS n FROM marts.fct_alarm_kpis_10m WHERE site_id = :s", s=SITE)
    assert periods["n"] == 2 * 144


def test_episodes_and_bad_actors(built: Built) -> None:
    ep = {r["tag"]: r for r in built.rows(
        "SELECT * FROM marts.fct_alarm_episodes WHERE site_id = :s AND event_source <> 'replay'", s=SITE)}
    assert ep["LD-01a"]["time_to_ack_s"] == 20 and ep["LD-01a"]["acked_on_time"] is True
    assert ep["LD-01a"]["time_to_return_s"] == 1800 and ep["LD-01a"]["time_to_close_s"] == 1860
    assert ep["FT-CDU1"]["acked_on_time"] is False  # 1,200 s > P1 target 900 s
    assert ep["TT-L2s"]["peak_priority"] == "P1" and ep["TT-L2s"]["escalations"] == 1
    assert ep["TT-HXsOut"]["is_open"] and ep["TT-HXsOut"]["is_active"]
    assert ep["DOOR-01"]["is_annunciated"] is False
    top = built.rows("SELECT rank_in_month, tag, activations, chattering_activations FROM marts.fct_alarm_bad_actors "
                     "WHERE site_id = :s AND month_start = '2026-10-01' ORDER BY rank_in_month", s=SITE)
    assert len(top) == 10
    assert top[0] == {"rank_in_month": 1, "tag": "PT-L2s", "activations": 3, "chattering_activations": 3}


def test_sla_month_with_merged_outages_and_credit(built: Built) -> None:
    row = built.one("SELECT * FROM reports.sla_monthly WHERE contract_ref = 'ML-ABB-2026-001' "
                    "AND month_start = '2026-10-01'")
    assert row["total_minutes"] == EXPECTED_SLA_OCTOBER["total_minutes"]
    assert row["unplanned_downtime_minutes"] == EXPECTED_SLA_OCTOBER["downtime_minutes"]
    assert float(row["availability_pct"]) == EXPECTED_SLA_OCTOBER["availability_pct"]
    assert float(row["sla_target_pct"]) == EXPECTED_SLA_OCTOBER["target_pct"]
    assert float(row["credit_pct"]) == EXPECTED_SLA_OCTOBER["credit_pct"]
    assert float(row["credit_amount"]) == EXPECTED_SLA_OCTOBER["credit_amount"]
    assert row["sla_status"] == "breached" and row["observed_days"] == 2
    bounds = built.one("SELECT min(availability_pct) AS lo, max(availability_pct) AS hi FROM reports.sla_monthly")
    assert 0 <= bounds["lo"] <= bounds["hi"] <= 100
    uptime = built.one("SELECT failures, mttr_minutes FROM marts.fct_uptime_monthly "
                       "WHERE site_id = :s AND month_start = '2026-10-01'", s=SITE)
    assert uptime == {"failures": 2, "mttr_minutes": Decimal("37.50")}  # 75 min over 2 outages


def _counter_kwh(built: Built, tags: list[str], start: datetime, end: datetime) -> Decimal:
    """Energy of the given counters from raw readings: Σ positive successive differences (independent
    of dbt; the demo counters do not reset in this window)."""
    row = built.one("""
        WITH r AS (
            SELECT t.point_id, t.value - lag(t.value) OVER (PARTITION BY t.point_id ORDER BY t.ts) AS d
            FROM raw.telemetry t JOIN ref.points p USING (point_id)
            WHERE p.site_id = :s AND p.tag = ANY(:tags) AND t.ts >= :a AND t.ts < :b AND t.quality < 2)
        SELECT sum(d) AS kwh FROM r WHERE d >= 0""", s=SITE, tags=tags, a=start, b=end)
    return Decimal(str(row["kwh"]))


def test_invoice_total_is_kwh_times_tariff_plus_fees_minus_credits(built: Built) -> None:
    inv = built.one("SELECT * FROM reports.invoice_monthly WHERE contract_ref = 'ML-ABB-2026-001' "
                    "AND month_start = '2026-10-01'")
    terms = built.one("SELECT terms, committed_kw FROM ref.contracts WHERE contract_ref = 'ML-ABB-2026-001'")
    t = terms["terms"]
    racks = [f"RK-{i:02d}-kWh" for i in range(1, 7)]
    raw_kwh = _counter_kwh(built, racks, datetime(2026, 10, 13, 4, tzinfo=UTC), BACKFILL_END)
    # dbt's counter deltas start at the window's first reading, as the raw differences do
    assert abs(inv["metered_kwh"] - raw_kwh) <= Decimal("0.001") * raw_kwh, (inv["metered_kwh"], raw_kwh)
    kwh = inv["metered_kwh"]
    colo = cents(Decimal(str(terms["committed_kw"])) * Decimal(str(t["colo_per_kw_month"])))  # full month
    power = cents(kwh * Decimal(str(t["power_per_kwh"])))
    demand = cents(inv["peak_demand_kw"] * Decimal(str(t["demand_per_kw"])))
    cooling_kwh = (kwh * (inv["pue"] - 1)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    cooling = cents(cooling_kwh * Decimal(str(t["cooling_per_kwh"])))
    fees = cents(Decimal(t["cross_connects"]) * Decimal(str(t["cross_connect_fee"])))
    credit = Decimal("3570.00")
    subtotal = colo + power + demand + cooling + fees - credit
    tax = cents(subtotal * Decimal(str(t["tax_rate"])))
    assert (inv["colo_fee_amount"], inv["power_amount"], inv["demand_amount"], inv["cooling_amount"],
            inv["cross_connect_amount"], inv["sla_credit_amount"]) == (colo, power, demand, cooling, fees, credit)
    assert inv["subtotal_amount"] == subtotal and inv["tax_amount"] == tax and inv["total_amount"] == subtotal + tax
    assert inv["currency"] == "USD" and inv["invoice_number"] == "ML-AB-202610-001"
    assert inv["peak_demand_kw"] > 0 and inv["is_partial_period"] and inv["needs_review"]


def test_heat_credit_esg_and_lender_figures(built: Built) -> None:
    hc = built.one("SELECT * FROM reports.heat_credit_monthly WHERE site_id = :s AND month_start = '2026-10-01'",
                   s=SITE)
    assert hc["heat_credit_amount"] == cents(hc["billable_kwht"] * Decimal("0.065") * Decimal("0.85"))
    esg = built.one("SELECT * FROM reports.esg_monthly WHERE site_id = :s AND month_start = '2026-10-01'", s=SITE)
    kwht = float(esg["heat_exported_kwht"])
    assert float(esg["co2_avoided_kg"]) == pytest.approx(kwht / 0.85 / 29.3071 * 5.306, abs=0.002)
    assert float(esg["scope2_location_kg"]) == pytest.approx(float(esg["facility_kwh"]) * 0.24, abs=0.002)
    assert 1.0 < float(esg["pue"]) < 1.5 and 0 <= float(esg["erf"]) <= 1
    inv = built.one("SELECT sum(subtotal_amount) AS net FROM reports.invoice_monthly "
                    "WHERE site_id = :s AND month_start = '2026-10-01'", s=SITE)
    lm = built.one("SELECT * FROM reports.lender_monthly WHERE site_id = :s AND month_start = '2026-10-01'", s=SITE)
    cfads = inv["net"] - hc["host_value_amount"] - OPEX
    assert lm["cfads"] == cfads
    assert lm["dscr_month"] == (cfads / DEBT_SERVICE).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    assert lm["availability_pct"] == Decimal("99.8320") and lm["availability_covenant_status"] == "pass"
    expected_dscr_status = ("default" if lm["dscr_t12m"] < Decimal("1.05")
                            else "lock_up" if lm["dscr_t12m"] < Decimal("1.20") else "pass")
    assert lm["dscr_covenant_status"] == expected_dscr_status
    assert (lm["p0_incidents"], lm["p1_incidents"]) == (1, 2)
    lq = built.one("SELECT * FROM reports.lender_quarterly WHERE site_id = :s", s=SITE)
    assert lq["quarter_label"] == "2026-Q4" and lq["pue_covenant_status"] in ("pass", "lock_up", "default")


def test_dcim_marts(built: Built) -> None:
    temp = built.rows("SELECT * FROM marts.fct_temperature_compliance_daily WHERE site_id = :s", s=SITE)
    assert {r["local_date"] for r in temp} == {date(2026, 10, 13), date(2026, 10, 14)}
    assert len(temp) == 2 * 14 and all(r["measured_minutes"] == 1440 for r in temp)
    ups = built.rows("SELECT * FROM marts.fct_ups_battery_health WHERE site_id = :s", s=SITE)
    assert len(ups) == 2 and all(r["minutes_on_battery"] == 0 for r in ups)
    cap = built.one("SELECT * FROM marts.fct_capacity_monthly WHERE site_id = :s", s=SITE)
    assert cap["sold_kw"] == 420 and cap["available_kw"] == 580 and cap["capacity_status"] == "open_for_deals"
    assert 0 < cap["peak_it_kw_1h"] <= cap["it_capacity_kw"]


def _fingerprint(built: Built) -> dict[str, str]:
    out = {}
    with built.engine.connect() as conn:
        for table in BUSINESS_TABLES:
            rows = conn.execute(text(f"SELECT t::text FROM {table} AS t ORDER BY 1")).scalars().all()
            out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def test_rebuilding_gives_identical_figures(built: Built) -> None:
    """Rebuild the business models (incremental DCIM days via the min/max_date window, tables in
    full) and require every business table to be identical row for row."""
    before = _fingerprint(built)
    result = run_dbt(built.url, built.target, "run", "--select", *[s.lstrip("+") for s in BUSINESS_SELECTION
                                                                   if s.startswith("+")],
                     "--vars", "{min_date: '2026-10-13', max_date: '2026-10-14'}")
    assert result.returncode == 0, result.stdout[-4000:]
    assert _fingerprint(built) == before
