"""Shared model fixtures: one simulated day of the demo block (computed once per session)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from simulator.model.block import BlockModel, EngineState, Frame
from simulator.model.readings import readings
from simulator.model.spec import BlockSpec

DEMO_SPEC = BlockSpec("ab-baldwinsville", "block-01", timezone="America/New_York", latitude=43.16, grid_hz=60,
                      seed=7)


@dataclass
class SimulatedDay:
    model: BlockModel
    start: EngineState
    frame: Frame
    values: dict[str, np.ndarray]


@pytest.fixture(scope="session")
def demo_day() -> SimulatedDay:
    """A weekday (2026-03-10, Tuesday) of the demo block, one-minute samples."""
    model = BlockModel(DEMO_SPEC)
    start = model.fast_forward(model.initial_state(), model.step_at(1773100800))  # 2026-03-10T00:00Z
    _, frame = model.advance(start, 1440)
    idx = np.arange(len(frame))
    return SimulatedDay(model, start, frame, readings(model, frame, idx, frame.t))
