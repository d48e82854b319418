"""Sensors: late data for closed days, and ingest that has gone quiet.

Late data: a reading is late when it arrives (received_at) after its site-local day closed — an
edge replaying its store-and-forward buffer after a WAN cut, a backfill, a meter read-out. The
sensor looks at readings received since its cursor (BRIN index on received_at, migration
0008_reports) whose ts lies within the replay horizon, and re-materialises each affected daily
partition, then the affected month's marts when that month is already closed. Reports are not
re-issued automatically: finance re-launches them, and the new data gives a new content hash.

Stalled ingest: for each site, the newest arrival in ops.point_latest (one row per point, so the
query is tiny). A site silent for longer than MCS_DAGSTER_STALLED_AFTER_MIN minutes is logged on the
transition, flagged in ops.ingest_counters (component `dagster-ingest-watch`, shown by `mcs status`)
and named in the tick's skip reason in the UI.
"""

import json
import os
from datetime import date, datetime, timedelta

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from sqlalchemy import text

from mcs.health import report as report_health
from orchestration.jobs import late_days_job, monthly_marts_job
from orchestration.partitions import daily_partitions, monthly_partitions
from orchestration.resources import McsDatabase

REPLAY_HORIZON = timedelta(days=7)       # how far back a late reading may land (edge buffer horizon)
VISIBILITY_LAG = timedelta(minutes=2)    # received_at is a transaction's start; let slow commits land
HEALTH_COMPONENT = "dagster-ingest-watch"

LATE_ROWS_SQL = text("""
SELECT (t.ts AT TIME ZONE s.timezone)::date AS local_day, p.site_id,
       count(*) AS late_rows, max(t.received_at) AS last_received_at
FROM raw.telemetry t
JOIN ref.points p ON p.point_id = t.point_id
JOIN ref.sites s ON s.site_id = p.site_id
WHERE t.received_at > :after AND t.received_at <= :until
  AND t.ts >= :horizon AND t.ts < :until
  AND t.received_at >= (((t.ts AT TIME ZONE s.timezone)::date + 1)::timestamp AT TIME ZONE s.timezone)
GROUP BY 1, 2
ORDER BY 1, 2
""")

LAST_ARRIVAL_SQL = text("""
SELECT s.site_id, max(l.received_at) AS last_received_at, now() AS db_now
FROM ref.sites s
LEFT JOIN ref.points p ON p.site_id = s.site_id
LEFT JOIN ops.point_latest l ON l.point_id = p.point_id
WHERE s.retired_at IS NULL
GROUP BY s.site_id
ORDER BY s.site_id
""")


def stalled_after() -> timedelta:
    return timedelta(minutes=float(os.environ.get("MCS_DAGSTER_STALLED_AFTER_MIN", "15")))


@sensor(jobs=[late_days_job, monthly_marts_job], minimum_interval_seconds=300,
        default_status=DefaultSensorStatus.RUNNING,
        description="Re-materialise daily (and closed monthly) partitions when readings land for a closed day.")
def late_data_sensor(context: SensorEvaluationContext, database: McsDatabase):
    state = json.loads(context.cursor) if context.cursor else {}
    with database.engine() as engine, engine.connect() as conn:
        until = conn.execute(text("SELECT now()")).scalar_one() - VISIBILITY_LAG
        after = datetime.fromisoformat(state["after"]) if "after" in state else None
        if after is None:
            return SensorResult(skip_reason=f"first evaluation: watching readings received after {until.isoformat()}",
                                cursor=json.dumps({"after": until.isoformat()}))
        rows = conn.execute(LATE_ROWS_SQL, {"after": after, "until": until, "horizon": until - REPLAY_HORIZON}).all()
    cursor = json.dumps({"after": until.isoformat()})
    if not rows:
        return SensorResult(skip_reason=f"no late readings received in {after.isoformat()} – {until.isoformat()}",
                            cursor=cursor)
    days = sorted({r.local_day for r in rows})
    requests: list[RunRequest] = []
    for day in days:
        key = day.isoformat()
        sites = {r.site_id: r.late_rows for r in rows if r.local_day == day}
        context.log.info("late data for %s: %s", key, sites)
        if daily_partitions.has_partition_key(key):
            requests.append(RunRequest(run_key=f"late:{key}:{until.isoformat()}", job_name=late_days_job.name,
                                       partition_key=key, tags={"mcs/trigger": "late-data",
                                                                "mcs/late-rows": str(sum(sites.values()))}))
    for month in sorted({date(d.year, d.month, 1).isoformat() for d in days}):
        if monthly_partitions.has_partition_key(month):
            requests.append(RunRequest(run_key=f"late-month:{month}:{until.isoformat()}",
                                       job_name=monthly_marts_job.name, partition_key=month,
                                       tags={"mcs/trigger": "late-data"}))
    return SensorResult(run_requests=requests, cursor=cursor)


@sensor(minimum_interval_seconds=60, default_status=DefaultSensorStatus.RUNNING,
        description="Flag sites whose ingest has been silent for longer than MCS_DAGSTER_STALLED_AFTER_MIN minutes.")
def stalled_ingest_sensor(context: SensorEvaluationContext, database: McsDatabase):
    limit = stalled_after()
    previously = set(json.loads(context.cursor)) if context.cursor else set()
    stalled: dict[str, str] = {}
    never: list[str] = []
    with database.engine() as engine:
        with engine.connect() as conn:
            rows = conn.execute(LAST_ARRIVAL_SQL).all()
        for site_id, last, db_now in rows:
            if last is None:
                never.append(site_id)
                continue
            silent = db_now - last
            is_stalled = silent > limit
            if is_stalled:
                stalled[site_id] = f"silent {int(silent.total_seconds() // 60)} min since {last.isoformat()}"
            report_health(engine, HEALTH_COMPONENT, site_id, {
                "stalled": is_stalled, "last_received_at": last.isoformat(),
                "silent_s": int(silent.total_seconds()), "threshold_s": int(limit.total_seconds())})
    for site_id in sorted(stalled.keys() - previously):
        context.log.warning("ingest stalled for %s: %s", site_id, stalled[site_id])
    for site_id in sorted(previously - stalled.keys()):
        context.log.info("ingest for %s recovered", site_id)
    parts = [f"STALLED {s}: {why}" for s, why in sorted(stalled.items())]
    if never:
        parts.append("no live data yet: " + ", ".join(never))
    message = "; ".join(parts) if parts else f"every site delivered within {limit}"
    context.update_cursor(json.dumps(sorted(stalled)))
    return SkipReason(message)


SENSORS = [late_data_sensor, stalled_ingest_sensor]
