"""The MCS Dagster code location: `dagster-webserver -m orchestration.definitions` (started by `mcs up`).

Loading builds the dbt manifest with `dbt parse` if dbt/target/manifest.json is missing or stale
(assets.dbt.ensure_manifest); everything that needs the database reads MCS_DATABASE_URL through
the resources (EnvVar), so loading itself never connects.
"""

from dagster import Definitions, in_process_executor

from assets.dbt import build_dbt_assets
from assets.raw import external_assets
from assets.reports.assets import build_report_assets, finance_report_inputs
from expectations.checks import DAILY_CHECKS, FINANCE_CHECKS, FRESHNESS_CHECKS
from orchestration.jobs import JOBS
from orchestration.resources import resources
from orchestration.schedules import SCHEDULES
from orchestration.sensors import SENSORS


def build_definitions() -> Definitions:
    return Definitions(
        assets=[*external_assets(), *build_dbt_assets(), finance_report_inputs, *build_report_assets()],
        asset_checks=[*FINANCE_CHECKS, *DAILY_CHECKS, *FRESHNESS_CHECKS],
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=resources(),
        # One process per run: a step subprocess would reload the code location (and the dbt
        # manifest) per step, which costs more than the steps themselves; dbt runs in its own
        # subprocess anyway, and runs are still isolated from each other by the run launcher.
        executor=in_process_executor,
    )


defs = build_definitions()
