"""The ISA-18.2 alarm model, as pure functions and small objects: no I/O, time is always passed in.

Two layers, kept apart on purpose (domain §4.9 defect 5, "two writers"):

1. **Condition evaluation** (`PointEvaluator`, `HeartbeatWatch`, `ModeWatch`): turns the process
   data of one point / block into *condition changes* — `RAISE`, `ESCALATE`, `DEESCALATE`,
   `CLEAR`, `CHATTER`. This state (limit band, delay timers, chatter history) belongs to the data
   alone; operators never touch it, so it can live in the engine's memory and be rebuilt by replay.
2. **Alarm records** (`AlarmRecord` + `apply_condition` and the operator functions `ack`, `shelve`,
   …): the ISA state of one alarm instance (a row of ops.alarms). Every writer — engine, replay, the
   app — reads the row under a lock, calls one of these functions and writes the result plus the
   returned `EventRow`s. There is one authoritative state, the row.

States of an instance: ACTIVE_UNACK → (ack) ACTIVE_ACK → (clear) CLOSED; ACTIVE_UNACK → (clear)
RTN_UNACK → (ack) CLOSED; RTN_UNACK → (condition again) ACTIVE_UNACK; any open state → (higher
limit crossed) ESCALATED, ACTIVE_UNACK again. "Normal" is the absence of an open instance.
Shelved (until + reason), suppressed by design (mode / cascade) and out of service are flags on
the open instance: the instance keeps following the process while hidden, and one that returns to
normal while hidden is closed without an ack (the operator or the design took responsibility for
it; it is not annunciated). A new instance of a condition whose previous instance is still shelved
or out of service inherits that (`Carry`).

Fixes of the reference's defects (§4.9): one band per point from all its limits at once (a value
above H is never "cleared" by the L branch); escalation is explicit; binary/enum/bitmask limits
are inclusive (`Limit.violated_by`); every sample is evaluated, not only flagged ones; deadband is
absolute (engineering units), so limits at or below zero work; bad or silent sources raise their
own alarm and never clear a standing one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from mcs.registry.models import Limit

Priority = Literal["P0", "P1", "P2", "P3"]
State = Literal["ACTIVE_UNACK", "ACTIVE_ACK", "RTN_UNACK", "CLOSED"]
OPEN_STATES: frozenset[str] = frozenset({"ACTIVE_UNACK", "ACTIVE_ACK", "RTN_UNACK"})
RANK: dict[str, int] = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}       # lower = more severe
INCLUSIVE_KINDS = frozenset({"binary", "enum", "bitmask"})
GOOD, UNCERTAIN, BAD = 0, 1, 2
SHELVE_DEFAULT = timedelta(hours=8)
SHELVE_MAX = timedelta(hours=24)
SHELVE_MIN = timedelta(minutes=1)


class TransitionRefused(ValueError):
    """An operator action that the model does not allow (e.g. shelving a closed alarm)."""


def more_severe(a: str | None, b: str | None) -> bool:
    """True when priority `a` is more severe than `b` (None = no alarm)."""
    if a is None:
        return False
    return b is None or RANK[a] < RANK[b]


def alarm_id_for(block_id: str, tag: str, onset: datetime) -> str:
    """Deterministic id `{block}-{tag}-{unix_ms}` of the first violating sample (domain §3.7): the live
    engine, a replay and an edge without delays name the same episode alike."""
    return f"{block_id}-{tag}-{round(onset.timestamp() * 1000)}"


# ------------------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class Policy:
    """Engine-wide rules (domain §4.6, §3.8). Per-point deadband and delays come from the registry."""

    chatter_count: int = 3             # activations …
    chatter_window_s: float = 60.0     # … within this window = chattering
    chatter_hold_s: float = 60.0       # a chattering alarm clears only after this long normal
    edge_offline_s: float = 90.0       # no heartbeat for longer → P0 edge-offline
    bad_delay_safety_s: float = 5.0    # BAD this long on a thermal-safety point → alarm (§5.5)
    bad_delay_s: float = 30.0          # … on any other point
    stale_min_s: float = 120.0         # a point silent this long (and ≥ stale_poll_factor polls) → alarm
    stale_poll_factor: float = 5.0
    mode_hunt_count: int = 4           # more than 3 mode transitions within an hour → P3 hunting
    maintenance_warn_s: float = 4 * 3600.0


DEFAULT_POLICY = Policy()


# ---------------------------------------------------------------------------------- point spec
@dataclass(frozen=True)
class PointSpec:
    """What the evaluator needs of a registered point (from `mcs.registry.PointRow`)."""

    point_id: int | None
    site_id: str
    block_id: str
    tag: str
    subsystem: str
    kind: str = "analog"
    limits: tuple[Limit, ...] = ()
    deadband: float = 0.0
    on_delay_s: float = 0.0
    off_delay_s: float = 0.0
    poll_ms: int = 5000
    equipment_tag: str | None = None
    unit: str = ""
    description: str = ""

    @classmethod
    def from_row(cls, row: object) -> PointSpec:
        limits = tuple(sorted(getattr(row, "limits", ()), key=lambda lim: (RANK[lim.priority], lim.direction)))
        return cls(point_id=row.point_id, site_id=row.site_id, block_id=row.block_id, tag=row.tag,  # type: ignore[attr-defined]
                   subsystem=row.subsystem, kind=row.kind, limits=limits,  # type: ignore[attr-defined]
                   deadband=float(row.deadband or 0.0), on_delay_s=float(row.on_delay_s or 0.0),  # type: ignore[attr-defined]
                   off_delay_s=float(row.off_delay_s or 0.0), poll_ms=int(row.poll_ms or 5000),  # type: ignore[attr-defined]
                   equipment_tag=row.equipment_tag, unit=row.unit,  # type: ignore[attr-defined]
                   description=row.description or "")  # type: ignore[attr-defined]

    @property
    def alarm_kind(self) -> str:
        return "bool" if self.kind in INCLUSIVE_KINDS else "limit"

    def sensor_priority(self) -> Priority:
        """Priority of this point's bad-quality / silent-source alarm: a sensor behind a P0/P1 limit
        (or any safety sensor) is critical (§4.10 ALM-SENSOR P1); one with limits P2; others P3."""
        ranks = [RANK[lim.priority] for lim in self.limits]
        if self.subsystem == "thermal-safety" or (ranks and min(ranks) <= 1):
            return "P1"
        return "P2" if ranks else "P3"

    def stale_after_s(self, policy: Policy) -> float:
        return max(policy.stale_min_s, policy.stale_poll_factor * self.poll_ms / 1000.0)

    def bad_delay_s(self, policy: Policy) -> float:
        return policy.bad_delay_safety_s if self.subsystem == "thermal-safety" else policy.bad_delay_s


def direction_of(limit: Limit, kind: str) -> str:
    if kind in INCLUSIVE_KINDS:
        return "BOOL" if kind == "binary" else limit.direction.upper()
    return limit.direction.upper()


def held(limit: Limit, value: float, kind: str, deadband: float) -> bool:
    """Whether an *annunciated* limit still holds: it clears only once the value is back inside the limit
    by the deadband (absolute engineering units; §4.3 — a multiplicative band breaks at ≤ 0)."""
    shifted = value + deadband if limit.direction == "high" else value - deadband
    return limit.violated_by(shifted, kind)


def band(spec: PointSpec, value: float, current: Limit | None) -> Limit | None:
    """The most severe limit in force for `value`, given the limit currently annunciated.

    A limit is in force when the value violates it, or — hysteresis — when it is the annunciated
    limit or a less severe one in the same direction and the value is not yet back by the deadband.
    One answer per point from all limits together (fixes §4.9 defect 1)."""
    for lim in spec.limits:  # most severe first
        if lim.violated_by(value, spec.kind):
            return lim
        if (current is not None and lim.direction == current.direction
                and RANK[lim.priority] >= RANK[current.priority] and held(lim, value, spec.kind, spec.deadband)):
            return lim
    return None


# ----------------------------------------------------------------------------- condition changes
@dataclass(frozen=True)
class Condition:
    """A change of one alarm condition, produced by an evaluator, applied to a record."""

    change: Literal["RAISE", "ESCALATE", "DEESCALATE", "CLEAR", "CHATTER"]
    site_id: str
    block_id: str
    tag: str
    kind: str                       # ops.alarms.kind
    ts: datetime
    priority: Priority | None = None
    direction: str | None = None
    value: float | None = None
    threshold: float | None = None
    onset: datetime | None = None   # first violating sample: names the instance
    point_id: int | None = None
    subsystem: str | None = None
    description: str | None = None
    reason: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.site_id, self.block_id, self.tag, self.kind)


def _describe(spec: PointSpec, lim: Limit, value: float) -> str:
    if spec.kind in INCLUSIVE_KINDS:
        return f"{spec.description or spec.tag}: value {value:g} ({lim.priority} {lim.direction} {lim.value:g})"
    rel = "above" if lim.direction == "high" else "below"
    unit = f" {spec.unit}" if spec.unit else ""
    return f"{spec.description or spec.tag}: {value:g}{unit} {rel} {lim.priority} limit {lim.value:g}{unit}"


@dataclass
class PointEvaluator:
    """Limit, bad-quality and silent-source evaluation of one point, sample by sample.

    `confirmed` is the annunciated band; a more severe band must persist `on_delay_s` (raise or
    escalate), no band must persist `off_delay_s` (clear; `chatter_hold_s` while chattering).
    Out-of-order or repeated samples (ts ≤ last evaluated) are ignored: the evaluator is monotonic in
    time, which makes replay deterministic and retained/duplicate deliveries harmless."""

    spec: PointSpec
    policy: Policy = DEFAULT_POLICY
    confirmed: Limit | None = None
    onset: datetime | None = None           # first sample of a pending raise/escalation
    normal_since: datetime | None = None     # first normal sample of a pending clear
    last_ts: datetime | None = None
    last_value: float | None = None
    activations: deque[datetime] = field(default_factory=deque)
    chattering: bool = False
    bad_since: datetime | None = None
    bad_active: bool = False
    stale_active: bool = False
    last_seen: datetime | None = None        # arrival (live) or sample time (replay) of the last sample

    # -- limits -------------------------------------------------------------------------------
    def sample(self, ts: datetime, value: float, quality: int = GOOD, seen: datetime | None = None) -> list[Condition]:
        if self.last_ts is not None and ts <= self.last_ts:
            return []
        self.last_ts = ts
        self.last_seen = max(seen or ts, self.last_seen or seen or ts)
        out: list[Condition] = []
        if self.stale_active:
            self.stale_active = False
            out.append(self._cond("CLEAR", "stale", ts, value=value, reason="source reporting again"))
        if quality >= BAD or not math.isfinite(value):
            # A BAD value says nothing about the process: the limit state is frozen (never cleared by
            # a sensor fault, §4.6), the sensor gets its own alarm after the BAD delay.
            if self.bad_since is None:
                self.bad_since = ts
            if not self.bad_active and (ts - self.bad_since).total_seconds() >= self.spec.bad_delay_s(self.policy):
                self.bad_active = True
                out.append(self._cond("RAISE", "bad_quality", ts, priority=self.spec.sensor_priority(),
                                      onset=self.bad_since, value=value,
                                      description=f"{self.spec.description or self.spec.tag}: sensor quality BAD"))
            return out
        self.bad_since = None
        if self.bad_active:
            self.bad_active = False
            out.append(self._cond("CLEAR", "bad_quality", ts, value=value, reason="quality good again"))
        self.last_value = value
        if self.spec.limits:
            out.extend(self._limits(ts, value))
        return out

    def _limits(self, ts: datetime, value: float) -> list[Condition]:
        spec = self.spec
        now_band = band(spec, value, self.confirmed)
        cur = self.confirmed
        if now_band is not None and (cur is None or more_severe(now_band.priority, cur.priority)):
            self.normal_since = None
            if self.onset is None:
                self.onset = ts
            if (ts - self.onset).total_seconds() < spec.on_delay_s:
                return []
            onset, self.onset = self.onset, None
            self.confirmed = now_band
            common = dict(priority=now_band.priority, direction=direction_of(now_band, spec.kind), value=value,
                          threshold=now_band.value, description=_describe(spec, now_band, value))
            if cur is None:
                out = [self._cond("RAISE", spec.alarm_kind, ts, onset=onset, **common)]  # type: ignore[arg-type]
                return out + self._activation(ts)
            return [self._cond("ESCALATE", spec.alarm_kind, ts, onset=onset, **common)]  # type: ignore[arg-type]
        self.onset = None
        if now_band is None and cur is not None:
            if self.normal_since is None:
                self.normal_since = ts
            delay = max(spec.off_delay_s, self.policy.chatter_hold_s if self.chattering else 0.0)
            if (ts - self.normal_since).total_seconds() < delay:
                return []
            self.normal_since = None
            self.confirmed = None
            self.chattering = False
            return [self._cond("CLEAR", spec.alarm_kind, ts, value=value, threshold=cur.value,
                               priority=cur.priority, reason="value back inside limit minus deadband")]
        self.normal_since = None
        if now_band is not None and cur is not None and now_band != cur:
            # Less severe band (more severe is handled above): follow it at once, no annunciation.
            self.confirmed = now_band
            return [self._cond("DEESCALATE", spec.alarm_kind, ts, priority=now_band.priority, value=value,
                               threshold=now_band.value, direction=direction_of(now_band, spec.kind))]
        return []

    def _activation(self, ts: datetime) -> list[Condition]:
        window = timedelta(seconds=self.policy.chatter_window_s)
        self.activations.append(ts)
        while self.activations and ts - self.activations[0] > window:
            self.activations.popleft()
        if not self.chattering and len(self.activations) >= self.policy.chatter_count:
            self.chattering = True
            return [self._cond("CHATTER", self.spec.alarm_kind, ts, reason=(
                f"{len(self.activations)} activations within {self.policy.chatter_window_s:g} s: latched until "
                f"normal for {self.policy.chatter_hold_s:g} s"))]
        return []

    # -- silence ------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[Condition]:
        """Silent-source check: a point that reported before and has been silent for `stale_after_s`."""
        if self.last_seen is None or self.stale_active:
            return []
        if (now - self.last_seen).total_seconds() < self.spec.stale_after_s(self.policy):
            return []
        self.stale_active = True
        return [self._cond("RAISE", "stale", now, priority=self.spec.sensor_priority(), onset=self.last_seen,
                           value=self.last_value,
                           description=f"{self.spec.description or self.spec.tag}: no data since "
                                       f"{self.last_seen.isoformat()}")]

    def restore(self, kind: str, active_priority: str | None) -> None:
        """Rebuild the band of an open instance after a restart, so it is neither re-raised nor lost."""
        if kind in ("limit", "bool") and active_priority is not None:
            self.confirmed = next((lim for lim in self.spec.limits if lim.priority == active_priority), None)
        elif kind == "bad_quality":
            self.bad_active = True
        elif kind == "stale":
            self.stale_active = True

    def _cond(self, change: str, kind: str, ts: datetime, **kw: object) -> Condition:
        s = self.spec
        return Condition(change, s.site_id, s.block_id, s.tag, kind, ts, point_id=s.point_id,  # type: ignore[arg-type]
                         subsystem=s.subsystem, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DerivedRule:
    """A derived alarm over registered points (§4.10): `frozen` — the first input has not changed for
    `for_s` (a PLC watchdog counter that stopped); `mismatch` — |input0 − input1| > `tolerance` for
    `for_s` (valve position vs command)."""

    tag: str
    check: Literal["frozen", "mismatch"]
    inputs: tuple[str, ...]
    priority: Priority
    for_s: float
    tolerance: float = 0.0
    subsystem: str = "thermal-safety"
    description: str = ""


@dataclass
class DerivedEvaluator:
    rule: DerivedRule
    site_id: str
    block_id: str
    values: dict[str, float] = field(default_factory=dict)
    last_ts: dict[str, datetime] = field(default_factory=dict)
    since: datetime | None = None        # frozen: last change; mismatch: start of the disagreement
    active: bool = False

    def sample(self, tag: str, ts: datetime, value: float) -> list[Condition]:
        if tag in self.last_ts and ts <= self.last_ts[tag]:
            return []
        self.last_ts[tag] = ts
        r = self.rule
        previous = self.values.get(tag)
        self.values[tag] = value
        if r.check == "frozen":
            if previous is None or value != previous:
                self.since = ts
                return self._clear(ts, value, "changing again")
            bad = True
        else:
            if len(self.values) < len(r.inputs):
                return []
            diff = abs(self.values[r.inputs[0]] - self.values[r.inputs[1]])
            bad = diff > r.tolerance
            if not bad:
                self.since = None
                return self._clear(ts, diff, "agree again")
            if self.since is None:
                self.since = ts
            value = diff
        if bad and not self.active and self.since is not None and (ts - self.since).total_seconds() > r.for_s:
            self.active = True
            return [Condition("RAISE", self.site_id, self.block_id, r.tag, "derived", ts, priority=r.priority,
                              onset=self.since, value=value, threshold=r.tolerance, subsystem=r.subsystem,
                              direction="BOOL", description=r.description)]
        return []

    def _clear(self, ts: datetime, value: float, why: str) -> list[Condition]:
        if not self.active:
            return []
        self.active = False
        return [Condition("CLEAR", self.site_id, self.block_id, self.rule.tag, "derived", ts, value=value,
                          subsystem=self.rule.subsystem, reason=why)]


EDGE_TAG = "EDGE-heartbeat"


@dataclass
class HeartbeatWatch:
    """Edge-offline (§3.8): no heartbeat for more than `edge_offline_s` → P0; a heartbeat clears it.
    Only blocks whose edge has been heard at least once are watched."""

    site_id: str
    block_id: str
    policy: Policy = DEFAULT_POLICY
    last: datetime | None = None
    offline: bool = False

    def heartbeat(self, ts: datetime) -> list[Condition]:
        if self.last is not None and ts <= self.last:
            return []
        self.last = ts
        if self.offline:
            self.offline = False
            return [Condition("CLEAR", self.site_id, self.block_id, EDGE_TAG, "edge_offline", ts,
                              subsystem="edge", reason="heartbeat received")]
        return []

    def tick(self, now: datetime) -> list[Condition]:
        if self.last is None or self.offline or (now - self.last).total_seconds() <= self.policy.edge_offline_s:
            return []
        self.offline = True
        onset = self.last + timedelta(seconds=self.policy.edge_offline_s)
        return [Condition("RAISE", self.site_id, self.block_id, EDGE_TAG, "edge_offline", now, priority="P0",
                          onset=onset, subsystem="edge",
                          description=f"edge of {self.site_id}/{self.block_id}: no heartbeat since "
                                      f"{self.last.isoformat()} (> {self.policy.edge_offline_s:g} s)")]


EMERGENCY_TRIGGERS = ("auto:safety_limit", "auto:sensor_fault", "plc:watchdog_timeout")


@dataclass
class ModeWatch:
    """Mode-derived alarms (§4.10): ALM-MODE-EMRG (forced EXPORT/MIXED → REJECT, P1, an event alarm that
    returns to normal at once and waits for an ack), ALM-MODE-HUNT (P3, too many transitions in an
    hour), ALM-MAINT-WARN (P3, MAINTENANCE longer than 4 h). Also tells suppression the mode."""

    site_id: str
    block_id: str
    policy: Policy = DEFAULT_POLICY
    mode: str | None = None
    since: datetime | None = None
    transitions: deque[datetime] = field(default_factory=deque)
    hunting: bool = False
    maint_warned: bool = False

    def _c(self, change: str, tag: str, ts: datetime, **kw: object) -> Condition:
        return Condition(change, self.site_id, self.block_id, tag, "derived", ts, subsystem="mode", **kw)  # type: ignore[arg-type]

    def transition(self, ts: datetime, state: str, previous: str | None = None, trigger: str = "") -> list[Condition]:
        if self.since is not None and ts <= self.since:
            return []
        out: list[Condition] = []
        prev = previous or self.mode
        if self.maint_warned and state != "MAINTENANCE":
            self.maint_warned = False
            out.append(self._c("CLEAR", "ALM-MAINT-WARN", ts, reason=f"left MAINTENANCE for {state}"))
        if state == "REJECT" and prev in ("EXPORT", "MIXED") and (
                trigger in EMERGENCY_TRIGGERS or trigger.startswith("plc:")):
            onset = ts
            out.append(self._c("RAISE", "ALM-MODE-EMRG", ts, priority="P1", onset=onset, direction="BOOL",
                               description=f"forced {prev} → REJECT ({trigger})"))
            out.append(self._c("CLEAR", "ALM-MODE-EMRG", ts, reason="event alarm: returns to normal at once"))
        if prev is not None and prev != "STARTUP":
            self.transitions.append(ts)
        while self.transitions and (ts - self.transitions[0]).total_seconds() > 3600:
            self.transitions.popleft()
        if not self.hunting and len(self.transitions) >= self.policy.mode_hunt_count:
            self.hunting = True
            out.append(self._c("RAISE", "ALM-MODE-HUNT", ts, priority="P3", onset=self.transitions[0],
                               description=f"{len(self.transitions)} mode transitions within one hour"))
        self.mode, self.since = state, ts
        return out

    def tick(self, now: datetime) -> list[Condition]:
        out: list[Condition] = []
        while self.transitions and (now - self.transitions[0]).total_seconds() > 3600:
            self.transitions.popleft()
        if self.hunting and len(self.transitions) < self.policy.mode_hunt_count:
            self.hunting = False
            out.append(self._c("CLEAR", "ALM-MODE-HUNT", now, reason="transition rate back to normal"))
        if (self.mode == "MAINTENANCE" and not self.maint_warned and self.since is not None
                and (now - self.since).total_seconds() >= self.policy.maintenance_warn_s):
            self.maint_warned = True
            out.append(self._c("RAISE", "ALM-MAINT-WARN", now, priority="P3", onset=self.since,
                               description="MAINTENANCE for more than 4 h (auto-release at 8 h)"))
        return out


# ------------------------------------------------------------------------------- alarm records
@dataclass(frozen=True)
class AlarmRecord:
    """One alarm instance: the columns of ops.alarms the model reads and writes."""

    alarm_id: str
    site_id: str
    block_id: str
    tag: str
    kind: str
    priority: str
    state: str
    raised_at: datetime
    point_id: int | None = None
    subsystem: str | None = None
    active_priority: str | None = None
    direction: str | None = None
    shelved_until: datetime | None = None
    shelve_reason: str | None = None
    shelved_by: str | None = None
    suppressed_by: str | None = None
    out_of_service: bool = False
    oos_reason: str | None = None
    oos_by: str | None = None
    chattering: bool = False
    activations: int = 1
    escalations: int = 0
    acked_at: datetime | None = None
    acked_by: str | None = None
    cleared_at: datetime | None = None
    closed_at: datetime | None = None
    value: float | None = None
    threshold: float | None = None
    last_value: float | None = None
    last_seen: datetime | None = None
    description: str | None = None
    source: str = "engine"
    edge_alarm_ids: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def shelved_at(self, now: datetime) -> bool:
        return self.shelved_until is not None and self.shelved_until > now

    def hidden(self, now: datetime) -> bool:
        """Not annunciated: shelved, suppressed by design or out of service."""
        return self.shelved_at(now) or self.suppressed_by is not None or self.out_of_service


@dataclass(frozen=True)
class EventRow:
    """One row of ops.alarm_events."""

    alarm_id: str
    site_id: str
    block_id: str
    tag: str
    priority: str
    ts: datetime
    event: str
    state_after: str
    value: float | None = None
    threshold: float | None = None
    actor: str | None = None
    reason: str | None = None
    source: str = "engine"


@dataclass(frozen=True)
class Carry:
    """What a new instance inherits from the previous instance of its condition and from design
    suppression: a shelve still running, out of service, the suppressing cause."""

    shelved_until: datetime | None = None
    shelve_reason: str | None = None
    shelved_by: str | None = None
    out_of_service: bool = False
    oos_reason: str | None = None
    oos_by: str | None = None
    suppressed_by: str | None = None


def _ev(rec: AlarmRecord, ts: datetime, event: str, source: str, *, actor: str | None = None,
        reason: str | None = None, value: float | None = None, threshold: float | None = None) -> EventRow:
    return EventRow(rec.alarm_id, rec.site_id, rec.block_id, rec.tag, rec.priority, ts, event, rec.state,
                    value, threshold, actor, reason, source)


def _close(rec: AlarmRecord, ts: datetime) -> AlarmRecord:
    return replace(rec, state="CLOSED", closed_at=ts, active_priority=None, chattering=False)


def new_record(cond: Condition, carry: Carry = Carry(), source: str = "engine",
               alarm_id: str | None = None) -> tuple[AlarmRecord, list[EventRow]]:
    """The instance a RAISE creates, born shelved / out of service / suppressed as `carry` says."""
    assert cond.change == "RAISE" and cond.priority is not None
    onset = cond.onset or cond.ts
    rec = AlarmRecord(alarm_id=alarm_id or alarm_id_for(cond.block_id, cond.tag, onset), site_id=cond.site_id,
                      block_id=cond.block_id, tag=cond.tag, kind=cond.kind, priority=cond.priority,
                      state="ACTIVE_UNACK", raised_at=cond.ts, point_id=cond.point_id, subsystem=cond.subsystem,
                      active_priority=cond.priority, direction=cond.direction, value=cond.value,
                      threshold=cond.threshold, last_value=cond.value, last_seen=cond.ts,
                      description=cond.description, source="replay" if source == "replay" else
                      ("edge" if source == "edge" else "engine"))
    events = [_ev(rec, cond.ts, "RAISED", source, value=cond.value, threshold=cond.threshold, reason=cond.reason)]
    if carry.suppressed_by:
        rec = replace(rec, suppressed_by=carry.suppressed_by)
        events.append(_ev(rec, cond.ts, "SUPPRESSED", source, reason=f"suppressed by {carry.suppressed_by}"))
    if carry.shelved_until is not None and carry.shelved_until > cond.ts:
        rec = replace(rec, shelved_until=carry.shelved_until, shelve_reason=carry.shelve_reason,
                      shelved_by=carry.shelved_by)
        events.append(_ev(rec, cond.ts, "SHELVED", source, actor=carry.shelved_by,
                          reason=f"shelve carried over until {carry.shelved_until.isoformat()}: "
                                 f"{carry.shelve_reason}"))
    if carry.out_of_service:
        rec = replace(rec, out_of_service=True, oos_reason=carry.oos_reason, oos_by=carry.oos_by)
        events.append(_ev(rec, cond.ts, "OUT_OF_SERVICE", source, actor=carry.oos_by,
                          reason=f"carried over: {carry.oos_reason}"))
    return rec, events


def apply_condition(rec: AlarmRecord | None, cond: Condition, carry: Carry = Carry(),
                    source: str = "engine") -> tuple[AlarmRecord | None, list[EventRow]]:
    """Apply a condition change to the open instance of its condition (`rec`, None when normal)."""
    if rec is not None and not rec.is_open:
        rec = None
    if cond.change in ("RAISE", "ESCALATE") and rec is None:
        return new_record(replace(cond, change="RAISE"), carry, source)
    if rec is None:
        return None, []              # CLEAR / DEESCALATE / CHATTER of nothing open: nothing to do
    ts = cond.ts
    if cond.change in ("RAISE", "ESCALATE"):
        assert cond.priority is not None
        upd = dict(last_value=cond.value, last_seen=ts, active_priority=cond.priority,
                   direction=cond.direction or rec.direction)
        escalated = more_severe(cond.priority, rec.priority)
        peak = dict(priority=cond.priority, threshold=cond.threshold,
                    description=cond.description or rec.description) if escalated else {}
        if rec.state == "RTN_UNACK":
            # The condition is back before anyone acknowledged its return: same instance, annunciated again.
            rec = replace(rec, state="ACTIVE_UNACK", cleared_at=None, activations=rec.activations + 1,
                          escalations=rec.escalations + int(escalated), **peak, **upd)
            return rec, [_ev(rec, ts, "ESCALATED" if escalated else "RAISED", source, value=cond.value,
                             threshold=cond.threshold,
                             reason="re-activated before the return to normal was acknowledged")]
        if escalated:
            old = rec.priority
            rec = replace(rec, state="ACTIVE_UNACK", escalations=rec.escalations + 1, **peak, **upd)
            return rec, [_ev(rec, ts, "ESCALATED", source, value=cond.value, threshold=cond.threshold,
                             reason=f"{old} → {cond.priority}")]
        return replace(rec, **upd), []
    if cond.change == "DEESCALATE":
        return replace(rec, active_priority=cond.priority, last_value=cond.value, last_seen=ts), []
    if cond.change == "CHATTER":
        if rec.chattering:
            return rec, []
        rec = replace(rec, chattering=True)
        return rec, [_ev(rec, ts, "CHATTER", source, reason=cond.reason)]
    # CLEAR
    if rec.state == "RTN_UNACK":
        return rec, []
    upd2 = dict(cleared_at=ts, last_value=cond.value if cond.value is not None else rec.last_value, last_seen=ts,
                active_priority=None)
    if rec.hidden(ts):
        rec = replace(rec, **upd2)
        why = ("shelved" if rec.shelved_at(ts) else "suppressed" if rec.suppressed_by else "out of service")
        cleared = replace(rec, state="RTN_UNACK")
        closed = _close(rec, ts)
        return closed, [_ev(cleared, ts, "CLEARED", source, value=cond.value, reason=cond.reason),
                        _ev(closed, ts, "CLOSED", source, reason=f"returned to normal while {why}: no ack needed")]
    if rec.state == "ACTIVE_ACK":
        rec = replace(rec, **upd2)
        cleared = replace(rec, state="RTN_UNACK")
        closed = _close(rec, ts)
        return closed, [_ev(cleared, ts, "CLEARED", source, value=cond.value, reason=cond.reason),
                        _ev(closed, ts, "CLOSED", source, reason="acknowledged and back to normal")]
    rec = replace(rec, state="RTN_UNACK", **upd2)
    return rec, [_ev(rec, ts, "CLEARED", source, value=cond.value, reason=cond.reason)]


# ----------------------------------------------------------------------------- operator actions
def ack(rec: AlarmRecord, actor: str, ts: datetime, comment: str | None = None,
        source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    """Acknowledge: ACTIVE_UNACK → ACTIVE_ACK, RTN_UNACK → CLOSED; a no-op (no event) otherwise, so two
    operators acking at once produce one ACKED."""
    if rec.state == "ACTIVE_UNACK":
        rec = replace(rec, state="ACTIVE_ACK", acked_at=ts, acked_by=actor)
        return rec, [_ev(rec, ts, "ACKED", source, actor=actor, reason=comment)]
    if rec.state == "RTN_UNACK":
        acked = replace(rec, acked_at=ts, acked_by=actor)
        closed = _close(acked, ts)
        return closed, [_ev(replace(acked, state="RTN_UNACK"), ts, "ACKED", source, actor=actor, reason=comment),
                        _ev(closed, ts, "CLOSED", source, actor=actor, reason="acknowledged after return to normal")]
    return rec, []


def _reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not 3 <= len(text) <= 500:
        raise TransitionRefused(f"{what} needs a reason of 3–500 characters")
    return text


def shelve(rec: AlarmRecord, actor: str, ts: datetime, duration: timedelta | None, reason: str | None,
           source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    """Shelve an open alarm for 1 min – 24 h (default 8 h) with a mandatory reason (§4.4)."""
    text = _reason(reason, "shelving")
    if not rec.is_open:
        raise TransitionRefused(f"{rec.alarm_id} is closed: only an open alarm can be shelved")
    duration = duration or SHELVE_DEFAULT
    if not SHELVE_MIN <= duration <= SHELVE_MAX:
        raise TransitionRefused("shelve duration must be between 1 minute and 24 hours")
    until = ts + duration
    rec = replace(rec, shelved_until=until, shelve_reason=text, shelved_by=actor)
    return rec, [_ev(rec, ts, "SHELVED", source, actor=actor, reason=f"until {until.isoformat()}: {text}")]


def unshelve(rec: AlarmRecord, actor: str, ts: datetime, reason: str | None = None,
             source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    """End a shelve (operator, or the engine at expiry). The instance kept following the process while
    shelved, so it is annunciated in its current state at once — the re-evaluation the reference lacked."""
    if rec.shelved_until is None:
        return rec, []
    rec = replace(rec, shelved_until=None)
    return rec, [_ev(rec, ts, "UNSHELVED", source, actor=actor, reason=reason or "unshelved")]


def remove_from_service(rec: AlarmRecord, actor: str, ts: datetime, reason: str | None,
                        source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    text = _reason(reason, "removing from service")
    if rec.out_of_service:
        return rec, []
    if not rec.is_open:
        raise TransitionRefused(f"{rec.alarm_id} is closed: only an open alarm can be removed from service")
    rec = replace(rec, out_of_service=True, oos_reason=text, oos_by=actor)
    return rec, [_ev(rec, ts, "OUT_OF_SERVICE", source, actor=actor, reason=text)]


def return_to_service(rec: AlarmRecord, actor: str, ts: datetime, reason: str | None = None,
                      source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    if not rec.out_of_service:
        return rec, []
    rec = replace(rec, out_of_service=False)
    return rec, [_ev(rec, ts, "RETURNED_TO_SERVICE", source, actor=actor, reason=reason or "returned to service")]


def comment(rec: AlarmRecord, actor: str, ts: datetime, text: str,
            source: str = "operator") -> tuple[AlarmRecord, list[EventRow]]:
    body = (text or "").strip()
    if not 1 <= len(body) <= 2000:
        raise TransitionRefused("a comment needs 1–2000 characters")
    return rec, [_ev(rec, ts, "COMMENT", source, actor=actor, reason=body)]


def suppress(rec: AlarmRecord, by: str, ts: datetime, source: str = "engine") -> tuple[AlarmRecord, list[EventRow]]:
    if rec.suppressed_by is not None or not rec.is_open:
        return rec, []
    rec = replace(rec, suppressed_by=by)
    return rec, [_ev(rec, ts, "SUPPRESSED", source, reason=f"suppressed by {by}")]


def unsuppress(rec: AlarmRecord, ts: datetime, reason: str,
               source: str = "engine") -> tuple[AlarmRecord, list[EventRow]]:
    if rec.suppressed_by is None:
        return rec, []
    rec = replace(rec, suppressed_by=None)
    return rec, [_ev(rec, ts, "UNSUPPRESSED", source, reason=reason)]


def utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
