"""Outdoor air at the site: seasonal + diurnal cycle + multi-day weather fronts, from the latitude.

Climate normals come from a latitude rule (annual mean ≈ 28 − 0.45·|lat| °C, seasonal amplitude
≈ 2 + 0.26·|lat| K, warmest in July north / January south): Baldwinsville (43 °N) gets a mean of
8.6 °C and −5…22 °C monthly means, Johannesburg (26 °S) 16 °C and ≈ 9…24 °C — plausible, not a
climate record.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.model import noise
from simulator.model.spec import BlockSpec, Clock

ADIABATIC_ABOVE_C = 25.0


@dataclass(frozen=True)
class Weather:
    dry_bulb: np.ndarray
    rh: np.ndarray
    wet_bulb: np.ndarray


def wet_bulb_stull(t_c: np.ndarray, rh_pct: np.ndarray) -> np.ndarray:
    """Wet-bulb temperature from dry bulb and RH (Stull 2011, ±0.3 K for RH 5–99 %, −20…50 °C)."""
    rh = np.clip(rh_pct, 5.0, 99.0)
    return (t_c * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t_c + rh)
            - np.arctan(rh - 1.676331) + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh) - 4.686035)


def weather(spec: BlockSpec, clock: Clock) -> Weather:
    lat = abs(spec.latitude)
    mean = 28.0 - 0.45 * lat
    amplitude = 2.0 + 0.26 * lat
    peak_doy = 200.0 if spec.latitude >= 0 else 17.0
    seasonal = mean + amplitude * np.cos(2 * np.pi * (clock.doy - peak_doy) / 365.25)
    diurnal = 4.5 * np.cos(2 * np.pi * (clock.hour - 15.0) / 24.0)       # warmest mid-afternoon
    seed = spec.site_seed
    fronts = 3.5 * noise.smooth(seed, noise.stream_id("fronts"), clock.t, 3 * 86400.0)
    gusts = 0.6 * noise.smooth(seed, noise.stream_id("gusts"), clock.t, 1800.0)
    dry = seasonal + diurnal + fronts + gusts
    rh = np.clip(65.0 - 18.0 * np.cos(2 * np.pi * (clock.hour - 15.0) / 24.0)  # driest mid-afternoon
                 + 12.0 * noise.smooth(seed, noise.stream_id("rh"), clock.t, 2 * 86400.0), 15.0, 93.0)
    return Weather(dry, rh, wet_bulb_stull(dry, rh))


def effective_air_c(w: Weather) -> np.ndarray:
    """Air temperature the dry cooler sees: adiabatic pre-cooling closes 70 % of the wet-bulb depression above 25 °C."""
    spray = w.dry_bulb > ADIABATIC_ABOVE_C
    return np.where(spray, w.dry_bulb - 0.7 * (w.dry_bulb - w.wet_bulb), w.dry_bulb)
