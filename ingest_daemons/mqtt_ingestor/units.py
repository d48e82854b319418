"""Unit validation and conversion at ingestion (domain §3.10).

A reading's `u` must equal its registry point's canonical unit. Emitters are known to send other
spellings (`% RH`, `PF`, `degC`) and convertible units (`bar`, `psi`, `L/min`, `W`, `°F`); those are
converted with Pint (a units library, not a hand-written factor table, so `°F → °C` gets its offset
right). Anything else is a UNIT_ERROR: a wrong unit is a wrong number, so it must not be stored as if
it were right. Conversions are computed once per (from, to) pair as `value * scale + offset`.
"""

from __future__ import annotations

from functools import lru_cache

import pint

# Spellings of a canonical unit: the value is unchanged.
SPELLINGS: dict[str, str] = {
    "degC": "°C", "C": "°C", "ºC": "°C", "deg C": "°C", "℃": "°C", "m3/h": "m³/h", "m^3/h": "m³/h",
    "PF": "pf", "% RH": "%RH", "%rh": "%RH", "RH%": "%RH", "uS/cm": "μS/cm", "µS/cm": "μS/cm",
    "kWh_t": "kWht", "kWh(t)": "kWht", "level": "%", "RPM": "rpm", "hz": "Hz", "KW": "kW", "kw": "kW",
}

# MCS unit strings → Pint expressions, for units that convert by a factor or an offset.
_PINT: dict[str, str] = {
    "°C": "degC", "°F": "degF", "degF": "degF", "K": "kelvin",
    "kPa": "kPa", "Pa": "Pa", "bar": "bar", "mbar": "mbar", "psi": "psi", "MPa": "MPa", "hPa": "hPa",
    "m³/h": "m**3/h", "L/min": "L/min", "l/min": "L/min", "L/s": "L/s", "l/s": "L/s", "gpm": "gallon/min",
    "kW": "kW", "W": "W", "MW": "MW", "kWh": "kWh", "Wh": "Wh", "MWh": "MWh",
    "kVA": "kVA", "VA": "VA", "MVA": "MVA", "V": "V", "kV": "kV", "mV": "mV", "A": "A", "mA": "mA", "kA": "kA",
    "Hz": "Hz", "rpm": "rpm", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
    "mm/s": "mm/s", "in/s": "inch/s",
}

# Energy units that must never be converted into each other (kWh electrical vs kWht thermal), and
# units without physical dimension whose meaning differs although Pint would agree.
_NEVER_CONVERT = frozenset({"kWht", "kWh", "bool", "enum", "bitmask", "count", "id", "%", "%open", "%RH", "pf"})

_ureg = pint.UnitRegistry()


class UnitMismatch(ValueError):
    pass


@lru_cache(maxsize=1024)
def conversion(unit: str, canonical: str) -> tuple[float, float]:
    """(scale, offset) so that canonical_value = value * scale + offset; UnitMismatch if impossible."""
    unit = SPELLINGS.get(unit.strip(), unit.strip())
    if unit == canonical:
        return 1.0, 0.0
    if unit in _NEVER_CONVERT or canonical in _NEVER_CONVERT or unit not in _PINT or canonical not in _PINT:
        raise UnitMismatch(f"unit {unit!r} is not {canonical!r} and cannot be converted to it")
    try:
        zero = _ureg.Quantity(0.0, _PINT[unit]).to(_PINT[canonical]).magnitude
        one = _ureg.Quantity(1.0, _PINT[unit]).to(_PINT[canonical]).magnitude
    except pint.errors.DimensionalityError:
        raise UnitMismatch(f"unit {unit!r} has a different dimension than {canonical!r}") from None
    return float(one - zero), float(zero)


def to_canonical(value: float, unit: str, canonical: str) -> float:
    scale, offset = conversion(unit, canonical)
    return value * scale + offset
