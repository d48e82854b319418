"""The ingest loop: MQTT 5 shared subscription → batches → PostgreSQL → acknowledgements.

MQTT 3.1.1 (`MCS_MQTT_PROTOCOL=3.1.1`, e.g. the embedded amqtt broker) works the same way with one
replica (no shared subscriptions: the plain topic is subscribed), clean_session=False as the
persistent session, and the broker's own in-flight limit instead of receive maximum (mcs.mqtt_client).

Zero loss rests on three things, all of which must hold:

1. QoS 1 on a persistent session (fixed client id, clean_start false, session expiry): while a
   replica is down the broker queues its share and redelivers on reconnect.
2. Manual acknowledgements (paho `manual_ack=True`): a PUBACK is sent only after the batch holding
   the message has been COMMITted. A crash before the commit leaves the message unacknowledged, so
   the broker redelivers it. PUBACKs go out in the order messages arrived (MQTT §4.6).
3. Idempotent writes (`ON CONFLICT DO NOTHING` on natural keys): the redelivery, the retained copy
   and the edge's own resend write nothing twice.

Acks belong to a connection: a message received before a reconnect is not acknowledged on the new
connection (its packet id may by then name a different message); the broker redelivers it instead
and the idempotent write absorbs it. While the database is unavailable nothing is acknowledged and
the batch is retried with backoff; the broker stops sending once `receive_maximum` messages are
unacknowledged, so memory stays bounded and nothing is dropped.

Threads: paho's network thread only appends to a deque; the main thread decodes and validates
batches (and reloads the registry, reports counters); a writer thread with its own connection
commits them and then acknowledges, strictly in order. At most two routed batches wait for the
writer, so decoding batch N+1 overlaps committing batch N while memory stays bounded.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import psycopg

from ingest_daemons.mqtt_ingestor.config import IngestSettings, instance_name
from ingest_daemons.mqtt_ingestor.router import DeadLetter, RegistrySnapshot, Router, Work
from ingest_daemons.mqtt_ingestor.store import Store
from mcs import health, mqtt_client
from mcs.db.engine import make_engine
from mcs.runtime import UserError

log = logging.getLogger("mcs.ingest")
COMPONENT = "ingestor"

# (topic, payload, mid, qos, retain, connection epoch, monotonic arrival)
Pending = tuple[str, bytes, int, int, bool, int, float]


@dataclass
class Counters:
    received: int = 0
    readings: int = 0
    written: int = 0
    duplicates: int = 0
    dead_letter: int = 0
    unregistered: int = 0
    released: int = 0
    converted: int = 0
    retained: int = 0
    mode_events: int = 0
    heartbeats: int = 0
    alarm_events: int = 0
    command_responses: int = 0
    commands_seen: int = 0
    empty: int = 0
    batches: int = 0
    db_errors: int = 0
    acks_skipped: int = 0
    route_s: float = 0.0          # CPU spent decoding/validating (cumulative)
    write_s: float = 0.0          # time spent writing + committing (cumulative)
    lag_s: float | None = None
    commit_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "extra"}
        d.update(self.extra)
        return d


class Ingestor:
    def __init__(self, database_url: str, mqtt_url: str, settings: IngestSettings | None = None,
                 instance: str | None = None, protocol: int | None = None) -> None:
        self.settings = settings or IngestSettings()
        self.protocol = protocol if protocol is not None else mqtt_client.protocol_for()
        self.instance = instance or instance_name()
        self.client_id = self.settings.client_id or f"mcs-ingest-{self.instance}"
        self.database_url = database_url
        self.mqtt_url = mqtt_url
        self.store = Store(database_url)              # writer thread: the data path
        self.registry_store = Store(database_url)     # main thread: registry reloads, held-reading release
        self._writes: queue.Queue[tuple[Work, list[Pending]] | None] = queue.Queue(maxsize=2)
        self._write_failed = False
        self._deadline: float | None = None
        self._leaving = False
        self._unsubscribed = threading.Event()
        self._last_arrival = 0.0
        self.counters = Counters()
        self.queue: deque[Pending] = deque()
        self.stop_event = threading.Event()
        self.connected = False
        self.epoch = 0
        self.router: Router | None = None
        self.client: mqtt.Client | None = None
        self._engine = make_engine(database_url, pool_size=1, max_overflow=0, connect_args={"connect_timeout": 5})

    # ------------------------------------------------------------------------------------ MQTT
    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt_client.new_client(self.client_id, self.protocol, url=self.mqtt_url, persistent=True,
                                        session_expiry_s=s.session_expiry_s, manual_ack=True,
                                        receive_maximum=s.receive_maximum or 2 * s.batch_size)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_unsubscribe = self._on_unsubscribe
        return client

    @property
    def subscription(self) -> str:
        return mqtt_client.subscription(self.settings.group, "microlink/#", self.protocol)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if mqtt_client.failed(reason):
            log.error("broker refused the connection: %s%s", reason,
                      mqtt_client.connect_refusal_hint(reason, self.protocol))
            return
        self.epoch += 1
        self.connected = True
        log.info("connected as %s over MQTT %s (session present: %s); subscribing %s", self.client_id,
                 mqtt_client.protocol_name(self.protocol), getattr(flags, "session_present", None), self.subscription)
        mqtt_client.subscribe(client, [self.subscription], self.protocol)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connected = False
        if not self.stop_event.is_set():
            hint = mqtt_client.no_connack_hint(reason, self.protocol) if self.epoch == 0 else ""
            log.warning("disconnected from the broker (%s); reconnecting%s", reason, hint)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        self.queue.append((msg.topic, msg.payload, msg.mid, msg.qos, msg.retain, self.epoch, now))
        self._last_arrival = now

    def _on_unsubscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        self._unsubscribed.set()

    # ------------------------------------------------------------------------------- database
    def _refresh_registry(self) -> RegistrySnapshot:
        """Reload for the router; on a database error keep the snapshot we have (never dead-letter
        readings because the registry could not be read)."""
        try:
            return self.registry_store.load_registry()
        except psycopg.Error as exc:
            log.warning("registry reload failed (%s); keeping the cached registry", exc)
            self.registry_store.close()
            assert self.router is not None
            return self.router.snapshot

    def _wait_for_database(self) -> RegistrySnapshot:
        delay = 0.5
        while True:
            try:
                return self.registry_store.load_registry()
            except psycopg.Error as exc:
                self.registry_store.close()
                if self.stop_event.is_set():
                    raise UserError(f"database unavailable: {exc}") from None
                log.warning("database unavailable (%s); retrying in %.0f s", str(exc).strip(), delay)
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30)

    def _past_deadline(self, delay: float) -> bool:
        return self._deadline is not None and time.monotonic() + delay > self._deadline

    def _write(self, work: Work) -> bool:
        """Write with retry and backoff. Returns False only once the shutdown deadline has passed."""
        delay = 0.2
        while True:
            try:
                result = self.store.write(work)
                self.counters.written += result.written
                self.counters.duplicates += result.duplicates
                return True
            except (psycopg.OperationalError, psycopg.errors.DeadlockDetected,
                    psycopg.errors.SerializationFailure, psycopg.InterfaceError) as exc:
                self.counters.db_errors += 1
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                log.warning("batch of %d messages not written (%s); retrying in %.1f s (not acknowledged)",
                            work.messages, first, delay)
                if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                    self.store.close()
            if self._past_deadline(delay):
                return False
            time.sleep(delay)
            delay = min(delay * 2, 10)

    # ----------------------------------------------------------------------------------- loop
    def _route(self, items: list[Pending]) -> None:
        """Main thread: decode and validate a batch, hand it to the writer (blocks while the writer
        has two batches in hand: back-pressure up to the broker's receive maximum)."""
        assert self.router is not None
        started = time.monotonic()
        work = self.router.route_all(((t, p, r) for t, p, _, _, r, _, _ in items), datetime.now(UTC))
        self.counters.route_s += time.monotonic() - started
        while True:
            try:
                self._writes.put((work, items), timeout=0.5)
                return
            except queue.Full:
                if self._write_failed:      # shutting down with the database unavailable: leave unacked
                    return

    def _writer(self) -> None:
        """Writer thread: commit each batch, then acknowledge its messages, strictly in order."""
        while True:
            job = self._writes.get()
            if job is None:
                return
            if self._write_failed:          # shutdown gave up on an earlier batch: leave the rest unacked
                continue
            work, items = job
            started = time.monotonic()
            try:
                ok = self._write(work)
            except psycopg.Error as exc:
                # Not a connectivity problem: something in this batch the database refuses. Find the
                # message(s) by writing one at a time; each refused one becomes a dead letter.
                log.error("batch refused by the database (%s); isolating the offending message(s)", exc)
                self.store.close()
                ok = self._write_isolating(items)
            self.counters.write_s += time.monotonic() - started
            if not ok:
                self._write_failed = True
                log.warning("shutdown: a batch of %d messages could not be written; it and later ones stay "
                            "unacknowledged for redelivery", len(items))
                continue
            self._ack(items)
            self._count(work, items, started)

    def _ack(self, items: list[Pending]) -> None:
        assert self.client is not None
        epoch = self.epoch
        ack = self.client.ack
        for _, _, mid, qos, _, e, _ in items:
            if qos:
                if e == epoch:
                    ack(mid, qos)
                else:
                    self.counters.acks_skipped += 1

    def _count(self, work: Work, items: list[Pending], started: float) -> None:
        c = self.counters
        c.received += len(items)
        c.readings += work.readings
        c.dead_letter += len(work.dead)
        c.unregistered += len(work.unregistered)
        c.converted += work.converted
        c.retained += work.retained
        c.mode_events += len(work.modes)
        c.heartbeats += len(work.heartbeats)
        c.alarm_events += len(work.alarms)
        c.command_responses += len(work.responses)
        c.commands_seen += work.commands_seen
        c.empty += work.empty
        c.batches += 1
        c.commit_ms = round((time.monotonic() - started) * 1000, 1)
        if work.newest_ts is not None:
            c.lag_s = round((datetime.now(UTC) - work.newest_ts).total_seconds(), 3)

    def _write_isolating(self, items: list[Pending]) -> bool:
        assert self.router is not None
        now = datetime.now(UTC)
        for t, p, _, _, r, _, _ in items:
            single = self.router.route_all([(t, p, r)], now)
            try:
                if not self._write(single):
                    return False
            except psycopg.Error as exc:
                self.store.close()
                dead = Work(messages=1, dead=[DeadLetter(t, p, "INTERNAL_ERROR", f"database refused: {exc}")])
                if not self._write(dead):
                    return False
        return True

    def _report(self) -> None:
        assert self.router is not None
        c = self.counters
        c.extra = {"seq_gaps": self.router.seq_gaps, "seq_resets": self.router.seq_resets, "late": self.router.late,
                   "queue": len(self.queue), "mqtt_connected": self.connected, "client_id": self.client_id,
                   "subscription": self.subscription,
                   "oldest_pending_s": round(time.monotonic() - self.queue[0][6], 3) if self.queue else 0.0}
        try:
            health.report(self._engine, COMPONENT, self.instance, c.as_dict())
        except Exception as exc:  # noqa: BLE001 - counters are best effort; the data path is not
            log.warning("could not report counters: %s", str(exc).splitlines()[0])

    def _housekeeping(self) -> None:
        assert self.router is not None
        try:
            self.router.replace_snapshot(self.registry_store.load_registry())
            released, dead = self.registry_store.release_unregistered()
            self.counters.released += released
            self.counters.dead_letter += dead
        except psycopg.Error as exc:
            log.warning("registry refresh failed: %s", str(exc).splitlines()[0])
            self.registry_store.close()

    def request_stop(self, *_: Any) -> None:
        # The deadline starts now: a writer retrying against an unavailable database gives up after
        # the grace period (its batch stays unacknowledged) instead of holding the shutdown forever.
        if self._deadline is None:
            self._deadline = time.monotonic() + self.settings.shutdown_grace_s
        self.stop_event.set()

    def request_leave(self, *_: Any) -> None:
        """Scale-down (SIGUSR1): leave the shared group for good. Mosquitto hands a shared
        subscription's messages to offline member sessions too, so a replica that is removed while
        keeping its session would strand its share until the session expires (and then lose it).
        Leaving unsubscribes, drains what the session still holds, and ends the session (MQTT 3.1.1
        cannot end it on disconnect; without subscriptions it queues nothing)."""
        self._leaving = True

    def run(self, install_signals: bool = True) -> None:
        if install_signals:
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
            signal.signal(signal.SIGUSR1, self.request_leave)
        s = self.settings
        snapshot = self._wait_for_database()
        self.router = Router(snapshot, refresh=self._refresh_registry, max_past=timedelta(seconds=s.max_past_s),
                             max_future=timedelta(seconds=s.max_future_s))
        self._housekeeping()
        self.client = self._make_client()
        writer = threading.Thread(target=self._writer, name="ingest-writer", daemon=True)
        writer.start()
        self.client.loop_start()
        log.info("ingestor %s: %s → PostgreSQL (batch %d, flush %d ms)", self.instance, self.mqtt_url,
                 s.batch_size, s.flush_ms)
        flush_s = s.flush_ms / 1000
        next_report = time.monotonic()
        next_refresh = time.monotonic() + s.registry_refresh_s
        q = self.queue
        unsubscribe_sent = 0.0
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                if self._leaving:
                    if not unsubscribe_sent:
                        log.info("leaving group %s: unsubscribing, draining the session", s.group)
                        self.client.unsubscribe(self.subscription)
                        unsubscribe_sent = now
                    elif (self._unsubscribed.is_set() and not q and self._writes.empty()
                          and now - max(self._last_arrival, unsubscribe_sent) > 1.0):
                        break
                if now >= next_report:
                    self._report()
                    next_report = now + s.report_s
                if now >= next_refresh:
                    self._housekeeping()
                    next_refresh = now + s.registry_refresh_s
                n = len(q)
                if n == 0 or (n < s.batch_size and now - q[0][6] < flush_s):
                    time.sleep(0.002 if n else 0.005)
                    continue
                self._route(self._take(min(n, s.batch_size)))
            self._shutdown(writer)
        finally:
            self.client.loop_stop()
            self.store.close()
            self.registry_store.close()
            self._engine.dispose()

    def _take(self, n: int) -> list[Pending]:
        """Up to n pending messages, stopping early at batch_bytes of payload."""
        q, limit, size, items = self.queue, self.settings.batch_bytes, 0, []
        while len(items) < n and size < limit:
            item = q.popleft()
            items.append(item)
            size += len(item[1])
        return items

    def _shutdown(self, writer: threading.Thread) -> None:
        """SIGTERM: flush what has arrived, commit, acknowledge, then disconnect. What arrives after
        the last flush stays unacknowledged in the persistent session and is redelivered."""
        assert self.client is not None
        if self._deadline is None:
            self._deadline = time.monotonic() + self.settings.shutdown_grace_s
        flushed = 0
        while self.queue and not self._write_failed:
            items = self._take(min(len(self.queue), self.settings.batch_size))
            self._route(items)
            flushed += len(items)
        self._writes.put(None)
        writer.join(max(1.0, self._deadline - time.monotonic() + 5))
        self._report()
        # Leaving: the session ends with this connection (MQTT 5 session expiry 0).
        mqtt_client.disconnect(self.client, self.protocol, end_session=self._leaving and not self._write_failed)
        log.info("stopped: flushed %d messages on shutdown; totals %s", flushed, self.counters.as_dict())
