"""Dagster asset checks that run the expectation suites on one partition's window.

* Finance checks (month × site, on `finance/report_inputs`) are **blocking**: every finance report
  asset depends on that asset, so a failing check stops the reports of that run and its
  description says which class, meter or mart failed and why.
* Daily telemetry checks (site-local day, on `raw/telemetry_all`) run with the daily dbt job and
  warn: a gap in one sensor's history should be visible, not stop every roll-up.
* Freshness checks (unpartitioned) compare the newest arrival per site/block with the ingest and
  heartbeat cadence; they run on a schedule and back the stalled-ingest sensor's view.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    asset_check,
    multi_asset_check,
)
from sqlalchemy import Connection, text

from assets.keys import FINANCE_INPUTS, RAW_HEARTBEATS, RAW_TELEMETRY
from expectations import queries, suites
from expectations.runner import Outcome, validate
from orchestration.partitions import daily_partitions, report_partitions
from orchestration.resources import McsDatabase

INGEST_STALE_AFTER = timedelta(minutes=15)
HEARTBEAT_STALE_AFTER = timedelta(minutes=5)

ENERGY_MARTS = ("marts.fct_energy_daily", "marts.fct_heat_daily")
EFFICIENCY_MARTS = ("marts.fct_efficiency_daily",)
SLA_MARTS = ("marts.fct_sla_monthly", "reports.sla_monthly")


def split_report_key(partition_key: str) -> tuple[str, str]:
    """(month key 'YYYY-MM-01', site_id) of a month × site partition key."""
    keys = getattr(partition_key, "keys_by_dimension", None)
    if keys:
        return keys["month"], keys["site"]
    month, site = str(partition_key).split("|", 1)  # dimensions sorted by name: month|site
    return month, site


def month_days(month_key: str) -> tuple[date, date]:
    first = datetime.strptime(month_key, "%Y-%m-%d").date()
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def _result(outcome: Outcome, severity: AssetCheckSeverity, window: str, extra: dict | None = None,
            preview: pd.DataFrame | None = None, check_name: str | None = None,
            asset_key: AssetKey = FINANCE_INPUTS) -> AssetCheckResult:
    metadata: dict[str, object] = {"window": window, "rows_checked": outcome.rows,
                                   "expectations": outcome.evaluated, **(extra or {})}
    if preview is not None and not preview.empty:
        metadata["preview"] = MetadataValue.md(frame_markdown(preview.head(15)))
    named = {"check_name": check_name, "asset_key": asset_key} if check_name else {}
    return AssetCheckResult(passed=outcome.success, severity=severity, description=outcome.summary()[:2000],
                            metadata=metadata, **named)


def frame_markdown(frame: pd.DataFrame) -> str:
    """A markdown table without the optional `tabulate` dependency of DataFrame.to_markdown."""
    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _missing(relations: Sequence[str], conn: Connection) -> list[str]:
    return [r for r in relations if not queries.relation_exists(conn, r)]


def _mart_check(conn: Connection, relations: Sequence[str], suite: str, window: queries.Window,
                first: date, last: date, build: Callable[[pd.DataFrame, str], list]) -> Outcome:
    missing = _missing(relations, conn)
    if missing:
        return Outcome(suite, False, 0, 0, [f"{', '.join(missing)} not built: materialise the dbt marts for "
                                            f"{first:%Y-%m} first"])
    merged = Outcome(suite, True, 0, 0)
    for relation in relations:
        frame = suites.numeric(queries.mart_rows(conn, relation, window, first, last))
        outcome = validate(frame, f"{suite}_{relation.replace('.', '_')}", build(frame, relation))
        merged.rows += outcome.rows
        merged.evaluated += outcome.evaluated
        merged.success &= outcome.success
        merged.failures += outcome.failures
    return merged


# --- finance (blocking) -------------------------------------------------------------------------------

def _finance_window(context: AssetCheckExecutionContext, conn: Connection) -> tuple[queries.Window, date, date]:
    month, site = split_report_key(context.partition_key)
    first, last = month_days(month)
    return queries.local_window(conn, site, first, last), first, last


@multi_asset_check(
    name="billing_meter_checks",
    specs=[
        AssetCheckSpec("billing_meter_completeness", asset=FINANCE_INPUTS, blocking=True,
                       partitions_def=report_partitions,
                       description="Billing meters have ≥ 99.5 % of expected minutes per billing class in the month."),
        AssetCheckSpec("billing_readings_valid", asset=FINANCE_INPUTS, blocking=True, partitions_def=report_partitions,
                       description="Billing readings: counters monotonic, no future timestamps, no duplicates, "
                                   "in range."),
    ],
    description="One bounded scan of the month's billing-meter readings feeds both checks.",
)
def billing_meter_checks(context: AssetCheckExecutionContext, database: McsDatabase) -> Iterator[AssetCheckResult]:
    with database.engine() as engine, engine.connect() as conn:
        window, _, _ = _finance_window(context, conn)
        profile = queries.point_profile(conn, window, billing_only=True)
    by_class = queries.class_completeness(profile)
    outcome = validate(by_class, "billing_completeness", suites.completeness())
    yield _result(outcome, AssetCheckSeverity.ERROR, window.describe(), preview=by_class,
                  check_name="billing_meter_completeness")
    outcome = validate(profile, "billing_readings", suites.readings(out_of_range_max=0.0))
    bad = profile[(profile["decreases"] > 0) | (profile["future"] > 0) | (profile["duplicates"] > 0)
                  | (profile["out_of_range"] > 0)] if not profile.empty else profile
    yield _result(outcome, AssetCheckSeverity.ERROR, window.describe(), check_name="billing_readings_valid",
                  preview=bad[["tag", "block_id", "samples", "decreases", "worst_step", "future", "duplicates",
                               "out_of_range"]] if not bad.empty else None)


@asset_check(asset=FINANCE_INPUTS, blocking=True, partitions_def=report_partitions,
             description="Energy and heat marts of the month are present and never negative.")
def energy_marts_non_negative(context: AssetCheckExecutionContext, database: McsDatabase) -> AssetCheckResult:
    with database.engine() as engine, engine.connect() as conn:
        window, first, last = _finance_window(context, conn)
        outcome = _mart_check(conn, ENERGY_MARTS, "energy_non_negative", window, first, last,
                              suites.energy_non_negative)
    return _result(outcome, AssetCheckSeverity.ERROR, window.describe())


@asset_check(asset=FINANCE_INPUTS, blocking=True, partitions_def=report_partitions,
             description="PUE of every day of the month within 1.0–2.0 (ERF within 0–1).")
def pue_plausible(context: AssetCheckExecutionContext, database: McsDatabase) -> AssetCheckResult:
    with database.engine() as engine, engine.connect() as conn:
        window, first, last = _finance_window(context, conn)
        outcome = _mart_check(conn, EFFICIENCY_MARTS, "pue_plausible", window, first, last, suites.pue_plausible)
    return _result(outcome, AssetCheckSeverity.ERROR, window.describe())


@asset_check(asset=FINANCE_INPUTS, blocking=True, partitions_def=report_partitions,
             description="SLA availability of the month within 0–100 %.")
def sla_within_bounds(context: AssetCheckExecutionContext, database: McsDatabase) -> AssetCheckResult:
    with database.engine() as engine, engine.connect() as conn:
        window, first, last = _finance_window(context, conn)
        outcome = _mart_check(conn, SLA_MARTS, "sla_range", window, first, last, suites.sla_range)
    return _result(outcome, AssetCheckSeverity.ERROR, window.describe())


FINANCE_CHECKS: list[AssetChecksDefinition] = [billing_meter_checks, energy_marts_non_negative, pue_plausible,
                                               sla_within_bounds]


# --- daily telemetry (warn) ---------------------------------------------------------------------------

def _daily_profiles(context: AssetCheckExecutionContext, conn: Connection) -> tuple[pd.DataFrame, str]:
    """Per-point profiles of every site for the run's site-local day(s) (a backfill may run a range)."""
    window = context.partition_time_window
    first = window.start.date()
    last = (window.end - timedelta(days=1)).date()
    frames = []
    for (site_id,) in conn.execute(text("SELECT site_id FROM ref.sites WHERE retired_at IS NULL ORDER BY site_id")):
        local = queries.local_window(conn, site_id, first, last)
        profile = queries.point_profile(conn, local, billing_only=False)
        if not profile.empty:
            profile.insert(0, "site_id", site_id)
            frames.append(profile)
    label = first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), label


