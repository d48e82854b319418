"""Pure edge logic: request planning, OID planning, quality rules, spool semantics, mode derivation."""

from __future__ import annotations

import logging
import time

import pytest

from ingest_daemons.edge.heartbeat import build
from ingest_daemons.edge.mode import ModeTracker, valve_state
from ingest_daemons.edge.spool import Message, Spool
from ingest_daemons.pollers.bacnet import flags_quality
from ingest_daemons.pollers.base import BAD, GOOD, UNCERTAIN, PointSpec, ReadOnly, Sample, WriteRefused, stale_quality
from ingest_daemons.pollers.modbus import Mapped, map_point, plan_requests
from ingest_daemons.pollers.snmp import oid_of, plan_oids
from mcs.wire import decode_heartbeat, encode_heartbeat, encode_mode


def point(tag: str, address: str, data_type: str = "uint16", register_type: str = "holding", **kw) -> PointSpec:
    return PointSpec(tag, "thermal-l2", "analog", "°C", "modbus-tcp", "d", address, register_type, data_type,
                     **kw)


# -- Modbus planning -----------------------------------------------------------------------------------------

def test_map_point_modicon_references():
    assert (map_point(point("a", "42001"), 3).address, map_point(point("a", "42001"), 3).table) == (2000, "h")
    assert map_point(point("b", "30010", "float32", "input"), 1).count == 2
    assert map_point(point("c", "10005", "bool", "discrete"), 1).address == 4
    assert map_point(point("d", "45413", "int64"), 1).count == 4
    with pytest.raises(ValueError):
        map_point(point("e", "4200x"), 1)
    with pytest.raises(ValueError):
        map_point(point("f", "40001", register_type="eeprom"), 1)


def test_plan_coalesces_contiguous_bounded_and_per_unit():
    pts = [map_point(point(f"p{i}", str(40001 + 2 * i), "float32"), 1) for i in range(100)]   # 200 registers
    plan = plan_requests(pts)
    assert [r.count for r in plan] == [124, 76] and all(r.count <= 125 for r in plan)
    assert sum(len(r.points) for r in plan) == 100
    gapped = [map_point(point("a", "40001"), 1), map_point(point("b", "40010"), 1), map_point(point("c", "40001"), 2)]
    assert len(plan_requests(gapped, max_gap=0)) == 3
    assert [(r.unit, r.count) for r in plan_requests(gapped, max_gap=8)] == [(1, 10), (2, 1)]
    assert len(plan_requests(pts, coalesce=False)) == 100
    overlap = [map_point(point("m", "45403"), 1), map_point(point("m2", "45403"), 1)]          # deliberate duplicate
    assert [(r.address, r.count, len(r.points)) for r in plan_requests(overlap)] == [(5402, 1, 2)]
    assert isinstance(plan[0].points[0], Mapped)


def test_snmp_plan_uses_bulk_for_table_columns():
    column = [oid_of(f"1.3.6.1.4.1.13742.6.3.5.4.1.7.1.1.{n}") for n in range(1, 6)]
    scalars = [oid_of("1.3.6.1.4.1.318.1.1.1.4.2.3.0"), oid_of("1.3.6.1.2.1.1.3.0")]
    bulks, gets = plan_oids(column + scalars)
    assert len(bulks) == 1 and bulks[0].repetitions == 5 and bulks[0].start[-1] == 0
    assert gets == [sorted(scalars)]
    assert plan_oids(column, bulk_min_rows=99)[0] == []


# -- quality ---------------------------------------------------------------------------------------------------

def test_quality_rules():
    p = point("t", "40001", range_min=0.0, range_max=100.0, poll_ms=1000)
    assert p.quality_of(50) == GOOD and p.quality_of(100.1) == UNCERTAIN and p.quality_of(-1) == UNCERTAIN
    now = time.time()
    assert stale_quality(GOOD, now - 1.9, 1000, now) == GOOD
    assert stale_quality(GOOD, now - 2.1, 1000, now) == UNCERTAIN                  # older than 2× poll
    assert stale_quality(BAD, now - 60, 1000, now) == BAD
    assert flags_quality([0, 0, 0, 0]) == GOOD and flags_quality([1, 0, 0, 0]) == GOOD      # in-alarm: value valid
    assert flags_quality([0, 1, 0, 0]) == BAD and flags_quality([0, 0, 0, 1]) == UNCERTAIN
    assert flags_quality([0, 0, 1, 0]) == UNCERTAIN


def test_read_only_proxy_refuses_everything_but_reads():
    class Client:
        def read_holding_registers(self, *a, **k):
            return "data"

        def write_register(self, *a, **k):
            raise AssertionError("must never be reached")

    ro = ReadOnly(Client(), {"read_holding_registers"})
    assert ro.read_holding_registers(0) == "data"
    with pytest.raises(WriteRefused):
        ro.write_register(0, 1)
    with pytest.raises(WriteRefused):
        ro.anything = 1


# -- spool -----------------------------------------------------------------------------------------------------

