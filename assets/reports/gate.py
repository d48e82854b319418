"""The finance gate: a finance report is built only on a month × site whose blocking checks passed.

Why not rely on Dagster's `blocking=True` alone: it only stops downstream steps of the *same run*.
A finance user who selects one report asset in the UI launches a run without `finance/report_inputs`
or its checks, and the report would be built on data that failed (or never ran) them. So every finance
report asset calls `require_finance_checks_passed` first; it reads the instance's event log:

1. the latest materialization of `finance/report_inputs` for the run's partition (month × site);
2. the latest evaluation of each blocking check of that asset for the same partition, which must
   have passed and must have evaluated *that* materialization (the check records the materialization
   it saw as `target_materialization_data`), so re-materialising the inputs without their checks, or
   checks that ran on an older materialization, do not count.

It works the same whether the checks ran earlier in this run (the `monthly_reports` job, the CLI) or
in an earlier run: blocking checks finish before a downstream step starts, so their evaluations are
in the event log by then.
"""

from __future__ import annotations

from dagster import AssetCheckKey, AssetRecordsFilter, DagsterInstance, Failure, MetadataValue

# Partition filter for the check-execution lookup: dagster 1.13 exports no public name for it
# (`event_log_storage.get_latest_asset_check_execution_by_key(..., partition_filter=...)`).
from dagster._core.event_api import PartitionKeyFilter
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from assets.keys import FINANCE_INPUTS
from expectations.checks import FINANCE_CHECKS, split_report_key

LAUNCH_HINT = "launch the monthly_reports job or materialise finance/report_inputs (with its checks) first"
MAX_REASON = 600


def blocking_finance_checks() -> list[AssetCheckKey]:
    """Keys of the blocking checks on `finance/report_inputs` (from the check definitions, so none is missed)."""
    return sorted((spec.key for definition in FINANCE_CHECKS for spec in definition.check_specs
                   if spec.blocking and spec.asset_key == FINANCE_INPUTS), key=lambda key: key.name)


def require_finance_checks_passed(instance: DagsterInstance, partition_key: str, report: str) -> None:
    """Raise `dagster.Failure` naming every blocking check that failed or has not run on the latest inputs.

    `partition_key` is the month × site key ("2026-10-01|ab-baldwinsville"); `report` names the report in
    the message ("invoice for ab-baldwinsville 2026-10 not built: …").
    """
    month, site = split_report_key(partition_key)
    subject = f"{report} for {site} {month[:7]} not built"
    latest = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=FINANCE_INPUTS, asset_partitions=[str(partition_key)]), limit=1).records
    if not latest:
        raise Failure(description=f"{subject}: finance/report_inputs and its blocking checks have not run for "
                                  f"this month and site: {LAUNCH_HINT}", allow_retries=False)
    inputs = latest[0]
    keys = blocking_finance_checks()
    records = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        keys, partition_filter=PartitionKeyFilter(key=str(partition_key)))
    failed: list[str] = []
    not_run: list[str] = []
    status: dict[str, str] = {}
    for key in keys:
        record = records.get(key)
        evaluation = record.evaluation if record is not None else None
        target = evaluation.target_materialization_data if evaluation is not None else None
        if record is None or evaluation is None or record.status == AssetCheckExecutionRecordStatus.PLANNED:
            state = "has not run" if record is None else f"has not completed (run {record.run_id[:8]})"
            not_run.append(f"check {key.name} {state}")
        elif target is None or target.storage_id != inputs.storage_id:
            state = "has not run on the latest finance/report_inputs"
            not_run.append(f"check {key.name} {state} (run {inputs.run_id[:8]})")
        elif not evaluation.passed:
            state = "failed"
            failed.append(f"check {key.name} failed: {(evaluation.description or 'no reason given')[:MAX_REASON]}")
        else:
            state = "passed"
        status[key.name] = state
    if failed or not_run:
        hint = LAUNCH_HINT if not_run else "fix the data (or re-run daily_rollups/monthly_marts) and launch again"
        raise Failure(description=f"{subject}: {'; '.join(failed + not_run)}: {hint}", allow_retries=False,
                      metadata={"blocking_checks": MetadataValue.json(status),
                                "report_inputs_run_id": inputs.run_id})
