"""Live block figures from the newest value per point (pure functions: unit-testable, no Streamlit).

Points are found by billing role, not by tag, so a site whose meters carry other tags still
shows IT power, facility power and heat export (sites/README.md "Billing roles").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

MODE_CODES = {0: "EXPORT", 1: "MIXED", 2: "REJECT", 3: "MAINTENANCE"}
STALE_S = 120       # a live value older than this is shown as stale


@dataclass(frozen=True)
class BlockKpis:
    it_kw: float | None
    facility_kw: float | None
    heat_kw: float | None
    pue: float | None
    mode: str
    newest_ts: pd.Timestamp | None
    points: int
    bad_points: int


BAD = 2


def values_by_tag(latest: pd.DataFrame) -> dict[str, float]:
    """tag → value of the readings that are not BAD: a BAD reading's value is 0 or stale by the wire
    contract (domain §3.4), so showing it as 0 °C would mislead; the diagram shows "—" instead."""
    if latest.empty:
        return {}
    return {str(t): float(v) for t, v, q in zip(latest["tag"], latest["value"], latest["quality"], strict=True)
            if v is not None and q < BAD}


def _role_sum(latest: pd.DataFrame, role: str) -> float | None:
    rows = latest[(latest["billing_role"] == role) & (latest["quality"] < BAD)]
    vals = pd.to_numeric(rows["value"], errors="coerce").dropna()
    return float(vals.sum()) if not vals.empty else None


def mode_from_values(values: dict[str, float], event_state: str | None = None) -> str:
    """The PLC's mode register (MODE-current / PLC-SAFE-mode) wins; the last mode event otherwise."""
    for tag in ("MODE-current", "PLC-SAFE-mode"):
        v = values.get(tag)
        if v is not None and not math.isnan(v) and int(round(v)) in MODE_CODES:
            return MODE_CODES[int(round(v))]
    return event_state or "UNKNOWN"


def block_kpis(latest: pd.DataFrame, event_state: str | None = None) -> BlockKpis:
    if latest.empty:
        return BlockKpis(None, None, None, None, event_state or "UNKNOWN", None, 0, 0)
    it_kw = _role_sum(latest, "it_power_kw")
    facility_kw = _role_sum(latest, "facility_power_kw")
    heat_kw = _role_sum(latest, "thermal_power_kw")
    pue = facility_kw / it_kw if facility_kw is not None and it_kw else None
    newest = pd.to_datetime(latest["ts"], utc=True).max()
    bad = int((latest["quality"] >= BAD).sum())
    return BlockKpis(it_kw, facility_kw, heat_kw, pue, mode_from_values(values_by_tag(latest), event_state),
                     newest, len(latest), bad)


def hx_approach(values: dict[str, float]) -> float | None:
    """HX approach = primary inlet − secondary outlet (domain §1.4: design 5 K, rising = fouling)."""
    if "TT-HX-approach" in values:
        return values["TT-HX-approach"]
    if "TT-HXpIn" in values and "TT-HXsOut" in values:
        return values["TT-HXpIn"] - values["TT-HXsOut"]
    return None
