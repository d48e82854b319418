"""End to end in-process: simulator history → dbt roll-ups/marts (Dagster jobs) → checks → report artifacts.

One module-scoped database (conftest.platform_db): one backfilled site-local day of ab-baldwinsville,
its block commissioned that day, so October 2026 is a complete month for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import DagsterInstance, MultiPartitionKey
from sqlalchemy import text

from tests.integration.orchestration.conftest import DAYS, MONTH, SITE

MONTH_KEY = f"{MONTH}-01"


@pytest.fixture(scope="module")
def defs(platform_db):
    """The code location's own Definitions (built once per process; resources read the env at run time)."""
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture(scope="module")
def built_marts(defs, instance, platform_db):
    """The daily job's assets for the day(s) (one run, as a range backfill runs) and the month's marts.

    dbt's own tests are left out here (the dbt project's CI runs them; they double this fixture's time);
    the platform's telemetry checks run as in the daily job.
    """
    from dagster import AssetSelection, materialize

    from assets.dbt import build_dbt_assets
    from assets.raw import external_assets
    from expectations.checks import DAILY_CHECKS
    from orchestration.resources import resources

    dbt_defs = build_dbt_assets()
    days = (AssetSelection.tag("mcs/partition", "static") | AssetSelection.tag("mcs/partition", "daily"))
    daily = materialize(
        [*external_assets(), *dbt_defs, *DAILY_CHECKS], instance=instance, resources=resources(),
        selection=days.without_checks() | AssetSelection.checks(*DAILY_CHECKS), raise_on_error=False,
        tags={"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]})
    monthly = materialize(
        [*external_assets(), *dbt_defs], instance=instance, resources=resources(), partition_key=MONTH_KEY,
        selection=AssetSelection.tag("mcs/partition", "monthly").without_checks(), raise_on_error=False)
    return {"daily": daily, "monthly": monthly}


def _relation_exists(engine, relation: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT to_regclass(:r) IS NOT NULL"), {"r": relation}).scalar_one())


def _needs(engine, *relations: str) -> None:
    missing = [r for r in relations if not _relation_exists(engine, r)]
    if missing:
        pytest.skip(f"dbt model(s) {', '.join(missing)} not in the dbt project/built yet (dbt helpers' work)")


def _run_reports(defs, instance, reports: list[str], site: str = SITE):
    from assets.keys import FINANCE_INPUTS, report_key

    job = defs.resolve_job_def("monthly_reports")
    selection = [report_key(r) for r in reports] + [FINANCE_INPUTS]
    return job.execute_in_process(partition_key=MultiPartitionKey({"month": MONTH_KEY, "site": site}),
                                  instance=instance, asset_selection=selection, raise_on_error=False)


def _materialization(result, name: str):
    from assets.keys import report_key

    events = [e for e in result.get_asset_materialization_events() if e.asset_key == report_key(name)]
    return events[-1].materialization.metadata if events else None


def test_daily_rollups_materialise_the_days(built_marts, platform_db):
    _, engine, _ = platform_db
    _needs(engine, "marts.fct_rollup_1d")
    with engine.connect() as conn:
        days = conn.execute(text("SELECT DISTINCT local_date::text FROM marts.fct_rollup_1d r "
                                 "JOIN ref.points p USING (point_id) WHERE p.site_id = :s ORDER BY 1"),
                            {"s": SITE}).scalars().all()
    assert list(DAYS) == [d for d in days if d in DAYS]
    checks = {ev.check_name: ev for ev in built_marts["daily"].get_asset_check_evaluations()}
    assert {"telemetry_completeness", "telemetry_readings_valid"} <= checks.keys()


@pytest.mark.parametrize("report", ["invoice", "dcim_uptime"])
def test_report_end_to_end_is_reproducible(report, defs, instance, built_marts, platform_db):
    from assets.reports.specs import REPORTS_BY_NAME

    _, engine, reports_dir = platform_db
    spec = REPORTS_BY_NAME[report]
    _needs(engine, *(s.relation for s in spec.sections))
    if spec.finance:
        _needs(engine, "marts.fct_energy_daily", "marts.fct_heat_daily", "marts.fct_efficiency_daily")

    first = _run_reports(defs, instance, [report])
    meta = _materialization(first, report)
    failed = [f"{e.check_name}: {e.description}" for e in first.get_asset_check_evaluations() if not e.passed]
    assert meta is not None, f"{report} not materialised; failed checks: {failed}"
    pdf, xlsx = Path(meta["pdf_path"].value), Path(meta["data_path"].value)
    assert pdf.is_file() and xlsx.is_file() and pdf.is_relative_to(reports_dir)
    assert pdf.read_bytes().startswith(b"%PDF") and meta["content_hash"].value[:12] in pdf.name

    # Totals equal the mart they come from.
    totals = meta["totals"].value
    relation = spec.primary.relation
    with engine.connect() as conn:
        for column, total in totals.items():
            expected = conn.execute(text(f'SELECT coalesce(sum("{column}"), 0) FROM {relation} '  # noqa: S608
                                         "WHERE site_id = :s AND month_start = :m"),
                                    {"s": SITE, "m": MONTH_KEY}).scalar_one()
            assert Decimal(str(total)) == pytest.approx(Decimal(str(expected)), abs=Decimal("0.0001")), column
        row = conn.execute(text("SELECT content_hash, pdf_path, period, code_version FROM ops.report_artifacts "
                                "WHERE report = :r AND site_id = :s"), {"r": report, "s": SITE}).one()
    assert row.content_hash == meta["content_hash"].value and row.period == MONTH and row.code_version

    pdf_bytes, xlsx_bytes = pdf.read_bytes(), xlsx.read_bytes()
    again = _materialization(_run_reports(defs, instance, [report]), report)
    assert again["content_hash"].value == meta["content_hash"].value
    assert Path(again["pdf_path"].value).read_bytes() == pdf_bytes
    assert Path(again["data_path"].value).read_bytes() == xlsx_bytes
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ops.report_artifacts WHERE report = :r"),
                            {"r": report}).scalar_one() == 1


@contextmanager
def _backwards_counter(engine) -> Iterator[None]:
    """A billing-meter reading whose counter steps 500 kWh backwards, removed again afterwards."""
    with engine.begin() as conn:
        point_id = conn.execute(text("SELECT point_id FROM ref.points WHERE site_id = :s AND tag = 'MET-01-kWh'"),
                                {"s": SITE}).scalar_one()
        ts, value = conn.execute(text("SELECT ts, value FROM raw.telemetry WHERE point_id = :p "
                                      "AND ts >= '2026-10-31T12:00:00Z' ORDER BY ts LIMIT 1"),
                                 {"p": point_id}).one()
        bad_ts = ts + timedelta(seconds=30)
        conn.execute(text("INSERT INTO raw.telemetry (ts, point_id, value, quality) VALUES (:ts, :p, :v, 0)"),
                     {"ts": bad_ts, "p": point_id, "v": value - 500.0})
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM raw.telemetry WHERE point_id = :p AND ts = :ts"),
                         {"p": point_id, "ts": bad_ts})


def test_blocking_check_stops_finance_report_with_its_reason(defs, instance, built_marts, platform_db):
    """A bad billing-meter reading (the counter steps backwards) stops every finance report of the run."""
    _, engine, _ = platform_db
    with _backwards_counter(engine):
        result = _run_reports(defs, instance, ["invoice", "dcim_uptime"])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    readings = evaluations["billing_readings_valid"]
    assert not readings.passed
    assert "counter decreased" in readings.description and "MET-01-kWh" in readings.description
    assert _materialization(result, "invoice") is None
    assert _materialization(result, "dcim_uptime") is not None  # DCIM reports are not gated by billing meters
    assert not result.success


def _run_alone(defs, instance, report: str, month_key: str = MONTH_KEY, site: str = SITE):
    """One report asset selected on its own, as a click on "Materialize" in the UI launches it."""
    from assets.keys import report_key

    job = defs.resolve_implicit_job_def_def_for_assets([report_key(report)])
    return job.execute_in_process(partition_key=MultiPartitionKey({"month": month_key, "site": site}),
                                  instance=instance, asset_selection=[report_key(report)], raise_on_error=False)


def _refusal(result) -> str:
    """The description of the dagster.Failure that stopped the run's (only) report step."""
    failures = [e.step_failure_data for e in result.all_events if e.is_step_failure]
    assert failures, "the report step did not fail"
    return failures[0].user_failure_data.description


def test_report_alone_needs_passed_checks_on_the_latest_inputs(defs, instance, built_marts, platform_db):
    """A finance report launched without finance/report_inputs reads the partition's latest check results."""
    from dagster import AssetSelection, materialize

    from assets.keys import FINANCE_INPUTS
    from assets.reports.assets import finance_report_inputs
    from orchestration.resources import resources

    _, engine, _ = platform_db
    _needs(engine, "reports.invoice_monthly", "marts.fct_energy_daily", "marts.fct_heat_daily",
           "marts.fct_efficiency_daily")
    inputs_job = defs.resolve_job_def("monthly_reports")
    partition = MultiPartitionKey({"month": MONTH_KEY, "site": SITE})

    # A partition whose inputs never ran: refused, and the description says what to launch.
    never = _run_alone(defs, instance, "invoice", month_key="2026-09-01")
    assert _materialization(never, "invoice") is None and not never.success
    reason = _refusal(never)
    assert reason.startswith(f"invoice for {SITE} 2026-09 not built: finance/report_inputs and its blocking checks "
                             "have not run"), reason
    assert "launch the monthly_reports job" in reason

    # Inputs and their checks passed in an earlier run: the report alone builds.
    passed = inputs_job.execute_in_process(partition_key=partition, instance=instance,
                                           asset_selection=[FINANCE_INPUTS], raise_on_error=False)
    checks = passed.get_asset_check_evaluations()
    assert passed.success and len(checks) == 5 and all(e.passed for e in checks)
    built = _run_alone(defs, instance, "invoice")
    assert built.success and _materialization(built, "invoice") is not None

    # The latest inputs failed a check: refused with the check's reason, even though the bad reading is gone.
    with _backwards_counter(engine):
        inputs_job.execute_in_process(partition_key=partition, instance=instance, asset_selection=[FINANCE_INPUTS],
                                      raise_on_error=False)
    refused = _run_alone(defs, instance, "invoice")
    assert _materialization(refused, "invoice") is None and not refused.success
    reason = _refusal(refused)
    assert reason.startswith(f"invoice for {SITE} {MONTH} not built: check billing_readings_valid failed: "), reason
    assert "counter decreased" in reason and "MET-01-kWh" in reason

    # Inputs re-materialised without their checks: the earlier results no longer count.
    again = materialize([finance_report_inputs], instance=instance, resources=resources(), partition_key=partition,
                        selection=AssetSelection.assets(FINANCE_INPUTS).without_checks())
    assert again.success
    reason = _refusal(_run_alone(defs, instance, "heat_credit"))
    assert f"heat_credit for {SITE} {MONTH} not built: " in reason
    assert "check billing_meter_completeness has not run on the latest finance/report_inputs" in reason

    # A passing inputs run (the monthly_reports job) restores the gate for the next tests.
    assert inputs_job.execute_in_process(partition_key=partition, instance=instance, asset_selection=[FINANCE_INPUTS],
                                         raise_on_error=False).success


def test_cli_builds_and_lists(platform_db, built_marts):
    from click.testing import CliRunner

    from assets.cli import reports

    _, engine, _ = platform_db
    _needs(engine, "marts.fct_uptime_monthly")
    runner = CliRunner()
    built = runner.invoke(reports, ["build", "--site", SITE, "--month", MONTH, "--report", "dcim_uptime"])
    assert built.exit_code == 0, built.output
    assert "report/dcim_uptime" in built.output
    listed = runner.invoke(reports, ["list", "--site", SITE])
    assert listed.exit_code == 0 and "dcim_uptime" in listed.output and MONTH in listed.output
    refused = runner.invoke(reports, ["build", "--site", SITE, "--month", MONTH, "--report", "nope"])
    assert refused.exit_code != 0 and "unknown report" in refused.output
