"""Electrical chain: racks → PDUs → UPS → switchboard (+ plant loads) → revenue meter → transformer.

Loss figures (typical of the equipment named in domain §1.3/§1.5): PDU 1.2 %, double-conversion
UPS 95.5–97 % efficient (worse at light load), 1500 kVA dry-type transformer 2.5 kW no-load +
12 kW full-load copper loss, 0.2 % cabling between the revenue meter and the switchboard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PDU_LOSS = 0.012
UPS_RATED_KW = 1200.0
TX_RATED_KVA = 1500.0
POWER_FACTOR = 0.97
NOMINAL_V = {60: 480.0, 50: 400.0}


def pdu_groups(rack_count: int, pdus: int = 3) -> list[list[int]]:
    """Rack indices (0-based) fed by each PDU: 14 racks → 1–5, 6–10, 11–14 as in the schedule."""
    size = -(-rack_count // pdus)
    return [list(range(i * size, min((i + 1) * size, rack_count))) for i in range(pdus)]


def ups_efficiency(load_fraction: np.ndarray) -> np.ndarray:
    return 0.97 - 0.03 * (1.0 - np.clip(load_fraction, 0.05, 1.0)) ** 2


@dataclass
class Electrical:
    it_kw: np.ndarray
    pdu_kw: np.ndarray           # (pdus, n)
    ups_out_kw: np.ndarray
    ups_in_kw: np.ndarray
    msb_kw: np.ndarray
    meter_kw: np.ndarray
    tx_loss_kw: np.ndarray
    tx_load_pct: np.ndarray
    kva: np.ndarray
    volts: float


def electrical(racks_kw: np.ndarray, plant_kw: np.ndarray, grid_hz: int, mains_ok: np.ndarray) -> Electrical:
    it = racks_kw.sum(axis=0)
    pdu = np.stack([racks_kw[g].sum(axis=0) * (1 + PDU_LOSS) for g in pdu_groups(racks_kw.shape[0])])
    ups_out = pdu.sum(axis=0)
    ups_in = ups_out / ups_efficiency(ups_out / UPS_RATED_KW)
    msb = np.where(mains_ok, ups_in + plant_kw, 0.0)
    meter = msb * 1.002
    kva = meter / POWER_FACTOR
    tx_loss = np.where(mains_ok, 2.5 + 12.0 * (kva / TX_RATED_KVA) ** 2, 0.0)
    return Electrical(it, pdu, ups_out, ups_in, msb, meter, tx_loss, 100.0 * kva / TX_RATED_KVA, kva,
                      NOMINAL_V.get(grid_hz, 480.0))
