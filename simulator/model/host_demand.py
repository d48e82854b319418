"""The host's hot-water demand: how much heat it can absorb, hour by hour.

Profiles (site-local time), as fractions of the host's peak absorption (1.05 × block IT capacity):

* brewery — brewing Mon–Fri 05:00–21:00 (0.95), clean-in-place cycles 10:00–11:00 and 18:00–19:00
  (1.2), nights 0.35 (tank reheating), Saturday 06:00–14:00 0.6, Sunday 0.08 (no demand).
* food_plant — two shifts Mon–Fri 06:00–22:00 (0.9), CIP at shift ends 14:00–14:45 and 22:00–23:00
  (1.2), nights 0.3, Saturday 06:00–14:00 0.7, Sunday 0.1.

Plus ±8 % slow variation and, on ~5 % of days, an unplanned 1–3 h process stop (demand off).
Demand is signalled (HOST-demand = 1) above 150 kW; a tank above 55 °C means partial demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.model import noise
from simulator.model.spec import BlockSpec, Clock

DEMAND_ON_KW = 150.0

# (weekday set, start hour, end hour, level); later rows override earlier ones.
PROFILES: dict[str, list[tuple[frozenset[int], float, float, float]]] = {
    "brewery": [
        (frozenset(range(7)), 0.0, 24.0, 0.35),
        (frozenset(range(5)), 5.0, 21.0, 0.95),
        (frozenset(range(5)), 10.0, 11.0, 1.2),
        (frozenset(range(5)), 18.0, 19.0, 1.2),
        (frozenset({5}), 6.0, 14.0, 0.6),
        (frozenset({6}), 0.0, 24.0, 0.08),
    ],
    "food_plant": [
        (frozenset(range(7)), 0.0, 24.0, 0.30),
        (frozenset(range(5)), 6.0, 22.0, 0.9),
        (frozenset(range(5)), 14.0, 14.75, 1.2),
        (frozenset(range(5)), 22.0, 23.0, 1.2),
        (frozenset({5}), 6.0, 14.0, 0.7),
        (frozenset({6}), 0.0, 24.0, 0.10),
    ],
}


@dataclass(frozen=True)
class HostDemand:
    capacity_kw: np.ndarray     # heat the host can absorb now
    return_c: np.ndarray        # host return water temperature (loop 3 into the HX)
    demand: np.ndarray          # HOST-demand (bool)
    hw_pump: np.ndarray         # HOST-hw-pump (bool)
    tank_c: np.ndarray          # TT-HOST-hw-tank
    peak_kw: float


RAMP_H = 0.75  # schedule changes ramp over 45 min (process start-up, tank stratification)


def _step_level(profile: str, weekday: np.ndarray, hour: np.ndarray) -> np.ndarray:
    level = np.zeros_like(hour)
    for days, start, end, value in PROFILES[profile]:
        on_day = np.isin(weekday, list(days))
        level = np.where(on_day & (hour >= start) & (hour < end), value, level)
    return level


def schedule_level(profile: str, clock: Clock) -> np.ndarray:
    """The profile's step schedule averaged over the last RAMP_H hours (a linear ramp at each change)."""
    total = np.zeros_like(clock.t)
    taps = 10
    for k in range(taps):
        hour = clock.hour - RAMP_H * k / (taps - 1)
        wrapped = hour < 0.0
        weekday = np.where(wrapped, (clock.weekday - 1) % 7, clock.weekday)
        total += _step_level(profile, weekday, np.where(wrapped, hour + 24.0, hour))
    return total / taps


def host_demand(spec: BlockSpec, clock: Clock) -> HostDemand:
    seed = spec.site_seed
    peak = 1.05 * spec.it_capacity_kw
    level = schedule_level(spec.host_profile, clock)
    level = level * (1.0 + 0.08 * noise.smooth(seed, noise.stream_id("host-var"), clock.t, 4 * 3600.0))
    # Unplanned process stops: per local day, 5 % chance of a 1–3 h stop starting 06:00–18:00.
    day = np.floor((clock.t - clock.hour * 3600.0) / 86400.0 + 0.5).astype(np.int64)
    stop_day = noise.uniform(seed, noise.stream_id("stop"), day) < 0.05
    stop_start = 6.0 + 12.0 * noise.uniform(seed, noise.stream_id("stop-start"), day)
    stop_len = 1.0 + 2.0 * noise.uniform(seed, noise.stream_id("stop-len"), day)
    stopped = stop_day & (clock.hour >= stop_start) & (clock.hour < stop_start + stop_len)
    capacity = np.where(stopped, 0.0, np.clip(level, 0.0, None) * peak)
    fraction = np.clip(capacity / peak, 0.0, 1.2)
    demand = capacity > DEMAND_ON_KW
    return_c = 26.0 + 3.0 * (1.0 - np.minimum(fraction, 1.0)) + 0.8 * noise.smooth(
        seed, noise.stream_id("host-ret"), clock.t, 3 * 3600.0)
    tank = 47.0 + 15.0 * (1.0 - np.minimum(fraction, 1.0)) + 0.7 * noise.smooth(
        seed, noise.stream_id("tank"), clock.t, 2 * 3600.0)
    return HostDemand(capacity, return_c, demand, demand | (capacity > 50.0), tank, peak)
