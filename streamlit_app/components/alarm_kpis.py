"""ISA-18.2 alarm-performance KPIs (domain §4.7) from ops.alarms / ops.alarm_events rows.

Pure pandas so the panel works before the dbt alarm marts exist (then the page shows the marts'
daily KPIs as well). Targets are the standard's, not the reference's: ≈ 6 alarms/operator/hour
acceptable (12 max), ≈ 150/day (300 max), < 1 % of 10-minute periods in flood (> 10 alarms),
stale (standing > 24 h) < 5, priority mix ≈ 80/15/5 % low/medium/high.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

ACK_TARGET_S = {"P0": 30, "P1": 900, "P2": 14_400, "P3": 28_800}   # domain §4.1
FLOOD_PER_10MIN = 10


@dataclass(frozen=True)
class AlarmKpis:
    hours: float
    raised: int
    per_hour: float
    per_day: float
    peak_10min: int
    flood_pct: float
    standing: int
    stale: int
    shelved: int
    chattering: int
    top10_share_pct: float
    priority_mix_pct: dict[str, float]
    ack_compliance_pct: dict[str, float | None]


def compute(raises: pd.DataFrame, alarms: pd.DataFrame, start: datetime, end: datetime) -> AlarmKpis:
    hours = max((end - start).total_seconds() / 3600.0, 1e-9)
    n = len(raises)
    if n:
        ts = pd.to_datetime(raises["ts"], utc=True)
        buckets = ts.dt.floor("10min").value_counts()
        periods = max(int(hours * 6), 1)
        peak = int(buckets.max())
        flood_pct = 100.0 * int((buckets > FLOOD_PER_10MIN).sum()) / periods
        by_tag = raises["tag"].value_counts()
        top10 = 100.0 * by_tag.head(10).sum() / n
        mix = (raises["priority"].value_counts(normalize=True) * 100).to_dict()
    else:
        peak, flood_pct, top10, mix = 0, 0.0, 0.0, {}
    now = pd.Timestamp(end)
    standing = stale = shelved = chattering = 0
    compliance: dict[str, float | None] = dict.fromkeys(ACK_TARGET_S)
    if not alarms.empty:
        open_ = alarms[alarms["state"] != "CLOSED"]
        standing = len(open_)
        raised_at = pd.to_datetime(open_["raised_at"], utc=True)
        stale = int((raised_at < now - timedelta(hours=24)).sum())
        shelved = int((pd.to_datetime(open_["shelved_until"], utc=True) > now).sum())
        chattering = int(alarms["chattering"].fillna(False).astype(bool).sum())
        acked = alarms.dropna(subset=["acked_at"])
        for pri, target in ACK_TARGET_S.items():
            rows = acked[acked["priority"] == pri]
            if rows.empty:
                continue
            delay = (pd.to_datetime(rows["acked_at"], utc=True) - pd.to_datetime(rows["raised_at"], utc=True))
            compliance[pri] = 100.0 * float((delay.dt.total_seconds() <= target).mean())
    return AlarmKpis(hours, n, n / hours, n / hours * 24, peak, flood_pct, standing, stale, shelved, chattering,
                     top10, {p: round(float(mix.get(p, 0.0)), 1) for p in ("P0", "P1", "P2", "P3")}, compliance)
