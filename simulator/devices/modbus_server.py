"""Modbus TCP servers for a block's Modbus devices (pymodbus 3 SimDevice API).

One server per (host, port): a Modbus TCP device is alone on its port (unit 1), the RTU devices sit
behind one TCP gateway port with their unit ids (register maps from the registry: Modicon
reference → table and zero-based address, data type, word order, scale/offset).

Registers are filled at request time from the live values (a `ValueSource`), so a poll always
reads the plant as it is at that instant. Read-only: writes are refused (ILLEGAL_FUNCTION). During
COMMS_LOSS a TCP device stops answering (requests hang past any client timeout) and a unit behind
the RTU gateway gets GATEWAY_NO_RESPONSE, as a real gateway reports a silent slave.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from mcs.modbus_codec import encode_registers, register_count
from simulator.registry_view import BlockBinding, DeviceBinding, PointBinding

log = logging.getLogger(__name__)

# Modicon reference ranges → (function-code table, base).
TABLES = {"coil": ("c", 1), "discrete": ("d", 10001), "input": ("i", 30001), "holding": ("h", 40001)}
FC_TABLE = {1: "c", 5: "c", 15: "c", 2: "d", 3: "h", 6: "h", 16: "h", 22: "h", 23: "h", 4: "i"}
SILENT_HANG_S = 30.0


class ValueSource(Protocol):
    def device_values(self, device_id: str) -> Mapping[str, float]: ...
    def is_silenced(self, device_id: str) -> bool: ...


@dataclass(frozen=True)
class MappedPoint:
    point: PointBinding
    table: str
    address: int      # zero-based PDU address (bit address for coils/discrete inputs)
    count: int        # registers (1 bit for coils/discrete inputs)


def map_point(p: PointBinding) -> MappedPoint:
    register_type = p.register_type or "holding"
    table, base = TABLES[register_type]
    address = int(p.address) - base
    if not 0 <= address <= 65535:
        raise ValueError(f"{p.tag}: address {p.address} outside the {register_type} range")
    return MappedPoint(p, table, address, 1 if table in ("c", "d") else register_count(p.data_type))


class UnitImage:
    """One unit's four tables, refreshed from live values when a request touches them."""

    def __init__(self, device: DeviceBinding, points: list[PointBinding], source: ValueSource,
                 behind_gateway: bool) -> None:
        self.device = device
        self.source = source
        self.behind_gateway = behind_gateway
        self.mapped: dict[str, list[MappedPoint]] = defaultdict(list)
        for p in points:
            try:
                m = map_point(p)
            except (TypeError, ValueError) as exc:   # a bad address must not take the other points down
                log.error("%s/%s: not served: %s", device.device_id, p.tag, exc)
                continue
            self.mapped[m.table].append(m)

    def sim_device(self) -> SimDevice:
        blocks: list[list[SimData]] = []
        for table in ("c", "d", "h", "i"):
            entries = self.mapped.get(table, [])
            if not entries:  # pymodbus needs a block per table: park an unused one at the top of the range
                blocks.append([SimData(65520, values=[False] * 16, datatype=DataType.BITS)] if table in ("c", "d")
                              else [SimData(65535, count=1, datatype=DataType.INVALID)])
                continue
            lo = min(m.address for m in entries)
            hi = max(m.address + m.count for m in entries)
            if table in ("c", "d"):
                blocks.append([SimData(lo, values=[False] * (hi - lo), datatype=DataType.BITS)])
            else:
                blocks.append([SimData(lo, count=hi - lo, values=0, datatype=DataType.REGISTERS)])
        return SimDevice(self.device.unit_id or 1, simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
                         action=self.on_request)

    async def on_request(self, func_code: int, start_address: int, address: int, count: int,
                         registers: list[int], set_values: list[int] | list[bool] | None) -> ExcCodes | None:
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION
        if self.source.is_silenced(self.device.device_id):
            if self.behind_gateway:
                return ExcCodes.GATEWAY_NO_RESPONSE
            await asyncio.sleep(SILENT_HANG_S)
            return ExcCodes.DEVICE_FAILURE
        table = FC_TABLE.get(func_code)
        values = self.source.device_values(self.device.device_id)
        for m in self.mapped.get(table, []):
            v = values.get(m.point.tag)
            if v is None:
                continue
            if table in ("c", "d"):
                # Bit tables: registers hold 16 bits each, bit 0 first; start_address is in registers.
                reg, bit = divmod(m.address, 16)
                i = reg - start_address
                registers[i] = (registers[i] | (1 << bit)) if v >= 0.5 else (registers[i] & ~(1 << bit))
            else:
                regs = encode_registers(float(v), m.point.data_type, m.point.word_order, m.point.scale,
                                        m.point.value_offset)
                off = m.address - start_address
                registers[off:off + len(regs)] = regs
        return None


@dataclass
class ModbusEndpoint:
    host: str
    port: int
    units: list[UnitImage]
    server: ModbusTcpServer | None = None


def endpoints_for(binding: BlockBinding, source: ValueSource) -> list[ModbusEndpoint]:
    """Group a block's Modbus devices by listening address."""
    grouped: dict[tuple[str, int], list[DeviceBinding]] = defaultdict(list)
    for dev in binding.devices.values():
        if dev.protocol in ("modbus-tcp", "modbus-rtu") and dev.port:
            grouped[(dev.host or "127.0.0.1", dev.port)].append(dev)
    endpoints = []
    for (host, port), devs in sorted(grouped.items()):
        gateway = len(devs) > 1 or any(d.protocol == "modbus-rtu" for d in devs)
        units = [UnitImage(d, binding.points_of(d.device_id), source, gateway) for d in devs
                 if binding.points_of(d.device_id)]
        if units:
            endpoints.append(ModbusEndpoint(host, port, units))
    return endpoints


async def start_endpoint(endpoint: ModbusEndpoint) -> ModbusTcpServer:
    server = ModbusTcpServer([u.sim_device() for u in endpoint.units], address=(endpoint.host, endpoint.port))
    await server.serve_forever(background=True)
    endpoint.server = server
    log.info("modbus %s:%d units %s", endpoint.host, endpoint.port,
             ", ".join(f"{u.device.unit_id or 1}={u.device.device_id}" for u in endpoint.units))
    return server


async def stop_endpoint(endpoint: ModbusEndpoint) -> None:
    if endpoint.server is not None:
        await endpoint.server.shutdown()
        endpoint.server = None
