"""Month-to-date SLA estimate (domain §7.5): merged outage minutes, class targets, credit tiers.

Pure functions so the SLA page's arithmetic is unit-tested with the domain's worked examples;
reports.sla_monthly (dbt) remains the figure of record.
"""

from __future__ import annotations

import pandas as pd

TARGETS = {"A": 99.0, "B": 99.9, "C": 99.99}
CREDIT_TIERS = [(2.0, 50), (1.0, 25), (0.5, 10), (0.0, 5)]    # shortfall > points → % of colo fee


def merged_minutes(intervals: list[tuple[pd.Timestamp, pd.Timestamp]]) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += (cur_e - cur_s).total_seconds()
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += (cur_e - cur_s).total_seconds()
    return total / 60.0


def credit_pct(availability: float, target: float) -> int:
    shortfall = target - availability
    if shortfall <= 0:
        return 0
    return next(pct for limit, pct in CREDIT_TIERS if shortfall > limit)
