"""Ingest routing and unit handling without broker or database: where each message ends up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest_daemons.mqtt_ingestor.router import PointInfo, RegistrySnapshot, Router
from ingest_daemons.mqtt_ingestor.units import UnitMismatch, conversion, to_canonical
from mcs import wire
from mcs.wire import Reading

NOW = datetime(2026, 3, 4, 9, 16, tzinfo=UTC)
T0 = NOW - timedelta(seconds=60)
SITE, BLOCK = "ab-baldwinsville", "block-01"
SNAP = RegistrySnapshot(
    points={(SITE, BLOCK, "TT-L2s"): PointInfo(1, "°C", "thermal-l2", 2000),
            (SITE, BLOCK, "FT-L2"): PointInfo(2, "m³/h", "thermal-l2", 2000),
            (SITE, BLOCK, "LD-03b"): PointInfo(3, "bool", "thermal-safety", 1000)},
    blocks={(SITE, BLOCK)})


def msg(tag: str, value: float, unit: str, seq: int | None = None, ts: datetime = T0,
        sub: str = "thermal-l2") -> tuple[str, bytes, bool]:
    return wire.telemetry_topic(SITE, BLOCK, sub, tag), wire.encode_telemetry(Reading(ts, value, unit, 0, None, seq)), \
        False


def test_units_convert_with_pint_and_refuse_what_does_not_fit():
    assert to_canonical(2.5, "bar", "kPa") == pytest.approx(250.0)
    assert to_canonical(1.0, "psi", "kPa") == pytest.approx(6.894757)
    assert to_canonical(200.0, "L/min", "m³/h") == pytest.approx(12.0)
    assert to_canonical(212.0, "°F", "°C") == pytest.approx(100.0)                 # offset unit
    assert to_canonical(1500.0, "W", "kW") == pytest.approx(1.5)
    assert conversion("% RH", "%RH") == (1.0, 0.0) and conversion("PF", "pf") == (1.0, 0.0)
    for unit, canonical in [("kPa", "°C"), ("kWh", "kWht"), ("kWht", "kWh"), ("furlong", "kPa"), ("%", "bool")]:
        with pytest.raises(UnitMismatch):
            conversion(unit, canonical)


def test_readings_resolve_convert_and_count_seq_gaps():
    r = Router(SNAP)
    work = r.route_all([msg("TT-L2s", 40.0, "°C", 1), msg("FT-L2", 200.0, "L/min", 2),
                        msg("TT-L2s", 41.0, "°C", 5, T0 + timedelta(seconds=2)),
                        msg("TT-L2s", 39.0, "°C", 0, T0 + timedelta(seconds=4))], NOW)
    assert [(pid, v) for _, pid, v, _ in work.rows] == [(1, 40.0), (2, pytest.approx(12.0)), (1, 41.0), (1, 39.0)]
    assert work.converted == 1 and not work.dead
    assert (r.seq_gaps, r.seq_resets) == (3, 1)               # 2,3,4 missing; 5 → 0 is an edge restart
    assert work.newest_ts == T0 + timedelta(seconds=4)


def test_batch_items_resolve_individually():
    items = [("TT-L2s", Reading(T0, 40.0, "°C")), ("FT-L2", Reading(T0, 12.0, "bar")),
             ("NEW-TAG", Reading(T0, 1.0, "°C"))]
    work = Router(SNAP).route_all([(wire.batch_topic(SITE, BLOCK, "thermal-l2"), wire.encode_batch(T0, items),
                                    False)], NOW)
    assert [(pid, v) for _, pid, v, _ in work.rows] == [(1, 40.0)]
    assert [(d.category, d.topic) for d in work.dead] == [("UNIT_ERROR", wire.batch_topic(SITE, BLOCK, "thermal-l2"))]
    assert orjson.loads(work.dead[0].payload)["items"][0]["tag"] == "FT-L2"
    assert [u[3] for u in work.unregistered] == ["NEW-TAG"]
    assert work.readings == 3


def test_every_message_ends_somewhere():
    good = wire.encode_telemetry(Reading(T0, 1.0, "°C"))
    r = Router(SNAP, max_past=timedelta(days=1), max_future=timedelta(minutes=5))
    work = r.route_all([
        ("microlink/x/block-01/thermal-l2/TT-L2s", good, False),                        # unknown site
        (wire.telemetry_topic(SITE, BLOCK, "thermal-l2", "TT-NEW"), good, True),         # held
        (wire.telemetry_topic(SITE, BLOCK, "thermal-l2", "TT-L2s"),
         wire.encode_telemetry(Reading(NOW + timedelta(hours=1), 1.0, "°C")), False),    # future
        (wire.telemetry_topic(SITE, BLOCK, "thermal-l2", "TT-L2s"),
         wire.encode_telemetry(Reading(NOW - timedelta(days=2), 1.0, "°C")), False),     # too old
        (wire.command_topic(SITE, BLOCK, "edge"), b"{}", False),                         # cloud → edge: ignored
        (wire.alarm_topic(SITE, BLOCK, "P1"), wire.encode_alarm(wire.AlarmEvent(
            T0, "a-1", "RAISED", "P2", "TT-L2s", 50.0, 48.0, "hot")), False),             # priority ≠ topic
        ("a/b", good, False),
        (wire.mode_topic(SITE, BLOCK), b"", True),                                      # retained clear
    ], NOW)
    assert [d.category for d in work.dead] == ["SENSOR_UNKNOWN", "TIME_ERROR", "TIME_ERROR", "PARSE_ERROR",
                                               "TOPIC_ERROR"]
    assert len(work.unregistered) == 1 and work.retained == 2 and work.commands_seen == 1 and work.empty == 1
    assert work.messages == 8 and not work.rows


def test_a_registry_miss_reloads_at_most_every_few_seconds():
    clock = [0.0]
    loads = []
    bigger = RegistrySnapshot(points={**SNAP.points, (SITE, BLOCK, "TT-NEW"): PointInfo(9, "°C", "thermal-l2", 2000)},
                              blocks=SNAP.blocks)

    def refresh() -> RegistrySnapshot:
        loads.append(clock[0])
        return bigger

    r = Router(SNAP, refresh=refresh, miss_refresh_s=5.0, clock=lambda: clock[0])
    new = msg("TT-NEW", 1.0, "°C")
    assert r.route_all([new], NOW).unregistered and loads == []          # within 5 s of the last load
    clock[0] = 6.0
    work = r.route_all([new], NOW)
    assert [pid for _, pid, _, _ in work.rows] == [9] and loads == [6.0]


def test_events_become_rows():
    t = wire.format_ts(T0)
    mode = (b'{"ts":"%s","state":"EXPORT","previous":"REJECT","trigger":"auto:temp_stabilised",'
            b'"valves":{"v_exp":"OPEN","v_rej":"CLOSED"},"operator":null}') % t.encode()
    resp = wire.encode_response(wire.CommandResponse(T0, "3f6a2c1e-8b7d-4e0f-9a51-2d4c7b9e0f13", "rejected",
                                                     "not in MAINTENANCE"))
    work = Router(SNAP).route_all([(wire.mode_topic(SITE, BLOCK), mode, True),
                                   (wire.response_topic(SITE, BLOCK), resp, False)], NOW)
    assert work.modes[0][:6] == (SITE, BLOCK, T0, "EXPORT", "REJECT", "auto:temp_stabilised")
    assert orjson.loads(work.modes[0][6]) == {"v_exp": "OPEN", "v_rej": "CLOSED"} and work.modes[0][7] is None
    assert work.responses == [(SITE, BLOCK, T0, "3f6a2c1e-8b7d-4e0f-9a51-2d4c7b9e0f13", "rejected",
                               "not in MAINTENANCE", None)]
