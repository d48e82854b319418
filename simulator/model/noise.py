"""Deterministic, window-independent randomness.

Every random number is a hash of (seed, stream, integer time key), never the state of a generator,
so the value at an instant does not depend on where a simulation window starts: backfilling
[t0, t1) and [t0 − 5 d, t1) produce identical samples for the overlap, and the live simulator
continues exactly where the backfill stopped.
"""

from __future__ import annotations

import zlib

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TWO53 = float(2**53)


def stream_id(*parts: object) -> int:
    """A stable 32-bit id for a named stream (e.g. ("rack", 7, "job")), independent of PYTHONHASHSEED."""
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijective avalanche of 64-bit integers."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def uniform(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """U[0, 1) for each integer key (e.g. epoch seconds or slot index)."""
    k = np.asarray(keys, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        base = _mix(np.uint64(seed & 0xFFFFFFFF) * _GOLDEN + np.uint64(stream) * _M2)
        h = _mix(k * _GOLDEN + base)
    return (h >> np.uint64(11)).astype(np.float64) / _TWO53


def normal(seed: int, stream: int, keys: np.ndarray) -> np.ndarray:
    """N(0, 1) for each integer key (Box–Muller on two hashed uniforms)."""
    u1 = uniform(seed, stream, keys)
    u2 = uniform(seed, stream ^ 0x5BD1E995, keys)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def smooth(seed: int, stream: int, t_s: np.ndarray, period_s: float) -> np.ndarray:
    """A smooth zero-mean unit-ish signal: cosine interpolation of N(0,1) knots every `period_s`.

    Used for slow drifts (weather fronts, room humidity) that must be continuous in time.
    """
    x = np.asarray(t_s, dtype=np.float64) / period_s
    k0 = np.floor(x).astype(np.int64)
    frac = x - k0
    w = (1.0 - np.cos(np.pi * frac)) / 2.0
    a = normal(seed, stream, k0)
    b = normal(seed, stream, k0 + 1)
    return a * (1.0 - w) + b * w
