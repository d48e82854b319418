"""Derive `mode/state` messages (domain §3.6) from changes of the safety PLC's mode register 45403.

The PLC owns the mode; the edge only observes it. On a change of `PLC-SAFE-mode` (a GOOD reading
with a new value; PLC encoding 0 EXPORT, 1 MIXED, 2 REJECT, 3 MAINTENANCE, §5.7) the tracker builds a
transition with the valve states (V-EXP/V-REJ positions: > 95 % OPEN, < 5 % CLOSED, else
MODULATING), a guard snapshot from the latest readings, the override operator, and a trigger
inferred from what the edge can see (PLC fault bits, host demand, leak detectors). The first reading
after start-up is not a transition — the retained mode/state at the broker already says it.

Who publishes: the reference has no mode/state publisher, but our simulator publishes the PLC's own
transitions (with the exact trigger) unless run with `--no-mode-messages`. `mode_messages`:
* `on`   — always publish derived transitions;
* `off`  — never (another component owns the topic);
* `auto` (default) — hold a derived transition for `grace_s` and publish it only if no other
  publisher (a mode/state message without the edge's `mcs-publisher` property) has announced the
  same state within ±90 s of it. While the broker is unreachable nothing can be seen, so the edge
  publishes (spooled); a duplicate is then possible and is documented in the README.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ingest_daemons.pollers.base import GOOD, Sample
from mcs.wire import ModeState, as_datetime

log = logging.getLogger(__name__)

PLC_MODES = {0: "EXPORT", 1: "MIXED", 2: "REJECT", 3: "MAINTENANCE"}
MODE_TAG = "PLC-SAFE-mode"
FOREIGN_MATCH_S = 90.0
AUTO_TRIGGERS = {("REJECT", "EXPORT"): "auto:temp_stabilised", ("REJECT", "MIXED"): "auto:partial_demand",
                 ("EXPORT", "MIXED"): "auto:partial_reject_needed", ("MIXED", "EXPORT"): "auto:full_demand_restored"}


def valve_state(pos: float | None) -> str:
    if pos is None:
        return "CLOSED"
    if pos > 95.0:
        return "OPEN"
    if pos < 5.0:
        return "CLOSED"
    return "MODULATING"


@dataclass
class Pending:
    message: ModeState
    due: float


class ModeTracker:
    def __init__(self, policy: str = "auto", grace_s: float = 5.0) -> None:
        if policy not in ("auto", "on", "off"):
            raise ValueError(f"mode_messages must be auto, on or off, not {policy!r}")
        self.policy, self.grace_s = policy, grace_s
        self.latest: dict[str, Sample] = {}
        self.mode: str | None = None
        self.pending: list[Pending] = []
        self.foreign: list[tuple[float, str]] = []      # (ts, state) announced by another publisher
        self.published = 0
        self.deferred = 0

    def _value(self, tag: str) -> float | None:
        s = self.latest.get(tag)
        return None if s is None or s.quality != GOOD else s.value

    def observe(self, samples: list[Sample]) -> list[ModeState]:
        """Feed readings; returns transitions to publish now (policy `on`) or queues them (`auto`)."""
        out: list[ModeState] = []
        for s in samples:
            self.latest[s.tag] = s
            if s.tag != MODE_TAG or s.quality != GOOD:
                continue
            state = PLC_MODES.get(int(round(s.value)))
            if state is None or state == self.mode:
                continue
            previous, self.mode = self.mode, state
            if previous is None:
                log.info("mode %s (first reading, not a transition)", state)
                continue
            msg = self.transition(s.ts, previous, state)
            log.info("mode %s → %s (%s)", previous, state, msg.trigger)
            if self.policy == "on":
                out.append(msg)
            elif self.policy == "auto":
                self.pending.append(Pending(msg, time.monotonic() + self.grace_s))
        return out

    def transition(self, ts: float, previous: str, state: str) -> ModeState:
        faults = int(self._value("PLC-SAFE-faults") or 0)
        leak = any(s.quality == GOOD and s.value >= 0.5 for t, s in self.latest.items() if t.startswith("LD-"))
        override = (self._value("MODE-override") or 0) >= 0.5
        operator_id = self._value("MODE-override-by")
        operator = str(int(operator_id)) if override and operator_id else None
        if state == "MAINTENANCE":
            trigger = "operator:maintenance"
        elif previous == "MAINTENANCE":
            trigger = "operator:maintenance_complete"
        elif state == "REJECT":
            if faults & 0b1000:
                trigger = "plc:watchdog_timeout"
            elif faults & 0b0010:
                trigger = "auto:sensor_fault"
            elif leak or faults:
                trigger = "auto:safety_limit"
            elif override:
                trigger = "operator:override"
            elif (self._value("HOST-demand") is not None and self._value("HOST-demand") < 0.5) or \
                    (self._value("HOST-hw-pump") is not None and self._value("HOST-hw-pump") < 0.5):
                trigger = "auto:host_demand_off"
            else:
                trigger = "auto:safety_limit"
        else:
            trigger = AUTO_TRIGGERS.get((previous, state), f"auto:{previous.lower()}_to_{state.lower()}")
        if trigger.startswith("operator:") and operator is None:
            operator = "plc-operator"
        safety = [s for t, s in self.latest.items() if t.startswith(("LD-", "TT-FREEZE", "PRV-", "PLC-SAFE"))]
        pressure = self._value("PT-L2s")
        guards = {"loop2_supply_temp": self._value("TT-L2s"),
                  "host_demand_active": (self._value("HOST-demand") or 0) >= 0.5,
                  "all_safety_good": all(s.quality == GOOD for s in safety),
                  "loop2_pressure_ok": pressure is not None and 200.0 <= pressure <= 450.0}
        return ModeState(as_datetime(ts), state, previous, trigger,
                         {"v_exp": valve_state(self._value("V-EXP-pos")),
                          "v_rej": valve_state(self._value("V-REJ-pos"))}, guards, operator)

    def foreign_message(self, m: ModeState) -> None:
        """A mode/state message from another publisher (the PLC itself, the simulator)."""
        self.foreign.append((m.ts.timestamp(), m.state))
        self.foreign = self.foreign[-32:]

    def due(self, now_monotonic: float | None = None) -> list[ModeState]:
        """Pending transitions whose grace expired without another publisher announcing them."""
        now = time.monotonic() if now_monotonic is None else now_monotonic
        ready, keep = [], []
        for p in self.pending:
            seen = any(st == p.message.state and abs(ts - p.message.ts.timestamp()) <= FOREIGN_MATCH_S
                       for ts, st in self.foreign)
            if seen:
                self.deferred += 1
                log.info("mode %s already published by another publisher; not duplicating", p.message.state)
            elif p.due <= now:
                ready.append(p.message)
            else:
                keep.append(p)
        self.pending = keep
        self.published += len(ready)
        return ready
