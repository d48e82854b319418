"""Partitions of the MCS assets: site-local days, calendar months, and month × site for reports.

* `daily_partitions`: one key per date ("2026-10-31"). A key means *that date in each site's own
  time zone*: dbt receives it as vars min_date/max_date (site-local, inclusive), and each model
  converts with the site's zone, so one run covers every site's day without per-zone keys.
* `monthly_partitions`: calendar months ("2026-10-01"), for the month-grain marts and reports.
* `report_partitions`: month × site. Finance launches one site's month; the site dimension is
  static, read from the site definitions (sites/*/site.yaml) when the code location loads, so adding
  a site is a registry change plus a code-location reload (no dynamic-partition state to manage).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml
from dagster import (
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from mcs.settings import get_settings

# The simulator's and registry's first possible history day (blocks are never commissioned earlier).
PARTITIONS_START = "2026-01-01"
REPO_SITES_DIR = Path(__file__).resolve().parents[1] / "sites"

daily_partitions = DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
monthly_partitions = MonthlyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")


@lru_cache(maxsize=1)
def site_ids() -> tuple[str, ...]:
    """Site ids of the site definitions (settings.sites_dir, else the repository's sites/)."""
    configured = get_settings().sites_dir
    sites_dir = configured if configured.is_dir() else REPO_SITES_DIR
    found = []
    for path in sorted(sites_dir.glob("*/site.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        site_id = (doc.get("site") or {}).get("site_id")
        if site_id:
            found.append(str(site_id))
    return tuple(sorted(found))


site_partitions = StaticPartitionsDefinition(list(site_ids()) or ["no-site-defined"])
report_partitions = MultiPartitionsDefinition({"month": monthly_partitions, "site": site_partitions})


def month_key(period: str) -> str:
    """'2026-10' or '2026-10-01' → the monthly partition key '2026-10-01'."""
    parsed = datetime.strptime(period[:7], "%Y-%m")
    return parsed.strftime("%Y-%m-01")


def report_key(site_id: str, period: str) -> MultiPartitionKey:
    return MultiPartitionKey({"month": month_key(period), "site": site_id})


def month_bounds(month_partition: str) -> tuple[date, date]:
    """First and last (inclusive) date of a monthly partition key."""
    first = datetime.strptime(month_partition, "%Y-%m-%d").date()
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)
