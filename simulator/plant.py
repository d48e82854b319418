"""A registered block and its model: every registry point's value at given times.

Points the model does not know (a site added an instrument the model has no physics for) read a
steady mid-range value (analog) or 0 (binary/enum) so devices still answer; they are listed in
`unmodelled` and logged once.
"""

from __future__ import annotations

import logging

import numpy as np

from mcs.modbus_codec import quantise
from simulator.model.block import BlockModel, Frame
from simulator.model.readings import readings
from simulator.registry_view import BlockBinding, PointBinding

log = logging.getLogger(__name__)

GOOD, UNCERTAIN, BAD = 0, 1, 2


def fallback_value(p: PointBinding) -> float:
    if p.kind == "analog" and p.range_min is not None and p.range_max is not None:
        return (p.range_min + p.range_max) / 2.0
    return 0.0


class SimulatedBlock:
    def __init__(self, binding: BlockBinding) -> None:
        self.binding = binding
        self.model = BlockModel(binding.spec)
        _, probe = self.model.advance(self.model.initial_state(), 1)
        known = readings(self.model, probe, np.zeros(1, dtype=int), probe.t)
        self.unmodelled = sorted(p.tag for p in binding.points if p.tag not in known)
        if self.unmodelled:
            log.warning("%s/%s: no model for %d points (held at a constant): %s", *binding.key,
                        len(self.unmodelled), ", ".join(self.unmodelled))

    def values(self, frame: Frame, idx: np.ndarray, t: np.ndarray,
               points: list[PointBinding] | None = None) -> dict[str, np.ndarray]:
        """Engineering values per point tag at the device's resolution (what a poller decodes)."""
        model_values = readings(self.model, frame, idx, t)
        out: dict[str, np.ndarray] = {}
        for p in points if points is not None else self.binding.points:
            v = model_values.get(p.tag)
            v = np.full(len(t), fallback_value(p)) if v is None else v
            out[p.tag] = quantise(v, p.data_type, p.scale, p.value_offset) if p.data_type else v
        return out


def quality(values: np.ndarray, p: PointBinding) -> np.ndarray:
    """Edge quality rule: outside [range_min, range_max] → UNCERTAIN, else GOOD (domain §3.4)."""
    bad = np.zeros(len(values), dtype=bool)
    if p.range_min is not None:
        bad |= values < p.range_min
    if p.range_max is not None:
        bad |= values > p.range_max
    return np.where(bad, UNCERTAIN, GOOD).astype(np.int16)
