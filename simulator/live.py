"""A block running in real time: the model advanced to the wall clock, scenarios applied.

`update(now)` advances the engine to the minute containing `now` (the same engine and absolute
grid as the backfill, fast-forwarded from the block's epoch at start-up, so counters continue
from the history), then evaluates every registry point at `now` and applies the active scenario
overlays. Device servers and the MQTT publisher read `device_values` / `values`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mcs.modbus_codec import quantise
from simulator.model.block import Disturbances, Frame
from simulator.model.mode_fsm import Mode, Transition
from simulator.plant import SimulatedBlock
from simulator.registry_view import BlockBinding
from simulator.scenario_store import ActiveScenario
from simulator.scenarios import ScenarioDef, resolve


@dataclass
class RunningScenario:
    active: ActiveScenario
    definition: ScenarioDef
    params: dict[str, Any]
    memo: dict[str, float] = field(default_factory=dict)

    @property
    def started_s(self) -> float:
        return self.active.started_at.timestamp()


class LiveBlock:
    def __init__(self, binding: BlockBinding, now: float) -> None:
        self.binding = binding
        self.sim = SimulatedBlock(binding)
        self.model = self.sim.model
        self.state = self.model.fast_forward(self.model.initial_state(), max(self.model.step_at(now), 0))
        self.step_start = self.state          # engine state at the start of the current minute
        self.frame: Frame | None = None
        self.emitted: set[tuple[float, int]] = set()
        self.redo = False                     # faults changed: recompute the current minute
        self.completing = False               # MAINTENANCE stopped: confirm completion until the PLC leaves it
        self.scenarios: dict[int, RunningScenario] = {}
        self.values: dict[str, float] = {}
        self.by_device: dict[str, dict[str, float]] = {}
        self.silenced: set[str] = set()
        self.points = {p.tag: p for p in binding.points}
        self.update(now)

    @property
    def key(self) -> tuple[str, str]:
        return self.binding.key

    # -- scenarios -----------------------------------------------------------------------------------
    def set_scenarios(self, scenarios: list[ActiveScenario]) -> list[str]:
        """Apply the currently active scenarios of this block; returns names started/stopped (for logs)."""
        mine = {s.id: s for s in scenarios if (s.site_id, s.block_id) == self.key}
        stopped = [r for i, r in self.scenarios.items() if i not in mine]
        changes = [f"stopped {r.definition.name}" for r in stopped]
        self.completing = self.completing or any(r.definition.name == "MAINTENANCE" for r in stopped)
        self.scenarios = {i: r for i, r in self.scenarios.items() if i in mine}
        for i, s in mine.items():
            if i not in self.scenarios:
                definition, params = resolve(s.name, s.params)
                if definition.on_start is not None:   # both: the current minute may be redone or left
                    definition.on_start(self.step_start, params)
                    definition.on_start(self.state, params)
                self.scenarios[i] = RunningScenario(s, definition, params)
                changes.append(f"started {definition.name} {params}")
        self.redo = self.redo or bool(changes)
        return changes

    def disturbances(self) -> Disturbances:
        d = Disturbances()
        if self.completing:
            d.operator = "maintenance_complete"
        for r in self.scenarios.values():
            if r.definition.disturb is not None:
                r.definition.disturb(d, r.params)
        return d

    # -- time --------------------------------------------------------------------------------------------
    def update(self, now: float) -> list[Transition]:
        """Advance to `now`; returns the mode transitions that happened on the way."""
        transitions: list[Transition] = []
        target = self.model.step_at(now)
        if self.redo and self.frame is not None and self.state.step > target:
            # A scenario started or stopped inside this minute: the plant reacts now, not at the next minute.
            self.state, self.frame = self.model.advance(self.step_start, 1, self.disturbances())
            transitions += [t for t in self.frame.transitions if (t.ts, int(t.state)) not in self.emitted]
        self.redo = False
        while self.frame is None or self.state.step <= target:
            self.step_start = self.state
            self.state, self.frame = self.model.advance(self.state, 1, self.disturbances())
            self.emitted = set()
            transitions += self.frame.transitions
        self.emitted |= {(t.ts, int(t.state)) for t in transitions}
        if self.completing and self.state.fsm.mode != Mode.MAINTENANCE:
            self.completing = False
        raw = self.sim.values(self.frame, np.zeros(1, dtype=int), np.array([now]))
        values = {tag: float(v[0]) for tag, v in raw.items()}
        silenced: set[str] = set()
        for r in self.scenarios.values():
            if r.definition.overlay is not None:
                r.definition.overlay(values, max(now - r.started_s, 0.0), r.params, r.memo)
            if r.definition.silence is not None:
                silenced |= r.definition.silence(r.params)
        for tag, v in values.items():  # overlays may leave the device's resolution
            p = self.points.get(tag)
            if p is not None and p.data_type:
                values[tag] = float(quantise(np.array([v]), p.data_type, p.scale, p.value_offset)[0])
        self.values, self.silenced, self.now = values, silenced, now
        self.by_device = {}
        for p in self.binding.points:
            if p.device_id:
                self.by_device.setdefault(p.device_id, {})[p.tag] = values[p.tag]
        return transitions

    # -- ValueSource ------------------------------------------------------------------------------------
    def device_values(self, device_id: str) -> dict[str, float]:
        return self.by_device.get(device_id, {})

    def is_silenced(self, device_id: str) -> bool:
        return device_id in self.silenced
