"""`mcs alarms run`: the live alarm engine.

MQTT 5, its own shared-subscription group (`$share/mcs-alarms/microlink/#`, independent of the
ingestor's, so alarms do not wait for storage and either can scale alone), QoS 1 on a persistent
session with manual acknowledgements: a message is acknowledged only after it has been evaluated and
any alarm transition it caused is committed, so a killed engine gets the rest redelivered on restart.
Mode and heartbeat topics are also subscribed *outside* the group (each replica must know every
block's mode and edge liveness; both are a few messages a minute), and duplicates are harmless because
evaluation is monotonic in time and events are unique per (alarm_id, event, ts).

State: the evaluators' process state (bands, timers, chatter) lives in memory and is rebuilt at start
from ops.alarms (open instances keep their band, so a restart neither re-raises nor loses them); the
ISA state of each alarm lives only in ops.alarms and is changed under its row lock (`mcs.alarms.store`).
With several replicas, route a point's topic to one replica (EMQX `shared_subscription_strategy =
hash_topic`) so that on-delays and chatter windows see every sample of the point; with round-robin
routing the database still stays consistent (deterministic ids, one open instance per condition).

MQTT 3.1.1 (`MCS_MQTT_PROTOCOL=3.1.1`, e.g. the embedded amqtt broker): one replica, subscribing
`microlink/#` alone (it covers mode and heartbeat; overlapping filters would deliver twice), persistent
session via clean_session=False, the same manual acknowledgements (mcs.mqtt_client).

Threads: paho's network thread only queues messages; one worker thread decodes, evaluates, writes,
acknowledges, ticks, expires shelves and reports counters; the notifier has its own thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from ingest_daemons.alarms.config import AlarmSettings, instance_name
from ingest_daemons.alarms.notify import Notifier
from mcs import health, mqtt_client, wire
from mcs.alarms import actions, store
from mcs.alarms.processor import Conflict, Processor
from mcs.alarms.state_machine import PointSpec
from mcs.db.engine import make_engine
from mcs.registry import points_for

log = logging.getLogger("mcs.alarms")
COMPONENT = "alarm-engine"

# (topic, payload, mid, qos, retain, connection epoch, arrival)
Message = tuple[str, bytes, int, int, bool, int, datetime]


class AlarmEngine:
    def __init__(self, database_url: str, mqtt_url: str, settings: AlarmSettings | None = None,
                 instance: str | None = None, protocol: int | None = None) -> None:
        self.settings = settings or AlarmSettings()
        self.protocol = protocol if protocol is not None else mqtt_client.protocol_for()
        self.instance = instance or instance_name()
        self.client_id = self.settings.client_id or f"mcs-alarms-{self.instance}"
        self.mqtt_url = mqtt_url
        self.engine: Engine = make_engine(database_url, pool_size=2, max_overflow=2)
        self.notifier = Notifier(self.settings, self.engine)
        self.processor = Processor(store.DbStore(self.engine), policy=self.settings.policy(),
                                   on_new_events=self.notifier.submit)
        self.queue: queue.Queue[Message] = queue.Queue()
        self.stop_event = threading.Event()
        self.ready = threading.Event()       # state restored, worker running
        self.subscribed = threading.Event()  # the broker granted the subscriptions
        self.unsubscribed = threading.Event()
        self.leaving = False
        self._last_arrival = 0.0
        self.epoch = 0
        self.client: mqtt.Client | None = None
        self.counters: dict[str, Any] = {"received": 0, "decode_errors": 0, "mode_events": 0, "heartbeats": 0,
                                         "acks_skipped": 0, "db_errors": 0}
        self.started = datetime.now(UTC)

    # ------------------------------------------------------------------------------ registry
    def load_registry(self) -> int:
        rows = points_for(self.engine)
        for row in rows:
            self.processor.add_point(PointSpec.from_row(row))
        return len(rows)

    def restore(self) -> None:
        """Rebuild in-memory state from the database (restart safety). Points and heartbeats known to have
        reported before get a grace period from now, so a restart does not flood silent-source alarms."""
        open_records = store.load_open(self.engine)
        modes = store.load_modes(self.engine)
        heartbeats = {k: max(v, self.started) for k, v in store.load_heartbeats(self.engine).items()}
        last_seen = {k: max(v, self.started) for k, v in store.load_last_seen(self.engine).items()}
        self.processor.restore(open_records, modes, heartbeats, last_seen)
        log.info("restored %d open alarms, %d block modes, %d edges, %d points", len(open_records), len(modes),
                 len(heartbeats), len(last_seen))

    # ---------------------------------------------------------------------------------- MQTT
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt_client.new_client(self.client_id, self.protocol, url=self.mqtt_url, persistent=True,
                                        session_expiry_s=s.session_expiry_s, receive_maximum=s.receive_maximum,
                                        manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *a: self.subscribed.set()
        client.on_unsubscribe = lambda *a: self.unsubscribed.set()
        return client

    @property
    def subscriptions(self) -> list[str]:
        share = mqtt_client.subscription(self.settings.group, "microlink/#", self.protocol)
        if self.protocol != mqtt_client.MQTT5:
            return [share]               # the plain microlink/# already delivers every mode and heartbeat
        return [share, "microlink/+/+/mode/state", "microlink/+/+/edge/heartbeat"]

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if mqtt_client.failed(reason):
            log.error("broker refused the connection: %s%s", reason,
                      mqtt_client.connect_refusal_hint(reason, self.protocol))
            return
        self.epoch += 1
        log.info("connected as %s over MQTT %s (session present: %s)", self.client_id,
                 mqtt_client.protocol_name(self.protocol), getattr(flags, "session_present", None))
        mqtt_client.subscribe(client, self.subscriptions, self.protocol)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not self.stop_event.is_set():
            hint = mqtt_client.no_connack_hint(reason, self.protocol) if self.epoch == 0 else ""
            log.warning("disconnected from the broker (%s); reconnecting%s", reason, hint)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._last_arrival = time.monotonic()
        self.queue.put((msg.topic, msg.payload, msg.mid, msg.qos, bool(msg.retain), self.epoch, datetime.now(UTC)))

    # ------------------------------------------------------------------------------ handling
    def handle(self, topic: str, payload: bytes, retained: bool, arrival: datetime) -> None:
        """Evaluate one message. Malformed input is counted and skipped (the ingestor dead-letters it)."""
        try:
            t = wire.parse_topic(topic)
            if t.kind == "telemetry":
                r = wire.decode_telemetry(payload)
                self.processor.telemetry(t.site, t.block, t.tag or "", r.ts, r.value, r.quality,
                                         seen=r.ts if retained else arrival)
            elif t.kind == "batch":
                for tag, r in wire.decode_batch(payload):
                    self.processor.telemetry(t.site, t.block, tag, r.ts, r.value, r.quality,
                                             seen=r.ts if retained else arrival)
            elif t.kind == "mode":
                m = wire.decode_mode(payload)
                self.counters["mode_events"] += 1
                self.processor.mode(t.site, t.block, m.ts, m.state, m.previous, m.trigger)
            elif t.kind == "heartbeat":
                h = wire.decode_heartbeat(payload)
                self.counters["heartbeats"] += 1
                # Liveness is arrival time; a retained copy delivered on subscribe proves nothing new.
                self.processor.heartbeat(t.site, t.block, min(h.ts, arrival) if retained else arrival)
            elif t.kind == "alarm":
                self.processor.edge_alarm(t.site, t.block, wire.decode_alarm(payload))
        except wire.WireError as exc:
            self.counters["decode_errors"] += 1
            log.debug("skipped %s: %s", topic, exc)

    def _ack(self, mid: int, qos: int, epoch: int) -> None:
        if qos == 0 or self.client is None:
            return
        if epoch != self.epoch:
            self.counters["acks_skipped"] += 1   # from an earlier connection: the broker redelivers it
            return
        self.client.ack(mid, qos)

    def _work_one(self, msg: Message) -> None:
        topic, payload, mid, qos, retained, epoch, arrival = msg
        self.counters["received"] += 1
        delay = 0.2
        while True:
            try:
                self.handle(topic, payload, retained, arrival)
                break
            except (DBAPIError, Conflict) as exc:
                # Database away: do not acknowledge, retry (the broker holds the rest back).
                self.counters["db_errors"] += 1
                log.warning("database error while evaluating %s (%s); retrying in %.1f s", topic,
                            str(exc).splitlines()[0], delay)
                if self.stop_event.wait(delay):
                    return
                delay = min(delay * 2, 10)
        self._ack(mid, qos, epoch)

    def _periodic(self, now_mono: float, last: dict[str, float]) -> None:
        s = self.settings
        if now_mono - last.get("tick", 0) >= s.tick_s:
            last["tick"] = now_mono
            self.processor.tick(datetime.now(UTC))
        if now_mono - last.get("shelve", 0) >= s.shelve_check_s:
            last["shelve"] = now_mono
            expired = actions.expire_shelves(self.engine)
            if expired:
                log.info("shelve expired: %s", ", ".join(expired))
        if now_mono - last.get("reconcile", 0) >= s.reconcile_s:
            last["reconcile"] = now_mono
            n = self.processor.reconcile(store.load_open(self.engine))
            if n:
                log.info("reconciled %d open alarms the current evaluation says are normal", n)
        if now_mono - last["registry"] >= s.registry_refresh_s:
            last["registry"] = now_mono
            self.load_registry()
        if now_mono - last.get("report", 0) >= s.report_s:
            last["report"] = now_mono
            self.report()

    def report(self) -> None:
        counters = {**self.counters, **self.processor.counters, "queue": self.queue.qsize(),
                    "notified": self.notifier.sent, "notify_failed": self.notifier.failed,
                    "points": len(self.processor.evaluators)}
        try:
            health.report(self.engine, COMPONENT, self.instance, counters)
        except DBAPIError as exc:
            log.warning("could not report counters: %s", exc)

    # ----------------------------------------------------------------------------------- run
    def start(self) -> None:
        n = self.load_registry()
        self.restore()
        self.notifier.start()
        self.client = self._make_client()
        self.client.loop_start()
        log.info("alarm engine %s: %d points, subscriptions %s", self.instance, n, ", ".join(self.subscriptions))

    def run(self, until: threading.Event | None = None) -> None:
        """Run until `stop()` (SIGTERM in the CLI) — then drain what arrived, ack it, disconnect."""
        self.start()
        last: dict[str, float] = {"registry": time.monotonic()}
        self.ready.set()
        try:
            unsubscribe_sent = 0.0
            while not self.stop_event.is_set():
                if self.leaving and self.client is not None:
                    if not unsubscribe_sent:
                        log.info("leaving group %s: unsubscribing, draining the session", self.settings.group)
                        self.client.unsubscribe(self.subscriptions)
                        unsubscribe_sent = time.monotonic()
                    elif (self.unsubscribed.is_set() and self.queue.empty()
                          and time.monotonic() - max(self._last_arrival, unsubscribe_sent) > 1.0):
                        break
                try:
                    msg = self.queue.get(timeout=min(0.2, self.settings.tick_s))
                    self._work_one(msg)
                except queue.Empty:
                    pass
                try:
                    self._periodic(time.monotonic(), last)
                except (DBAPIError, Conflict) as exc:
                    self.counters["db_errors"] += 1
                    log.warning("periodic checks failed (%s); retrying", str(exc).splitlines()[0])
                    self.stop_event.wait(1.0)
            while True:  # drain: evaluate and ack what is already here
                try:
                    self._work_one(self.queue.get_nowait())
                except queue.Empty:
                    break
        finally:
            self.close()

    def stop(self) -> None:
        self.stop_event.set()

    def leave(self) -> None:
        """Scale-down (SIGUSR1): leave the shared group for good. Mosquitto hands a shared subscription's
        messages to offline member sessions too, so a replica removed with its session kept would strand
        its share until the session expires. Unsubscribe, drain, then end the session."""
        self.leaving = True

    def close(self) -> None:
        if self.client is not None:
            # Leaving: the session ends with this connection (MQTT 5 session expiry 0; 3.1.1 logs why not).
            mqtt_client.disconnect(self.client, self.protocol, end_session=self.leaving)
            self.client.loop_stop()
            self.client = None
        self.notifier.stop()
        self.report()
        self.engine.dispose()
