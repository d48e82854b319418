"""The mode machine follows the contract's transition table (domain §5.3, §3.6) and timers (§5.4)."""

import numpy as np
import pytest

from simulator.model.block import BlockModel
from simulator.model.mode_fsm import FsmState, Mode, ModeFSM, ModeInputs
from tests.unit.simulator.conftest import DEMO_SPEC

ALLOWED = {(Mode.STARTUP, Mode.REJECT), (Mode.REJECT, Mode.EXPORT), (Mode.REJECT, Mode.MIXED),
           (Mode.EXPORT, Mode.REJECT), (Mode.EXPORT, Mode.MIXED), (Mode.MIXED, Mode.EXPORT),
           (Mode.MIXED, Mode.REJECT), (Mode.REJECT, Mode.MAINTENANCE), (Mode.EXPORT, Mode.MAINTENANCE),
           (Mode.MIXED, Mode.MAINTENANCE), (Mode.MAINTENANCE, Mode.REJECT)}


def good(**kw) -> ModeInputs:
    """All T02 guards true, full demand."""
    base = dict(tt_l2s=45.0, host_demand=True, host_hw_pump=True, host_tank_c=48.0, pt_l2s=260.0, ft_l2=80.0,
                v_exp_pos=100.0)
    base.update(kw)
    return ModeInputs(**base)


def run(fsm: ModeFSM, t0: float, t1: float, inputs: ModeInputs, dt: float = 10.0):
    out = []
    t = t0
    while t <= t1:
        tr = fsm.step(t, inputs)
        if tr:
            out.append(tr)
        t += dt
    return out


def in_mode(mode: Mode, t: float = 0.0) -> ModeFSM:
    return ModeFSM(FsmState(mode=mode, entered_at=t))


def test_t01_startup_goes_to_reject_and_waits_for_io():
    fsm = ModeFSM()
    assert fsm.step(0.0, good(io_ok=False)) is None and fsm.mode == Mode.STARTUP
    tr = fsm.step(1.0, good())
    assert (tr.previous, tr.state, tr.trigger) == (Mode.STARTUP, Mode.REJECT, "startup:initial")
    assert tr.valves == {"v_exp": "CLOSED", "v_rej": "OPEN"}


def test_t02_reject_to_export_needs_dwell_and_five_stable_minutes():
    fsm = in_mode(Mode.REJECT)
    assert run(fsm, 0.0, 290.0, good()) == []                          # dwell < 5 min
    trs = run(fsm, 300.0, 400.0, good())
    assert [(t.state, t.trigger) for t in trs] == [(Mode.EXPORT, "auto:temp_stabilised")]
    assert trs[0].ts == 300.0 and trs[0].guards["host_demand_active"] is True


def test_t02_guard_interruption_restarts_the_stability_timer():
    fsm = in_mode(Mode.REJECT)
    run(fsm, 0.0, 200.0, good())
    assert fsm.step(210.0, good(tt_l2s=39.0)) is None                   # 40 < TT-L2s violated
    assert run(fsm, 220.0, 510.0, good()) == []                          # only 290 s stable again
    assert fsm.step(520.0, good()).state == Mode.EXPORT


@pytest.mark.parametrize("bad", [dict(host_demand=False), dict(host_hw_pump=False), dict(tt_l2s=53.0),
                                 dict(pt_l2s=190.0), dict(ft_l2=2.5), dict(plc_faults=1), dict(v_rej_fault=True),
                                 dict(p1_active=True)])
def test_t02_each_guard_blocks_export(bad):
    fsm = in_mode(Mode.REJECT)
    assert run(fsm, 0.0, 1200.0, good(**bad)) == []


def test_t03_partial_demand_goes_to_mixed_with_relaxed_temperature():
    fsm = in_mode(Mode.REJECT)
    trs = run(fsm, 0.0, 400.0, good(host_tank_c=57.0, tt_l2s=39.0))
    assert [(t.state, t.trigger) for t in trs] == [(Mode.MIXED, "auto:partial_demand")]


@pytest.mark.parametrize("bad,trigger", [
    (dict(host_demand=False), "auto:host_demand_off"), (dict(host_hw_pump=False), "auto:host_demand_off"),
    (dict(tt_l2s=55.5), "auto:safety_limit"), (dict(tt_l2s=29.0), "auto:safety_limit"),
    (dict(ft_l2=1.5), "auto:safety_limit"), (dict(pt_l2s=460.0), "auto:safety_limit"),
    (dict(pt_l2s=90.0), "auto:safety_limit"), (dict(v_exp_fault=True), "auto:safety_limit"),
    (dict(leak=True), "auto:safety_limit"), (dict(p0_active=True), "auto:safety_limit"),
    (dict(plc_faults=4), "auto:safety_limit"), (dict(watchdog_stale=True), "plc:watchdog_timeout"),
    (dict(safety_sensor_bad_s=6.0), "auto:sensor_fault")])
