"""Jobs: what runs together (partitioning is inferred from the selected assets).

Run tags feed the instance's concurrency limits (infra/dagster.yaml): one dbt build at a time
(`mcs/dbt`), at most two report runs (`mcs/report`).
"""

from dagster import AssetSelection, define_asset_job

from assets.keys import FINANCE_INPUTS, REPORT_PREFIX
from expectations.checks import DAILY_CHECKS, FRESHNESS_CHECKS

DBT_TAGS = {"mcs/dbt": "build"}

daily_rollups_job = define_asset_job(
    "daily_rollups",
    selection=AssetSelection.tag("mcs/partition", "static") | AssetSelection.tag("mcs/partition", "daily")
    | AssetSelection.checks(*DAILY_CHECKS),
    tags=DBT_TAGS,
    description="Site-local day: staging/dimensions, every incremental roll-up and energy mart, telemetry checks.",
)

late_days_job = define_asset_job(
    "late_days_rebuild",
    selection=AssetSelection.tag("mcs/partition", "daily") | AssetSelection.checks(*DAILY_CHECKS),
    tags=DBT_TAGS,
    description="Re-build closed days that received late data (no static models: several may run at once).",
)

monthly_marts_job = define_asset_job(
    "monthly_marts",
    selection=AssetSelection.tag("mcs/partition", "monthly"),
    tags=DBT_TAGS,
    description="Calendar month: month-grain marts and the finance-facing reports schema.",
)

monthly_reports_job = define_asset_job(
    "monthly_reports",
    selection=AssetSelection.assets(FINANCE_INPUTS) | AssetSelection.key_prefixes([REPORT_PREFIX]),
    tags={"mcs/report": "monthly"},
    description="One site's month: finance gate (blocking checks) and every PDF/XLSX report.",
)

freshness_job = define_asset_job(
    "raw_freshness",
    selection=AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Freshness of ingest (ops.point_latest) and edge heartbeats.",
)

JOBS = [daily_rollups_job, late_days_job, monthly_marts_job, monthly_reports_job, freshness_job]
