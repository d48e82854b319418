"""The limit comparison rule of the registry contract (CONTRACTS.md, ref.alarm_limits)."""

from __future__ import annotations

import pytest

from mcs.registry import Limit


@pytest.mark.parametrize(("kind", "direction", "limit", "value", "fires"), [
    ("analog", "high", 55.0, 55.0, False),    # strict: at the limit is still fine
    ("analog", "high", 55.0, 55.1, True),
    ("analog", "low", -10.0, -10.0, False),
    ("analog", "low", -10.0, -10.5, True),
    ("counter", "high", 5.0, 6.0, True),
    ("binary", "high", 1.0, 1.0, True),       # a leak "P0 high 1" fires at 1 (the reference never fired)
    ("binary", "high", 1.0, 0.0, False),
    ("binary", "low", 0.0, 0.0, True),        # PLC status "P0 low 0" fires at 0
    ("binary", "low", 0.0, 1.0, False),
    ("bitmask", "high", 1.0, 4.0, True),      # any fault bit set
    ("enum", "high", 1.0, 0.0, False),
])
def test_violated_by(kind: str, direction: str, limit: float, value: float, fires: bool) -> None:
    assert Limit(priority="P0", direction=direction, value=limit).violated_by(value, kind) is fires
