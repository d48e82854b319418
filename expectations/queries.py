"""Bounded queries that turn one partition's window into small frames for the expectation suites.

Every query is bounded by a site and a [start, end) window on ts (partition pruning on raw
telemetry, the (point_id, ts) index on the billing points) and aggregates per point in SQL, so the
frame has one row per point, never one per reading: a month of a billing meter at 5 s polling is
half a million readings, the frame is a few dozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, text

COUNTER_KINDS = ("counter", "accumulator")

# One row per point: samples, distinct minutes with a non-BAD reading, duplicates (raw plus archive
# both holding a reading), readings stamped in the future (vs arrival, or vs now), values outside the
# registered range, and counter decreases that are neither a reset to ~0 nor a rollover at range_max.
POINT_PROFILE_SQL = text("""
WITH pts AS (
    SELECT point_id, block_id, tag, kind, coalesce(billing_role, kind) AS point_class, range_min, range_max
    FROM ref.points
    WHERE site_id = :site AND retired_at IS NULL AND protocol <> 'derived'
      AND (NOT :billing_only OR billing_role IS NOT NULL)
), r AS (
    SELECT t.point_id, t.ts, t.value, t.received_at,
           lag(t.value) OVER w AS prev,
           t.ts = lag(t.ts) OVER w AS dup
    FROM raw.telemetry_all t
    WHERE t.point_id IN (SELECT point_id FROM pts) AND t.ts >= :start AND t.ts < :end AND t.quality < 2
    WINDOW w AS (PARTITION BY t.point_id ORDER BY t.ts)
)
SELECT p.point_id, p.block_id, p.tag, p.kind, p.point_class,
       count(r.ts) AS samples,
       count(DISTINCT date_trunc('minute', r.ts)) AS minutes,
       count(*) FILTER (WHERE r.dup) AS duplicates,
       count(*) FILTER (WHERE r.ts > r.received_at + interval '5 minutes' OR r.ts > now()) AS future,
       count(*) FILTER (WHERE r.value < p.range_min OR r.value > p.range_max) AS out_of_range,
       count(*) FILTER (WHERE p.kind IN ('counter', 'accumulator') AND r.value < r.prev
                          AND NOT r.value <= 0.01 * greatest(abs(r.prev), 1)
                          AND NOT (p.range_max IS NOT NULL AND r.prev > 0.9 * p.range_max
                                   AND r.value < 0.1 * p.range_max)) AS decreases,
       min(r.value - r.prev) FILTER (WHERE p.kind IN ('counter', 'accumulator')) AS worst_step
FROM pts p
LEFT JOIN r ON r.point_id = p.point_id
GROUP BY p.point_id, p.block_id, p.tag, p.kind, p.point_class
ORDER BY p.point_id
""")

BLOCK_START_SQL = text("""
SELECT b.block_id, b.commissioned_on, s.timezone
FROM ref.blocks b JOIN ref.sites s ON s.site_id = b.site_id
WHERE b.site_id = :site
""")


@dataclass(frozen=True)
class Window:
    site_id: str
    start: datetime   # UTC, inclusive
    end: datetime     # UTC, exclusive

    def describe(self) -> str:
        return f"{self.site_id} {self.start.isoformat()}/{self.end.isoformat()}"


def local_window(conn: Connection, site_id: str, first_day: date, last_day: date) -> Window:
    """[local midnight of first_day, local midnight after last_day) of the site, in UTC."""
    tz = conn.execute(text("SELECT timezone FROM ref.sites WHERE site_id = :s"), {"s": site_id}).scalar_one_or_none()
    if tz is None:
        raise LookupError(f"site {site_id!r} is not in ref.sites")
    zone = ZoneInfo(tz)
    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return Window(site_id, start, end)


def point_profile(conn: Connection, window: Window, billing_only: bool) -> pd.DataFrame:
    """One row per point of the site (billing points only if asked) with `expected_minutes` and `completeness`.

    Expected minutes run from the later of the window start and the block's commissioning (site-local
    midnight) to the earlier of the window end and now: a block commissioned mid-month is complete
    from its first day, and a window still in progress is judged on its elapsed part.
    """
    frame = pd.DataFrame(conn.execute(POINT_PROFILE_SQL, {"site": window.site_id, "start": window.start,
                                                          "end": window.end, "billing_only": billing_only})
                         .mappings().all())
    if frame.empty:
        return frame
    starts: dict[str, datetime] = {}
    for block_id, commissioned_on, tz in conn.execute(BLOCK_START_SQL, {"site": window.site_id}):
        begin = window.start
        if commissioned_on is not None:
            begin = max(begin, datetime.combine(commissioned_on, time(0), ZoneInfo(tz)).astimezone(UTC))
        starts[block_id] = begin
    end = min(window.end, datetime.now(UTC))
    frame["expected_minutes"] = [max(0, int((end - starts.get(b, window.start)).total_seconds() // 60))
                                 for b in frame["block_id"]]
    frame["completeness"] = [(m / e) if e else 1.0 for m, e in zip(frame["minutes"], frame["expected_minutes"],
                                                                       strict=True)]
    frame["out_of_range_ratio"] = [(o / s) if s else 0.0 for o, s in zip(frame["out_of_range"], frame["samples"],
                                                                         strict=True)]
    return frame


def class_completeness(profile: pd.DataFrame) -> pd.DataFrame:
    """Completeness per point class: Σ minutes with data / Σ expected minutes of the class's points."""
    if profile.empty:
        return pd.DataFrame(columns=["point_class", "points", "minutes", "expected_minutes", "completeness"])
    grouped = profile.groupby("point_class", as_index=False).agg(
        points=("point_id", "count"), minutes=("minutes", "sum"), expected_minutes=("expected_minutes", "sum"))
    grouped["completeness"] = [(m / e) if e else 1.0 for m, e in zip(grouped["minutes"], grouped["expected_minutes"],
                                                                         strict=True)]
    return grouped


def relation_exists(conn: Connection, relation: str) -> bool:
    return bool(conn.execute(text("SELECT to_regclass(:r) IS NOT NULL"), {"r": relation}).scalar_one())


def mart_rows(conn: Connection, relation: str, window: Window, first_day: date, last_day: date) -> pd.DataFrame:
    """Rows of a mart for the site and period: by its date column (local_date, month, …) or its bucket."""
    schema, table = relation.split(".", 1)
    columns = dict(conn.execute(text(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"),
        {"s": schema, "t": table}).all())
    params: dict[str, object] = {"site": window.site_id}
    date_col = next((c for c in ("local_date", "month", "period_month", "period_start", "month_start", "date", "day")
                     if columns.get(c) == "date"), None)
    if date_col:
        where = f'"{date_col}" >= :first AND "{date_col}" <= :last'
        params |= {"first": first_day.replace(day=1) if date_col != "local_date" else first_day, "last": last_day}
    elif columns.get("bucket", "").startswith("timestamp"):
        where = "bucket >= :start AND bucket < :end"
        params |= {"start": window.start, "end": window.end}
    elif "period" in columns:
        where = "period::text = ANY(:texts)"
        params["texts"] = [first_day.strftime("%Y-%m"), first_day.isoformat()]
    else:
        raise LookupError(f"{relation} has no date, bucket or period column to bound the query")
    # Identifiers are from information_schema; the values are bound parameters.
    sql = text(f"SELECT * FROM {relation} WHERE site_id = :site AND {where}")  # noqa: S608
    return pd.DataFrame(conn.execute(sql, params).mappings().all(), columns=list(columns))
