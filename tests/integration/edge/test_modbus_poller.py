"""The Modbus poller against the simulator's pymodbus servers: every type and word order, coalescing,
failures (silent device, silent unit behind the gateway), and the read-only guarantee."""

from __future__ import annotations

import asyncio
import time

import pytest
from pymodbus.client import AsyncModbusTcpClient

from ingest_daemons.pollers.base import BAD, GOOD, UNCERTAIN, DeviceSpec, PointSpec, WriteRefused
from ingest_daemons.pollers.modbus import ModbusPoller, _refuse_writes, pollers_for
from mcs.local_services.broker import free_port
from simulator.devices.modbus_server import ModbusEndpoint, UnitImage, start_endpoint, stop_endpoint
from simulator.registry_view import DeviceBinding, PointBinding
from tests.integration.edge.conftest import block_config, serve

TYPES = {"int16": -1234.5, "uint16": 5432.1, "int32": -7654321.0, "uint32": 3999999.9, "int64": -1.23456789e12,
         "uint64": 9.87654321e12, "float32": 45.25, "float64": 1.0e6 / 3, "bitfield": 0b1010_0101}
SCALES = {"int16": 0.1, "uint16": 0.1, "uint32": 0.1, "int64": 0.001, "uint64": 0.001}
ORDERS = ("ABCD", "DCBA", "BADC", "CDAB")


