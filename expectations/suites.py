"""The expectation suites: what "good data" means for billing windows, daily telemetry and the marts.

Thresholds are the domain brief's: completeness ≥ 99.5 % of expected minutes per point class
(billing needs the meters, missing > 5 % is manual review — we stop earlier), counters never
decrease except a reset to ~0 or a rollover at the register's range, nothing stamped in the future,
no duplicate readings, energy never negative, PUE within 1.0–2.0 (a liquid-cooled block runs
1.05–1.25; below 1 is impossible), SLA availability within 0–100 %.
"""

from __future__ import annotations

import re

import pandas as pd

from expectations.runner import Expect

COMPLETENESS_MIN = 0.995
PUE_RANGE = (1.0, 2.0)
DAILY_OUT_OF_RANGE_MAX = 0.01   # share of a point's readings outside its registered range (sensor faults happen)
ENERGY_COLUMN = re.compile(r"kwh", re.IGNORECASE)
ENERGY_EXCLUDE = re.compile(r"diff|delta|variance|error|pct|ratio", re.IGNORECASE)
SLA_COLUMN = re.compile(r"availability|uptime.*pct|sla.*pct", re.IGNORECASE)


def completeness(min_ratio: float = COMPLETENESS_MIN) -> list[Expect]:
    pct = f"{min_ratio:.1%}"
    return [
        Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, "registered points to check (none found)"),
        Expect("ExpectColumnValuesToBeBetween", {"column": "completeness", "min_value": min_ratio},
               f"completeness below {pct} of expected minutes", ("point_class", "minutes", "expected_minutes")),
    ]


def readings(out_of_range_max: float) -> list[Expect]:
    ident = ("tag", "block_id")
    return [
        Expect("ExpectColumnValuesToBeBetween", {"column": "decreases", "min_value": 0, "max_value": 0},
               "counter decreased (not a reset or rollover)", (*ident, "decreases", "worst_step")),
        Expect("ExpectColumnValuesToBeBetween", {"column": "future", "min_value": 0, "max_value": 0},
               "readings stamped in the future", (*ident, "future")),
        Expect("ExpectColumnValuesToBeBetween", {"column": "duplicates", "min_value": 0, "max_value": 0},
               "duplicate readings (same point and ts)", (*ident, "duplicates")),
        Expect("ExpectColumnValuesToBeBetween", {"column": "out_of_range_ratio", "min_value": 0,
                                                 "max_value": out_of_range_max},
               f"more than {out_of_range_max:.1%} of readings outside the registered range",
               (*ident, "kind", "out_of_range")),
    ]


def energy_non_negative(frame: pd.DataFrame, relation: str) -> list[Expect]:
    cols = [c for c in frame.columns if ENERGY_COLUMN.search(c) and not ENERGY_EXCLUDE.search(c)
            and pd.api.types.is_numeric_dtype(frame[c])]
    ident = tuple(c for c in ("block_id", "local_date", "month", "meter_tag", "customer_id") if c in frame.columns)
    found = [Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, f"{relation} has rows for the period")]
    return found + [Expect("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0},
                           f"{relation}.{c} negative", (*ident, c)) for c in sorted(cols)]


def pue_plausible(frame: pd.DataFrame, relation: str) -> list[Expect]:
    ident = tuple(c for c in ("block_id", "local_date", "month") if c in frame.columns)
    expects = [Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, f"{relation} has rows for the period")]
    if "pue" in frame.columns:
        expects.append(Expect("ExpectColumnValuesToBeBetween",
                              {"column": "pue", "min_value": PUE_RANGE[0], "max_value": PUE_RANGE[1]},
                              f"{relation}.pue outside {PUE_RANGE[0]}–{PUE_RANGE[1]}", (*ident, "pue")))
    if "erf" in frame.columns:
        expects.append(Expect("ExpectColumnValuesToBeBetween", {"column": "erf", "min_value": 0, "max_value": 1},
                              f"{relation}.erf outside 0–1", (*ident, "erf")))
    return expects


def sla_range(frame: pd.DataFrame, relation: str) -> list[Expect]:
    cols = sorted(c for c in frame.columns if SLA_COLUMN.search(c) and pd.api.types.is_numeric_dtype(frame[c]))
    ident = tuple(c for c in ("block_id", "contract_ref", "customer_id", "month") if c in frame.columns)
    expects = [Expect("ExpectTableRowCountToBeBetween", {"min_value": 1}, f"{relation} has rows for the period")]
    return expects + [Expect("ExpectColumnValuesToBeBetween", {"column": c, "min_value": 0, "max_value": 100},
                             f"{relation}.{c} outside 0–100 %", (*ident, c)) for c in cols]


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns (numeric in PostgreSQL) as floats, so GX compares them as numbers."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            converted = pd.to_numeric(out[col], errors="coerce")
            if converted.notna().sum() == out[col].notna().sum() and out[col].notna().any():
                out[col] = converted.astype(float)
    return out
