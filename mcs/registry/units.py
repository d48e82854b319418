"""The canonical MCS unit strings (domain brief §3.10) and the vocabularies points are checked against.

Adapters normalise to these strings before publishing; the ingestor rejects anything else. The
non-physical kinds carry a unit of their own so that `u` on the wire always says what `v` is:
enumerations `enum`, bitmasks `bitmask`, event counters `count`, identifiers `id`, binaries `bool`.
"""

from __future__ import annotations

PHYSICAL_UNITS: frozenset[str] = frozenset({
    "°C", "kPa", "Pa", "m³/h", "kW", "kVA", "kVAr", "kWh", "kWht", "V", "A", "Hz", "pf", "%RH",
    "mm/s", "μS/cm", "pH", "%", "%open", "rpm", "h", "min", "ms", "dBA", "dBm",
})

# Unit required for each non-analog kind; analog and accumulator points use a physical unit.
KIND_UNITS: dict[str, str] = {"binary": "bool", "enum": "enum", "bitmask": "bitmask", "counter": "count",
                              "id": "id"}

CANONICAL_UNITS: frozenset[str] = PHYSICAL_UNITS | frozenset(KIND_UNITS.values())

# Common misspellings seen in the reference emitters (§3.10), so errors can suggest the fix.
UNIT_SUGGESTIONS: dict[str, str] = {
    "degC": "°C", "C": "°C", "ºC": "°C", "deg C": "°C", "L/min": "m³/h (convert)", "m3/h": "m³/h",
    "PF": "pf", "% RH": "%RH", "uS/cm": "μS/cm", "µS/cm": "μS/cm", "kWh_t": "kWht", "bar": "kPa (convert)",
    "psi": "kPa (convert)", "level": "%",
}


def is_canonical_unit(unit: str) -> bool:
    return unit in CANONICAL_UNITS
