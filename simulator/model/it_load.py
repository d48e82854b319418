"""GPU-cluster IT load: per-rack jobs that start and stop, over a daily inference pattern.

Jobs are drawn per rack and per hour slot from hashes of (seed, rack, slot): in each slot a job
starts with probability 0.35 at a random minute, runs a log-normal duration (median 4 h, 20 min …
24 h) at 75–95 % utilisation. A rack's utilisation is its busiest active job, or the inference
baseline (15–30 %, peaking mid-afternoon local time) when no job runs. Power = idle + utilisation ×
(design − idle), so a busy 1 MW block draws ≈ 850–950 kW.
"""

from __future__ import annotations

import numpy as np

from simulator.model import noise
from simulator.model.spec import BlockSpec, Clock

SLOT_S = 3600
LOOKBACK_SLOTS = 24
JOB_PROBABILITY = 0.35
IDLE_FRACTION = 0.12


def rack_design_kw(spec: BlockSpec) -> float:
    return spec.it_capacity_kw / max(spec.rack_count, 1)


def rack_utilisation(spec: BlockSpec, clock: Clock, rack: int) -> np.ndarray:
    seed = spec.block_seed
    t = clock.t
    slot_now = np.floor(t / SLOT_S).astype(np.int64)
    util = 0.15 + 0.15 * np.clip(np.cos(2 * np.pi * (clock.hour - 14.0) / 24.0), 0.0, None)
    # Job parameters per hour slot, computed once for the slots this window can see.
    slots = np.arange(slot_now.min() - LOOKBACK_SLOTS, slot_now.max() + 1)
    s_start, s_dur, s_lvl, s_p = (noise.stream_id("rack", rack, name) for name in ("start", "dur", "lvl", "p"))
    present = noise.uniform(seed, s_p, slots) < JOB_PROBABILITY
    start = slots * SLOT_S + noise.uniform(seed, s_start, slots) * SLOT_S
    end = start + np.clip(4 * 3600 * np.exp(0.9 * noise.normal(seed, s_dur, slots)), 1200, LOOKBACK_SLOTS * 3600)
    level = np.where(present, 0.75 + 0.20 * noise.uniform(seed, s_lvl, slots), 0.0)
    for back in range(LOOKBACK_SLOTS):
        i = slot_now - back - slots[0]
        active = (t >= start[i]) & (t < end[i])
        util = np.where(active, np.maximum(util, level[i]), util)
    return util


def rack_power_kw(spec: BlockSpec, clock: Clock) -> np.ndarray:
    """Noise-free rack power, shape (racks, samples)."""
    design = rack_design_kw(spec)
    utils = np.stack([rack_utilisation(spec, clock, r) for r in range(1, spec.rack_count + 1)])
    return design * (IDLE_FRACTION + (1.0 - IDLE_FRACTION) * utils)
