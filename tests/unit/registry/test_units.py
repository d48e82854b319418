"""Canonical unit strings (domain brief §3.10) as the ingestor and the loader check them."""

from __future__ import annotations

import pytest

from mcs.registry import CANONICAL_UNITS, SUBSYSTEMS, is_canonical_unit


@pytest.mark.parametrize("unit", ["°C", "m³/h", "μS/cm", "kWht", "%RH", "%open", "pf", "bool", "count", "enum"])
def test_canonical(unit: str) -> None:
    assert is_canonical_unit(unit)


@pytest.mark.parametrize("unit", ["degC", "L/min", "µS/cm", "PF", "% RH", "kwh", "", "m3/h"])
def test_not_canonical(unit: str) -> None:
    # µ (micro sign U+00B5) is not μ (Greek mu U+03BC); units are compared exactly.
    assert not is_canonical_unit(unit)


def test_vocabularies() -> None:
    assert len(SUBSYSTEMS) == 13 and "thermal-hx" in SUBSYSTEMS and "host-bms" in SUBSYSTEMS
    assert {"°C", "kPa", "kW", "kWh", "V", "A", "Hz", "rpm", "dBA"} <= CANONICAL_UNITS
