"""From MQTT messages to the rows of one batch: routing, decoding, validation, point resolution.

Pure logic over an in-memory registry snapshot, so it is unit-testable without a broker or a
database. Every message ends up somewhere: a telemetry row, a held (unregistered) reading, an event
row (mode, heartbeat, alarm, command response), or a dead letter with category and reason. Nothing
is dropped silently; the only messages deliberately ignored are cloud→edge commands, which the
ingestor sees because it subscribes to `microlink/#` (they are counted as `commands_seen`), and
zero-length payloads, which is how a retained message is cleared and carry no reading (`empty`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from ingest_daemons.mqtt_ingestor.units import UnitMismatch, conversion
from mcs import wire
from mcs.wire import Reading, WireError

log = logging.getLogger(__name__)

DEAD_LETTER_MAX_BYTES = 4096
TOPIC_CACHE_MAX = 200_000


@dataclass(frozen=True, slots=True)
class PointInfo:
    point_id: int
    unit: str
    subsystem: str
    poll_ms: int | None


@dataclass
class RegistrySnapshot:
    """Active points by (site, block, tag) and the known (site, block) pairs."""

    points: dict[tuple[str, str, str], PointInfo] = field(default_factory=dict)
    blocks: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class DeadLetter:
    topic: str
    payload: bytes
    category: str
    reason: str

    def row(self) -> tuple[str, bytes, int, str, str]:
        return (self.topic, self.payload[:DEAD_LETTER_MAX_BYTES], len(self.payload), self.category,
                self.reason[:2000])


@dataclass
class Work:
    """Everything one batch of messages writes, in one transaction."""

    rows: list[tuple[datetime, int, float, int]] = field(default_factory=list)
    unregistered: list[tuple[str, str, str, str, datetime, float, int, str]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    modes: list[tuple[Any, ...]] = field(default_factory=list)
    heartbeats: list[tuple[Any, ...]] = field(default_factory=list)
    alarms: list[tuple[Any, ...]] = field(default_factory=list)
    responses: list[tuple[Any, ...]] = field(default_factory=list)
    messages: int = 0
    readings: int = 0
    converted: int = 0
    retained: int = 0
    commands_seen: int = 0
    empty: int = 0                # zero-length payloads: how a retained message is cleared; no data
    newest_ts: datetime | None = None

    def __len__(self) -> int:
        return self.messages


class Router:
    """Turns (topic, payload) into rows of a Work. Keeps per-point seq state for gap counting.

    `refresh` reloads the registry; it is called on a cache miss at most every `miss_refresh_s`.
    """

    def __init__(self, snapshot: RegistrySnapshot, refresh: Callable[[], RegistrySnapshot] | None = None,
                 max_past: timedelta = timedelta(days=90), max_future: timedelta = timedelta(minutes=5),
                 miss_refresh_s: float = 5.0, clock: Callable[[], float] | None = None) -> None:
        import time

        self._clock = clock or time.monotonic
        self.snapshot = snapshot
        self._refresh = refresh
        self.max_past = max_past
        self.max_future = max_future
        self.miss_refresh_s = miss_refresh_s
        self._last_refresh = self._clock()
        self._topics: dict[str, tuple[wire.Topic, PointInfo | None]] = {}
        self._seq: dict[int, int] = {}
        self.seq_gaps = 0
        self.seq_resets = 0
        self.late = 0
        self._now = datetime.now().astimezone()
        self._late_before: dict[int, datetime] = {}     # poll_ms → readings older than this are late

    # ------------------------------------------------------------------------------- registry
    def replace_snapshot(self, snapshot: RegistrySnapshot) -> None:
        self.snapshot = snapshot
        self._topics.clear()
        self._last_refresh = self._clock()

    def _point(self, site: str, block: str, tag: str) -> PointInfo | None:
        key = (site, block, tag)
        info = self.snapshot.points.get(key)
        if info is None and self._refresh is not None and self._clock() - self._last_refresh >= self.miss_refresh_s:
            self.replace_snapshot(self._refresh())
            info = self.snapshot.points.get(key)
        return info

    def _block_known(self, site: str, block: str) -> bool:
        if (site, block) in self.snapshot.blocks:
            return True
        if self._refresh is not None and self._clock() - self._last_refresh >= self.miss_refresh_s:
            self.replace_snapshot(self._refresh())
        return (site, block) in self.snapshot.blocks

    def _topic(self, topic: str) -> tuple[wire.Topic, PointInfo | None]:
        entry = self._topics.get(topic)
        if entry is not None:
            return entry
        t = wire.parse_topic(topic)
        point = self._point(t.site, t.block, t.tag) if t.kind == "telemetry" and t.tag else None
        entry = (t, point)
        if point is not None or t.kind != "telemetry":
            if len(self._topics) >= TOPIC_CACHE_MAX:
                self._topics.clear()
            self._topics[topic] = entry
        return entry

    # -------------------------------------------------------------------------------- routing
    def route_all(self, messages: Iterable[tuple[str, bytes, bool]], now: datetime) -> Work:
        work = Work()
        self._now = now
        self._late_before = {}
        lo, hi = now - self.max_past, now + self.max_future
        for topic, payload, retain in messages:
            work.messages += 1
            if retain:
                work.retained += 1
            if not payload:
                work.empty += 1
                continue
            try:
                self._route(work, topic, payload, lo, hi)
            except WireError as exc:
                work.dead.append(DeadLetter(topic, payload, exc.category, exc.reason))
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the message: dead-letter it
                log.exception("routing failed for %s", topic)
                work.dead.append(DeadLetter(topic, payload, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
        return work

    def _route(self, work: Work, topic: str, payload: bytes, lo: datetime, hi: datetime) -> None:
        t, point = self._topic(topic)
        kind = t.kind
        if kind == "telemetry":
            reading = wire.decode_telemetry(payload)
            work.readings += 1
            err = self._reading(work, t.site, t.block, t.subsystem or "", t.tag or "", point, reading, lo, hi)
            if err is not None:
                work.dead.append(DeadLetter(topic, payload, err.category, err.reason))
        elif kind == "batch":
            good, bad = wire.decode_batch_lenient(payload)
            for item, exc in bad:
                work.dead.append(DeadLetter(topic, item, exc.category, f"batch item: {exc.reason}"))
            site, block, subsystem = t.site, t.block, t.subsystem or ""
            points = self.snapshot.points
            work.readings += len(good)
            for tag, reading in good:
                info = points.get((site, block, tag)) or self._point(site, block, tag)
                err = self._reading(work, site, block, subsystem, tag, info, reading, lo, hi)
                if err is not None:
                    item = wire.encode_batch(reading.ts, [(tag, reading)])
                    work.dead.append(DeadLetter(topic, item, err.category, f"batch item {tag}: {err.reason}"))
        elif kind == "command":
            work.commands_seen += 1
        else:
            self._event(work, t, payload, lo, hi)

    def _reading(self, work: Work, site: str, block: str, subsystem: str, tag: str, point: PointInfo | None,
                 r: Reading, lo: datetime, hi: datetime) -> WireError | None:
        ts = r.ts
        if ts < lo or ts > hi:
            return WireError("TIME_ERROR", f"ts {wire.format_ts(ts)} outside the accepted window "
                                           f"[{wire.format_ts(lo)}, {wire.format_ts(hi)}]")
        if point is None:
            if not self._block_known(site, block):
                return WireError("SENSOR_UNKNOWN", f"unknown site/block {site}/{block}")
            # A known block's new tag is held for commissioning and released once registered.
            work.unregistered.append((site, block, subsystem, tag, ts, r.value, r.quality, r.unit))
            return None
        value = r.value
        if r.unit != point.unit:
            try:
                scale, offset = conversion(r.unit, point.unit)
            except UnitMismatch as exc:
                return WireError("UNIT_ERROR", f"{tag}: {exc}")
            value = value * scale + offset
            work.converted += 1
        pid = point.point_id
        work.rows.append((ts, pid, value, r.quality))
        if work.newest_ts is None or ts > work.newest_ts:
            work.newest_ts = ts
        if r.seq is not None:
            last = self._seq.get(pid)
            if last is not None:
                if r.seq > last + 1:
                    self.seq_gaps += r.seq - last - 1
                elif r.seq < last:
                    self.seq_resets += 1
            self._seq[pid] = r.seq
        poll = point.poll_ms
        if poll:
            cutoff = self._late_before.get(poll)
            if cutoff is None:
                cutoff = self._late_before[poll] = self._now - timedelta(milliseconds=2 * poll)
            if ts < cutoff:
                self.late += 1      # replayed or delayed: accepted, counted (domain §3.3 late data)
        return None

    def _event(self, work: Work, t: wire.Topic, payload: bytes, lo: datetime, hi: datetime) -> None:
        site, block, kind = t.site, t.block, t.kind
        if kind == "mode":
            m = wire.decode_mode(payload)
            self._check_time(m.ts, lo, hi)
            self._check_block(site, block)
            work.modes.append((site, block, m.ts, m.state, m.previous, m.trigger, _json(m.valves), _json(m.guards),
                               m.operator))
        elif kind == "heartbeat":
            h = wire.decode_heartbeat(payload)
            self._check_time(h.ts, lo, hi)
            self._check_block(site, block)
            work.heartbeats.append((site, block, h.ts, h.edge_id, h.uptime_s, _json(h.adapters), _json(h.buffer),
                                    _json(h.system)))
        elif kind == "alarm":
            a = wire.decode_alarm(payload)
            if a.priority != t.priority:
                raise WireError("PARSE_ERROR", f"priority {a.priority} does not match topic priority {t.priority}")
            self._check_time(a.ts, lo, hi)
            self._check_block(site, block)
            work.alarms.append((site, block, a.ts, a.alarm_id, a.action, a.priority, a.sensor_tag, a.subsystem,
                                a.value, a.threshold, a.direction, a.description))
        elif kind == "response":
            r = wire.decode_response(payload)
            self._check_time(r.ts, lo, hi)
            self._check_block(site, block)
            work.responses.append((site, block, r.ts, r.request_id, r.status, r.reason, _json(r.result)))
        else:  # pragma: no cover - parse_topic only yields the kinds above
            raise WireError("TOPIC_ERROR", f"unroutable kind {kind}")

    @staticmethod
    def _check_time(ts: datetime, lo: datetime, hi: datetime) -> None:
        if ts < lo or ts > hi:
            raise WireError("TIME_ERROR", f"ts {wire.format_ts(ts)} outside the accepted window")

    def _check_block(self, site: str, block: str) -> None:
        if not self._block_known(site, block):
            raise WireError("SENSOR_UNKNOWN", f"unknown site/block {site}/{block}")


def _json(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
