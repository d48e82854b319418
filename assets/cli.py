"""`mcs reports`: build monthly reports headless (same assets and blocking checks as the Dagster UI) and list them.

    mcs reports build --site ab-baldwinsville --month 2026-10 [--report invoice ...]
    mcs reports list [--site S] [--period 2026-10]

`build` materialises the report assets in-process with dagster's `materialize()`: the finance gate
and its blocking checks run first, so a failing check stops the finance reports exactly as in a UI
launch, and the command exits non-zero naming the failed check and its reason. With DAGSTER_HOME set
(as under `mcs up`) the run is recorded in that instance and shows up in the UI.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from mcs.runtime import UserError, database_url


def _instance() -> Any:
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def materialize_reports(site: str, month: str, reports: tuple[str, ...] = (), issue_date: str = "",
                        recipient: str = "", db_url: str | None = None, instance: Any = None) -> Any:
    """Materialise the finance gate, its checks and the chosen reports for one site's month."""
    from dagster import AssetSelection, materialize

    from assets.dbt import build_dbt_assets
    from assets.keys import FINANCE_INPUTS, report_key
    from assets.raw import external_assets
    from assets.reports.assets import build_report_assets, finance_report_inputs
    from assets.reports.specs import REPORTS, REPORTS_BY_NAME
    from expectations.checks import FINANCE_CHECKS
    from orchestration.partitions import report_key as partition_key
    from orchestration.partitions import site_ids
    from orchestration.resources import McsDatabase, resources

    unknown = [r for r in reports if r not in REPORTS_BY_NAME]
    if unknown:
        raise UserError(f"unknown report(s) {', '.join(unknown)}; choose from {', '.join(REPORTS_BY_NAME)}")
    if site not in site_ids():
        raise UserError(f"site {site!r} is not a report partition; known sites: {', '.join(site_ids())}")
    chosen = reports or tuple(spec.name for spec in REPORTS)
    keys = [report_key(name) for name in chosen]
    if any(REPORTS_BY_NAME[name].finance for name in chosen):
        keys.append(FINANCE_INPUTS)
    config = {"issue_date": issue_date, "recipient": recipient}
    run_config = {"ops": {report_key(name).to_python_identifier(): {"config": config} for name in chosen}}
    url = db_url or database_url()
    # The resources read MCS_DATABASE_URL (EnvVar); headless use may rely on the embedded default.
    os.environ.setdefault("MCS_DATABASE_URL", url)
    res = resources()
    res["database"] = McsDatabase(url=url)
    return materialize(
        [*external_assets(), *build_dbt_assets(), finance_report_inputs, *build_report_assets(), *FINANCE_CHECKS],
        selection=AssetSelection.assets(*keys),
        partition_key=partition_key(site, month),
        resources=res,
        run_config=run_config,
        instance=instance or _instance(),
        raise_on_error=False,
        tags={"mcs/trigger": "cli"},
    )


def failure_reasons(result: Any) -> list[str]:
    """Failed checks (with their descriptions) and failed steps of a materialize() result."""
    reasons = [f"check {ev.check_name} on {ev.asset_key.to_user_string()} failed: {ev.description}"
               for ev in result.get_asset_check_evaluations() if not ev.passed]
    for event in result.all_events:
        if event.is_step_failure and event.step_key and "check" not in event.step_key:
            error = event.event_specific_data.error
            reasons.append(f"step {event.step_key} failed: {error.message.strip() if error else ''}")
    return reasons


@click.group()
def reports() -> None:
    """Monthly reports (invoice, heat credit, SLA, lender, ESG, DCIM): build and list artifacts."""


@reports.command("build")
@click.option("--site", required=True, help="site_id, e.g. ab-baldwinsville")
@click.option("--month", required=True, help="period as YYYY-MM (site-local calendar month)")
@click.option("--report", "report_names", multiple=True, help="report name (repeatable); default: all")
@click.option("--issue-date", default="", help="issue date printed on invoices/statements (YYYY-MM-DD)")
@click.option("--recipient", default="", help="addressee printed on the documents (e.g. the lender)")
def build(site: str, month: str, report_names: tuple[str, ...], issue_date: str, recipient: str) -> None:
    """Materialise reports for one site and month (blocking finance checks first)."""
    try:
        result = materialize_reports(site, month, report_names, issue_date, recipient)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    for mat in result.get_asset_materialization_events():
        meta = mat.materialization.metadata
        path = meta.get("pdf_path")
        if path is not None:
            click.echo(f"{mat.asset_key.to_user_string():<40} {getattr(path, 'value', path)}")
    if not result.success:
        for reason in failure_reasons(result):
            click.echo(reason, err=True)
        sys.exit(1)


@reports.command("list")
@click.option("--site", default=None, help="only this site")
@click.option("--period", default=None, help="only this period (YYYY-MM or YYYY-Qn)")
def list_(site: str | None, period: str | None) -> None:
    """Report artifacts recorded in ops.report_artifacts, newest period first."""
    from sqlalchemy import text

    from mcs.db.engine import make_engine

    engine = make_engine(database_url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("""
                SELECT period, site_id, report, left(content_hash, 12) AS hash, last_built_at, pdf_path
                FROM ops.report_artifacts
                WHERE (CAST(:site AS text) IS NULL OR site_id = :site)
                  AND (CAST(:period AS text) IS NULL OR period = :period)
                ORDER BY period DESC, site_id, report, last_built_at DESC"""), {"site": site, "period": period}).all()
    finally:
        engine.dispose()
    if not rows:
        click.echo("no report artifacts")
        return
    for r in rows:
        click.echo(f"{r.period:<8} {r.site_id:<20} {r.report:<28} {r.hash} "
                   f"{r.last_built_at:%Y-%m-%d %H:%M} {r.pdf_path}")
