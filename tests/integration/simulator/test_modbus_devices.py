"""Modbus devices on loopback answer a plain pymodbus client with the model's values.

Decoding here is independent of the simulator's encoder: struct on the registers, in the
registry's word order, then raw × scale + offset.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes

from simulator.devices.modbus_server import endpoints_for, map_point, start_endpoint, stop_endpoint
from simulator.live import LiveBlock
from simulator.registry_view import PointBinding

FMT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
       "float32": "f", "float64": "d"}


def decode(regs: list[int], p: PointBinding) -> float:
    words = [r.to_bytes(2, "big") for r in regs]
    order = p.word_order or "ABCD"
    if order in ("CDAB", "DCBA") and len(words) > 1:
        words = words[::-1]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    raw = struct.unpack(">" + FMT[p.data_type], b"".join(words))[0]
    return raw * p.scale + p.value_offset


async def read_point(client: AsyncModbusTcpClient, p: PointBinding, unit: int) -> float:
    m = map_point(p)
    if m.table == "c":
        rr = await client.read_coils(m.address, count=1, device_id=unit)
        return float(rr.bits[0])
    if m.table == "d":
        rr = await client.read_discrete_inputs(m.address, count=1, device_id=unit)
        return float(rr.bits[0])
    reader = client.read_input_registers if m.table == "i" else client.read_holding_registers
    rr = await reader(m.address, count=m.count, device_id=unit)
    assert not rr.isError(), f"{p.tag}: {rr}"
    return decode(rr.registers, p)


async def read_all(block: LiveBlock) -> dict[str, tuple[float, float]]:
    endpoints = endpoints_for(block.binding, block)
    for ep in endpoints:
        await start_endpoint(ep)
    try:
        out = {}
        for ep in endpoints:
            client = AsyncModbusTcpClient(ep.host, port=ep.port, timeout=5)
            assert await client.connect()
            try:
                for unit in ep.units:
                    for p in block.binding.points_of(unit.device.device_id):
                        out[p.tag] = (await read_point(client, p, unit.device.unit_id or 1), block.values[p.tag])
            finally:
                client.close()
        return out
    finally:
        for ep in endpoints:
            await stop_endpoint(ep)


def test_every_modbus_point_reads_back_the_model_value(live_block):
    got = asyncio.run(read_all(live_block))
    modbus_points = [p for p in live_block.binding.points if p.protocol in ("modbus-tcp", "modbus-rtu")]
    assert len(got) == len(modbus_points) > 150
    for tag, (wire, model) in got.items():
        p = live_block.points[tag]
        tolerance = abs(p.scale) / 2 if p.data_type and p.data_type.startswith(("int", "uint")) else 1e-6
        assert wire == pytest.approx(model, rel=1e-6, abs=tolerance), tag
    # every word order and width of the registry is exercised
    kinds = {(p.data_type, p.word_order) for p in modbus_points}
    assert {("float32", "ABCD"), ("float32", "CDAB"), ("float32", "BADC"), ("float32", "DCBA"),
            ("int64", "ABCD"), ("int16", None)} <= kinds
    assert got["PLC-SAFE-mode"][0] in (0.0, 1.0, 2.0, 3.0)
    assert 30.0 < got["TT-L2s"][0] < 60.0


def test_comms_loss_silences_one_device(live_block):
    async def scenario() -> tuple[object, bool]:
        live_block.silenced = {"tx-01", "met-01"}
        endpoints = {u.device.device_id: ep for ep in endpoints_for(live_block.binding, live_block) for u in ep.units}
        started = {id(ep): ep for ep in endpoints.values()}
        for ep in started.values():
            await start_endpoint(ep)
        try:
            gw = endpoints["tx-01"]
            client = AsyncModbusTcpClient(gw.host, port=gw.port, timeout=5)
            await client.connect()
            silent_unit = await client.read_holding_registers(100, count=2, device_id=2)   # TX-01 behind gateway
            other_unit = await client.read_holding_registers(5402, count=1, device_id=1)   # PLC answers
            client.close()
            met = endpoints["met-01"]
            client = AsyncModbusTcpClient(met.host, port=met.port, timeout=1, retries=0)
            await client.connect()
            try:
                await client.read_holding_registers(0, count=2, device_id=1)
                timed_out = False
            except Exception:  # noqa: BLE001 - pymodbus raises ModbusIOException on no response
                timed_out = True
            client.close()
            return silent_unit, other_unit, timed_out
        finally:
            for ep in started.values():
                await stop_endpoint(ep)

    try:
        silent_unit, other_unit, timed_out = asyncio.run(scenario())
    finally:
        live_block.silenced = set()
    assert silent_unit.isError() and silent_unit.exception_code == ExcCodes.GATEWAY_NO_RESPONSE
    assert not other_unit.isError()
    assert timed_out
