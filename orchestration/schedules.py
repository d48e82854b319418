"""Schedules: after the site-local day closes, after the month closes, and a freshness poll.

Timing: a daily partition is a date in every site's own zone, so it is complete when the
westernmost site's midnight has passed (America/New_York: 04:00–05:00 UTC); 06:15 UTC leaves an
hour for edge buffers to drain. Month-end marts run on the 2nd (one extra day for store-and-forward
replays), reports on the 2nd at 08:00 UTC once the marts are in. Later data is handled by the
late-data sensor; a report re-run on changed data gets a new content hash (a new artifact row).
"""

from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    MultiPartitionKey,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    schedule,
)

from orchestration.jobs import daily_rollups_job, freshness_job, monthly_marts_job, monthly_reports_job
from orchestration.partitions import monthly_partitions, site_ids

daily_rollups_schedule = build_schedule_from_partitioned_job(
    daily_rollups_job, hour_of_day=6, minute_of_hour=15, default_status=DefaultScheduleStatus.RUNNING,
    name="daily_rollups_after_day_close")

monthly_marts_schedule = build_schedule_from_partitioned_job(
    monthly_marts_job, day_of_month=2, hour_of_day=6, minute_of_hour=30, default_status=DefaultScheduleStatus.RUNNING,
    name="monthly_marts_after_month_close")


@schedule(job=monthly_reports_job, cron_schedule="0 8 2 * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING, name="monthly_reports_after_month_close")
def monthly_reports_schedule(context: ScheduleEvaluationContext):
    """Every site's reports for the month that just closed (one run per site)."""
    this_month = context.scheduled_execution_time.date().replace(day=1)
    month = (this_month - timedelta(days=1)).replace(day=1).isoformat()
    if not monthly_partitions.has_partition_key(month):
        return []
    return [RunRequest(run_key=f"reports:{month}:{site}",
                       partition_key=MultiPartitionKey({"month": month, "site": site}),
                       tags={"mcs/trigger": "schedule"})
            for site in site_ids()]


freshness_schedule = ScheduleDefinition(
    name="raw_freshness_every_15_min", job=freshness_job, cron_schedule="*/15 * * * *",
    execution_timezone="UTC", default_status=DefaultScheduleStatus.RUNNING)

SCHEDULES = [daily_rollups_schedule, monthly_marts_schedule, monthly_reports_schedule, freshness_schedule]