@multi_asset_check(
    name="telemetry_day_checks",
    specs=[
        AssetCheckSpec("telemetry_completeness", asset=RAW_TELEMETRY, partitions_def=daily_partitions,
                       description="Every site's points have ≥ 99.5 % of the day's minutes, per point class."),
        AssetCheckSpec("telemetry_readings_valid", asset=RAW_TELEMETRY, partitions_def=daily_partitions,
                       description="Readings of the day: ranges per kind, monotonic counters, no future ts, "
                                   "no duplicates."),
    ],
    description="One bounded scan per site of the site-local day(s) feeds both checks.",
)
def telemetry_day_checks(context: AssetCheckExecutionContext, database: McsDatabase) -> Iterator[AssetCheckResult]:
    with database.engine() as engine, engine.connect() as conn:
        profile, day = _daily_profiles(context, conn)
    if profile.empty:
        for name in ("telemetry_completeness", "telemetry_readings_valid"):
            yield AssetCheckResult(check_name=name, asset_key=RAW_TELEMETRY, passed=False,
                                   severity=AssetCheckSeverity.WARN, description=f"no registered points for {day}")
        return
    classes = profile.assign(point_class=profile["site_id"] + "/" + profile["kind"])
    by_class = queries.class_completeness(classes)
    outcome = validate(by_class, "telemetry_completeness", suites.completeness())
    yield _result(outcome, AssetCheckSeverity.WARN, f"site-local day {day}", preview=by_class,
                  check_name="telemetry_completeness", asset_key=RAW_TELEMETRY)
    outcome = validate(profile, "telemetry_readings", suites.readings(out_of_range_max=suites.DAILY_OUT_OF_RANGE_MAX))
    yield _result(outcome, AssetCheckSeverity.WARN, f"site-local day {day}", check_name="telemetry_readings_valid",
                  asset_key=RAW_TELEMETRY)