@pytest.mark.parametrize("mode", [Mode.EXPORT, Mode.MIXED])
def test_t05_t09_emergency_to_reject_without_dwell(bad, trigger, mode):
    fsm = in_mode(mode)
    tr = fsm.step(1.0, good(**bad))
    assert (tr.previous, tr.state, tr.trigger) == (mode, Mode.REJECT, trigger)


def test_sensor_bad_shorter_than_5s_is_tolerated():
    assert in_mode(Mode.EXPORT).step(1.0, good(safety_sensor_bad_s=4.0)) is None


def test_t06_export_to_mixed_after_dwell_and_30s_sustained_heat():
    fsm = in_mode(Mode.EXPORT)
    assert run(fsm, 0.0, 110.0, good(tt_l2s=49.0)) == []                 # EXPORT dwell 2 min
    trs = run(fsm, 120.0, 200.0, good(tt_l2s=49.0))
    assert [(t.state, t.trigger, t.ts) for t in trs] == [(Mode.MIXED, "auto:partial_reject_needed", 120.0)]


def test_t08_mixed_to_export_after_dwell_and_three_cool_minutes():
    fsm = in_mode(Mode.MIXED)
    assert run(fsm, 0.0, 290.0, good(tt_l2s=44.0)) == []
    trs = run(fsm, 300.0, 400.0, good(tt_l2s=44.0))
    assert [(t.state, t.trigger) for t in trs] == [(Mode.EXPORT, "auto:full_demand_restored")]


def test_t09_mixed_to_reject_when_export_valve_nearly_shut_for_5_minutes():
    fsm = in_mode(Mode.MIXED)
    trs = run(fsm, 0.0, 400.0, good(tt_l2s=45.0, v_exp_pos=5.0))
    assert [(t.state, t.ts) for t in trs] == [(Mode.REJECT, 310.0)]


@pytest.mark.parametrize("mode", [Mode.REJECT, Mode.EXPORT, Mode.MIXED])
def test_t04_t07_t10_operator_maintenance(mode):
    tr = in_mode(mode).step(1.0, good(operator="maintenance", operator_id="badge-417"))
    assert (tr.state, tr.trigger, tr.operator) == (Mode.MAINTENANCE, "operator:maintenance", "badge-417")
    assert tr.valves == {"v_exp": "CLOSED", "v_rej": "CLOSED"}


def test_t11_maintenance_only_leaves_to_reject():
    fsm = in_mode(Mode.MAINTENANCE)
    assert run(fsm, 0.0, 3600.0, good()) == []                           # never straight to EXPORT
    assert fsm.step(3610.0, good(operator="maintenance_complete", p0_active=True)) is None
    tr = fsm.step(3620.0, good(operator="maintenance_complete"))
    assert (tr.state, tr.trigger) == (Mode.REJECT, "operator:maintenance_complete")


def test_maintenance_auto_release_after_8_hours():
    fsm = in_mode(Mode.MAINTENANCE)
    assert fsm.step(8 * 3600.0 - 1, good()) is None
    assert fsm.step(8 * 3600.0, good()).trigger == "plc:maintenance_timeout"


def test_a_simulated_month_only_takes_allowed_transitions():
    model = BlockModel(DEMO_SPEC)
    _, frame = model.advance(model.initial_state(), 30 * 1440)
    pairs = {(t.previous, t.state) for t in frame.transitions}
    assert pairs <= ALLOWED
    assert {Mode.EXPORT, Mode.MIXED, Mode.REJECT} <= set(np.unique(frame.mode).tolist())
    per_day = len(frame.transitions) / 30
    assert 0.5 <= per_day <= 10  # domain §3.11: ~4–8 mode changes a day is the expected order


def test_t06_needs_more_than_30s_of_heat():
    fsm = in_mode(Mode.EXPORT)
    run(fsm, 0.0, 110.0, good())
    trs = run(fsm, 120.0, 200.0, good(tt_l2s=49.0))
    assert [t.ts for t in trs] == [160.0]                                   # hot since 120 s, > 30 s at 160 s