class Values:
    """A ValueSource for the simulator's register server: fixed values, optionally silenced."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values, self.silenced = values, set()

    def device_values(self, device_id: str) -> dict[str, float]:
        return self.values

    def is_silenced(self, device_id: str) -> bool:
        return device_id in self.silenced


def every_type_and_order() -> tuple[list[PointBinding], dict[str, float]]:
    points, values, address = [], {}, 40001
    for dt, value in TYPES.items():
        for order in ORDERS if dt not in ("int16", "uint16", "bitfield") else ("ABCD",):
            tag = f"X-{dt}-{order}"
            regs = {"int16": 1, "uint16": 1, "bitfield": 1, "int32": 2, "uint32": 2, "float32": 2}.get(dt, 4)
            points.append(PointBinding(None, tag, "electrical", "analog", "kW", "modbus-tcp", "dev", str(address),
                                       "holding", dt, None if regs == 1 else order, None, SCALES.get(dt, 1.0), 0.0,
                                       None, None, None, 1000))
            values[tag] = value
            address += regs + 1                      # one unused register between points: bridged, not split
    points.append(PointBinding(None, "X-coil", "thermal-safety", "binary", "bool", "modbus-tcp", "dev", "3", "coil",
                               "bool", None, None, 1.0, 0.0, 0, 1, None, 1000))
    points.append(PointBinding(None, "X-di", "thermal-safety", "binary", "bool", "modbus-tcp", "dev", "10005",
                               "discrete", "bool", None, None, 1.0, 0.0, 0, 1, None, 1000))
    points.append(PointBinding(None, "X-input", "environmental", "analog", "°C", "modbus-tcp", "dev", "30010",
                               "input", "float32", "CDAB", None, 1.0, 0.0, 0.0, 40.0, None, 1000))
    values.update({"X-coil": 1.0, "X-di": 1.0, "X-input": 55.5})     # 55.5 is outside its 0–40 range
    return points, values


def test_every_data_type_and_word_order_decodes(tmp_path):
    points, values = every_type_and_order()
    port = free_port()
    device = DeviceBinding("dev", "modbus-tcp", "127.0.0.1", port, 1)
    source = Values(values)

    async def scenario():
        ep = ModbusEndpoint("127.0.0.1", port, [UnitImage(device, points, source, behind_gateway=False)])
        await start_endpoint(ep)
        try:
            specs = [PointSpec.from_row(p) for p in points]
            coalesced = ModbusPoller("127.0.0.1", port, [DeviceSpec.from_row(device)], specs)
            single = ModbusPoller("127.0.0.1", port, [DeviceSpec.from_row(device)], specs, coalesce=False)
            a, b = await coalesced.read(), await single.read()
            await coalesced.close()
            await single.close()
            return a, b, coalesced, single
        finally:
            await stop_endpoint(ep)

    a, b, coalesced, single = asyncio.run(scenario())
    assert len(a) == len(points) == len(b)
    got = {s.tag: s for s in a}
    for p in points:
        s = got[p.tag]
        assert s.quality in (GOOD, UNCERTAIN), (p.tag, s.error)
        assert s.value == pytest.approx(values[p.tag], rel=1e-6, abs=p.scale), p.tag
    assert got["X-input"].quality == UNCERTAIN and got["X-coil"].quality == GOOD
    assert [(s.tag, s.value) for s in sorted(a, key=lambda s: s.tag)] == \
        [(s.tag, s.value) for s in sorted(b, key=lambda s: s.tag)]
    assert coalesced.requests_total == 4 < single.requests_total == len(points)   # h, i, c, d tables
    assert coalesced.function_codes == single.function_codes == {1, 2, 3, 4}


def test_demo_block_reads_the_model_and_survives_silent_devices(binding, live):
    cfg = block_config(binding, ("modbus-tcp", "modbus-rtu"))

    async def scenario():
        async with serve(live, ("modbus",)):
            pollers = pollers_for(cfg.devices, cfg.points, timeout_s=0.5, retries=1)
            first = [s for p in pollers for s in await p.read()]
            live.silenced = {"cdu-01", "ats-01"}        # a TCP device hangs; a unit behind the gateway is silent
            try:
                t0 = time.monotonic()
                second = [s for p in pollers for s in await p.read()]
                silent_s = time.monotonic() - t0
                t0 = time.monotonic()
                third = [s for p in pollers for s in await p.read()]       # backing off: immediate BAD
                backoff_s = time.monotonic() - t0
            finally:
                live.silenced = set()
            cdu = next(p for p in pollers if "cdu-01" in p.devices)
            cdu._next_connect = 0.0                        # skip the rest of the 1 s backoff
            fourth = await cdu.read()
            for p in pollers:
                await p.close()
            return first, second, third, fourth, silent_s, backoff_s

    first, second, third, fourth, silent_s, backoff_s = asyncio.run(scenario())
    assert len(first) == len(cfg.points) > 150 and all(s.quality != BAD for s in first)
    for s in first:
        p = live.points[s.tag]
        tol = abs(p.scale) / 2 if (p.data_type or "").startswith(("int", "uint")) else 1e-6
        assert s.value == pytest.approx(live.values[s.tag], rel=1e-6, abs=tol), s.tag
    device_of = {p.tag: p.device_id for p in cfg.points}
    for batch in (second, third):
        bad = {s.tag for s in batch if s.quality == BAD}
        assert bad == {t for t, d in device_of.items() if d in ("cdu-01", "ats-01")}   # only theirs, none missing
        assert len(batch) == len(cfg.points)
    before = {s.tag: s.value for s in first}
    assert all(s.value == before[s.tag] for s in second if s.quality == BAD)        # BAD keeps the last good value
    assert silent_s < 5 and backoff_s < 1.5
    assert all(s.quality != BAD for s in fourth)                                    # back once it answers again


def test_pollers_cannot_write(binding, live):
    cfg = block_config(binding, ("modbus-tcp",))
    poller = pollers_for(cfg.devices, cfg.points)[0]
    for name in ("write_register", "write_registers", "write_coil", "write_coils", "mask_write_register",
                 "readwrite_registers"):
        assert not hasattr(ModbusPoller, name)
    port = poller.port

    async def scenario():
        async with serve(live, ("modbus",)):
            await poller.read()
            with pytest.raises(WriteRefused):
                poller.client.write_register(0, 1, device_id=1)
            # Even a raw pymodbus client with the edge's PDU hook cannot send a write.
            raw = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0, trace_pdu=_refuse_writes)
            await raw.connect()
            try:
                with pytest.raises(WriteRefused):
                    await raw.write_register(0, 1234, device_id=1)
            finally:
                raw.close()
            await poller.close()

    asyncio.run(scenario())
