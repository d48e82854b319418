"""Scenarios change the plant as described, are visible in the data, and stopping them restores it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np
import pytest

from simulator.live import LiveBlock
from simulator.model.mode_fsm import Mode
from simulator.plant import SimulatedBlock
from simulator.registry_view import bindings_from_sites
from simulator.scenario_store import ActiveScenario
from simulator.scenarios import SCENARIOS, resolve
from tests.fixtures.registry import demo_site_definitions

IDS = itertools.count(1)
T0 = datetime(2026, 1, 13, 17, 0, 10, tzinfo=UTC)   # a Tuesday noon in Baldwinsville: exporting


@pytest.fixture(scope="module")
def binding():
    return bindings_from_sites([s for s in demo_site_definitions() if s.site_id == "ab-baldwinsville"], seed=0)[0]


@pytest.fixture
def block(binding) -> LiveBlock:
    b = LiveBlock(binding, T0.timestamp())
    assert b.values["PLC-SAFE-mode"] == Mode.EXPORT
    return b


def active(name: str, **params) -> ActiveScenario:
    definition, merged = resolve(name, params)
    return ActiveScenario(next(IDS), "ab-baldwinsville", "block-01", definition.name, merged, T0, None)


def test_every_scenario_of_the_issue_is_defined():
    assert set(SCENARIOS) == {"COOLING_FAILURE", "PUMP_TRIP", "MAINS_FAILURE", "LEAK_DETECTED", "HOST_DEMAND_OFF",
                              "SENSOR_STUCK", "SENSOR_DRIFT", "COMMS_LOSS", "METER_RESET", "MAINTENANCE"}


def test_host_demand_off_moves_export_to_reject(block):
    block.set_scenarios([active("HOST_DEMAND_OFF")])
    transitions = block.update(T0.timestamp() + 60)
    assert [(t.previous, t.state, t.trigger) for t in transitions] == [
        (Mode.EXPORT, Mode.REJECT, "auto:host_demand_off")]
    assert block.values["HOST-demand"] == 0 and block.values["V-REJ-pos"] == 100 and block.values["FT-BIL"] == 0
    assert transitions[0].message()["valves"] == {"v_exp": "CLOSED", "v_rej": "OPEN"}


def test_leak_forces_reject_and_wets_the_zone(block):
    block.set_scenarios([active("LEAK_DETECTED", zone=2)])
    transitions = block.update(T0.timestamp() + 60)
    assert transitions[0].state == Mode.REJECT and transitions[0].trigger == "auto:safety_limit"
    assert block.values["LD-02a"] == 1 and block.values["LD-02b"] == 1 and block.values["LD-01a"] == 0


def test_cooling_failure_climbs_through_the_alarm_limits(block):
    block.set_scenarios([active("COOLING_FAILURE")])
    seen = []
    for dt in (0, 45, 90, 150):
        block.update(T0.timestamp() + dt)
        seen.append(block.values["TT-CDU1r"])
    assert block.values["FT-CDU1"] == 0 and block.values["CDU1-status"] == 0
    assert seen == sorted(seen) and seen[1] > 52 and seen[2] > 55 and seen[3] > 60   # P2 → P1 → P0
    assert block.values["TT-R01-cool"] > 60 and block.values["TT-R14-cool"] < 55      # only CDU-01's racks


def test_mains_failure_runs_the_ups_down(block):
    block.set_scenarios([active("MAINS_FAILURE")])
    block.update(T0.timestamp())
    start = block.values["UPS-01-batt-pct"]
    block.update(T0.timestamp() + 300)
    assert block.values["MET-01-kW"] == 0 and block.values["UPS-01-on-batt"] == 1 and block.values["UPS-01-mode"] == 3
    assert block.values["UPS-01-status"] == 0   # edge-derived: not onLine
    assert block.values["UPS-01-batt-pct"] < start - 20 and block.values["UPS-01-runtime"] < 12


def test_pump_trip_hands_over_to_the_standby_pump(block):
    block.set_scenarios([active("PUMP_TRIP")])
    block.update(T0.timestamp() + 60)
    assert block.values["PP01-status"] == 0 and block.values["PP01-fault"] == 12
    assert block.values["PP02-status"] == 1 and block.values["PP02-speed"] > 20


def test_stuck_and_drifting_sensors(block):
    block.set_scenarios([active("SENSOR_STUCK", tag="TT-L2r"), active("SENSOR_DRIFT", tag="TT-BIL-s")])
    assert len(block.scenarios) == 2
    block.update(T0.timestamp())
    stuck, drifting = block.values["TT-L2r"], block.values["TT-BIL-s"]
    block.update(T0.timestamp() + 600)
    assert block.values["TT-L2r"] == stuck
    assert block.values["TT-BIL-s"] > drifting + 3.0


def test_comms_loss_silences_the_device(block):
    block.set_scenarios([active("COMMS_LOSS", device="met-t1")])
    block.update(T0.timestamp())
    assert block.is_silenced("met-t1") and not block.is_silenced("met-01")


def test_meter_reset_is_the_one_counter_discontinuity(block):
    before = block.values["MET-01-kWh"]
    block.set_scenarios([active("METER_RESET")])
    block.update(T0.timestamp() + 60)
    after = block.values["MET-01-kWh"]
    block.update(T0.timestamp() + 180)
    assert before > 1e6 and after < 100 and block.values["MET-01-kWh"] > after


def test_stopping_returns_the_plant_to_normal(binding, block):
    block.set_scenarios([active("COOLING_FAILURE")])
    block.update(T0.timestamp() + 60)
    changes = block.set_scenarios([])
    assert changes == ["stopped COOLING_FAILURE"]
    block.update(T0.timestamp() + 90)
    untouched = LiveBlock(binding, T0.timestamp() + 90)
    assert block.values["TT-CDU1r"] == pytest.approx(untouched.values["TT-CDU1r"])
    assert block.values["CDU1-status"] == 1


def test_live_continues_exactly_where_the_backfill_stops(binding):
    """The live simulator and the backfill are one model: same instant, same readings and counters."""
    sim = SimulatedBlock(binding)
    model = sim.model
    t = T0.timestamp() - 10 + 3600          # on the minute grid
    state = model.fast_forward(model.initial_state(), model.step_at(t) - 30)
    _, frame = model.advance(state, 60)      # a backfill chunk that contains t
    i = int(np.nonzero(frame.t == t)[0][0])
    history = sim.values(frame, np.array([i]), frame.t[i:i + 1])
    live = LiveBlock(binding, t)
    for tag in ("MET-01-kWh", "MET-T1-kWht", "PDU-02-kWh", "TT-L2s", "PLC-SAFE-mode", "RK-07-kW", "FT-BIL"):
        assert live.values[tag] == history[tag][0], tag


def test_maintenance_by_key_switch_and_back_through_reject(block):
    block.set_scenarios([active("MAINTENANCE")])
    entered = block.update(T0.timestamp() + 1)
    assert [(t.previous, t.state, t.trigger) for t in entered] == [
        (Mode.EXPORT, Mode.MAINTENANCE, "operator:maintenance")]
    assert block.update(T0.timestamp() + 600) == []                       # stays while the switch is on
    assert block.values["MODE-override"] == 1 and block.values["V-EXP-pos"] == 0 and block.values["V-REJ-pos"] == 0
    block.set_scenarios([])
    left = block.update(T0.timestamp() + 601)
    assert [(t.previous, t.state, t.trigger) for t in left] == [
        (Mode.MAINTENANCE, Mode.REJECT, "operator:maintenance_complete")]   # never straight to EXPORT (T11)
    assert block.update(T0.timestamp() + 700) == []                          # REJECT dwell before any export
