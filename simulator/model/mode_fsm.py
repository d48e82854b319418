"""The thermal mode state machine of the safety PLC, as the MCS mode contract specifies (domain §5).

States STARTUP → REJECT → EXPORT / MIXED, MAINTENANCE; transitions T01–T11 with the guards and
timers of §5.3/§5.4. The simulator's plant obeys this machine; the platform only observes it.
`step(t, inputs)` is pure apart from the machine's own timers, so it is easy to drive in tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum


class Mode(IntEnum):
    """PLC register 45403 encoding (domain §5.7); STARTUP is transient and never published as a state."""

    EXPORT = 0
    MIXED = 1
    REJECT = 2
    MAINTENANCE = 3
    STARTUP = 9


# Timers of §5.4 (seconds).
T_DWELL_REJECT = 300.0
T_DWELL_EXPORT = 120.0
T_DWELL_MIXED = 300.0
T_GUARD_STABLE = 300.0
T_GUARD_MIXED_STABLE = 180.0
T_ANTI_REPEAT = 600.0
T_SENSOR_FAULT = 5.0
T_SUSTAINED_TEMP = 30.0
T_MIXED_LOW_EXPORT = 300.0
T_MAINTENANCE_MAX = 8 * 3600.0

VALVES = {
    Mode.REJECT: {"v_exp": "CLOSED", "v_rej": "OPEN"},
    Mode.EXPORT: {"v_exp": "OPEN", "v_rej": "CLOSED"},
    Mode.MIXED: {"v_exp": "MODULATING", "v_rej": "MODULATING"},
    Mode.MAINTENANCE: {"v_exp": "CLOSED", "v_rej": "CLOSED"},
    Mode.STARTUP: {"v_exp": "CLOSED", "v_rej": "CLOSED"},
}


@dataclass
class ModeInputs:
    """What the PLC sees at one scan (tags of the point schedule in brackets)."""

    tt_l2s: float                    # TT-L2s, °C
    host_demand: bool                # HOST-demand
    host_hw_pump: bool               # HOST-hw-pump
    host_tank_c: float               # TT-HOST-hw-tank (> 55 °C = nearly full → partial demand)
    pt_l2s: float                    # PT-L2s, kPa
    ft_l2: float                     # FT-L2, m³/h
    v_exp_pos: float = 0.0           # V-EXP-pos, %open (T09: < 10 % for 5 min)
    plc_faults: int = 0              # PLC-SAFE-faults
    v_exp_fault: bool = False
    v_rej_fault: bool = False
    leak: bool = False               # any LD-*
    safety_sensor_bad_s: float = 0.0  # how long any safety-critical sensor has been BAD
    p0_active: bool = False
    p1_active: bool = False
    watchdog_stale: bool = False     # PLC scan counter stale > 5 s
    io_ok: bool = True               # self-test: all I/O responding, valve feedback, >= 1 pump
    operator: str | None = None      # "maintenance" | "maintenance_complete" | None
    operator_id: str | None = None


@dataclass
class Transition:
    ts: float
    state: Mode
    previous: Mode
    trigger: str
    guards: dict[str, object]
    operator: str | None = None

    @property
    def valves(self) -> dict[str, str]:
        return VALVES[self.state]

    def message(self) -> dict[str, object]:
        """The `mode/state` payload fields (domain §3.6) except `ts` formatting."""
        return {"state": self.state.name, "previous": self.previous.name, "trigger": self.trigger,
                "valves": dict(self.valves), "guards": dict(self.guards), "operator": self.operator}


@dataclass
class FsmState:
    mode: Mode = Mode.STARTUP
    entered_at: float = 0.0
    export_guards_since: float | None = None
    mixed_guards_since: float | None = None
    hot_since: float | None = None          # T06: TT-L2s > 48 °C
    cool_since: float | None = None         # T08: TT-L2s < 45 °C
    low_export_since: float | None = None   # T09: V-EXP < 10 %
    failed_attempt_at: float | None = None  # T_ANTI_REPEAT
    transitions: int = 0

    def snapshot(self) -> dict[str, object]:
        data = asdict(self)
        data["mode"] = int(self.mode)
        return data

    @classmethod
    def restore(cls, data: dict[str, object]) -> FsmState:
        values = dict(data)
        values["mode"] = Mode(int(values["mode"]))  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _since(current: float | None, condition: bool, t: float) -> float | None:
    """Start/keep/clear a 'condition true since' timer."""
    if not condition:
        return None
    return t if current is None else current


def export_guards(x: ModeInputs, t_low: float) -> bool:
    """The T02 guard set (T03 relaxes the temperature floor to 38 °C)."""
    return (t_low < x.tt_l2s < 52.0 and x.host_demand and x.host_hw_pump and x.safety_sensor_bad_s == 0.0
            and not (x.p0_active or x.p1_active) and 200.0 <= x.pt_l2s <= 450.0 and x.ft_l2 > 3.0
            and x.plc_faults == 0 and not x.v_exp_fault and not x.v_rej_fault)


def emergency_trigger(x: ModeInputs) -> str | None:
    """The first T05 condition that holds, as a trigger name, or None.

    Order: PLC health, sensor faults and hard safety (leak, P0, valve, PLC faults) first; then the
    host (demand, pump) — when the host stops, that is the cause even though loop-2 temperatures
    would follow; then the process limits (temperature, flow, pressure).
    """
    if x.watchdog_stale:
        return "plc:watchdog_timeout"
    if x.safety_sensor_bad_s > T_SENSOR_FAULT:
        return "auto:sensor_fault"
    if x.leak or x.p0_active or x.v_exp_fault or x.plc_faults != 0:
        return "auto:safety_limit"
    if not x.host_demand or not x.host_hw_pump:
        return "auto:host_demand_off"
    if x.tt_l2s > 55.0 or x.tt_l2s < 30.0 or x.ft_l2 < 2.0 or x.pt_l2s > 450.0 or x.pt_l2s < 100.0:
        return "auto:safety_limit"
    return None


def guard_snapshot(x: ModeInputs) -> dict[str, object]:
    return {"loop2_supply_temp": round(x.tt_l2s, 2), "host_demand_active": bool(x.host_demand),
            "all_safety_good": x.safety_sensor_bad_s == 0.0 and not x.leak,
            "loop2_pressure_ok": 200.0 <= x.pt_l2s <= 450.0}


class ModeFSM:
    def __init__(self, state: FsmState | None = None) -> None:
        self.state = state or FsmState()

    @property
    def mode(self) -> Mode:
        return self.state.mode

    def _go(self, t: float, to: Mode, trigger: str, x: ModeInputs) -> Transition:
        s = self.state
        tr = Transition(t, to, s.mode, trigger, guard_snapshot(x),
                        x.operator_id if trigger.startswith("operator:") else None)
        s.mode, s.entered_at = to, t
        s.export_guards_since = s.mixed_guards_since = s.hot_since = s.cool_since = s.low_export_since = None
        s.transitions += 1
        return tr

    def step(self, t: float, x: ModeInputs) -> Transition | None:
        """Advance to time t (seconds) with the inputs seen at t; return the transition taken, if any."""
        s = self.state
        dwell = t - s.entered_at
        ok_export = export_guards(x, 40.0)
        partial = x.host_tank_c > 55.0
        s.export_guards_since = _since(s.export_guards_since, ok_export and not partial, t)
        s.mixed_guards_since = _since(s.mixed_guards_since, export_guards(x, 38.0) and partial, t)
        s.hot_since = _since(s.hot_since, x.tt_l2s > 48.0, t)
        s.cool_since = _since(s.cool_since, x.tt_l2s < 45.0, t)
        s.low_export_since = _since(s.low_export_since, x.v_exp_pos < 10.0, t)

        if s.mode == Mode.STARTUP:                                                    # T01
            return self._go(t, Mode.REJECT, "startup:initial", x) if x.io_ok else None
        if s.mode == Mode.MAINTENANCE:                                                # T11
            if x.operator == "maintenance_complete" and not x.p0_active:
                return self._go(t, Mode.REJECT, "operator:maintenance_complete", x)
            if dwell >= T_MAINTENANCE_MAX:
                return self._go(t, Mode.REJECT, "plc:maintenance_timeout", x)
            return None
        if x.operator == "maintenance":                                               # T04/T07/T10
            return self._go(t, Mode.MAINTENANCE, "operator:maintenance", x)

        if s.mode == Mode.REJECT:                                                     # T02/T03
            if dwell < T_DWELL_REJECT:
                return None
            if s.failed_attempt_at is not None and t - s.failed_attempt_at < T_ANTI_REPEAT:
                return None
            if s.export_guards_since is not None and t - s.export_guards_since >= T_GUARD_STABLE:
                return self._go(t, Mode.EXPORT, "auto:temp_stabilised", x)
            if s.mixed_guards_since is not None and t - s.mixed_guards_since >= T_GUARD_STABLE:
                return self._go(t, Mode.MIXED, "auto:partial_demand", x)
            return None

        trigger = emergency_trigger(x)                                                # T05/T09
        if trigger is not None:
            return self._go(t, Mode.REJECT, trigger, x)
        if s.mode == Mode.EXPORT:                                                     # T06
            if (dwell >= T_DWELL_EXPORT and s.hot_since is not None
                    and t - s.hot_since > T_SUSTAINED_TEMP):
                return self._go(t, Mode.MIXED, "auto:partial_reject_needed", x)
            return None
        # MIXED
        if s.low_export_since is not None and t - s.low_export_since > T_MIXED_LOW_EXPORT:   # T09
            return self._go(t, Mode.REJECT, "auto:host_demand_off", x)
        if (dwell >= T_DWELL_MIXED and s.cool_since is not None                       # T08
                and t - s.cool_since > T_GUARD_MIXED_STABLE and export_guards(x, 40.0)):
            return self._go(t, Mode.EXPORT, "auto:full_demand_restored", x)
        return None
