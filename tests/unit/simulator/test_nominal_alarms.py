"""A week of nominal operation raises almost no alarms against the demo registry's limits.

Alarms must mean something: the plant model should stay inside its instruments' limits except for
rare, real events (a door left open, a hot rack during a job burst).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from simulator.plant import SimulatedBlock
from simulator.registry_view import bindings_from_sites
from tests.fixtures.registry import demo_site_definitions

START = datetime(2026, 11, 9, tzinfo=UTC)


def violations(values: np.ndarray, kind: str, limit) -> np.ndarray:
    if kind in ("analog", "counter", "accumulator"):
        return values > limit.value if limit.direction == "high" else values < limit.value
    return values >= limit.value if limit.direction == "high" else values <= limit.value


@pytest.mark.parametrize("site_id", ["ab-baldwinsville", "rfg-foods-jhb"])
def test_a_nominal_week_is_quiet(site_id):
    defs = [s for s in demo_site_definitions() if s.site_id == site_id]
    points = {(b.block.block_id, p.tag): p for s in defs for b in s.blocks for p in b.points}
    binding = bindings_from_sites(defs)[0]
    sim = SimulatedBlock(binding)
    model = sim.model
    state = model.fast_forward(model.initial_state(), model.step_at(START.timestamp()))
    _, frame = model.advance(state, 7 * 1440)
    values = sim.values(frame, np.arange(len(frame)), frame.t)
    worst = {}
    for tag, v in values.items():
        p = points[(binding.spec.block_id, tag)]
        for limit in p.limits:
            share = float(violations(v, p.kind, limit).mean())
            if share:
                worst[(tag, limit.priority, limit.direction)] = share
    assert not [k for k in worst if k[1] in ("P0", "P1") and worst[k] > 0.001], worst
    assert max(worst.values(), default=0.0) < 0.02, worst
