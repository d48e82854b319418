"""One block stepped in simulated time: exogenous drivers → mode machine → heat and power balances.

The state advances on an absolute 60-second grid counted from the block's epoch (spec.py): IT
load, weather and host demand are functions of absolute time (noise.py), and the only carried state
is the mode machine and the cumulative counters. Backfill and the live simulator both advance this
same engine, so the live plant continues exactly where history stops, counters included; the live
simulator only adds sub-minute measurement noise and the scenario overlays on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.model import it_load, noise
from simulator.model.electrical import Electrical, electrical
from simulator.model.host_demand import host_demand
from simulator.model.mode_fsm import FsmState, Mode, ModeFSM, ModeInputs, Transition
from simulator.model.spec import STEP_S, BlockSpec, Clock
from simulator.model.thermal import Arrangement, LoopSolution, Sizing, solve_loops
from simulator.model.weather import Weather, effective_air_c, weather

LIQUID_CAPTURE = 0.93          # share of IT heat caught by the cold plates (xlsx: 0.85–0.95)
CIP_INTERVAL_DAYS = 90.0        # the HX is cleaned in place this often; fouling grows in between

# Counters integrated by the engine, with their value at the epoch (before a per-block ±20 %).
COUNTER_BASES = {"met_kwh": 1.0e6, "pdu1_kwh": 3.0e5, "pdu2_kwh": 3.0e5, "pdu3_kwh": 2.4e5, "heat_kwht": 6.0e5,
                 "pp1_h": 3000.0, "pp2_h": 800.0, "mode_export_h": 1500.0, "mode_reject_h": 1200.0}
RACK_COUNTER_BASE = 2.0e4


def counter_names(rack_count: int) -> list[str]:
    return [*COUNTER_BASES, *(f"rk{r:02d}_kwh" for r in range(1, rack_count + 1))]


@dataclass
class Disturbances:
    """Plant faults a scenario imposes on the engine (the rest of a scenario is a reading overlay)."""

    host_demand_off: bool = False
    leak_zone: int | None = None       # 1..4
    pump_trip: bool = False            # PP-01 trips, PP-02 takes over
    cdu_trip: int | None = None        # CDU index whose pump stopped
    mains_failure: bool = False
    operator: str | None = None        # "maintenance" | "maintenance_complete"


@dataclass
class EngineState:
    step: int                                   # next step index since the epoch
    fsm: FsmState
    counters: dict[str, float]

    def snapshot(self) -> dict[str, object]:
        return {"step": self.step, "fsm": self.fsm.snapshot(), "counters": dict(self.counters)}

    @classmethod
    def restore(cls, data: dict[str, object]) -> EngineState:
        return cls(int(data["step"]), FsmState.restore(data["fsm"]), dict(data["counters"]))  # type: ignore[arg-type]


@dataclass
class Frame:
    """The plant over n consecutive steps."""

    t: np.ndarray
    clock: Clock
    mode: np.ndarray
    racks_kw: np.ndarray
    weather: Weather
    host: object
    loops: LoopSolution
    active: Arrangement                       # the arrangement of the mode in force at each step
    elec: Electrical
    plant: dict[str, np.ndarray]
    counters: dict[str, np.ndarray]           # value at the start of each step
    rates: dict[str, np.ndarray]              # increment per hour during each step
    transition_count: np.ndarray              # PLC transition counter after each step
    transitions: list[Transition] = field(default_factory=list)
    disturbances: Disturbances = field(default_factory=Disturbances)

    @property
    def q_air(self) -> np.ndarray:
        return (1.0 - LIQUID_CAPTURE) * self.elec.it_kw

    def __len__(self) -> int:
        return len(self.t)


def _pick(mode: np.ndarray, loops: LoopSolution) -> Arrangement:
    """Per-step selection of the valve arrangement (MAINTENANCE runs on the reject path: cool-down)."""
    is_exp, is_mix = mode == Mode.EXPORT, mode == Mode.MIXED
    fields = Arrangement.__dataclass_fields__
    return Arrangement(**{name: np.where(is_exp, getattr(loops.export, name),
                                         np.where(is_mix, getattr(loops.mixed, name), getattr(loops.reject, name)))
                          for name in fields})


class BlockModel:
    def __init__(self, spec: BlockSpec) -> None:
        self.spec = spec
        self.sizing = Sizing.for_capacity(spec.it_capacity_kw, spec.glycol_pct)

    # -- state ---------------------------------------------------------------------------------
    def initial_state(self) -> EngineState:
        names = counter_names(self.spec.rack_count)
        u = noise.uniform(self.spec.block_seed, noise.stream_id("counter-base"), np.arange(len(names)))
        counters = {name: round(COUNTER_BASES.get(name, RACK_COUNTER_BASE) * (1.0 + 0.2 * float(u[i])), 1)
                    for i, name in enumerate(names)}
        return EngineState(0, FsmState(entered_at=float(self.spec.epoch_s)), counters)

    def step_time(self, step: int) -> float:
        return float(self.spec.epoch_s + step * STEP_S)

    def step_at(self, t_s: float) -> int:
        """Index of the step containing t (floor)."""
        return int((t_s - self.spec.epoch_s) // STEP_S)

    def fast_forward(self, state: EngineState, until_step: int, chunk: int = 7 * 1440) -> EngineState:
        """Advance to `until_step` without keeping frames (counters and mode history only)."""
        while state.step < until_step:
            state, _ = self.advance(state, min(chunk, until_step - state.step))
        return state

    # -- exogenous -----------------------------------------------------------------------------
    def _hx_ua(self, t: np.ndarray) -> np.ndarray:
        days = (t - self.spec.epoch_s) / 86400.0
        offset = 60.0 * noise.uniform(self.spec.block_seed, noise.stream_id("cip"), np.zeros(1))[0]
        age = ((days + offset) % CIP_INTERVAL_DAYS) / CIP_INTERVAL_DAYS
        return self.sizing.hx_ua_clean / (1.0 + 0.35 * age)   # UA −26 % just before a CIP

    # -- the engine ----------------------------------------------------------------------------
    def advance(self, state: EngineState, n: int, disturb: Disturbances | None = None) -> tuple[EngineState, Frame]:
        spec, d = self.spec, disturb or Disturbances()
        steps = state.step + np.arange(n)
        t = spec.epoch_s + steps.astype(np.float64) * STEP_S
        clock = Clock.of(t, spec.timezone)
        racks = it_load.rack_power_kw(spec, clock)
        wx = weather(spec, clock)
        host = host_demand(spec, clock)
        cap = np.where(d.host_demand_off, 0.0, host.capacity_kw)
        demand = host.demand & (not d.host_demand_off)
        q_cdu = LIQUID_CAPTURE * racks.sum(axis=0)
        if d.cdu_trip is not None:
            q_cdu = q_cdu * 0.5  # the tripped CDU's racks dump their heat into their own thermal mass
        loops = solve_loops(q_cdu, wx.dry_bulb, effective_air_c(wx), cap, host.return_c, self._hx_ua(t),
                            self.sizing, spec.glycol_pct)
        pump = loops.pump_fraction
        pt_l2r = 190.0 + 1.0 * (loops.reject.t_l2r - 20.0)
        pt_l2s = pt_l2r + 85.0 * np.clip(pump, 0.0, 1.1) ** 2

        # The sequential part: the PLC's mode machine, one step at a time.
        fsm = ModeFSM(FsmState.restore(state.fsm.snapshot()))
        modes = np.empty(n, dtype=np.int8)
        counts = np.empty(n, dtype=np.int64)
        transitions: list[Transition] = []
        cand = {Mode.REJECT: loops.reject, Mode.EXPORT: loops.export, Mode.MIXED: loops.mixed,
                Mode.MAINTENANCE: loops.reject, Mode.STARTUP: loops.reject}
        tt = {m: a.t_l2s.tolist() for m, a in cand.items()}
        xv = {m: a.export_fraction.tolist() for m, a in cand.items()}
        dem, hwp, tank = demand.tolist(), host.hw_pump.tolist(), host.tank_c.tolist()
        pts, fts, ts = pt_l2s.tolist(), loops.l2_flow.tolist(), t.tolist()
        for i in range(n):
            m = fsm.mode
            x = ModeInputs(tt_l2s=tt[m][i], host_demand=dem[i], host_hw_pump=hwp[i], host_tank_c=tank[i],
                           pt_l2s=pts[i], ft_l2=fts[i], v_exp_pos=100.0 * xv[m][i], leak=d.leak_zone is not None,
                           p0_active=d.leak_zone is not None, operator=d.operator, operator_id="sim-operator")
            tr = fsm.step(ts[i], x)
            if tr is not None:
                transitions.append(tr)
            modes[i] = fsm.mode
            counts[i] = fsm.state.transitions
        active = _pick(modes, loops)

        plant = self._plant_loads(loops, active, wx, d)
        mains_ok = np.full(n, not d.mains_failure)
        elec = electrical(racks, plant["total_kw"], spec.grid_hz, mains_ok)
        exporting = (modes == Mode.EXPORT) | (modes == Mode.MIXED)
        rates = {
            "met_kwh": elec.meter_kw,
            **{f"pdu{i + 1}_kwh": elec.pdu_kw[i] for i in range(min(3, elec.pdu_kw.shape[0]))},
            "heat_kwht": np.where(exporting, active.q_export, 0.0),
            "pp1_h": np.full(n, 0.0 if d.pump_trip else 1.0),
            "pp2_h": np.full(n, 1.0 if d.pump_trip else 0.0),
            "mode_export_h": (modes == Mode.EXPORT).astype(np.float64),
            "mode_reject_h": (modes == Mode.REJECT).astype(np.float64),
            **{f"rk{r + 1:02d}_kwh": racks[r] for r in range(racks.shape[0])},
        }
        counters: dict[str, np.ndarray] = {}
        new_counters = dict(state.counters)
        for name in state.counters:
            inc = rates[name] * STEP_S / 3600.0
            start = state.counters[name] + np.concatenate(([0.0], np.cumsum(inc)[:-1]))
            counters[name] = start
            new_counters[name] = float(state.counters[name] + inc.sum())
        new_state = EngineState(state.step + n, fsm.state, new_counters)
        frame = Frame(t, clock, modes, racks, wx, host, loops, active, elec, plant, counters, rates, counts,
                      transitions, d)
        return new_state, frame

    def _plant_loads(self, loops: LoopSolution, active: Arrangement, wx: Weather, d: Disturbances) -> dict:
        pump_kw = 0.3 + 5.5 * np.clip(loops.pump_fraction, 0.0, 1.1) ** 3
        cdu_pct = 60.0 + 30.0 * np.clip(loops.q_loop1 / self.sizing.design_heat_kw, 0.0, 1.0)
        cdu_kw = 2 * (0.8 + 2.2 * (cdu_pct / 100.0) ** 3)
        fans_kw = 44.0 * active.fan_fraction**3
        trace_kw = np.where(wx.dry_bulb < 3.0, 6.0, 0.0)
        air_kw = 0.04 * (1.0 - LIQUID_CAPTURE) * loops.q_loop1 / LIQUID_CAPTURE
        total = pump_kw + cdu_kw + fans_kw + trace_kw + air_kw + 5.0 + 3.0
        return {"pump_kw": pump_kw, "cdu_pct": cdu_pct, "fans_kw": fans_kw, "trace_kw": trace_kw, "total_kw": total}
