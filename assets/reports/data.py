"""Bounded, deterministic reads of a report's data: one site, one period, rows in a canonical order.

Why canonicalise: the content hash (and therefore the artifact's file name) must be identical when
the data is, so floats are rounded to 6 decimals (a rebuilt mart may differ in the last bits of a
float sum), rows are sorted in Python (not by the database collation) and the hash covers a
canonical JSON form, never the rendered bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from assets.reports.render import Section
from assets.reports.specs import LineSpec, ReportSpec, SectionSpec

RENDER_VERSION = "1"  # bump when the layout changes, so the same data gets a new hash and file
FLOAT_DECIMALS = 6
# Period columns, most specific first; a date/timestamp column is filtered by the window's dates,
# a text column by the usual spellings of the period.
PERIOD_COLUMNS = ("period_month", "month", "billing_month", "period_start", "month_start", "period",
                  "quarter_start", "quarter", "local_date", "date", "day", "bucket")


class ReportDataError(RuntimeError):
    """The data a report needs is not there (missing relation or registry row): the message says what."""


@dataclass(frozen=True)
class SiteInfo:
    site_id: str
    name: str
    timezone: str
    currency: str


@dataclass(frozen=True)
class Period:
    label: str              # "2026-10" or "2026-Q4"
    first_day: date
    last_day: date          # inclusive

    @property
    def texts(self) -> list[str]:
        """How a text period column may spell this period."""
        first = self.first_day
        quarter = (first.month - 1) // 3 + 1
        return [self.label, first.isoformat(), first.strftime("%Y-%m"), f"{first.year}-Q{quarter}",
                f"{first.year}Q{quarter}", f"Q{quarter} {first.year}"]


def month_period(month_start: date) -> Period:
    nxt = (month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period(month_start.strftime("%Y-%m"), month_start, nxt - timedelta(days=1))


def quarter_period(month_start: date) -> Period:
    """The quarter that ends with `month_start`'s month."""
    quarter = (month_start.month - 1) // 3 + 1
    first = date(month_start.year, 3 * quarter - 2, 1)
    return Period(f"{month_start.year}-Q{quarter}", first, month_period(month_start).last_day)


def is_quarter_end(month_start: date) -> bool:
    return month_start.month % 3 == 0


def site_info(conn: Connection, site_id: str) -> SiteInfo:
    row = conn.execute(text("SELECT site_id, name, timezone, currency FROM ref.sites WHERE site_id = :s"),
                       {"s": site_id}).one_or_none()
    if row is None:
        raise ReportDataError(f"site {site_id!r} is not in ref.sites: load the site registry first (mcs sites sync)")
    return SiteInfo(*row)


def utc_window(period: Period, timezone: str) -> tuple[datetime, datetime]:
    """[local midnight of the first day, local midnight after the last day) in UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(period.first_day, time(0), zone).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(period.last_day + timedelta(days=1), time(0), zone).astimezone(ZoneInfo("UTC"))
    return start, end


def relation_exists(conn: Connection, relation: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:r) IS NOT NULL"), {"r": relation}).scalar_one()


def relation_columns(conn: Connection, relation: str) -> list[tuple[str, str]]:
    schema, table = relation.split(".", 1)
    rows = conn.execute(text(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"), {"s": schema, "t": table})
    return [(r[0], r[1]) for r in rows]


def canonical(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else round(value, FLOAT_DECIMALS) + 0.0
    if isinstance(value, Decimal):
        return value.normalize() if value == value else None
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else json.dumps(_jsonable(v), sort_keys=True) for v in row)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def load_section(conn: Connection, spec: SectionSpec, site_id: str, period: Period) -> Section:
    """The relation's rows for the site and period (bounded by both), canonical and sorted."""
    if not relation_exists(conn, spec.relation):
        if spec.required:
            raise ReportDataError(f"{spec.relation} does not exist: build the dbt model "
                                  f"{spec.relation.split('.', 1)[1]} (monthly dbt assets) for {period.label} first")
        return Section(spec.title, (), (), note=f"{spec.relation} is not built yet")
    columns = relation_columns(conn, spec.relation)
    names = [c for c, _ in columns]
    if "site_id" not in names:
        raise ReportDataError(f"{spec.relation} has no site_id column; cannot scope the report to one site")
    types = dict(columns)
    period_col = next((c for c in PERIOD_COLUMNS if c in types), None)
    if period_col is None:
        raise ReportDataError(f"{spec.relation} has none of the period columns {', '.join(PERIOD_COLUMNS)}")
    shown = [c for c in (spec.columns or tuple(names)) if c in types and c != "site_id"]
    select = ", ".join(f'"{c}"' for c in shown)
    params: dict[str, Any] = {"site": site_id}
    if types[period_col] in ("date", "timestamp with time zone", "timestamp without time zone"):
        where = f'"{period_col}" >= :first AND "{period_col}" < :after'
        params |= {"first": period.first_day, "after": period.last_day + timedelta(days=1)}
    else:
        where = f'"{period_col}"::text = ANY(:texts)'
        params["texts"] = period.texts
    # Identifiers come from information_schema (never from user input); values are bound.
    sql = text(f"SELECT {select} FROM {spec.relation} WHERE site_id = :site AND {where}")  # noqa: S608
    rows = [tuple(canonical(v) for v in row) for row in conn.execute(sql, params)]
    rows.sort(key=_sort_key)
    return Section(spec.title, tuple(shown), tuple(rows))


DOCUMENT_COLUMNS = ("invoice_number", "statement_number", "contract_ref", "block_id")


def line_section(primary: Section, lines: tuple[LineSpec, ...]) -> Section:
    """Statement lines (label, quantity, unit, rate, amount) for each row of the primary section."""
    cols = primary.columns
    doc_col = next((c for c in DOCUMENT_COLUMNS if c in cols), None)

    def get(row: tuple[Any, ...], name: str | None) -> Any:
        return row[cols.index(name)] if name and name in cols else None

    rows = []
    for row in primary.rows:
        for line in lines:
            amount = get(row, line.amount)
            if line.amount not in cols:
                continue
            if line.negate and isinstance(amount, int | float | Decimal) and amount:
                amount = -amount
            rows.append((get(row, doc_col) if doc_col else "", line.label, get(row, line.quantity), line.unit,
                         get(row, line.rate), amount))
    return Section("Statement lines", ("Document", "Line", "Quantity", "Unit", "Rate", "Amount"), tuple(rows))


def section_totals(section: Section, wanted: tuple[str, ...]) -> dict[str, float]:
    """Sums of the wanted numeric columns present in the section (rounded like the rows)."""
    totals: dict[str, float] = {}
    for name in wanted:
        if name not in section.columns:
            continue
        idx = section.columns.index(name)
        values = [row[idx] for row in section.rows if isinstance(row[idx], int | float | Decimal)
                  and not isinstance(row[idx], bool)]
        totals[name] = round(float(sum(Decimal(str(v)) for v in values)), FLOAT_DECIMALS)
    return totals


def content_hash(report: ReportSpec, site: SiteInfo, period: Period, window: tuple[datetime, datetime],
                 sections: list[Section], extra: dict[str, Any]) -> str:
    payload = {
        "render_version": RENDER_VERSION,
        "report": report.name,
        "site": [site.site_id, site.name, site.timezone, site.currency],
        "period": period.label,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "sections": [{"title": s.title, "columns": list(s.columns), "rows": _jsonable(list(s.rows))}
                     for s in sections],
        "extra": _jsonable(extra),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(blob.encode()).hexdigest()