DAILY_CHECKS: list[AssetChecksDefinition] = [telemetry_day_checks]


# --- freshness (warn, unpartitioned) ------------------------------------------------------------------

INGEST_FRESHNESS_SQL = text("""
SELECT s.site_id, max(l.received_at) AS last_received_at
FROM ref.sites s
LEFT JOIN ref.points p ON p.site_id = s.site_id
LEFT JOIN ops.point_latest l ON l.point_id = p.point_id
WHERE s.retired_at IS NULL
GROUP BY s.site_id ORDER BY s.site_id
""")

HEARTBEAT_FRESHNESS_SQL = text("""
SELECT b.site_id, b.block_id, max(h.received_at) AS last_received_at
FROM ref.blocks b
LEFT JOIN raw.edge_heartbeats h ON h.site_id = b.site_id AND h.block_id = b.block_id
     AND h.ts > now() - interval '1 day'
WHERE b.retired_at IS NULL
GROUP BY b.site_id, b.block_id ORDER BY 1, 2
""")


def _stale(rows: list, limit: timedelta, now: datetime) -> list[str]:
    stale = []
    for *ident, last in rows:
        if last is None or now - last > limit:
            seen = "never" if last is None else f"last {last.isoformat(timespec='seconds')}"
            stale.append(f"{'/'.join(ident)} ({seen})")
    return stale


@asset_check(asset=RAW_TELEMETRY, name="ingest_fresh",
             description="Every site delivered telemetry within the last 15 minutes (ops.point_latest).")
def ingest_fresh(database: McsDatabase) -> AssetCheckResult:
    with database.engine() as engine, engine.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        stale = _stale(conn.execute(INGEST_FRESHNESS_SQL).all(), INGEST_STALE_AFTER, now)
    return AssetCheckResult(passed=not stale, severity=AssetCheckSeverity.WARN,
                            description="stale sites: " + ", ".join(stale) if stale else "every site is fresh")


@asset_check(asset=RAW_HEARTBEATS, name="heartbeats_fresh",
             description="Every block's edge sent a heartbeat within the last 5 minutes.")
def heartbeats_fresh(database: McsDatabase) -> AssetCheckResult:
    with database.engine() as engine, engine.connect() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one()
        stale = _stale(conn.execute(HEARTBEAT_FRESHNESS_SQL).all(), HEARTBEAT_STALE_AFTER, now)
    return AssetCheckResult(passed=not stale, severity=AssetCheckSeverity.WARN,
                            description="silent edges: " + ", ".join(stale) if stale else "every edge is fresh")


FRESHNESS_CHECKS: list[AssetChecksDefinition] = [ingest_fresh, heartbeats_fresh]
