"""The live engine against a real Mosquitto and PostgreSQL: escalation, clearing, edge-alarm merge, restart,
edge-offline with a webhook, concurrent operator acks, role refusal, MAINTENANCE suppression."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import Engine

from mcs import wire
from mcs.alarms import actions
from mcs.alarms.processor import Processor
from mcs.alarms.state_machine import PointSpec
from mcs.alarms.store import DbStore
from mcs.db.engine import make_engine
from mcs.registry import points_for
from tests.integration.alarms.conftest import BLOCK, SITE, Publisher, rows, running_engine, wait_for

TT = wire.telemetry_topic(SITE, BLOCK, "thermal-l2", "TT-L2s")


def reading(ts: datetime, v: float, q: int = 0) -> bytes:
    return wire.encode_telemetry(wire.Reading(ts, v, "°C", q))


def publish_series(pub: Publisher, start: datetime, values: list[float], step_s: float = 2.0,
                   topic: str = TT) -> datetime:
    ts = start
    for v in values:
        pub.publish(topic, reading(ts, v))
        ts += timedelta(seconds=step_s)
    return ts


def alarms_for(engine: Engine, tag: str) -> list:
    return rows(engine, "SELECT * FROM ops.alarms WHERE tag = :tag ORDER BY raised_at", tag=tag)


def events_for(engine: Engine, tag: str) -> list[str]:
    return [r["event"] for r in rows(engine, "SELECT event FROM ops.alarm_events WHERE tag = :tag ORDER BY event_id",
                                     tag=tag)]


def test_p2_then_p1_is_one_alarm_escalated_then_cleared_and_acked(demo: Engine, database_url: str, broker_url: str,
                                                                  publisher: Publisher) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with running_engine(database_url, broker_url):
        # TT-L2s: P2 52 / P1 55, deadband 0.2 K, on- and off-delay 10 s (demo schedule); samples every 2 s
        end = publish_series(publisher, t0, [45] + [53] * 6 + [56] * 6)
        wait_for(lambda: events_for(demo, "TT-L2s") == ["RAISED", "ESCALATED"], what="raise + escalation")
        publish_series(publisher, end, [54.9] * 3 + [45] * 7)
        wait_for(lambda: "CLEARED" in events_for(demo, "TT-L2s"), what="clear")
    [alarm] = alarms_for(demo, "TT-L2s")
    assert alarm["alarm_id"] == f"block-01-TT-L2s-{int((t0 + timedelta(seconds=2)).timestamp() * 1000)}"
    assert (alarm["priority"], alarm["state"], alarm["escalations"], alarm["threshold"]) == ("P1", "RTN_UNACK", 1, 55)
    assert events_for(demo, "TT-L2s") == ["RAISED", "ESCALATED", "CLEARED"]
    assert actions.ack(demo, [alarm["alarm_id"]], "nick", "operator", "seen") == [alarm["alarm_id"]]
    assert alarms_for(demo, "TT-L2s")[0]["state"] == "CLOSED"
    audit = rows(demo, "SELECT actor, role, action, target FROM ops.audit_log")
    assert [dict(a) for a in audit] == [{"actor": "nick", "role": "operator", "action": "alarm.ack",
                                         "target": alarm["alarm_id"]}]


def test_edge_alarm_messages_merge_by_id(demo: Engine, database_url: str, broker_url: str,
                                         publisher: Publisher) -> None:
    ts = datetime.now(UTC).replace(microsecond=0)
    aid = f"block-01-ALM-PLC-WD-{int(ts.timestamp() * 1000)}"
    ev = wire.AlarmEvent(ts, aid, "RAISED", "P0", "ALM-PLC-WD", 0.0, 5.0, "PLC watchdog stale > 5 s",
                         "thermal-safety", "BOOL")
    topic = wire.alarm_topic(SITE, BLOCK, "P0")
    with running_engine(database_url, broker_url):
        publisher.publish(topic, wire.encode_alarm(ev))
        publisher.publish(topic, wire.encode_alarm(ev))                       # duplicate delivery
        wait_for(lambda: alarms_for(demo, "ALM-PLC-WD"), what="edge alarm")
        cleared = wire.AlarmEvent(ts + timedelta(seconds=7), aid, "CLEARED", "P0", "ALM-PLC-WD", 1.0, 5.0, "ok")
        publisher.publish(topic, wire.encode_alarm(cleared))
        wait_for(lambda: "CLEARED" in events_for(demo, "ALM-PLC-WD"), what="edge clear")
    [alarm] = alarms_for(demo, "ALM-PLC-WD")
    assert (alarm["alarm_id"], alarm["kind"], alarm["source"], alarm["state"]) == (aid, "edge", "edge", "RTN_UNACK")
    assert events_for(demo, "ALM-PLC-WD") == ["RAISED", "CLEARED"]


def test_restart_loses_no_transition_and_duplicates_nothing(demo: Engine, database_url: str, broker_url: str,
                                                            publisher: Publisher) -> None:
    group, client_id = f"alarms-{uuid.uuid4().hex[:6]}", f"alarms-restart-{uuid.uuid4().hex[:6]}"
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    with running_engine(database_url, broker_url, group=group, client_id=client_id):
        end = publish_series(publisher, t0, [45] + [53] * 7)
        wait_for(lambda: events_for(demo, "TT-L2s") == ["RAISED"], what="raise")
    # engine down: the broker queues the group's share for the persistent session
    end = publish_series(publisher, end, [53.5] * 3 + [45] * 7)
    with running_engine(database_url, broker_url, group=group, client_id=client_id):
        wait_for(lambda: "CLEARED" in events_for(demo, "TT-L2s"), what="clear after restart")
    assert events_for(demo, "TT-L2s") == ["RAISED", "CLEARED"]
    assert len(alarms_for(demo, "TT-L2s")) == 1


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()
    server.server_close()


def heartbeat(ts: datetime) -> bytes:
    return wire.encode_heartbeat(wire.Heartbeat(ts, "edge-test", 10.0, {}, {
        "depth": 0, "capacity": 5_000_000, "oldest_ts": None, "cloud_connected": True, "replay_active": False}))


def test_edge_offline_raises_p0_notifies_the_webhook_and_clears(demo: Engine, database_url: str, broker_url: str,
                                                                publisher: Publisher, webhook: str) -> None:
    topic = wire.heartbeat_topic(SITE, BLOCK)
    with running_engine(database_url, broker_url, edge_offline_s=1.5, webhook_url=webhook):
        publisher.publish(topic, heartbeat(datetime.now(UTC)))
        wait_for(lambda: alarms_for(demo, "EDGE-heartbeat"), timeout_s=10, what="edge-offline alarm")
        wait_for(lambda: Hook.received, timeout_s=10, what="webhook call")
        publisher.publish(topic, heartbeat(datetime.now(UTC)))
        wait_for(lambda: "CLEARED" in events_for(demo, "EDGE-heartbeat"), what="edge back")
    alarm = alarms_for(demo, "EDGE-heartbeat")[0]
    assert (alarm["kind"], alarm["priority"]) == ("edge_offline", "P0") and alarm["notified_at"] is not None
    [note] = Hook.received
    assert (note["event"], note["priority"], note["alarm_id"]) == ("RAISED", "P0", alarm["alarm_id"])
    assert note["summary"].startswith("[P0] ab-baldwinsville / block-01:")


def test_maintenance_mode_suppresses_then_releases(demo: Engine, database_url: str, broker_url: str,
                                                   publisher: Publisher) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    mode = wire.mode_topic(SITE, BLOCK)
    valves = {"v_exp": "CLOSED", "v_rej": "CLOSED"}
    with running_engine(database_url, broker_url):
        publisher.publish(mode, wire.encode_mode(wire.ModeState(t0, "MAINTENANCE", "REJECT", "operator:key", valves,
                                                                None, "nick")))
        publish_series(publisher, t0 + timedelta(seconds=1), [53] * 7)
        wait_for(lambda: events_for(demo, "TT-L2s") == ["RAISED", "SUPPRESSED"], what="born suppressed")
        publisher.publish(mode, wire.encode_mode(wire.ModeState(t0 + timedelta(seconds=30), "REJECT", "MAINTENANCE",
                                                                "operator:maintenance_complete", valves, None, "nick")))
        wait_for(lambda: "UNSUPPRESSED" in events_for(demo, "TT-L2s"), what="released")
    [alarm] = alarms_for(demo, "TT-L2s")
    assert alarm["suppressed_by"] is None and alarm["state"] == "ACTIVE_UNACK"


@pytest.fixture
def standing_alarm(demo: Engine) -> str:
    """One open P2 alarm made by the processor on the database store (no broker needed)."""
    specs = [PointSpec.from_row(r) for r in points_for(demo, SITE, BLOCK) if r.tag == "TT-L2s"]
    proc = Processor(DbStore(demo), specs)
    t0 = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(7):
        proc.telemetry(SITE, BLOCK, "TT-L2s", t0 + timedelta(seconds=2 * i), 53.0)
    [alarm] = alarms_for(demo, "TT-L2s")
    return alarm["alarm_id"]


def test_two_operators_acking_at_once_make_one_ack(demo: Engine, database_url: str, standing_alarm: str) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: dict[str, list[str]] = {}

    def act(name: str, eng: Engine) -> None:
        barrier.wait()
        results[name] = actions.ack(eng, [standing_alarm], name, "operator")

    threads = [threading.Thread(target=act, args=(n, e)) for n, e in zip(("ann", "bob"), engines, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for e in engines:
        e.dispose()
    assert sorted(len(v) for v in results.values()) == [0, 1]
    acks = rows(demo, "SELECT actor FROM ops.alarm_events WHERE event = 'ACKED'")
    assert len(acks) == 1
    assert [r["actor"] for r in rows(demo, "SELECT actor FROM ops.audit_log WHERE action = 'alarm.ack'")] == \
        [acks[0]["actor"]]


def test_finance_role_is_refused_and_the_attempt_audited(demo: Engine, standing_alarm: str) -> None:
    with pytest.raises(actions.ActionRefused, match="only operator or admin"):
        actions.ack(demo, [standing_alarm], "fiona", "finance")
    with pytest.raises(actions.ActionRefused):
        actions.shelve(demo, standing_alarm, "fiona", "finance", 1, "month end")
    assert rows(demo, "SELECT count(*) AS n FROM ops.alarm_events WHERE event IN ('ACKED', 'SHELVED')")[0]["n"] == 0
    refused = rows(demo, "SELECT actor, role, action FROM ops.audit_log ORDER BY id")
    assert [r["action"] for r in refused] == ["alarm.ack.refused", "alarm.shelve.refused"]
    assert alarms_for(demo, "TT-L2s")[0]["state"] == "ACTIVE_UNACK"


def test_shelve_unshelve_oos_comment_round_trip(demo: Engine, standing_alarm: str) -> None:
    with pytest.raises(actions.UserError, match="reason"):
        actions.shelve(demo, standing_alarm, "nick", "operator", 1, "")
    assert actions.shelve(demo, standing_alarm, "nick", "operator", timedelta(hours=2), "pump swap") == \
        [standing_alarm]
    assert actions.unshelve(demo, standing_alarm, "nick", "operator") == [standing_alarm]
    assert actions.remove_from_service(demo, standing_alarm, "nick", "admin", "sensor replaced") == [standing_alarm]
    assert actions.return_to_service(demo, standing_alarm, "nick", "admin") == [standing_alarm]
    assert actions.comment(demo, standing_alarm, "nick", "operator", "checked on site") == [standing_alarm]
    with pytest.raises(actions.AlarmNotFound):
        actions.ack(demo, ["block-01-nope-1"], "nick", "operator")
    assert events_for(demo, "TT-L2s") == ["RAISED", "SHELVED", "UNSHELVED", "OUT_OF_SERVICE", "RETURNED_TO_SERVICE",
                                          "COMMENT"]
    assert len(rows(demo, "SELECT 1 FROM ops.audit_log")) == 5


def test_shelve_expiry_is_applied_by_the_engine_job(demo: Engine, standing_alarm: str) -> None:
    actions.shelve(demo, standing_alarm, "nick", "operator", timedelta(minutes=1), "short test")
    assert actions.expire_shelves(demo) == []
    assert actions.expire_shelves(demo, datetime.now(UTC) + timedelta(minutes=2)) == [standing_alarm]
    assert events_for(demo, "TT-L2s")[-1] == "UNSHELVED"


def test_leaving_the_group_ends_the_session(demo: Engine, database_url: str, broker_url: str) -> None:
    """Scale-down: after leave() the broker holds no session for the replica (Mosquitto would otherwise
    queue the group's share for it)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from mcs.runtime import mqtt_host_port

    client_id = f"alarms-leave-{uuid.uuid4().hex[:6]}"
    with running_engine(database_url, broker_url, client_id=client_id) as eng:
        eng.leave()
        wait_for(lambda: eng.client is None, timeout_s=15, what="engine left and closed")
    present: list[bool] = []
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    probe.on_connect = lambda c, u, flags, rc, p: present.append(bool(flags.session_present))
    host, port = mqtt_host_port(broker_url)
    probe.connect(host, port, clean_start=False)
    probe.loop_start()
    wait_for(lambda: present, what="probe connect")
    probe.loop_stop()
    probe.disconnect()
    assert present == [False]
