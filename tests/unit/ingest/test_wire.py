"""mcs.wire against the MCS MQTT v1 contract (domain §3): examples, timestamp quirks, strictness, routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from mcs import wire
from mcs.registry.models import SUBSYSTEMS
from mcs.wire import (
    AlarmEvent,
    Command,
    CommandResponse,
    Heartbeat,
    ModeState,
    Reading,
    Topic,
    WireError,
)

SITE, BLOCK = "ab-baldwinsville", "block-01"


def category(fn, *args) -> str:
    with pytest.raises(WireError) as err:
        fn(*args)
    return err.value.category


# ------------------------------------------------------------------------------------------ routing

@pytest.mark.parametrize(("topic", "expected"), [
    ("microlink/ab-baldwinsville/block-01/thermal-hx/TT-HXsOut",
     Topic(SITE, BLOCK, "telemetry", subsystem="thermal-hx", tag="TT-HXsOut")),
    ("microlink/ab-baldwinsville/block-01/host-bms/HOST-demand",
     Topic(SITE, BLOCK, "telemetry", subsystem="host-bms", tag="HOST-demand")),
    ("microlink/ab-baldwinsville/block-01/mode/state", Topic(SITE, BLOCK, "mode")),
    ("microlink/ab-baldwinsville/block-01/mode/MODE-current",
     Topic(SITE, BLOCK, "telemetry", subsystem="mode", tag="MODE-current")),
    ("microlink/ab-baldwinsville/block-01/edge/heartbeat", Topic(SITE, BLOCK, "heartbeat")),
    ("microlink/ab-baldwinsville/block-01/edge/EDGE-cpu",
     Topic(SITE, BLOCK, "telemetry", subsystem="edge", tag="EDGE-cpu")),
    ("microlink/ab-baldwinsville/block-01/alarms/P1", Topic(SITE, BLOCK, "alarm", priority="P1")),
    ("microlink/ab-baldwinsville/block-01/command/response", Topic(SITE, BLOCK, "response")),
    ("microlink/ab-baldwinsville/block-01/command/plc", Topic(SITE, BLOCK, "command", target="plc")),
    ("microlink/ab-baldwinsville/block-01/batch/thermal-l2", Topic(SITE, BLOCK, "batch", subsystem="thermal-l2")),
])
def test_topics_route_on_the_fourth_level(topic, expected):
    assert wire.parse_topic(topic) == expected


@pytest.mark.parametrize("topic", [
    "microlink/ab-baldwinsville/block-01/thermal-hx",               # four levels
    "microlink/ab-baldwinsville/block-01/thermal-hx/TT/x",          # six levels
    "other/ab-baldwinsville/block-01/thermal-hx/TT-HXsOut",         # wrong root
    "microlink/AB/block-01/thermal-hx/TT-HXsOut",                   # upper-case site
    "microlink/ab-baldwinsville/block-01/hvac/TT-1",                # unknown subsystem
    "microlink/ab-baldwinsville/block-01/alarms/P9",                # unknown priority
    "microlink/ab-baldwinsville/block-01/batch/hvac",               # unknown batch subsystem
    "microlink/ab-baldwinsville/block-01/thermal-hx/TT.HX",         # tag charset
])
def test_bad_topics_are_topic_errors(topic):
    assert category(wire.parse_topic, topic) == "TOPIC_ERROR"


def test_topic_builders_round_trip():
    assert wire.parse_topic(wire.telemetry_topic(SITE, BLOCK, "thermal-hx", "TT-HXsOut")).tag == "TT-HXsOut"
    assert wire.parse_topic(wire.batch_topic(SITE, BLOCK, "electrical")).kind == "batch"
    assert wire.parse_topic(wire.mode_topic(SITE, BLOCK)).kind == "mode"
    assert wire.parse_topic(wire.alarm_topic(SITE, BLOCK, "P0")).priority == "P0"
    assert wire.parse_topic(wire.heartbeat_topic(SITE, BLOCK)).kind == "heartbeat"
    assert wire.parse_topic(wire.command_topic(SITE, BLOCK, "edge")).target == "edge"
    assert wire.parse_topic(wire.response_topic(SITE, BLOCK)).kind == "response"
    with pytest.raises(ValueError):
        wire.command_topic(SITE, BLOCK, "response")


def test_subsystems_match_the_registry():
    assert set(wire.SUBSYSTEMS) == set(SUBSYSTEMS)


# --------------------------------------------------------------------------------------- timestamps

EXPECTED = datetime(2026, 3, 4, 9, 15, 2, 250000, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "2026-03-04T09:15:02.250Z",
    "2026-03-04T09:15:02.250000Z",
    "2026-03-04T09:15:02.250000123Z",           # nanoseconds: truncated
    "2026-03-04T09:15:02.250+00:00",
    "2026-03-04T09:15:02.250+00:00Z",           # reference adapter quirk (§3.7)
    "2026-03-04T11:15:02.250+02:00",
    "2026-03-04T04:15:02.25-05:00",
    "2026-03-04 09:15:02.250Z",
    "2026-03-04T11:15:02.250+0200",
])
def test_parse_ts_is_tolerant(text):
    assert wire.parse_ts(text) == EXPECTED


def test_parse_ts_quirk_with_microseconds():
    assert wire.parse_ts("2026-03-04T11:03:22.923395+00:00Z") == datetime(2026, 3, 4, 11, 3, 22, 923395, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-03-04T09:15:02.250", "yesterday", "", 1772615702, None, "2026-13-04T00:00Z"])
def test_parse_ts_refuses_missing_offsets_and_garbage(text):
    assert category(wire.parse_ts, text) == "TIME_ERROR"


def test_format_ts():
    assert wire.format_ts(1772615702.25) == "2026-03-04T09:15:02.250Z"
    assert wire.format_ts(1772615702.0008) == "2026-03-04T09:15:02.001Z"         # floats round to the ms
    assert wire.format_ts(EXPECTED.astimezone(timezone(timedelta(hours=2)))) == "2026-03-04T09:15:02.250Z"
    assert wire.format_ts(datetime(2026, 3, 4, 9, 15, 2, 999999, tzinfo=UTC)) == "2026-03-04T09:15:02.999Z"
    assert wire.format_ts(wire.parse_ts("2026-03-04T09:15:02.250Z")) == "2026-03-04T09:15:02.250Z"


# ---------------------------------------------------------------------------------------- telemetry

CONTRACT_EXAMPLES = [
    (b'{"ts":"2026-03-04T09:15:02.250Z","v":40.6,"u":"\xc2\xb0C","q":"GOOD","alarm":null,"seq":50211}',
     Reading(EXPECTED, 40.6, "°C", 0, None, 50211)),
    (b'{"ts":"2026-03-04T09:15:03.000Z","v":1834420.7,"u":"kWht","q":"GOOD","alarm":null,"seq":50212}',
     Reading(datetime(2026, 3, 4, 9, 15, 3, tzinfo=UTC), 1834420.7, "kWht", 0, None, 50212)),
    (b'{"ts":"2026-03-04T09:15:04.120Z","v":7.4,"u":"mm/s","q":"GOOD","alarm":"P2","seq":7730}',
     Reading(datetime(2026, 3, 4, 9, 15, 4, 120000, tzinfo=UTC), 7.4, "mm/s", 0, "P2", 7730)),
    (b'{"ts":"2026-03-04T09:15:04.901Z","v":0,"u":"bool","q":"BAD","alarm":null,"seq":120455}',
     Reading(datetime(2026, 3, 4, 9, 15, 4, 901000, tzinfo=UTC), 0.0, "bool", 2, None, 120455)),
    (b'{"ts":"2026-03-04T09:15:30.000Z","v":1,"u":"bool","q":"GOOD","alarm":null}',
     Reading(datetime(2026, 3, 4, 9, 15, 30, tzinfo=UTC), 1.0, "bool", 0, None, None)),
]


@pytest.mark.parametrize(("payload", "reading"), CONTRACT_EXAMPLES)
def test_contract_telemetry_examples_decode_and_round_trip(payload, reading):
    assert wire.decode_telemetry(payload) == reading
    assert orjson.loads(wire.encode_telemetry(reading)) == orjson.loads(payload)


def test_quality_mapping():
    assert wire.QUALITY == {"GOOD": 0, "UNCERTAIN": 1, "BAD": 2}
    r = wire.decode_telemetry(b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"UNCERTAIN"}')
    assert r.quality == 1 and r.seq is None and r.alarm is None


@pytest.mark.parametrize(("payload", "cat"), [
    (b'{"ts":"2026-03-04T09:15:02Z","v":NaN,"u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":Infinity,"u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":-Infinity,"u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1e400,"u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":"12.5","u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":true,"u":"bool","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":null,"u":"kPa","q":"GOOD"}', "VALUE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"GOOD","extra":1}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"OK"}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":0}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa"}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","u":"kPa","q":"GOOD"}', "PARSE_ERROR"),
    (b'{"v":1,"u":"kPa","q":"GOOD"}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"GOOD","alarm":"P7"}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"GOOD","seq":-1}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":"kPa","q":"GOOD","seq":1.5}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,"u":5,"q":"GOOD"}', "PARSE_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02","v":1,"u":"kPa","q":"GOOD"}', "TIME_ERROR"),
    (b'{"ts":"not a time","v":1,"u":"kPa","q":"GOOD"}', "TIME_ERROR"),
    (b'{"ts":"2026-03-04T09:15:02Z","v":1,', "PARSE_ERROR"),
    (b'[1,2,3]', "PARSE_ERROR"),
    (b'\xff\xfe', "PARSE_ERROR"),
    (b'', "PARSE_ERROR"),
])
def test_bad_telemetry_raises_with_its_category(payload, cat):
    assert category(wire.decode_telemetry, payload) == cat


def test_encoding_refuses_non_finite_values():
    for v in (float("nan"), float("inf")):
        assert category(wire.encode_telemetry, Reading(EXPECTED, v, "kPa")) == "VALUE_ERROR"


# -------------------------------------------------------------------------------------------- batch

BATCH_EXAMPLE = ('{"ts":"2026-03-04T09:15:05.000Z","schema":"1.1.0","items":['
                 '{"tag":"TT-L2s","ts":"2026-03-04T09:15:04.880Z","v":45.3,"u":"°C","q":"GOOD","alarm":null,'
                 '"seq":88120},'
                 '{"tag":"FT-L2","ts":"2026-03-04T09:15:04.882Z","v":12.9,"u":"m³/h","q":"GOOD","alarm":null,'
                 '"seq":88121}]}').encode()


def test_contract_batch_example():
    items = wire.decode_batch(BATCH_EXAMPLE)
    assert [(t, r.value, r.unit, r.seq) for t, r in items] == [("TT-L2s", 45.3, "°C", 88120),
                                                                ("FT-L2", 12.9, "m³/h", 88121)]
    assert items[0][1].ts == datetime(2026, 3, 4, 9, 15, 4, 880000, tzinfo=UTC)
    again = wire.encode_batch(datetime(2026, 3, 4, 9, 15, 5, tzinfo=UTC), items)
    assert orjson.loads(again) == orjson.loads(BATCH_EXAMPLE)


def test_batch_items_are_strict_but_lenient_decoding_keeps_good_neighbours():
    obj = orjson.loads(BATCH_EXAMPLE)
    obj["items"].append({"tag": "PT-1", "ts": "2026-03-04T09:15:04Z", "v": 1, "u": "kPa", "q": "GOOD", "x": 1})
    obj["items"].append({"ts": "2026-03-04T09:15:04Z", "v": 1, "u": "kPa", "q": "GOOD"})
    payload = orjson.dumps(obj)
    assert category(wire.decode_batch, payload) == "PARSE_ERROR"
    good, bad = wire.decode_batch_lenient(payload)
    assert [t for t, _ in good] == ["TT-L2s", "FT-L2"]
    assert [e.category for _, e in bad] == ["PARSE_ERROR", "PARSE_ERROR"]
    assert orjson.loads(bad[0][0])["tag"] == "PT-1"


@pytest.mark.parametrize("payload", [
    b'{"ts":"2026-03-04T09:15:05Z","schema":"2.0.0","items":[]}',
    b'{"ts":"2026-03-04T09:15:05Z","items":{}}',
    b'{"ts":"2026-03-04T09:15:05Z","items":[],"extra":1}',
    b'{"items":[]}',
])
def test_bad_batch_envelopes(payload):
    assert category(wire.decode_batch, payload) == "PARSE_ERROR"


# ------------------------------------------------------------------------------------- other kinds

MODE_EXAMPLE = (b'{"ts":"2026-03-04T17:42:10.500Z","state":"REJECT","previous":"EXPORT",'
                b'"trigger":"auto:host_demand_off","valves":{"v_exp":"CLOSED","v_rej":"OPEN"},"guards":{"loop2_supply_temp":46.1,'
                b'"host_demand_active":false,"all_safety_good":true,"loop2_pressure_ok":true},"operator":null}')


def test_mode_example():
    m = wire.decode_mode(MODE_EXAMPLE)
    assert m == ModeState(datetime(2026, 3, 4, 17, 42, 10, 500000, tzinfo=UTC), "REJECT", "EXPORT",
                          "auto:host_demand_off", {"v_exp": "CLOSED", "v_rej": "OPEN"},
                          {"loop2_supply_temp": 46.1, "host_demand_active": False, "all_safety_good": True,
                           "loop2_pressure_ok": True}, None)
    assert orjson.loads(wire.encode_mode(m)) == orjson.loads(MODE_EXAMPLE)
    bad = orjson.loads(MODE_EXAMPLE)
    bad["state"] = "STARTUP"
    assert category(wire.decode_mode, orjson.dumps(bad)) == "PARSE_ERROR"
    bad = orjson.loads(MODE_EXAMPLE)
    bad["valves"]["v_exp"] = "AJAR"
    assert category(wire.decode_mode, orjson.dumps(bad)) == "PARSE_ERROR"


ALARM_EXAMPLE = (b'{"ts":"2026-03-04T11:03:27.640Z","alarm_id":"block-01-PT-HX-dP-1772622207640","action":"RAISED",'
                 b'"priority":"P2","sensor_tag":"PT-HX-dP","subsystem":"thermal-hx","value":51.8,"threshold":50.0,'
                 b'"direction":"HIGH","description":"HX differential pressure high: 51.8 kPa above P2 limit 50 kPa '
                 b'(fouling; schedule CIP)"}')


def test_alarm_example_and_reference_quirk():
    a = wire.decode_alarm(ALARM_EXAMPLE)
    assert isinstance(a, AlarmEvent) and a.priority == "P2" and a.value == 51.8 and a.direction == "HIGH"
    assert orjson.loads(wire.encode_alarm(a)) == orjson.loads(ALARM_EXAMPLE)
    quirk = orjson.loads(ALARM_EXAMPLE)
    quirk["ts"] = "2026-03-04T11:03:22.923395+00:00Z"
    assert wire.decode_alarm(orjson.dumps(quirk)).ts.microsecond == 923395
    quirk["action"] = "ACKED"
    assert category(wire.decode_alarm, orjson.dumps(quirk)) == "PARSE_ERROR"


HEARTBEAT_EXAMPLE = orjson.dumps({
    "ts": "2026-03-04T09:16:00.000Z", "edge_id": "edge-ab-bville-01", "uptime_s": 86430,
    "adapters": {"modbus": {"status": "running", "last_read_ts": "2026-03-04T09:15:59.870Z", "reads_total": 1503344,
                            "errors_total": 4, "devices_online": 3, "devices_total": 3},
                 "bacnet": {"status": "error", "last_read_ts": "2026-03-04T09:11:30.000Z", "reads_total": 2880,
                            "errors_total": 9, "devices_online": 0, "devices_total": 1}},
    "buffer": {"depth": 0, "capacity": 5000000, "oldest_ts": None, "cloud_connected": True, "replay_active": False},
    "system": {"cpu_pct": 18.4, "mem_pct": 37.9, "disk_pct": 21.0, "temp_c": 49.5}})


def test_heartbeat_example():
    h = wire.decode_heartbeat(HEARTBEAT_EXAMPLE)
    assert isinstance(h, Heartbeat) and h.edge_id == "edge-ab-bville-01" and h.adapters["bacnet"]["status"] == "error"
    assert orjson.loads(wire.encode_heartbeat(h)) == orjson.loads(HEARTBEAT_EXAMPLE)
    bad = orjson.loads(HEARTBEAT_EXAMPLE)
    del bad["buffer"]["replay_active"]
    assert category(wire.decode_heartbeat, orjson.dumps(bad)) == "PARSE_ERROR"


COMMAND_EXAMPLE = (b'{"ts":"2026-03-05T06:00:00.000Z","cmd":"diagnostics_request","params":{},'
                   b'"source":"operator:j.doe","request_id":"3f6a2c1e-8b7d-4e0f-9a51-2d4c7b9e0f13"}')
RESPONSE_EXAMPLE = (b'{"ts":"2026-03-05T06:00:00.420Z","request_id":"3f6a2c1e-8b7d-4e0f-9a51-2d4c7b9e0f13",'
                    b'"status":"accepted","result":{"hostname":"edge-ab-bville-01","cpu_count":4,"mem_total_mb":8064,'
                    b'"disk_total_gb":117.2}}')


def test_command_and_response_examples():
    c = wire.decode_command(COMMAND_EXAMPLE)
    assert isinstance(c, Command) and c.cmd == "diagnostics_request" and c.params == {}
    assert orjson.loads(wire.encode_command(c)) == orjson.loads(COMMAND_EXAMPLE)
    r = wire.decode_response(RESPONSE_EXAMPLE)
    assert isinstance(r, CommandResponse) and r.status == "accepted" and r.result["cpu_count"] == 4
    assert orjson.loads(wire.encode_response(r)) == orjson.loads(RESPONSE_EXAMPLE)
    # the reference edge's empty-cmd storm reply and non-UUID ids are refused
    assert category(wire.decode_command, COMMAND_EXAMPLE.replace(b"diagnostics_request", b"")) == "PARSE_ERROR"
    assert category(wire.decode_response, RESPONSE_EXAMPLE.replace(b"3f6a2c1e-", b"x")) == "PARSE_ERROR"
    assert category(wire.decode_response, RESPONSE_EXAMPLE.replace(b"accepted", b"done")) == "PARSE_ERROR"
