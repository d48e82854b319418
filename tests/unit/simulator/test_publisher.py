"""Direct MQTT payloads follow the MCS MQTT v1 contract (domain §3.4 telemetry, §3.6 mode/state)."""

from __future__ import annotations

import orjson

from simulator.model.mode_fsm import Mode, Transition
from simulator.publisher import iso_ms, mode_payload, telemetry_payload, telemetry_topic
from simulator.registry_view import PointBinding

LATENCY = PointBinding(None, "NET-latency-cloud", "network", "analog", "ms", "mqtt", "edge", range_min=0.0,
                       range_max=1000.0, poll_ms=30000)


def test_iso_timestamps_are_utc_with_milliseconds_and_z():
    assert iso_ms(1772615702.25) == "2026-03-04T09:15:02.250Z"


def test_telemetry_topic_and_payload():
    assert telemetry_topic("ab-baldwinsville", "block-01", LATENCY) == \
        "microlink/ab-baldwinsville/block-01/network/NET-latency-cloud"
    msg = orjson.loads(telemetry_payload(1772615702.25, 42.5, LATENCY, 7))
    assert msg == {"ts": "2026-03-04T09:15:02.250Z", "v": 42.5, "u": "ms", "q": "GOOD", "alarm": None, "seq": 7}
    assert orjson.loads(telemetry_payload(1772615702.25, 1200.0, LATENCY, 8))["q"] == "UNCERTAIN"


def test_mode_state_payload_matches_the_contract_example():
    tr = Transition(1772646130.5, Mode.REJECT, Mode.EXPORT, "auto:host_demand_off",
                    {"loop2_supply_temp": 46.1, "host_demand_active": False, "all_safety_good": True,
                     "loop2_pressure_ok": True})
    msg = orjson.loads(mode_payload(tr))
    assert msg == {"ts": "2026-03-04T17:42:10.500Z", "state": "REJECT", "previous": "EXPORT",
                   "trigger": "auto:host_demand_off", "valves": {"v_exp": "CLOSED", "v_rej": "OPEN"},
                   "guards": {"loop2_supply_temp": 46.1, "host_demand_active": False, "all_safety_good": True,
                              "loop2_pressure_ok": True},
                   "operator": None}
