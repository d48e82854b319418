"""The alarm processor: evaluators + suppression + record transitions over a `Store`.

The same class runs live (`ingest_daemons/alarms/engine.py`, a PostgreSQL store with row locks) and
over history (`replay`, an in-memory store written out idempotently), so history and live alarms are
made by one piece of logic. It does no I/O of its own: the store does, and time is passed in.

Every condition change is applied in one store transaction: lock the open instance of the condition,
work out what it inherits (design suppression from the block's mode and open cause alarms, a shelve or
out-of-service of the previous instance), apply the pure transition, save row + events, then
suppress / release the consequential alarms of a cause.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from mcs.alarms import state_machine as sm
from mcs.alarms.rules import DEFAULT_DERIVED, SuppressionRules
from mcs.alarms.state_machine import AlarmRecord, Carry, Condition, DerivedRule, EventRow, PointSpec


class Conflict(Exception):
    """A concurrent writer got there first (deadlock / unique violation): retry the transaction."""


class Tx(Protocol):
    """One transaction of a store. Reads of records lock them (SELECT … FOR UPDATE in PostgreSQL)."""

    def open_for(self, site_id: str, block_id: str, tag: str, kind: str) -> AlarmRecord | None: ...
    def get(self, alarm_id: str) -> AlarmRecord | None: ...
    def by_edge_id(self, edge_alarm_id: str) -> AlarmRecord | None: ...
    def open_in_block(self, site_id: str, block_id: str) -> list[AlarmRecord]: ...
    def latest_for(self, site_id: str, block_id: str, tag: str) -> AlarmRecord | None: ...
    def save(self, rec: AlarmRecord, events: list[EventRow]) -> list[EventRow]:
        """Upsert the record, insert the events; return the events that were new (not already stored)."""
        ...


class Store(Protocol):
    def transaction(self) -> Iterator[Tx]: ...   # a context manager


@dataclass
class MemoryStore:
    """A store in a dict, for replay and unit tests: same semantics, no locks needed (one thread)."""

    records: dict[str, AlarmRecord] = field(default_factory=dict)
    events: list[EventRow] = field(default_factory=list)
    _event_keys: set[tuple[str, str, datetime]] = field(default_factory=set)
    _open: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    _latest: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @contextmanager
    def transaction(self) -> Iterator[MemoryStore]:
        yield self

    def open_for(self, site_id: str, block_id: str, tag: str, kind: str) -> AlarmRecord | None:
        aid = self._open.get((site_id, block_id, tag, kind))
        return self.records.get(aid) if aid else None

    def get(self, alarm_id: str) -> AlarmRecord | None:
        return self.records.get(alarm_id)

    def by_edge_id(self, edge_alarm_id: str) -> AlarmRecord | None:
        return next((r for r in self.records.values() if edge_alarm_id in r.edge_alarm_ids), None)

    def open_in_block(self, site_id: str, block_id: str) -> list[AlarmRecord]:
        return sorted((self.records[a] for (s, b, _t, _k), a in self._open.items() if s == site_id and b == block_id),
                      key=lambda r: r.alarm_id)

    def latest_for(self, site_id: str, block_id: str, tag: str) -> AlarmRecord | None:
        aid = self._latest.get((site_id, block_id, tag))
        return self.records.get(aid) if aid else None

    def save(self, rec: AlarmRecord, events: list[EventRow]) -> list[EventRow]:
        old = self.records.get(rec.alarm_id)
        if old is not None and old.is_open:
            self._open.pop((old.site_id, old.block_id, old.tag, old.kind), None)
        self.records[rec.alarm_id] = rec
        key = (rec.site_id, rec.block_id, rec.tag)
        latest = self.records.get(self._latest.get(key, ""))
        if latest is None or (rec.raised_at, rec.alarm_id) >= (latest.raised_at, latest.alarm_id):
            self._latest[key] = rec.alarm_id
        if rec.is_open:
            self._open[(rec.site_id, rec.block_id, rec.tag, rec.kind)] = rec.alarm_id
        new = []
        for e in events:
            k = (e.alarm_id, e.event, e.ts)
            if k not in self._event_keys:
                self._event_keys.add(k)
                self.events.append(e)
                new.append(e)
        return new


NOTIFY_PRIORITIES = frozenset({"P0", "P1"})


@dataclass
class Processor:
    """Alarm evaluation for a set of points over one store. Not thread-safe: one per thread."""

    store: Store
    specs: Iterable[PointSpec] = ()
    policy: sm.Policy = sm.DEFAULT_POLICY
    rules: SuppressionRules = field(default_factory=SuppressionRules)
    source: str = "engine"
    on_new_events: Callable[[AlarmRecord, list[EventRow]], None] | None = None
    derived_rules: tuple[DerivedRule, ...] = DEFAULT_DERIVED
    evaluators: dict[tuple[str, str, str], sm.PointEvaluator] = field(default_factory=dict)
    heartbeats: dict[tuple[str, str], sm.HeartbeatWatch] = field(default_factory=dict)
    modes: dict[tuple[str, str], sm.ModeWatch] = field(default_factory=dict)
    derived: dict[tuple[str, str, str], list[sm.DerivedEvaluator]] = field(default_factory=dict)
    derived_by_tag: dict[tuple[str, str, str], sm.DerivedEvaluator] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: {"samples": 0, "conditions": 0, "events": 0,
                                                              "edge_events": 0, "unknown_points": 0})

    def __post_init__(self) -> None:
        self._pending: list[tuple[AlarmRecord, list[EventRow]]] = []
        # Work not yet committed, in order. The evaluators have already moved past the sample that caused
        # it, so on a database error it stays here and is retried first (nothing is lost or reordered).
        self.backlog: deque[Callable[[Tx], None]] = deque()
        for spec in self.specs:
            self.add_point(spec)

    def add_point(self, spec: PointSpec) -> None:
        key = (spec.site_id, spec.block_id, spec.tag)
        old = self.evaluators.get(key)
        ev = sm.PointEvaluator(spec, self.policy)
        if old is not None:  # registry reload: keep the process state, take the new limits
            ev.confirmed = next((lim for lim in spec.limits if old.confirmed and lim.priority == old.confirmed.priority
                                 and lim.direction == old.confirmed.direction), None)
            ev.last_ts, ev.last_seen, ev.last_value = old.last_ts, old.last_seen, old.last_value
            ev.bad_active, ev.stale_active, ev.bad_since = old.bad_active, old.stale_active, old.bad_since
        self.evaluators[key] = ev
        for rule in self.derived_rules:
            if spec.tag in rule.inputs:
                dev = self.derived_by_tag.setdefault((spec.site_id, spec.block_id, rule.tag),
                                                     sm.DerivedEvaluator(rule, spec.site_id, spec.block_id))
                lst = self.derived.setdefault(key, [])
                if dev not in lst:
                    lst.append(dev)

    # ----------------------------------------------------------------------------- inputs
    def telemetry(self, site_id: str, block_id: str, tag: str, ts: datetime, value: float, quality: int = 0,
                  seen: datetime | None = None) -> int:
        """Evaluate one sample; returns the number of condition changes it caused."""
        ev = self.evaluators.get((site_id, block_id, tag))
        if ev is None:
            self.counters["unknown_points"] += 1
            self.flush()
            return 0
        conds = self.sample(ev, ts, value, quality, seen)
        if conds:
            self.apply_all(conds)
        elif self.backlog:
            self.flush()
        return len(conds)

    def sample(self, ev: sm.PointEvaluator, ts: datetime, value: float, quality: int = 0,
               seen: datetime | None = None) -> list[Condition]:
        """Evaluate one sample of a known point (limits, quality, derived rules); returns the condition
        changes without applying them (telemetry() and replay apply them)."""
        self.counters["samples"] += 1
        conds = ev.sample(ts, value, quality, seen)
        devs = self.derived.get((ev.spec.site_id, ev.spec.block_id, ev.spec.tag))
        if devs and quality < sm.BAD:
            for dev in devs:
                conds += dev.sample(ev.spec.tag, ts, value)
        return conds

    def heartbeat(self, site_id: str, block_id: str, ts: datetime) -> None:
        hb = self.heartbeats.setdefault((site_id, block_id), sm.HeartbeatWatch(site_id, block_id, self.policy))
        self.apply_all(hb.heartbeat(ts))

    def mode(self, site_id: str, block_id: str, ts: datetime, state: str, previous: str | None = None,
             trigger: str = "") -> None:
        mw = self.modes.setdefault((site_id, block_id), sm.ModeWatch(site_id, block_id, self.policy))
        changed = mw.mode != state
        conds = mw.transition(ts, state, previous, trigger)
        self._enqueue(conds)
        if changed and mw.mode == state:
            self.backlog.append(lambda tx: self._sweep_mode_tx(tx, site_id, block_id, ts))
        self.flush()

    def tick(self, now: datetime) -> None:
        """Time-driven checks: silent sources, edge heartbeats, mode durations."""
        for ev in self.evaluators.values():
            if ev.last_seen is not None and not ev.stale_active:
                self._enqueue(ev.tick(now))
        for hb in self.heartbeats.values():
            self._enqueue(hb.tick(now))
        for mw in self.modes.values():
            self._enqueue(mw.tick(now))
        self.flush()

    def edge_alarm(self, site_id: str, block_id: str, ev: object) -> None:
        """Merge an edge alarm message (§3.7) by alarm_id; tolerate reference edges' fresh ids on CLEARED."""
        self.counters["edge_events"] += 1
        aid, action, tag = ev.alarm_id, ev.action, ev.sensor_tag  # type: ignore[attr-defined]
        ts: datetime = ev.ts  # type: ignore[attr-defined]
        self.backlog.append(lambda tx: self._edge_alarm(tx, site_id, block_id, ev, aid, action, tag, ts))
        self.flush()

    def _edge_alarm(self, tx: Tx, site_id: str, block_id: str, ev: object, aid: str, action: str, tag: str,
                    ts: datetime) -> None:
        rec = tx.get(aid) or tx.by_edge_id(aid)
        if rec is None:
            for k in ("limit", "bool", "edge"):
                rec = tx.open_for(site_id, block_id, tag, k)
                if rec is not None:
                    break
            if rec is not None and aid not in rec.edge_alarm_ids and rec.alarm_id != aid:
                rec = replace(rec, edge_alarm_ids=(*rec.edge_alarm_ids, aid))
                tx.save(rec, [])
        if rec is not None and rec.kind != "edge":
            return  # the engine evaluates this point itself; the edge id is remembered for dedup
        if action == "CLEARED":
            if rec is None or not rec.is_open:
                return
            cond = Condition("CLEAR", site_id, block_id, rec.tag, "edge", ts, value=ev.value,  # type: ignore[attr-defined]
                             reason="cleared by the edge")
        else:
            if rec is not None and not rec.is_open:
                return  # a re-delivered RAISED/ESCALATED of a closed instance
            cond = Condition("RAISE" if rec is None else "ESCALATE", site_id, block_id, tag, "edge", ts,
                             priority=ev.priority, direction=ev.direction, value=ev.value,  # type: ignore[attr-defined]
                             threshold=ev.threshold, onset=ts, subsystem=ev.subsystem,  # type: ignore[attr-defined]
                             description=ev.description)  # type: ignore[attr-defined]
        if rec is None:
            carry = self._carry(tx, cond)
            new, events = sm.new_record(cond, carry, "edge", alarm_id=aid)
        else:
            new, events = sm.apply_condition(rec, cond, Carry(), "edge")
            if new is None:
                return
        self._save(tx, new, events)
        self._after(tx, new, events, ts)

    # ---------------------------------------------------------------------------- core
    def _run(self, fn: Callable[[Tx], None], attempts: int = 5) -> None:
        """Run `fn` in one store transaction, retrying on `Conflict`; notify new events after commit."""
        for attempt in range(attempts):
            self._pending = []
            try:
                with self.store.transaction() as tx:
                    fn(tx)
            except Conflict:
                if attempt == attempts - 1:
                    raise
                self.counters["conflicts"] = self.counters.get("conflicts", 0) + 1
                continue
            if self.on_new_events is not None:
                for rec, evs in self._pending:
                    self.on_new_events(rec, evs)
            return

    def _enqueue(self, conds: Iterable[Condition]) -> None:
        for c in conds:
            self.counters["conditions"] += 1
            self.backlog.append(lambda tx, c=c: self._apply(tx, c))  # type: ignore[misc]

    def flush(self) -> None:
        """Commit the backlog in order, one transaction per item; on an error the rest stays queued."""
        while self.backlog:
            self._run(self.backlog[0])
            self.backlog.popleft()

    def apply_all(self, conds: Iterable[Condition]) -> None:
        self._enqueue(conds)
        self.flush()

    def apply(self, cond: Condition) -> None:
        self.apply_all([cond])

    def _apply(self, tx: Tx, cond: Condition) -> None:
        rec = tx.open_for(*cond.key)
        if rec is None and cond.kind in ("limit", "bool") and cond.change in ("RAISE", "ESCALATE"):
            edge = tx.open_for(cond.site_id, cond.block_id, cond.tag, "edge")
            if edge is not None:  # the edge raised it first: the engine takes the instance over
                rec = replace(edge, kind=cond.kind, point_id=cond.point_id, source=self._rec_source())
        if cond.change == "CHATTER" and rec is None:
            return
        carry = self._carry(tx, cond) if rec is None and cond.change in ("RAISE", "ESCALATE") else Carry()
        new, events = sm.apply_condition(rec, cond, carry, self.source)
        if new is None:
            return
        self._save(tx, new, events)
        self._after(tx, new, events, cond.ts)

    def _rec_source(self) -> str:
        return "replay" if self.source == "replay" else "engine"

    def _save(self, tx: Tx, rec: AlarmRecord, events: list[EventRow]) -> list[EventRow]:
        new = tx.save(rec, events)
        self.counters["events"] += len(new)
        if new:
            self._pending.append((rec, new))
        return new

    def _carry(self, tx: Tx, cond: Condition) -> Carry:
        """What a new instance inherits: design suppression, and a running shelve / out of service of the
        previous instance of the same tag."""
        suppressed_by = self._suppressor(tx, cond.site_id, cond.block_id, cond.tag, cond.kind, cond.subsystem,
                                         cond.priority or "P3")
        prev = tx.latest_for(cond.site_id, cond.block_id, cond.tag)
        if prev is None:
            return Carry(suppressed_by=suppressed_by)
        shelved = prev.shelved_until if prev.shelved_until is not None and prev.shelved_until > cond.ts else None
        return Carry(shelved_until=shelved, shelve_reason=prev.shelve_reason if shelved else None,
                     shelved_by=prev.shelved_by if shelved else None, out_of_service=prev.out_of_service,
                     oos_reason=prev.oos_reason, oos_by=prev.oos_by, suppressed_by=suppressed_by)

    def _suppressor(self, tx: Tx, site_id: str, block_id: str, tag: str, kind: str, subsystem: str | None,
                    priority: str) -> str | None:
        mw = self.modes.get((site_id, block_id))
        mode = mw.mode if mw else None
        if self.rules.mode_suppresses(mode, subsystem, tag, kind, priority):
            return f"mode:{mode}"
        for other in tx.open_in_block(site_id, block_id):
            if other.active_priority is not None and other.state != "RTN_UNACK" and \
                    self.rules.cascade_suppresses(other.tag, other.kind, tag, kind):
                return other.alarm_id
        return None

    def _after(self, tx: Tx, rec: AlarmRecord, events: list[EventRow], ts: datetime) -> None:
        """Cascade: a cause that (re)activated suppresses its effects; one that cleared releases them."""
        kinds = {e.event for e in events}
        if not self.rules.is_cause(rec.tag, rec.kind):
            return
        if kinds & {"RAISED", "ESCALATED"} and rec.active_priority is not None:
            for other in tx.open_in_block(rec.site_id, rec.block_id):
                if other.alarm_id != rec.alarm_id and other.suppressed_by is None and \
                        self.rules.cascade_suppresses(rec.tag, rec.kind, other.tag, other.kind):
                    new, evs = sm.suppress(other, rec.alarm_id, ts, self.source)
                    self._save(tx, new, evs)
        elif "CLEARED" in kinds or rec.state == "CLOSED":
            self._release(tx, rec.site_id, rec.block_id, lambda by: by == rec.alarm_id, ts,
                          f"cause {rec.alarm_id} returned to normal")

    def _release(self, tx: Tx, site_id: str, block_id: str, match: Callable[[str], bool], ts: datetime,
                 reason: str) -> None:
        for other in tx.open_in_block(site_id, block_id):
            if other.suppressed_by is not None and match(other.suppressed_by):
                # Still suppressed by another cause or by the mode? Then re-link, do not annunciate.
                again = self._suppressor(tx, site_id, block_id, other.tag, other.kind, other.subsystem,
                                         other.priority)
                if again is not None and again != other.suppressed_by:
                    self._save(tx, replace(other, suppressed_by=again), [])
                else:
                    self._save(tx, *sm.unsuppress(other, ts, reason, self.source))

    def _sweep_mode_tx(self, tx: Tx, site_id: str, block_id: str, ts: datetime) -> None:
        mw = self.modes[(site_id, block_id)]
        for rec in tx.open_in_block(site_id, block_id):
            wanted = self.rules.mode_suppresses(mw.mode, rec.subsystem, rec.tag, rec.kind, rec.priority)
            if wanted and rec.suppressed_by is None:
                new, evs = sm.suppress(rec, f"mode:{mw.mode}", ts, self.source)
                self._save(tx, new, evs)
        self._release(tx, site_id, block_id,
                      lambda by: by.startswith("mode:") and by != f"mode:{mw.mode}", ts, f"mode now {mw.mode}")

    # ------------------------------------------------------------------- reconcile
    def reconcile(self, open_records: Iterable[AlarmRecord]) -> int:
        """Clear open instances this processor's evaluation says are normal but that it did not raise itself
        (written by a replay running beside the live engine, or by another replica before a rebalance):
        the evaluator has seen samples after the instance's last update and holds no band. Without this
        such an instance would stand forever. Returns the number of clears issued."""
        conds: list[Condition] = []
        for rec in open_records:
            if rec.active_priority is None:
                continue
            since = rec.last_seen or rec.raised_at
            if rec.kind == "edge_offline":
                hb = self.heartbeats.get((rec.site_id, rec.block_id))
                if hb is not None and not hb.offline and hb.last is not None and hb.last > since:
                    conds.append(Condition("CLEAR", rec.site_id, rec.block_id, rec.tag, rec.kind, hb.last,
                                           reason="heartbeat seen (reconciled)"))
                continue
            ev = self.evaluators.get((rec.site_id, rec.block_id, rec.tag))
            if ev is None or ev.last_ts is None or ev.last_ts <= since:
                continue
            normal = {"limit": ev.confirmed is None, "bool": ev.confirmed is None,
                      "stale": not ev.stale_active, "bad_quality": not ev.bad_active}.get(rec.kind, False)
            if normal:
                conds.append(Condition("CLEAR", rec.site_id, rec.block_id, rec.tag, rec.kind, ev.last_ts,
                                       value=ev.last_value, reason="normal per current evaluation (reconciled)"))
        self.apply_all(conds)
        return len(conds)

    # ----------------------------------------------------------------------- restart
    def restore(self, open_records: Iterable[AlarmRecord], modes: dict[tuple[str, str], tuple[str, datetime]],
                heartbeats: dict[tuple[str, str], datetime], last_seen: dict[tuple[str, str, str], datetime]) -> None:
        """Rebuild evaluator state from the store after a (re)start: open instances keep their band, so a
        restart neither re-raises nor loses them; modes, heartbeats and last-seen times from the database."""
        for (site, block), (state, ts) in modes.items():
            mw = self.modes.setdefault((site, block), sm.ModeWatch(site, block, self.policy))
            mw.mode, mw.since = state, ts
        for (site, block), ts in heartbeats.items():
            hb = self.heartbeats.setdefault((site, block), sm.HeartbeatWatch(site, block, self.policy))
            hb.last = ts
        for key, ts in last_seen.items():
            ev = self.evaluators.get(key)
            if ev is not None:
                ev.last_seen = ts
        for rec in open_records:
            if rec.kind == "edge_offline":
                hb = self.heartbeats.setdefault((rec.site_id, rec.block_id),
                                                sm.HeartbeatWatch(rec.site_id, rec.block_id, self.policy))
                hb.offline = rec.active_priority is not None
                continue
            if rec.kind == "derived" and rec.active_priority is not None:
                dev = self.derived_by_tag.get((rec.site_id, rec.block_id, rec.tag))
                mw = self.modes.get((rec.site_id, rec.block_id))
                if dev is not None:
                    dev.active = True
                elif mw is not None and rec.tag == "ALM-MODE-HUNT":
                    mw.hunting = True
                elif mw is not None and rec.tag == "ALM-MAINT-WARN":
                    mw.maint_warned = True
                continue
            ev = self.evaluators.get((rec.site_id, rec.block_id, rec.tag))
            if ev is not None and rec.state != "RTN_UNACK":
                ev.restore(rec.kind, rec.active_priority)
