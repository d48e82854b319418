"""Engineering values ↔ what Modbus devices hold: raw integers/floats, registers, quantisation.

Shared by the simulator (encode side: what a device stores) and the edge's Modbus poller (decode
side), so both agree on every data type and word order by construction; the tests still check
the encoder against an independent struct-based decoder.

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


WORD_ORDERS = ("ABCD", "DCBA", "BADC", "CDAB")


def _ordered_bytes(words: list[int], word_order: str | None) -> bytes:
    """Undo the device's word order: registers as read → big-endian bytes A…H."""
    order = (word_order or "ABCD").upper()
    if order not in WORD_ORDERS:
        raise ValueError(f"unknown word order {word_order!r} (expected one of {', '.join(WORD_ORDERS)})")
    chunks = [int(w & 0xFFFF).to_bytes(2, "big") for w in words]
    if order in ("CDAB", "DCBA") and len(chunks) > 1:
        chunks = chunks[::-1]
    if order in ("BADC", "DCBA"):
        chunks = [c[::-1] for c in chunks]
    return b"".join(chunks)


def decode_raw(words: list[int], data_type: str | None, word_order: str | None = None) -> float | int:
    """The raw number held in `words` (exactly `register_count(data_type)` registers)."""
    dt = (data_type or "uint16").lower()
    if dt not in STRUCT:
        raise ValueError(f"unknown Modbus data type {data_type!r}")
    n = register_count(dt)
    if len(words) != n:
        raise ValueError(f"{dt} needs {n} registers, got {len(words)}")
    (raw,) = struct.unpack(">" + STRUCT[dt], _ordered_bytes(list(words), word_order))
    if dt == "bool":
        return 1 if raw else 0
    return raw


def decode_registers(words: list[int], data_type: str | None, word_order: str | None = None, scale: float = 1.0,
                     offset: float = 0.0) -> float:
    """Engineering value of registers read from a device: raw × scale + offset (inverse of encode_registers).

    Raises ValueError on a wrong register count, type or word order, or a non-finite float (a
    device's NaN/Inf is a sensor fault, not a value the wire format may carry).
    """
    raw = decode_raw(words, data_type, word_order)
    value = float(raw) * (scale if scale else 1.0) + (offset or 0.0)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"non-finite value decoded ({raw!r})")
    return value
