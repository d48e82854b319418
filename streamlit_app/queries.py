"""Every query the app runs: named, parameterised (SQLAlchemy text()), cached with a TTL, bounded.

Why one module: the pages stay free of SQL, every query is reviewable in one place, and each one
states its window (live values: 15 min; alarm history: ≤ 31 days and ≤ 2,000 rows; trends: through
the tiering rule, so a 90-day chart reads ≈ 2,000 hourly buckets per point, not 130 k raw rows).

Caching: `st.cache_data` with short TTLs for live data (2–5 s: a NOC wall refreshing every 5 s
costs one query per TTL for all viewers) and longer ones for history and the registry. Every
cached function takes the database URL first, so two databases (tests, or a URL change) never
share cache entries; callers use the thin wrappers that fill it in.

Later stages' tables (dbt marts, ops.report_artifacts) may not exist yet: `relation_exists` is
checked first and the pages say what to run instead of failing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy import Engine, bindparam, text

from mcs.db.engine import make_engine

P = ParamSpec("P")
R = TypeVar("R")

LIVE_WINDOW = timedelta(minutes=15)        # a "latest" value older than this is not live
MAX_HISTORY_DAYS = 31
MAX_ALARM_ROWS = 2000
MAX_RAW_ROWS = 200_000                     # guard for the raw tier of the trends explorer

# Tiering rule (domain §6.3): span → bucket. None = raw readings.
TIERS: list[tuple[timedelta, timedelta | None, str]] = [
    (timedelta(hours=2), None, "raw"),
    (timedelta(hours=12), timedelta(minutes=1), "1 min"),
    (timedelta(days=3), timedelta(minutes=5), "5 min"),
    (timedelta(days=90), timedelta(hours=1), "1 h"),
]
DAILY_TIER = (timedelta(days=1), "1 day")


def database_url() -> str:
    """MCS_DATABASE_URL, read on every call (tests and `mcs up` set it per process)."""
    url = os.environ.get("MCS_DATABASE_URL")
    if url:
        return url
    from mcs.runtime import database_url as platform_url
    from mcs.settings import Settings

    return platform_url(Settings())


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    # A small pool: Streamlit runs each session's script in its own thread.
    return make_engine(url, pool_size=5, max_overflow=5, pool_recycle=600)


def engine() -> Engine:
    return _engine(database_url())


def cached(ttl: float | timedelta) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """st.cache_data keyed by the database URL too; the wrapper exposes .clear()."""

    def decorate(fn: Callable[..., R]) -> Callable[..., R]:
        inner = st.cache_data(ttl=ttl, show_spinner=False, max_entries=256)(fn)

        @wraps(fn)
        def call(*args: Any, **kwargs: Any) -> R:
            return inner(database_url(), *args, **kwargs)

        call.clear = inner.clear  # type: ignore[attr-defined]
        return call

    return decorate


def _frame(url: str, sql: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
    with _engine(url).connect() as conn:
        result = conn.execute(sql, params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _scalar(url: str, sql: Any, params: dict[str, Any] | None = None) -> Any:
    with _engine(url).connect() as conn:
        return conn.execute(sql, params or {}).scalar()


# -- registry ---------------------------------------------------------------------------------------
REL_EXISTS = text("SELECT to_regclass(:name) IS NOT NULL")
SITES = text("""SELECT site_id, name, timezone, currency, grid_region, host_name
                FROM ref.sites WHERE retired_at IS NULL ORDER BY site_id""")
BLOCKS = text("""SELECT site_id, block_id, name, it_capacity_kw, rack_count, availability_class, edge_id
                 FROM ref.blocks WHERE retired_at IS NULL ORDER BY site_id, block_id""")
POINTS = text("""SELECT point_id, tag, subsystem, equipment_tag, description, kind, unit, billing_role,
                        range_min, range_max, enum_map
                 FROM ref.active_points WHERE site_id = :site AND block_id = :block ORDER BY subsystem, tag""")
ALARM_LIMITS = text("""SELECT l.point_id, l.priority, l.direction, l.value FROM ref.alarm_limits l
                       JOIN ref.active_points p USING (point_id)
                       WHERE p.site_id = :site AND p.block_id = :block""")


@cached(ttl=60)
def _relation_exists(url: str, name: str) -> bool:
    return bool(_scalar(url, REL_EXISTS, {"name": name}))


def relation_exists(name: str) -> bool:
    return _relation_exists(name)


@cached(ttl=300)
def sites(url: str) -> pd.DataFrame:
    return _frame(url, SITES)


@cached(ttl=300)
def blocks(url: str) -> pd.DataFrame:
    return _frame(url, BLOCKS)


@cached(ttl=300)
def points(url: str, site: str, block: str) -> pd.DataFrame:
    return _frame(url, POINTS, {"site": site, "block": block})


@cached(ttl=300)
def alarm_limits(url: str, site: str, block: str) -> pd.DataFrame:
    return _frame(url, ALARM_LIMITS, {"site": site, "block": block})


def point_ids(site: str, block: str, tags: list[str]) -> dict[str, int]:
    pts = points(site, block)
    found = pts[pts["tag"].isin(tags)]
    return dict(zip(found["tag"], found["point_id"].astype(int), strict=True))


# -- live values -----------------------------------------------------------------------------------
LATEST = text("""
    SELECT p.point_id, p.tag, p.subsystem, p.unit, p.kind, p.billing_role, l.ts, l.value, l.quality
    FROM ref.active_points p JOIN ops.point_latest l USING (point_id)
    WHERE p.site_id = :site AND p.block_id = :block""")
# Fallback while nothing ingests live (history from `mcs backfill` only): the newest reading per
# point of the last 15 minutes, straight from raw.telemetry's (point_id, ts) index.
LATEST_FROM_RAW = text("""
    SELECT DISTINCT ON (t.point_id) p.point_id, p.tag, p.subsystem, p.unit, p.kind, p.billing_role,
           t.ts, t.value, t.quality
    FROM raw.telemetry t JOIN ref.active_points p USING (point_id)
    WHERE p.site_id = :site AND p.block_id = :block AND t.ts >= :since AND t.ts <= now() + interval '1 minute'
    ORDER BY t.point_id, t.ts DESC""")


@cached(ttl=2)
def latest(url: str, site: str, block: str) -> tuple[pd.DataFrame, str]:
    """(newest value per point, source): source 'live' (ops.point_latest), 'history' or 'none'."""
    df = _frame(url, LATEST, {"site": site, "block": block})
    since = datetime.now(UTC) - LIVE_WINDOW
    if not df.empty and (pd.to_datetime(df["ts"], utc=True) >= since).any():
        return df, "live"
    raw = _frame(url, LATEST_FROM_RAW, {"site": site, "block": block, "since": since})
    if not raw.empty:
        return raw, "history"
    return df, "live" if not df.empty else "none"


MODE_NOW = text("""SELECT ts, state, previous, trigger, valves, guards, operator FROM raw.mode_events
                   WHERE site_id = :site AND block_id = :block ORDER BY ts DESC LIMIT 1""")
MODE_EVENTS = text("""SELECT ts, state, previous, trigger, operator FROM raw.mode_events
                      WHERE site_id = :site AND block_id = :block AND ts >= :start AND ts < :end
                      ORDER BY ts""")
MODE_BEFORE = text("""SELECT ts, state FROM raw.mode_events WHERE site_id = :site AND block_id = :block
                      AND ts < :start ORDER BY ts DESC LIMIT 1""")


@cached(ttl=5)
def mode_now(url: str, site: str, block: str) -> dict[str, Any] | None:
    df = _frame(url, MODE_NOW, {"site": site, "block": block})
    return None if df.empty else df.iloc[0].to_dict()


@cached(ttl=300)
def mode_intervals(url: str, site: str, block: str, start: datetime, end: datetime) -> pd.DataFrame:
    """(state, start, end) intervals clipped to [start, end) from raw.mode_events."""
    params = {"site": site, "block": block, "start": start, "end": end}
    events = _frame(url, MODE_EVENTS, params)
    before = _frame(url, MODE_BEFORE, params)
    rows: list[tuple[str, datetime]] = []
    if not before.empty:
        rows.append((before.iloc[0]["state"], start))
    rows += [(r.state, r.ts) for r in events.itertuples()]
    out = [(state, max(pd.Timestamp(ts), pd.Timestamp(start)),
            pd.Timestamp(rows[i + 1][1]) if i + 1 < len(rows) else pd.Timestamp(min(end, datetime.now(UTC))))
           for i, (state, ts) in enumerate(rows)]
    return pd.DataFrame(out, columns=["state", "start", "end"])


HEARTBEAT = text("""SELECT ts, edge_id, uptime_s, adapters, buffer, system, received_at,
                           extract(epoch FROM now() - ts) AS age_s
                    FROM raw.edge_heartbeats WHERE site_id = :site AND block_id = :block
                    AND ts >= now() - interval '1 day' ORDER BY ts DESC LIMIT 1""")
COMPONENTS = text("""SELECT component, instance, ts, counters, extract(epoch FROM now() - ts) AS age_s
                     FROM ops.ingest_counters ORDER BY component, instance""")


@cached(ttl=5)
def edge_heartbeat(url: str, site: str, block: str) -> dict[str, Any] | None:
    df = _frame(url, HEARTBEAT, {"site": site, "block": block})
    return None if df.empty else df.iloc[0].to_dict()


@cached(ttl=5)
def components(url: str) -> pd.DataFrame:
    return _frame(url, COMPONENTS)


# -- alarms ----------------------------------------------------------------------------------------
ACTIVE_ALARMS = text("""
    SELECT alarm_id, site_id, block_id, tag, subsystem, kind, priority, active_priority, direction, state,
           shelved_until, shelve_reason, shelved_by, suppressed_by, out_of_service, chattering,
           raised_at, acked_at, acked_by, cleared_at, value, threshold, last_value, description
    FROM ops.alarms
    WHERE state <> 'CLOSED' AND (CAST(:site AS text) IS NULL OR site_id = :site)
      AND (CAST(:block AS text) IS NULL OR block_id = :block)
    ORDER BY priority, raised_at DESC
    LIMIT :limit""")
ALARM_COUNTS = text("""
    SELECT priority, count(*) AS n,
           count(*) FILTER (WHERE state IN ('ACTIVE_UNACK', 'RTN_UNACK')) AS unacked,
           count(*) FILTER (WHERE shelved_until > now()) AS shelved
    FROM ops.alarms WHERE state <> 'CLOSED' AND site_id = :site AND block_id = :block
    GROUP BY priority""")
ALARM_HISTORY = text("""
    SELECT e.ts, e.alarm_id, e.tag, e.priority, e.event, e.state_after, e.value, e.threshold, e.actor, e.reason,
           e.source
    FROM ops.alarm_events e
    WHERE e.site_id = :site AND e.block_id = :block AND e.ts >= :start AND e.ts < :end
    ORDER BY e.ts DESC LIMIT :limit""")
ALARMS_IN_WINDOW = text("""
    SELECT alarm_id, tag, priority, state, raised_at, acked_at, cleared_at, closed_at, chattering, shelved_until
    FROM ops.alarms WHERE site_id = :site AND block_id = :block
      AND raised_at < :end AND coalesce(closed_at, cleared_at, now()) >= :start
    ORDER BY raised_at LIMIT 20000""")
RAISES_IN_WINDOW = text("""
    SELECT ts, tag, priority FROM ops.alarm_events
    WHERE site_id = :site AND block_id = :block AND event = 'RAISED' AND ts >= :start AND ts < :end
    ORDER BY ts LIMIT 50000""")


@cached(ttl=2)
def active_alarms(url: str, site: str | None, block: str | None, limit: int = 500) -> pd.DataFrame:
    return _frame(url, ACTIVE_ALARMS, {"site": site, "block": block, "limit": min(limit, MAX_ALARM_ROWS)})


@cached(ttl=5)
def alarm_counts(url: str, site: str, block: str) -> pd.DataFrame:
    return _frame(url, ALARM_COUNTS, {"site": site, "block": block})


@cached(ttl=10)
def alarm_history(url: str, site: str, block: str, days: int, limit: int = 500) -> pd.DataFrame:
    end = datetime.now(UTC)
    start = end - timedelta(days=min(days, MAX_HISTORY_DAYS))
    return _frame(url, ALARM_HISTORY, {"site": site, "block": block, "start": start, "end": end,
                                       "limit": min(limit, MAX_ALARM_ROWS)})


@cached(ttl=60)
def alarms_in_window(url: str, site: str, block: str, start: datetime, end: datetime) -> pd.DataFrame:
    return _frame(url, ALARMS_IN_WINDOW, {"site": site, "block": block, "start": start, "end": end})


@cached(ttl=60)
def raises_in_window(url: str, site: str, block: str, start: datetime, end: datetime) -> pd.DataFrame:
    return _frame(url, RAISES_IN_WINDOW, {"site": site, "block": block, "start": start, "end": end})


def clear_alarm_caches() -> None:
    """After an operator action the next render must show the new state, not a cached one."""
    for fn in (active_alarms, alarm_counts, alarm_history, alarms_in_window, raises_in_window):
        fn.clear()  # type: ignore[attr-defined]


# -- commands --------------------------------------------------------------------------------------
COMMANDS = text("""
    SELECT request_id, target, cmd, params, source, status, requested_at, sent_at, answered_at, response
    FROM ops.commands WHERE site_id = :site AND block_id = :block
      AND requested_at >= now() - interval '7 days'
    ORDER BY requested_at DESC LIMIT :limit""")


@cached(ttl=1)
def commands(url: str, site: str, block: str, limit: int = 50) -> pd.DataFrame:
    return _frame(url, COMMANDS, {"site": site, "block": block, "limit": min(limit, 500)})


# -- time series (tiering) -------------------------------------------------------------------------
def tier_for(start: datetime, end: datetime) -> tuple[timedelta | None, str]:
    span = end - start
    for limit, step, name in TIERS:
        if span < limit:
            return step, name
    return DAILY_TIER


RAW_SERIES = text("""
    SELECT ts, point_id, value AS avg, value AS min, value AS max FROM raw.telemetry
    WHERE point_id IN :ids AND ts >= :start AND ts < :end ORDER BY ts LIMIT :limit""").bindparams(
    bindparam("ids", expanding=True))
BUCKET_SERIES = text("""
    SELECT date_bin(CAST(:step AS interval), ts, TIMESTAMPTZ '2000-01-01') AS ts, point_id,
           avg(value) AS avg, min(value) AS min, max(value) AS max
    FROM raw.telemetry
    WHERE point_id IN :ids AND ts >= :start AND ts < :end
    GROUP BY 1, 2 ORDER BY 1""").bindparams(bindparam("ids", expanding=True))


def _series_fallback(url: str, ids: list[int], start: datetime, end: datetime) -> pd.DataFrame:
    """The tiering rule over raw.telemetry (used until mcs.tiering / the roll-up marts exist)."""
    step, _ = tier_for(start, end)
    params = {"ids": ids, "start": start, "end": end}
    if step is None:
        return _frame(url, RAW_SERIES, params | {"limit": MAX_RAW_ROWS})
    return _frame(url, BUCKET_SERIES, params | {"step": f"{int(step.total_seconds())} seconds"})


@cached(ttl=30)
def series(url: str, ids: tuple[int, ...], start: datetime, end: datetime) -> pd.DataFrame:
    """DataFrame(ts, point_id, avg, min, max) at the tier the span calls for (domain §6.3)."""
    ids_list = [int(i) for i in ids]
    if not ids_list or end <= start:
        return pd.DataFrame(columns=["ts", "point_id", "avg", "min", "max"])
    try:
        from mcs import tiering  # dbt-core helper's module: marts.fct_rollup_* when built
    except ImportError:
        tiering = None
    if tiering is not None:
        try:
            df = tiering.series(_engine(url), ids_list, start, end)
            if df is not None and not df.empty:
                return df[["ts", "point_id", "avg", "min", "max"]]
        except Exception:  # noqa: BLE001 - roll-up marts not built yet: read raw with the same rule
            pass
    return _series_fallback(url, ids_list, start, end)


def series_by_tag(site: str, block: str, tags: list[str], start: datetime, end: datetime) -> pd.DataFrame:
    """series() with a `tag` column, for charts."""
    ids = point_ids(site, block, tags)
    if not ids:
        return pd.DataFrame(columns=["ts", "point_id", "avg", "min", "max", "tag"])
    df = series(tuple(sorted(ids.values())), start, end)
    by_id = {v: k for k, v in ids.items()}
    df = df.copy()
    df["tag"] = df["point_id"].map(by_id)
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return df


# -- energy (counter deltas) -----------------------------------------------------------------------
COUNTER_HOURLY = text("""
    SELECT date_bin(INTERVAL '1 hour', t.ts, TIMESTAMPTZ '2000-01-01') AS hour, p.block_id, p.billing_role,
           t.point_id, max(t.value) AS max_value, min(t.value) AS min_value
    FROM raw.telemetry_all t JOIN ref.active_points p USING (point_id)
    WHERE p.site_id = :site AND p.billing_role IN ('facility_energy_kwh', 'it_energy_kwh', 'thermal_energy_kwht')
      AND t.ts >= :start AND t.ts < :end AND t.quality < 2
    GROUP BY 1, 2, 3, 4 ORDER BY 4, 1""")


@cached(ttl=600)
def energy_daily_from_counters(url: str, site: str, start: datetime, end: datetime, tz: str) -> pd.DataFrame:
    """Site-local daily kWh per block from cumulative counters: Σ positive hourly deltas.

    Why counters and hourly maxima: energy must come from the meters' registers (domain §6.9.4);
    a negative delta is a meter reset and is dropped (its interval is lost, not negative). Used until
    marts.fct_energy_daily / fct_heat_daily exist (then those are shown instead).
    """
    df = _frame(url, COUNTER_HOURLY, {"site": site, "start": start, "end": end})
    cols = ["local_date", "block_id", "facility_kwh", "it_kwh", "heat_kwht"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.sort_values(["point_id", "hour"])
    # Delta within the hour (max-min) plus the step from the previous hour's max to this hour's max.
    df["prev_max"] = df.groupby("point_id")["max_value"].shift()
    step = (df["max_value"] - df["prev_max"]).where(lambda s: s >= 0)
    within = df["max_value"] - df["min_value"]
    df["delta"] = np.where(df["prev_max"].isna(), within, step.fillna(0.0))
    df["local_date"] = pd.to_datetime(df["hour"], utc=True).dt.tz_convert(tz).dt.date
    role_col = {"facility_energy_kwh": "facility_kwh", "it_energy_kwh": "it_kwh", "thermal_energy_kwht": "heat_kwht"}
    df["metric"] = df["billing_role"].map(role_col)
    out = df.pivot_table(index=["local_date", "block_id"], columns="metric", values="delta", aggfunc="sum")
    out = out.reindex(columns=cols[2:]).fillna(0.0).reset_index()
    return out[cols]


def efficiency(daily: pd.DataFrame) -> pd.DataFrame:
    """PUE, ERE, ERF per row (The Green Grid, domain §7.4); NaN where IT energy is zero."""
    df = daily.copy()
    it = df["it_kwh"].replace(0, np.nan)
    fac = df["facility_kwh"].replace(0, np.nan)
    df["pue"] = df["facility_kwh"] / it
    df["ere"] = (df["facility_kwh"] - df["heat_kwht"]) / it
    df["erf"] = df["heat_kwht"] / fac
    return df


@cached(ttl=300)
def mart(url: str, relation: str, site: str, limit: int = 5000) -> pd.DataFrame:
    """Rows of a dbt mart / report for one site (relation is one of the fixed names in CONTRACTS)."""
    if relation not in MART_NAMES:
        raise ValueError(f"unknown mart {relation!r}")
    if not _scalar(url, REL_EXISTS, {"name": relation}):
        return pd.DataFrame()
    sql = text(f"SELECT * FROM {relation} WHERE site_id = :site LIMIT :limit")  # noqa: S608 - whitelisted name
    return _frame(url, sql, {"site": site, "limit": limit})


MART_NAMES = frozenset({
    "marts.fct_energy_daily", "marts.fct_energy_monthly", "marts.fct_heat_daily", "marts.fct_heat_monthly",
    "marts.fct_efficiency_daily", "marts.fct_efficiency_monthly", "marts.fct_mode_intervals",
    "marts.fct_alarm_kpis_daily", "marts.fct_alarm_kpis_hourly", "marts.fct_alarm_bad_actors",
    "marts.fct_sla_monthly", "reports.sla_monthly", "reports.esg_monthly", "reports.invoice_monthly",
    "reports.heat_credit_monthly", "marts.fct_temperature_compliance_daily", "marts.fct_ups_battery_health",
    "marts.fct_uptime_monthly", "marts.fct_capacity_monthly",
})


# -- reports ---------------------------------------------------------------------------------------
REPORT_ARTIFACTS = text("""
    SELECT * FROM ops.report_artifacts
    WHERE (CAST(:site AS text) IS NULL OR site_id = :site)
    ORDER BY created_at DESC LIMIT 500""")


@cached(ttl=30)
def report_artifacts(url: str, site: str | None) -> pd.DataFrame:
    if not _scalar(url, REL_EXISTS, {"name": "ops.report_artifacts"}):
        return pd.DataFrame()
    return _frame(url, REPORT_ARTIFACTS, {"site": site})


CONTRACTS = text("""SELECT contract_ref, block_id, kind, counterparty, start_date, end_date, currency,
                           availability_class, committed_kw, racks, terms
                    FROM ref.contracts WHERE site_id = :site AND retired_at IS NULL ORDER BY contract_ref""")


@cached(ttl=300)
def contracts(url: str, site: str) -> pd.DataFrame:
    return _frame(url, CONTRACTS, {"site": site})


AUDIT = text("""SELECT ts, actor, role, action, target, reason, details FROM ops.audit_log
                WHERE ts >= now() - interval '7 days' ORDER BY ts DESC LIMIT :limit""")


@cached(ttl=5)
def audit_log(url: str, limit: int = 200) -> pd.DataFrame:
    if not _scalar(url, REL_EXISTS, {"name": "ops.audit_log"}):
        return pd.DataFrame()
    return _frame(url, AUDIT, {"limit": min(limit, 1000)})


# -- fleet overview --------------------------------------------------------------------------------
FLEET_LIVE = text("""
    SELECT p.site_id, p.block_id,
           sum(l.value) FILTER (WHERE p.billing_role = 'it_power_kw')       AS it_kw,
           sum(l.value) FILTER (WHERE p.billing_role = 'facility_power_kw') AS facility_kw,
           sum(l.value) FILTER (WHERE p.billing_role = 'thermal_power_kw')  AS heat_kw,
           max(l.value) FILTER (WHERE p.tag = 'MODE-current')               AS mode_code,
           max(l.ts) AS newest
    FROM ref.active_points p JOIN ops.point_latest l USING (point_id)
    WHERE (p.billing_role IN ('it_power_kw', 'facility_power_kw', 'thermal_power_kw') OR p.tag = 'MODE-current')
      AND l.ts >= :since
    GROUP BY 1, 2""")
FLEET_ALARMS = text("""
    SELECT site_id, block_id, count(*) FILTER (WHERE priority = 'P0') AS p0,
           count(*) FILTER (WHERE priority = 'P1') AS p1, count(*) FILTER (WHERE priority = 'P2') AS p2,
           count(*) FILTER (WHERE priority = 'P3') AS p3,
           count(*) FILTER (WHERE state IN ('ACTIVE_UNACK', 'RTN_UNACK')) AS unacked
    FROM ops.alarms WHERE state <> 'CLOSED' GROUP BY 1, 2""")
FLEET_HEARTBEATS = text("""
    SELECT DISTINCT ON (site_id, block_id) site_id, block_id, ts AS heartbeat_ts,
           extract(epoch FROM now() - ts) AS heartbeat_age_s
    FROM raw.edge_heartbeats WHERE ts >= now() - interval '1 day'
    ORDER BY site_id, block_id, ts DESC""")


@cached(ttl=5)
def fleet_overview(url: str) -> pd.DataFrame:
    """One row per registered block: live power, heat, PUE, mode, open alarms by priority, edge age."""
    out = _frame(url, BLOCKS)[["site_id", "block_id", "name", "it_capacity_kw", "availability_class"]]
    live = _frame(url, FLEET_LIVE, {"since": datetime.now(UTC) - LIVE_WINDOW})
    out = out.merge(live, on=["site_id", "block_id"], how="left")
    if _scalar(url, REL_EXISTS, {"name": "ops.alarms"}):
        out = out.merge(_frame(url, FLEET_ALARMS), on=["site_id", "block_id"], how="left")
    out = out.merge(_frame(url, FLEET_HEARTBEATS), on=["site_id", "block_id"], how="left")
    for col in ("p0", "p1", "p2", "p3", "unacked"):
        out[col] = out[col].fillna(0).astype(int) if col in out else 0
    out["pue"] = out["facility_kw"] / out["it_kw"].where(out["it_kw"] > 0)
    return out


EFFICIENCY_DAILY = text("""
    SELECT local_date, block_id, facility_kwh, it_kwh, reused_kwht AS heat_kwht, pue, ere, erf
    FROM marts.fct_efficiency_daily
    WHERE site_id = :site AND local_date >= :d0 AND local_date <= :d1
    ORDER BY local_date, block_id""")


@cached(ttl=300)
def efficiency_daily_mart(url: str, site: str, d0: Any, d1: Any) -> pd.DataFrame:
    """dbt's daily energy/efficiency per block (heat = reused kWht, EXPORT/MIXED only); empty if not built."""
    if not _scalar(url, REL_EXISTS, {"name": "marts.fct_efficiency_daily"}):
        return pd.DataFrame()
    try:
        df = _frame(url, EFFICIENCY_DAILY, {"site": site, "d0": d0, "d1": d1})
    except Exception:  # noqa: BLE001 - a mart whose columns changed: fall back to the counters
        return pd.DataFrame()
    num = ["facility_kwh", "it_kwh", "heat_kwht", "pue", "ere", "erf"]
    df[num] = df[num].apply(pd.to_numeric, errors="coerce").astype(float)   # numeric → float, not Decimal
    return df
