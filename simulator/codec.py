"""Engineering values ↔ what devices hold: raw integers/floats, Modbus registers, quantisation.

raw = (value − offset) / scale, rounded and clipped for integer types; a poller decodes
value = raw × scale + offset. Word orders follow the Telegraf convention the registry uses
(bytes A…D most significant first): ABCD big-endian, DCBA little-endian, BADC bytes swapped
within words, CDAB words swapped; for 64-bit types the pattern extends to all four words
(CDAB → GH EF CD AB). 16-bit values swap their two bytes for BADC/DCBA.
"""

from __future__ import annotations

import struct

import numpy as np

INT_RANGES = {
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
    "bool": (0, 1), "bitfield": (0, 2**16 - 1),
}
STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
          "float32": "f", "float64": "d", "bool": "H", "bitfield": "H"}
REGISTERS = {"int16": 1, "uint16": 1, "bool": 1, "bitfield": 1, "int32": 2, "uint32": 2, "float32": 2,
             "int64": 4, "uint64": 4, "float64": 4}


def raw_value(value: float, data_type: str | None, scale: float = 1.0, offset: float = 0.0) -> float | int:
    """The number a device stores for an engineering value (integer for integer types)."""
    raw = (value - offset) / (scale or 1.0)
    if data_type in INT_RANGES:
        lo, hi = INT_RANGES[data_type]
        return int(min(max(round(raw), lo), hi))
    if data_type == "float32":
        return float(np.float32(raw))
    return float(raw)


def quantise(values: np.ndarray, data_type: str | None, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """What a poller reads back after decoding: the value at the device's resolution."""
    scale = scale or 1.0
    raw = (np.asarray(values, dtype=np.float64) - offset) / scale
    if data_type in INT_RANGES:
        lo, hi = INT_RANGES[data_type]
        raw = np.clip(np.round(raw), float(lo), float(hi))
    elif data_type == "float32":
        raw = raw.astype(np.float32).astype(np.float64)
    return raw * scale + offset


def register_count(data_type: str | None) -> int:
    return REGISTERS.get(data_type or "uint16", 1)


def encode_registers(value: float, data_type: str | None, word_order: str | None = None, scale: float = 1.0,
                     offset: float = 0.0) -> list[int]:
    """16-bit registers holding the value, in the device's word order."""
    dt = data_type or "uint16"
    raw = raw_value(value, dt, scale, offset)
    data = struct.pack(">" + STRUCT[dt], raw)
    words = [data[i:i + 2] for i in range(0, len(data), 2)]
    order = word_order or "ABCD"
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA") and len(words) > 1:
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]