def msg(i: int, topic: str = "microlink/s/b/thermal-l2/TT", kind: str = "telemetry", retain: bool = True) -> Message:
    return Message(topic, f'{{"i":{i}}}'.encode(), 1, retain, kind, 1_000_000.0 + i)


def test_spool_order_retain_and_durability(tmp_path):
    path = tmp_path / "edge" / "s" / "b.sqlite"
    sp = Spool(path, capacity=100)
    sp.append([msg(i) for i in range(5)] + [msg(9, topic="microlink/s/b/edge/heartbeat", kind="heartbeat")])
    rows = sp.peek(0, 10)
    assert [r.payload for r in rows[:5]] == [f'{{"i":{i}}}'.encode() for i in range(5)]
    assert [r.retain for r in rows] == [False, False, False, False, True, True]   # only the newest keeps retain
    assert rows[0].created_at == 1_000_000.0                                       # the original time
    sp.delete([rows[0].id, rows[1].id])
    sp.close()
    again = Spool(path, capacity=100)                                               # a restart keeps the rest
    assert again.depth == 4 and [r.id for r in again.peek(0, 10)] == [r.id for r in rows[2:]]
    assert again.oldest_ts() == 1_000_002.0
    again.close()


def test_spool_full_evicts_oldest_telemetry_first_and_says_so(tmp_path, caplog):
    sp = Spool(tmp_path / "s.sqlite", capacity=10)
    with caplog.at_level(logging.WARNING, logger="ingest_daemons.edge.spool"):
        sp.append([msg(0, topic="microlink/s/b/mode/state", kind="mode")])
        sp.append([msg(i) for i in range(1, 9)])
        assert any("90 % full" in r.message for r in caplog.records)
        sp.append([msg(i) for i in range(9, 14)])
    assert sp.depth == 10 and sp.evicted_total == 4 and sp.count() == 10
    kept = sp.peek(0, 20)
    assert kept[0].topic.endswith("mode/state")                                    # the mode change survived
    assert [int(r.payload[5:-1]) for r in kept[1:]] == list(range(5, 14))          # oldest telemetry evicted
    assert any("evicted the 4 oldest" in r.message for r in caplog.records)


# -- mode derivation and heartbeat shape ---------------------------------------------------------------------

def s(tag: str, value: float, ts: float = 1_772_645_000.0, q: int = GOOD) -> Sample:
    return Sample(tag, ts, value, q)


def test_mode_transition_from_register_changes():
    tr = ModeTracker("on")
    assert tr.observe([s("PLC-SAFE-mode", 0), s("V-EXP-pos", 100), s("V-REJ-pos", 0)]) == []   # first reading
    out = tr.observe([s("HOST-demand", 0), s("TT-L2s", 46.1), s("PT-L2s", 300), s("LD-01", 0),
                      s("V-EXP-pos", 0), s("V-REJ-pos", 100), s("PLC-SAFE-mode", 2, ts=1_772_646_130.5)])
    assert len(out) == 1
    m = out[0]
    assert (m.previous, m.state, m.trigger) == ("EXPORT", "REJECT", "auto:host_demand_off")
    assert m.valves == {"v_exp": "CLOSED", "v_rej": "OPEN"} and m.operator is None
    assert m.guards == {"loop2_supply_temp": 46.1, "host_demand_active": False, "all_safety_good": True,
                        "loop2_pressure_ok": True}
    assert b'"ts":"2026-03-04T17:42:10.500Z"' in encode_mode(m)
    assert tr.observe([s("PLC-SAFE-mode", 2, q=BAD)]) == []                        # BAD readings are no transition
    assert tr.observe([s("PLC-SAFE-faults", 8), s("PLC-SAFE-mode", 3)])[0].trigger == "operator:maintenance"
    assert valve_state(50) == "MODULATING"


def test_auto_mode_defers_to_another_publisher():
    tr = ModeTracker("auto", grace_s=0.0)
    tr.observe([s("PLC-SAFE-mode", 2)])
    tr.observe([s("PLC-SAFE-mode", 0, ts=1000.0)])
    foreign = tr.transition(1001.0, "REJECT", "EXPORT")                            # e.g. the simulator's message
    tr.foreign_message(foreign)
    assert tr.due() == [] and tr.deferred == 1
    tr.observe([s("PLC-SAFE-mode", 1, ts=5000.0)])
    assert [m.state for m in tr.due()] == ["MIXED"]                                # nobody else said it


def test_heartbeat_matches_the_contract_shape(tmp_path):
    hb = build("edge-x", time.monotonic() - 5, {"modbus": {"status": "running", "last_read_ts": None,
                                                           "reads_total": 1, "errors_total": 0, "devices_online": 1,
                                                           "devices_total": 1}},
               3, 100, 1_772_645_000.0, False, False, tmp_path)
    back = decode_heartbeat(encode_heartbeat(hb))
    assert back.buffer == {"depth": 3, "capacity": 100, "oldest_ts": "2026-03-04T17:23:20.000Z",
                           "cloud_connected": False, "replay_active": False}
    assert back.uptime_s >= 5 and set(back.system) == {"cpu_pct", "mem_pct", "disk_pct", "temp_c"}
