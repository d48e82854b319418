"""Fault scenarios: what each one does to the plant and to the readings.

A scenario acts in up to three ways: plant disturbances the model reacts to (the mode machine sees
a leak and goes to REJECT), an overlay on the readings (temperatures climbing after a CDU pump
trip, a stuck or drifting sensor), and devices that stop answering. Stopping a scenario removes
all three; METER_RESET is the exception by nature — a replaced meter stays replaced.

Scenario state lives in ops.sim_scenarios (scenario_store.py) so `mcs scenario run` in another
process reaches the running `mcs simulate`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.model.block import Disturbances, EngineState

Values = dict[str, float]


@dataclass(frozen=True)
class ScenarioDef:
    name: str
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    disturb: Callable[[Disturbances, dict[str, Any]], None] | None = None
    overlay: Callable[[Values, float, dict[str, Any], dict[str, float]], None] | None = None
    silence: Callable[[dict[str, Any]], set[str]] | None = None
    on_start: Callable[[EngineState, dict[str, Any]], None] | None = None


def cooling_overlay(v: Values, elapsed: float, p: dict[str, Any], memo: dict[str, float]) -> None:
    # CDU pump stopped: its return and rack coolant temperatures climb 0.2 K/s (from a 44–50 °C start:
    # P2 52 °C within ~40 s, P1 55 °C within ~1 min, P0 60 °C within ~1.5 min), plateauing 30 K up
    # as the GPUs throttle.
    cdu = int(p["cdu"])
    racks = sorted(t for t in v if t.startswith("TT-R") and t.endswith("-cool"))
    half = -(-len(racks) // 2)
    rise = min(0.2 * elapsed, 30.0)
    for tag in (racks[:half] if cdu == 1 else racks[half:]) + [f"TT-CDU{cdu}r"]:
        if tag in v:
            v[tag] += rise
    if f"TT-CDU{cdu}s" in v:
        v[f"TT-CDU{cdu}s"] += min(0.08 * elapsed, 15.0)


def mains_overlay(v: Values, elapsed: float, p: dict[str, Any], memo: dict[str, float]) -> None:
    # On battery: state of charge falls linearly over the runtime estimated at the outage.
    runtime0 = memo.setdefault("runtime0", max(v.get("UPS-01-runtime", 15.0), 1.0))
    soc = max(100.0 - 100.0 * elapsed / (runtime0 * 60.0), 0.0)
    v.update({"UPS-01-on-batt": 1.0, "UPS-01-mode": 3.0, "UPS-01-status": 0.0, "UPS-01-batt-pct": soc,
              "UPS-01-runtime": runtime0 * soc / 100.0, "UPS-01-batt-V": 545.0 - 60.0 * (1.0 - soc / 100.0),
              "UPS-01-V-in": 0.0})


def stuck_overlay(v: Values, elapsed: float, p: dict[str, Any], memo: dict[str, float]) -> None:
    tag = p["tag"]
    if tag in v:
        v[tag] = memo.setdefault(tag, v[tag])


def drift_overlay(v: Values, elapsed: float, p: dict[str, Any], memo: dict[str, float]) -> None:
    tag = p["tag"]
    if tag in v:
        v[tag] += float(p["rate_per_min"]) * elapsed / 60.0


METER_COUNTERS = {"MET-01-kWh": "met_kwh", "MET-T1-kWht": "heat_kwht", "PDU-01-kWh": "pdu1_kwh",
                  "PDU-02-kWh": "pdu2_kwh", "PDU-03-kWh": "pdu3_kwh"}


def meter_reset(state: EngineState, p: dict[str, Any]) -> None:
    state.counters[METER_COUNTERS[p["tag"]]] = float(p.get("value", 0.0))


def _set(**fields: Any) -> Callable[[Disturbances, dict[str, Any]], None]:
    def apply(d: Disturbances, p: dict[str, Any]) -> None:
        for name, value in fields.items():
            setattr(d, name, p.get(value, value) if isinstance(value, str) else value)
    return apply


SCENARIOS: dict[str, ScenarioDef] = {s.name: s for s in (
    ScenarioDef("COOLING_FAILURE", "CDU pump trip: rack coolant temperatures climb through P2 → P1 → P0",
                {"cdu": 1}, disturb=lambda d, p: setattr(d, "cdu_trip", int(p["cdu"])), overlay=cooling_overlay),
    ScenarioDef("PUMP_TRIP", "Loop-2 duty pump PP-01 trips (VFD fault 12); standby PP-02 takes over",
                disturb=_set(pump_trip=True)),
    ScenarioDef("MAINS_FAILURE", "Utility lost: revenue meter reads 0, UPS on battery, charge falls",
                disturb=_set(mains_failure=True), overlay=mains_overlay),
    ScenarioDef("LEAK_DETECTED", "Leak rope and spot sensor of a zone wet: P0, the PLC forces REJECT",
                {"zone": 3}, disturb=lambda d, p: setattr(d, "leak_zone", int(p["zone"]))),
    ScenarioDef("HOST_DEMAND_OFF", "Host stops demanding heat: EXPORT/MIXED → REJECT (auto:host_demand_off)",
                disturb=_set(host_demand_off=True)),
    ScenarioDef("SENSOR_STUCK", "A sensor freezes at its current reading", {"tag": "TT-L2s"},
                overlay=stuck_overlay),
    ScenarioDef("SENSOR_DRIFT", "A sensor drifts away from the truth (default: billing supply temperature)",
                {"tag": "TT-BIL-s", "rate_per_min": 0.5}, overlay=drift_overlay),
    ScenarioDef("COMMS_LOSS", "A device stops answering its poller", {"device": "cdu-01"},
                silence=lambda p: {str(p["device"])}),
    ScenarioDef("MAINTENANCE", "Operator key-switch to MAINTENANCE (T04/T07/T10); stopping confirms "
                "MAINTENANCE COMPLETE → REJECT (T11)", disturb=_set(operator="maintenance")),
    ScenarioDef("METER_RESET", "A cumulative meter is replaced: its register restarts from 0",
                {"tag": "MET-01-kWh"}, on_start=meter_reset),
)}


def resolve(name: str, params: dict[str, Any] | None = None) -> tuple[ScenarioDef, dict[str, Any]]:
    """The scenario definition and its parameters (defaults overridden by `params`)."""
    key = name.upper()
    if key not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    definition = SCENARIOS[key]
    merged = {**definition.defaults, **(params or {})}
    if key == "METER_RESET" and merged["tag"] not in METER_COUNTERS:
        raise KeyError(f"METER_RESET tag must be one of {', '.join(METER_COUNTERS)}")
    return definition, merged
