"""What the model needs to know about one block, taken from the site registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from simulator.model.noise import stream_id

# Model time starts here unless the registry gives the block's commissioning date: counters and
# the mode history are integrated from this instant, so every run agrees on their values.
DEFAULT_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STEP_S = 60  # the model's state advances on this absolute grid (see block.py)


@dataclass(frozen=True)
class BlockSpec:
    site_id: str
    block_id: str
    timezone: str = "UTC"
    latitude: float = 43.16
    grid_hz: int = 60
    it_capacity_kw: float = 1000.0
    rack_count: int = 14
    host_profile: str = "brewery"        # brewery | food_plant (host_demand.py)
    glycol_pct: float = 35.0              # loop 1/2 propylene glycol, % by volume
    commissioned_on: date | None = None
    seed: int = 0

    @property
    def epoch_s(self) -> int:
        """Model time origin (UTC epoch seconds, on the STEP_S grid)."""
        if self.commissioned_on is not None:
            start = datetime(self.commissioned_on.year, self.commissioned_on.month, self.commissioned_on.day,
                             tzinfo=UTC)
            return int(max(start, DEFAULT_EPOCH).timestamp())
        return int(DEFAULT_EPOCH.timestamp())

    @property
    def block_seed(self) -> int:
        """Per-block seed: two blocks of one site run different jobs and weather noise differs by site."""
        return (self.seed * 1_000_003 + stream_id(self.site_id, self.block_id)) & 0xFFFFFFFF

    @property
    def site_seed(self) -> int:
        """Weather and the host are shared by all blocks of a site."""
        return (self.seed * 1_000_003 + stream_id(self.site_id)) & 0xFFFFFFFF


@dataclass(frozen=True)
class Clock:
    """Absolute and site-local calendar features of each sample time."""

    t: np.ndarray            # epoch seconds (float)
    hour: np.ndarray         # local hour of day, fractional
    weekday: np.ndarray      # 0 = Monday
    doy: np.ndarray          # day of year (1..366), local

    @classmethod
    def of(cls, t: np.ndarray, timezone: str) -> Clock:
        t = np.asarray(t, dtype=np.float64)
        local = pd.DatetimeIndex(pd.to_datetime(t, unit="s", utc=True)).tz_convert(timezone)
        hour = local.hour.to_numpy() + local.minute.to_numpy() / 60.0 + local.second.to_numpy() / 3600.0
        return cls(t, hour.astype(np.float64), local.day_of_week.to_numpy(), local.day_of_year.to_numpy())
