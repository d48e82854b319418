"""Register encoding for each word order and type (decoded here independently with struct)."""

import struct

import numpy as np
import pytest

from mcs.modbus_codec import decode_registers, encode_registers, quantise, raw_value


def decode(regs: list[int], data_type: str, order: str) -> float:
    words = [r.to_bytes(2, "big") for r in regs]
    if order in ("CDAB", "DCBA") and len(words) > 1:
        words = words[::-1]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    fmt = {"float32": ">f", "uint32": ">I", "int32": ">i", "int64": ">q", "uint64": ">Q", "float64": ">d",
           "int16": ">h", "uint16": ">H"}[data_type]
    return struct.unpack(fmt, b"".join(words))[0]


def test_float32_abcd_known_registers():
    assert encode_registers(1.0, "float32", "ABCD") == [0x3F80, 0x0000]
    assert encode_registers(1.0, "float32", "CDAB") == [0x0000, 0x3F80]
    assert encode_registers(1.0, "float32", "BADC") == [0x803F, 0x0000]
    assert encode_registers(1.0, "float32", "DCBA") == [0x0000, 0x803F]


@pytest.mark.parametrize("order", ["ABCD", "DCBA", "BADC", "CDAB"])
@pytest.mark.parametrize("data_type,value,scale", [("float32", 45.25, 1.0), ("uint32", 1234567.8, 0.1),
                                                   ("int64", 4370537.123, 0.001), ("int16", -12.3, 0.1),
                                                   ("uint16", 87.65, 0.01), ("float64", 1.0e6 / 3, 1.0)])
def test_round_trip_all_orders(order, data_type, value, scale):
    regs = encode_registers(value, data_type, order, scale)
    assert decode(regs, data_type, order) * scale == pytest.approx(value, abs=scale / 2 + 1e-6 * abs(value))


def test_integer_types_clip_and_round():
    assert raw_value(70000.0, "uint16") == 65535
    assert raw_value(-5.0, "uint16") == 0
    assert raw_value(45.06, "int16", 0.1) == 451
    np.testing.assert_allclose(quantise(np.array([45.06, 45.04]), "int16", 0.1), [45.1, 45.0])


@pytest.mark.parametrize("order", ["ABCD", "DCBA", "BADC", "CDAB"])
@pytest.mark.parametrize("data_type,value,scale,offset", [
    ("float32", 45.25, 1.0, 0.0), ("uint32", 1234567.8, 0.1, 0.0), ("int32", -7654321.0, 1.0, 0.0),
    ("int64", 4370537.123, 0.001, 0.0), ("uint64", 2.0**60, 1.0, 0.0), ("int16", -12.3, 0.1, 0.0),
    ("uint16", 87.65, 0.01, 0.0), ("float64", 1.0e6 / 3, 1.0, 0.0), ("uint16", 2.0, -1.0, 2.0)])
def test_decode_registers_inverts_encode(order, data_type, value, scale, offset):
    regs = encode_registers(value, data_type, order, scale, offset)
    expected = decode(regs, data_type, order) * scale + offset     # the independent struct decoder
    assert decode_registers(regs, data_type, order, scale, offset) == pytest.approx(expected, rel=1e-12)
    assert decode_registers(regs, data_type, order, scale, offset) == pytest.approx(value, abs=abs(scale))


def test_decode_bool_bitfield_and_errors():
    assert decode_registers([0], "bool") == 0.0
    assert decode_registers([0x0100], "bool", "BADC") == 1.0
    assert decode_registers([0b1010_0001], "bitfield") == 161.0
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_registers([1], "float32")
    with pytest.raises(ValueError, match="word order"):
        decode_registers([1, 2], "float32", "XYZW")
    with pytest.raises(ValueError, match="non-finite"):
        decode_registers([0x7FC0, 0x0000], "float32")
