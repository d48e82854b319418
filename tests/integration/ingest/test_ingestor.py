"""The MQTT ingestor end to end: MCS v1 messages on a real Mosquitto → rows in a real PostgreSQL.

Publish → rows (single and batch topics, unit conversion), duplicates and retained redeliveries
write nothing twice, late and out-of-order data is accepted, every dead-letter category, held
readings of unregistered points are released when the point is registered, mode/heartbeat/alarm/
command-response routing (with ops.commands updated), and counters in ops.ingest_counters.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
import pytest

from mcs import wire
from mcs.wire import Reading
from tests.integration.ingest.conftest import q, scalar, wait_until

SITE, BLOCK = "ab-baldwinsville", "block-01"
TOPIC = {tag: wire.telemetry_topic(SITE, BLOCK, sub, tag) for tag, sub in [
    ("TT-L2s", "thermal-l2"), ("FT-L2", "thermal-l2"), ("PT-L2s", "thermal-l2"), ("TT-HXsOut", "thermal-hx"),
    ("LD-03b", "thermal-safety"), ("HOST-demand", "host-bms"), ("MODE-current", "mode")]}


def base_ts() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def reading(ts: datetime, value: float, unit: str = "°C", seq: int | None = None, q: int = 0) -> bytes:
    return wire.encode_telemetry(Reading(ts, value, unit, q, None, seq))


def point_id(db: str, tag: str, site: str = SITE, block: str = BLOCK) -> int:
    return scalar(db, "SELECT point_id FROM ref.active_points WHERE site_id=%s AND block_id=%s AND tag=%s",
                  site, block, tag)  # type: ignore[return-value]


def count(db: str, table: str) -> int:
    return scalar(db, f"SELECT count(*) FROM {table}")  # type: ignore[return-value]


def test_single_and_batch_topics_land_with_latest_and_unit_conversion(db, publisher, start_ingestor):
    start_ingestor(db)
    t0 = base_ts()
    n = 50
    for i in range(n):
        publisher.publish(TOPIC["TT-L2s"], reading(t0 + timedelta(seconds=i), 40.0 + i / 10, "°C", seq=i))
    # batch topic (1.1.0): FT-L2 sent in L/min (converted to m³/h), PT-L2s in bar (→ kPa)
    items = []
    for i in range(n):
        ts = t0 + timedelta(seconds=i)
        items += [("FT-L2", Reading(ts, 200.0, "L/min", 0, None, i)), ("PT-L2s", Reading(ts, 2.5, "bar", 1, None, i))]
    for k in range(0, len(items), 20):
        publisher.publish(wire.batch_topic(SITE, BLOCK, "thermal-l2"), wire.encode_batch(t0, items[k:k + 20]))
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.telemetry") >= 3 * n), count(db, "raw.telemetry")
    rows = dict(q(db, "SELECT p.tag, count(*) FROM raw.telemetry t JOIN ref.points p USING (point_id) GROUP BY 1"))
    assert rows == {"TT-L2s": n, "FT-L2": n, "PT-L2s": n}
    flow, pressure, quality = q(db, "SELECT max(value) FILTER (WHERE p.tag='FT-L2'), max(value) FILTER "
                                    "(WHERE p.tag='PT-L2s'), max(quality) FILTER (WHERE p.tag='PT-L2s') "
                                    "FROM raw.telemetry t JOIN ref.points p USING (point_id)")[0]
    assert flow == pytest.approx(12.0)          # 200 L/min = 12 m³/h
    assert pressure == pytest.approx(250.0)     # 2.5 bar = 250 kPa
    assert quality == 1
    latest = q(db, "SELECT ts, value FROM ops.point_latest WHERE point_id=%s", point_id(db, "TT-L2s"))
    assert latest == [(t0 + timedelta(seconds=n - 1), pytest.approx(40.0 + (n - 1) / 10))]
    assert count(db, "raw.dead_letter") == 0


def test_duplicates_and_retained_redelivery_write_nothing_twice(db, publisher, start_ingestor, mqtt_url):
    ing = start_ingestor(db)
    t0 = base_ts()
    payloads = [(TOPIC["TT-HXsOut"], reading(t0 + timedelta(seconds=i), 40.0 + i)) for i in range(20)]
    for topic, payload in payloads:
        publisher.publish(topic, payload, retain=True)
    for topic, payload in payloads:                      # the edge re-sends everything (spool replay)
        publisher.publish(topic, payload)
    publisher.flush()
    assert wait_until(lambda: ing.ingestor.counters.received >= 40)
    assert count(db, "raw.telemetry") == 20
    assert ing.ingestor.counters.duplicates == 20
    # A plain (non-shared) subscriber sees the retained copy; a restarted ingestor re-subscribing gets
    # retained messages only on non-shared subscriptions, and they are absorbed by ON CONFLICT anyway.
    ing.stop()
    ing2 = start_ingestor(db, client_id=ing.ingestor.client_id)
    publisher.publish(*payloads[-1], retain=True)
    publisher.flush()
    assert wait_until(lambda: ing2.ingestor.counters.received >= 1)
    assert count(db, "raw.telemetry") == 20
    publisher.publish(TOPIC["TT-HXsOut"], b"", retain=True)         # clear the retained message
    publisher.flush()


def test_late_and_out_of_order_data_is_accepted_and_latest_keeps_the_newest(db, publisher, start_ingestor):
    ing = start_ingestor(db)
    now = datetime.now(UTC).replace(microsecond=0)
    pid = point_id(db, "TT-L2s")
    publisher.publish(TOPIC["TT-L2s"], reading(now, 45.0, seq=100))
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.telemetry") == 1)
    # Spool replay after a link outage: 3 days old, newest first, with a quirky offset form.
    for i in range(10):
        ts = now - timedelta(days=3) + timedelta(seconds=10 - i)
        payload = orjson.dumps({"ts": ts.isoformat(timespec="microseconds") + "Z", "v": 30.0 + i, "u": "°C",
                                "q": "GOOD", "alarm": None, "seq": 50 - i})
        publisher.publish(TOPIC["TT-L2s"], payload)
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.telemetry") == 11)
    assert q(db, "SELECT ts, value FROM ops.point_latest WHERE point_id=%s", pid) == [(now, 45.0)]
    assert ing.ingestor.router.late >= 10
    assert count(db, "raw.dead_letter") == 0


def test_every_dead_letter_category_with_payload_and_reason(db, publisher, start_ingestor):
    ing = start_ingestor(db)
    t0 = base_ts()
    good = {"ts": wire.format_ts(t0), "v": 1.0, "u": "°C", "q": "GOOD", "alarm": None}
    huge = orjson.dumps({**good, "extra": "x" * 10_000})
    cases = [
        (TOPIC["TT-L2s"], b'{"ts": "2026-03-04T09:15:02Z", "v": 1,', "PARSE_ERROR"),
        (TOPIC["TT-L2s"], huge, "PARSE_ERROR"),                                      # additionalProperties
        (f"microlink/{SITE}/{BLOCK}/hvac/TT-1", orjson.dumps(good), "TOPIC_ERROR"),
        (f"microlink/{SITE}/{BLOCK}/alarms/P7", orjson.dumps(good), "TOPIC_ERROR"),
        ("microlink/no-such-site/block-01/thermal-l2/TT-L2s", orjson.dumps(good), "SENSOR_UNKNOWN"),
        (TOPIC["TT-L2s"], orjson.dumps(good).replace(b"1.0", b"NaN"), "VALUE_ERROR"),
        (TOPIC["TT-L2s"], orjson.dumps(good).replace(b"1.0", b"Infinity"), "VALUE_ERROR"),
        (TOPIC["TT-L2s"], orjson.dumps({**good, "u": "kPa"}), "UNIT_ERROR"),
        (TOPIC["LD-03b"], orjson.dumps({**good, "u": "°C"}), "UNIT_ERROR"),
        (TOPIC["TT-L2s"], orjson.dumps({**good, "ts": "2026-03-04T09:15:02"}), "TIME_ERROR"),
        (TOPIC["TT-L2s"], orjson.dumps({**good, "ts": wire.format_ts(datetime.now(UTC) + timedelta(hours=2))}),
         "TIME_ERROR"),
        (TOPIC["TT-L2s"], orjson.dumps({**good, "ts": "2001-01-01T00:00:00Z"}), "TIME_ERROR"),
        (wire.mode_topic(SITE, BLOCK), b'{"ts":"2026-03-04T09:15:02Z","state":"SIDEWAYS"}', "PARSE_ERROR"),
    ]
    for topic, payload, _ in cases:
        publisher.publish(topic, payload)
    # a batch with one bad item: the good neighbours land, the bad one is dead-lettered
    batch = orjson.loads(wire.encode_batch(t0, [("TT-L2s", Reading(t0, 41.0, "°C")),
                                                 ("FT-L2", Reading(t0, 12.0, "m³/h"))]))
    batch["items"][1]["v"] = "twelve"
    publisher.publish(wire.batch_topic(SITE, BLOCK, "thermal-l2"), orjson.dumps(batch))
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.dead_letter") >= len(cases) + 1), count(db, "raw.dead_letter")
    rows = q(db, "SELECT topic, payload, payload_size, category, reason FROM raw.dead_letter ORDER BY id")
    assert sorted((r[0], r[3]) for r in rows) == sorted([(t, c) for t, _, c in cases] +
                                                        [(wire.batch_topic(SITE, BLOCK, "thermal-l2"), "VALUE_ERROR")])
    assert all(r[4] for r in rows)                                        # every one says why
    big = [r for r in rows if r[2] == len(huge)][0]
    assert len(big[1]) == 4096 and bytes(big[1]) == huge[:4096]           # truncated, size kept
    assert {bytes(r[1]) for r in rows if r[3] != "VALUE_ERROR" or r[0] != wire.batch_topic(SITE, BLOCK, "thermal-l2")} \
        >= {p[:4096] for _, p, _ in cases}
    assert count(db, "raw.telemetry") == 1                                 # the good batch item
    assert ing.ingestor.counters.dead_letter == len(cases) + 1


def test_unregistered_points_are_held_then_released_when_registered(db, publisher, start_ingestor):
    ing = start_ingestor(db, registry_refresh_s=0.5)
    t0 = base_ts()
    tag = f"TT-NEW-{uuid.uuid4().hex[:4]}"
    topic = wire.telemetry_topic(SITE, BLOCK, "thermal-l2", tag)
    for i in range(5):
        publisher.publish(topic, reading(t0 + timedelta(seconds=i), 20.0 + i, "°C"))
    publisher.publish(topic, reading(t0 + timedelta(seconds=9), 1.0, "bar"))   # will not fit the unit
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.unregistered_readings") == 6)
    assert count(db, "raw.telemetry") == 0 and count(db, "raw.dead_letter") == 0
    with psycopg.connect(db) as conn:                      # commissioning registers the point
        conn.execute("INSERT INTO ref.points (site_id, block_id, tag, subsystem, description, kind, unit, protocol, "
                     "definition_hash) VALUES (%s, %s, %s, 'thermal-l2', 'new', 'analog', '°C', 'mqtt', 'h')",
                     (SITE, BLOCK, tag))
    assert wait_until(lambda: count(db, "raw.telemetry") == 5, timeout_s=15)
    assert count(db, "raw.unregistered_readings") == 0
    assert q(db, "SELECT category FROM raw.dead_letter") == [("UNIT_ERROR",)]
    assert ing.ingestor.counters.released == 5
    publisher.publish(topic, reading(t0 + timedelta(seconds=20), 30.0, "°C"))   # now resolved directly
    publisher.flush()
    assert wait_until(lambda: count(db, "raw.telemetry") == 6)


MODE = (b'{"ts":"%s","state":"REJECT","previous":"EXPORT","trigger":"auto:host_demand_off",'
        b'"valves":{"v_exp":"CLOSED","v_rej":"OPEN"},"guards":{"loop2_supply_temp":46.1,"host_demand_active":false,'
        b'"all_safety_good":true,"loop2_pressure_ok":true},"operator":null}')


def test_mode_heartbeat_alarm_and_command_response_routing(db, publisher, start_ingestor):
    ing = start_ingestor(db)
    t0 = base_ts()
    ts = wire.format_ts(t0).encode()
    request_id = str(uuid.uuid4())
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO ops.commands (request_id, site_id, block_id, target, cmd, params, source, status, "
                     "sent_at) VALUES (%s, %s, %s, 'edge', 'diagnostics_request', '{}', 'operator:j.doe', 'sent', "
                     "now())", (request_id, SITE, BLOCK))
    publisher.publish(wire.mode_topic(SITE, BLOCK), MODE % ts, retain=True)
    publisher.publish(wire.mode_topic(SITE, BLOCK), MODE % ts)                      # duplicate
    hb = wire.Heartbeat(t0, "edge-ab-bville-01", 86430.0,
                        {"modbus": {"status": "running", "last_read_ts": wire.format_ts(t0), "reads_total": 10,
                                    "errors_total": 0, "devices_online": 3, "devices_total": 3}},
                        {"depth": 0, "capacity": 5000000, "oldest_ts": None, "cloud_connected": True,
                         "replay_active": False})
    publisher.publish(wire.heartbeat_topic(SITE, BLOCK), wire.encode_heartbeat(hb), retain=True)
    alarm = wire.AlarmEvent(t0, f"{BLOCK}-PT-HX-dP-1", "RAISED", "P2", "PT-HX-dP", 51.8, 50.0, "HX dP high",
                            "thermal-hx", "HIGH")
    publisher.publish(wire.alarm_topic(SITE, BLOCK, "P2"), wire.encode_alarm(alarm))
    cmd = wire.Command(t0, "diagnostics_request", {}, "operator:j.doe", request_id)
    publisher.publish(wire.command_topic(SITE, BLOCK, "edge"), wire.encode_command(cmd))      # ignored
    resp = wire.CommandResponse(t0 + timedelta(seconds=1), request_id, "accepted", None, {"hostname": "edge-1"})
    publisher.publish(wire.response_topic(SITE, BLOCK), wire.encode_response(resp))
    publisher.publish(wire.response_topic(SITE, BLOCK), wire.encode_response(resp))         # duplicate
    publisher.flush()
    assert wait_until(lambda: ing.ingestor.counters.received >= 7)
    assert q(db, "SELECT state, previous, trigger, valves->>'v_rej', (guards->>'loop2_supply_temp')::float "
                 "FROM raw.mode_events") == [("REJECT", "EXPORT", "auto:host_demand_off", "OPEN", 46.1)]
    assert q(db, "SELECT edge_id, uptime_s, adapters->'modbus'->>'status' FROM raw.edge_heartbeats") == \
        [("edge-ab-bville-01", 86430.0, "running")]
    assert q(db, "SELECT alarm_id, action, priority, value, direction FROM raw.edge_alarm_events") == \
        [(f"{BLOCK}-PT-HX-dP-1", "RAISED", "P2", 51.8, "HIGH")]
    assert q(db, "SELECT status, result->>'hostname' FROM raw.command_responses") == [("accepted", "edge-1")]
    status, answered, response = q(db, "SELECT status, answered_at, response FROM ops.commands")[0]
    assert status == "accepted" and answered == t0 + timedelta(seconds=1)
    assert response == {"status": "accepted", "result": {"hostname": "edge-1"}}
    assert ing.ingestor.counters.commands_seen == 1
    assert count(db, "raw.dead_letter") == 0
    for topic in (wire.mode_topic(SITE, BLOCK), wire.heartbeat_topic(SITE, BLOCK)):
        publisher.publish(topic, b"", retain=True)


def test_counters_are_reported(db, publisher, start_ingestor):
    ing = start_ingestor(db)
    publisher.publish(TOPIC["TT-L2s"], reading(base_ts(), 40.0, seq=1))
    publisher.publish(TOPIC["TT-L2s"], reading(base_ts() + timedelta(seconds=5), 40.0, seq=5))   # 3 missing
    publisher.publish(TOPIC["TT-L2s"], b"not json")
    publisher.flush()
    instance = ing.ingestor.instance

    def counters() -> dict:
        rows = q(db, "SELECT counters FROM ops.ingest_counters WHERE component='ingestor' AND instance=%s", instance)
        return rows[0][0] if rows else {}

    assert wait_until(lambda: counters().get("received") == 3, timeout_s=10), counters()
    c = counters()
    assert (c["written"], c["dead_letter"], c["seq_gaps"], c["mqtt_connected"]) == (2, 1, 3, True)
    assert c["lag_s"] is not None and c["queue"] == 0


def test_runs_as_the_mcs_ingest_database_role(db, publisher, start_ingestor, pg_server_url):
    """Production runs the ingestor as a login member of mcs_ingest (0004_security): every write
    path it uses must be granted — COPY into its temp table, ON CONFLICT upserts, events, commands,
    dead letters, the held-reading release and the partition helper."""
    from sqlalchemy.engine import make_url

    role = f"ingest_login_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'pw\'')
        admin.execute(f'GRANT mcs_ingest TO "{role}"')
    try:
        url = make_url(db).set(username=role, password="pw").render_as_string(hide_password=False)
        ing = start_ingestor(url, registry_refresh_s=0.5)
        t0 = base_ts()
        request_id = str(uuid.uuid4())
        with psycopg.connect(db) as conn:
            conn.execute("INSERT INTO ops.commands (request_id, site_id, block_id, target, cmd, source, status) "
                         "VALUES (%s, %s, %s, 'edge', 'diagnostics_request', 'operator:x', 'sent')",
                         (request_id, SITE, BLOCK))
        publisher.publish(TOPIC["TT-L2s"], reading(t0, 40.0))
        publisher.publish(TOPIC["TT-L2s"], reading(t0 + timedelta(days=-2), 40.0))       # another partition
        publisher.publish(TOPIC["TT-L2s"], b"{")
        publisher.publish(wire.mode_topic(SITE, BLOCK), MODE % wire.format_ts(t0).encode())
        publisher.publish(wire.response_topic(SITE, BLOCK), wire.encode_response(
            wire.CommandResponse(t0, request_id, "accepted")))
        publisher.publish(wire.telemetry_topic(SITE, BLOCK, "thermal-l2", "TT-ROLE-NEW"), reading(t0, 1.0))
        publisher.flush()
        assert wait_until(lambda: ing.ingestor.counters.received == 6), ing.ingestor.counters
        assert ing.ingestor.counters.db_errors == 0
        assert (count(db, "raw.telemetry"), count(db, "raw.dead_letter"), count(db, "raw.mode_events"),
                count(db, "raw.unregistered_readings"), count(db, "ops.point_latest")) == (2, 1, 1, 1, 1)
        assert scalar(db, "SELECT status FROM ops.commands WHERE request_id = %s", request_id) == "accepted"
        with psycopg.connect(db) as conn:
            conn.execute("INSERT INTO ref.points (site_id, block_id, tag, subsystem, description, kind, unit, "
                         "protocol, definition_hash) VALUES (%s, %s, 'TT-ROLE-NEW', 'thermal-l2', 'n', 'analog', "
                         "'°C', 'mqtt', 'h')", (SITE, BLOCK))
        assert wait_until(lambda: count(db, "raw.telemetry") == 3, 15)
        ing.stop()
    finally:
        # DROP OWNED works per database: the role may own a partition it created in the module's
        # database, which must go before the (cluster-wide) role can be dropped.
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
