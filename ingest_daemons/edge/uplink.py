"""The edge's MQTT link: every outgoing message goes through the spool, a forwarder drains it.

Producers call `send(messages)`: the forwarder appends everything sent since its last turn to the
SQLite spool in one durable transaction (group commit, off the event loop; a crash can lose only
that one turn's messages), then publishes in spool order at QoS 1 whenever the broker is
connected, keeping at most
`window` unacknowledged messages in flight. A row is deleted only when a successful PUBACK for it
arrives. While the broker is unreachable rows accumulate (the heartbeat reports depth, oldest_ts,
cloud_connected). The spool, not paho's session state, is the truth: on a disconnect paho's own
queue is dropped and on reconnect the forwarder re-sends from the oldest unacknowledged row
(`replay_active` while rows older than the current connection remain), so the cloud receives every
message, in the original order, with its original timestamps — at least once (a message in flight
at the disconnect may arrive twice; the ingestor is idempotent). A PUBACK with a failure reason
code rewinds the forwarder to that row.

MQTT 5, clean start: commands sent while the edge was away are not queued for it (the cloud times
them out — a stale mode request must not run hours later). mode/state messages carry the user
property `mcs-publisher=edge`, which lets the edge tell its own retained mode/state messages from
those of another publisher (see mode.py).

MQTT 3.1.1 (`MCS_MQTT_PROTOCOL=3.1.1`, e.g. the embedded amqtt broker; mcs.mqtt_client): clean
session, the same spool and PUBACK handling; there are no user properties, so the uplink remembers
the mode/state messages it published and marks their echo as its own (the same `publisher_of`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest_daemons.edge.spool import Message, Spool
from mcs import mqtt_client
from mcs.runtime import mqtt_host_port

log = logging.getLogger(__name__)

PUBLISHER_PROPERTY = ("mcs-publisher", "edge")


def publisher_of(properties: Properties | None) -> str | None:
    for key, value in getattr(properties, "UserProperty", None) or []:
        if key == PUBLISHER_PROPERTY[0]:
            return value
    return None


class Uplink:
    def __init__(self, mqtt_url: str, client_id: str, spool: Spool, *, window: int = 1000,
                 subscriptions: tuple[str, ...] = (), on_message: Callable[[mqtt.MQTTMessage], None] | None = None,
                 keepalive: int = 30, protocol: int | None = None) -> None:
        self.mqtt_url = mqtt_url
        self.host, self.port = mqtt_host_port(mqtt_url)
        self.protocol = protocol if protocol is not None else mqtt_client.protocol_for()
        self.client_id = client_id
        self.spool = spool
        self.window = window
        self.subscriptions = subscriptions
        self.on_message = on_message
        self.keepalive = keepalive
        self.connected = False
        self.connected_at: float | None = None
        self.inflight: dict[int, int] = {}
        self.pending: list[Message] = []
        self.acked: list[int] = []
        self.last_id = 0
        self._generation = 0
        self.published_total = 0
        self.acked_total = 0
        self.disconnects = 0
        self._wake = asyncio.Event()
        self._stop = False
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._props = mqtt_client.publish_properties(self.protocol, [PUBLISHER_PROPERTY])   # None on 3.1.1
        # MQTT 3.1.1: (topic, payload) of our recent mode/state publishes, to recognise their echo.
        self._own_mode: deque[tuple[str, bytes]] = deque(maxlen=64)
        self._own_lock = threading.Lock()
        self._own_props = Properties(PacketTypes.PUBLISH)
        self._own_props.UserProperty = [PUBLISHER_PROPERTY]
        self.client: mqtt.Client | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        c = mqtt_client.new_client(self.client_id, self.protocol, url=self.mqtt_url, persistent=False,
                                   keepalive=self.keepalive, max_inflight=min(self.window, 1000), max_queued=0)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.loop_start()
        self.client = c
        self._task = asyncio.create_task(self._forward(), name=f"uplink-{self.client_id}")

    async def stop(self, drain_s: float = 5.0) -> None:
        """Give the spool `drain_s` to empty while connected, then disconnect (the rest stays spooled)."""
        deadline = time.monotonic() + drain_s
        self._wake.set()
        while self.connected and self.depth > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self._stop = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._flush_acks()
        self._write_pending()
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    # -- paho callbacks (network thread) ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if mqtt_client.failed(reason_code):
            log.warning("broker %s:%s refused the connection: %s%s", self.host, self.port, reason_code,
                        mqtt_client.connect_refusal_hint(reason_code, self.protocol))
            return
        if self.subscriptions:
            mqtt_client.subscribe(client, list(self.subscriptions), self.protocol)
        self._threadsafe(self._set_connected, True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        # Forget paho's unacknowledged messages: the forwarder re-sends them from the spool in order.
        # (paho 2.x internals; without them paho would re-send too — duplicates, never a loss.)
        with contextlib.suppress(AttributeError), client._out_message_mutex:
            client._out_messages.clear()
            client._inflight_messages = 0
        self._threadsafe(self._set_connected, False)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._threadsafe(self._ack, mid, bool(getattr(reason_code, "is_failure", False)))

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        if self.protocol != mqtt_client.MQTT5 and message.topic.endswith("/mode/state"):
            with self._own_lock:
                own = (message.topic, message.payload) in self._own_mode
            if own:                      # our own publish come back (3.1.1 has no user properties)
                message.properties = self._own_props
        if self.on_message is not None:
            self._threadsafe(self.on_message, message)

    def _threadsafe(self, fn, *args) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(fn, *args)

    # -- loop side ---------------------------------------------------------------------------------------
    def _set_connected(self, value: bool) -> None:
        if value and not self.connected:
            self.connected_at = time.time()
            log.info("broker %s:%s connected (%d messages spooled)", self.host, self.port, self.spool.depth)
        elif not value and self.connected:
            self.disconnects += 1
            log.warning("broker %s:%s link lost: spooling (%d in flight will be re-sent)", self.host, self.port,
                        len(self.inflight))
        if value != self.connected or not value:
            self.inflight.clear()        # re-send every unacknowledged row from the spool, in order
            self.last_id = 0
            self._generation += 1        # rows peeked before this point must not move last_id forward
        self.connected = value
        self._wake.set()

    def _ack(self, mid: int, failed: bool = False) -> None:
        row_id = self.inflight.pop(mid, None)
        if row_id is None:
            return
        if failed:
            log.warning("broker refused message (row %d): re-sending from there", row_id)
            self.last_id = min(self.last_id, row_id - 1)
            self._generation += 1
            self._wake.set()
            return
        self.acked.append(row_id)
        self.acked_total += 1
        self._wake.set()

    def _flush_acks(self) -> None:
        if self.acked:
            ids, self.acked = self.acked, []
            self.spool.delete(ids)

    def send(self, messages: list[Message]) -> None:
        """Queue messages for the broker; the forwarder writes them to the spool within one turn (~ms)."""
        self.pending.extend(messages)
        self._wake.set()

    def _write_pending(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.spool.append(batch)

    @property
    def depth(self) -> int:
        """Messages not yet acknowledged by the broker (spooled + about to be spooled)."""
        return self.spool.depth + len(self.pending)

    def kick(self) -> None:
        """Reconnect now instead of waiting for paho's backoff (buffer_flush)."""
        if not self.connected and self.client is not None:
            with contextlib.suppress(OSError, ValueError):
                self.client.reconnect()
        self._wake.set()

    @property
    def replay_active(self) -> bool:
        if not self.connected or self.connected_at is None or self.spool.depth == 0:
            return False
        oldest = self.spool.oldest_ts()
        return oldest is not None and oldest < self.connected_at

    async def _forward(self) -> None:
        while not self._stop:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.25)
            self._wake.clear()
            if self.pending:
                # Group commit: everything sent since the last turn, one fsync, off the event loop.
                batch, self.pending = self.pending, []
                await asyncio.to_thread(self.spool.append, batch)
            if self.acked:
                ids, self.acked = self.acked, []
                await asyncio.to_thread(self.spool.delete, ids)
            if not self.connected or self.client is None:
                continue
            room = self.window - len(self.inflight)
            if room <= 0:
                continue
            generation = self._generation
            rows = await asyncio.to_thread(self.spool.peek, self.last_id, room)
            if generation != self._generation:
                self._wake.set()         # the link went down/up while reading: start again from the rewind
                continue
            for r in rows:
                if not self.connected:
                    break
                # The publisher property only where it is read (mode/state): packing it costs ~1/3 of a publish.
                props = None
                if r.topic.endswith("/mode/state"):
                    props = self._props
                    if props is None:                            # MQTT 3.1.1: remember it to know the echo
                        with self._own_lock:
                            self._own_mode.append((r.topic, bytes(r.payload)))
                info = self.client.publish(r.topic, r.payload, qos=r.qos, retain=r.retain, properties=props)
                if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    log.warning("publish refused by the client (%s); retrying", mqtt.error_string(info.rc))
                    break
                # paho owns the message now (it re-sends on reconnect even if it was queued offline)
                self.inflight[info.mid] = r.id
                self.last_id = r.id
                self.published_total += 1
            if len(rows) == room:
                self._wake.set()
