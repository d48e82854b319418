"""Modbus TCP poller (pymodbus async client), one per TCP endpoint (a device, or an RTU gateway's units).

* Addresses are Modicon references (domain §2.7, sites/README.md): 4xxxx holding → FC03, 3xxxx input
  → FC04, 1xxxx discrete → FC02, 0xxxx coil → FC01; the unit id is the point's device's unit id.
* Decoding is `mcs.modbus_codec.decode_registers` (the simulator's encoder's inverse): every data type
  (int16…uint64, float32/64, bool, bitfield), word orders ABCD/DCBA/BADC/CDAB, raw × scale + offset.
* Coalescing: points of one unit and table in one poll group are read with as few requests as
  possible, each at most `max_registers` (125, the protocol limit) or 2000 bits, bridging gaps of at
  most `max_gap` unused registers. A device that answers a bridged request with ILLEGAL ADDRESS gets
  that group re-planned without bridging, then point by point, so one odd map cannot blind a device.
* Failure handling: per-device timeout (`timeout_s`, default 3 s TCP / 2 s RTU gateway), `retries`
  retries with exponential backoff; a timeout or broken connection closes the socket and reconnects
  with backoff 1 s → 60 s (§2.7). While a device is down every poll still yields its points, BAD.
* Read-only, enforced twice: the client is wrapped in `ReadOnly` (only read calls are reachable) and
  every outgoing PDU passes `_refuse_writes`, which raises `WriteRefused` for any function code other
  than 1–4 before a byte is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from ingest_daemons.pollers.base import DeviceSpec, LastGood, PointSpec, ReadOnly, Sample, WriteRefused
from mcs.modbus_codec import decode_registers, register_count

log = logging.getLogger(__name__)

# register_type → (table, Modicon base, function code)
TABLES = {"coil": ("c", 1, 1), "discrete": ("d", 10001, 2), "input": ("i", 30001, 4), "holding": ("h", 40001, 3)}
READ_FUNCTIONS = frozenset({1, 2, 3, 4})
READ_CALLS = {"c": "read_coils", "d": "read_discrete_inputs", "h": "read_holding_registers",
              "i": "read_input_registers"}
MAX_REGISTERS = 125      # FC03/FC04 protocol limit
MAX_BITS = 2000          # FC01/FC02 protocol limit
ILLEGAL_ADDRESS = 2
RECONNECT_MIN_S, RECONNECT_MAX_S = 1.0, 60.0


def _refuse_writes(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
    """pymodbus trace hook on every PDU: nothing but FC01–FC04 may leave the edge."""
    if sending and pdu.function_code not in READ_FUNCTIONS:
        raise WriteRefused(f"Modbus function {pdu.function_code} refused: the edge is read-only")
    return pdu


@dataclass(frozen=True)
class Mapped:
    point: PointSpec
    unit: int
    table: str
    address: int      # zero-based PDU address
    count: int        # registers, or 1 bit


@dataclass(frozen=True)
class ReadRequest:
    unit: int
    table: str
    address: int
    count: int
    points: tuple[Mapped, ...]

    @property
    def function_code(self) -> int:
        return {"c": 1, "d": 2, "h": 3, "i": 4}[self.table]


def map_point(p: PointSpec, unit: int) -> Mapped:
    """Registry point → table and zero-based address (ValueError for an unusable address/type)."""
    register_type = (p.register_type or "holding").lower()
    if register_type not in TABLES:
        raise ValueError(f"{p.tag}: unknown register_type {p.register_type!r}")
    table, base, _ = TABLES[register_type]
    try:
        address = int(str(p.address).strip()) - base
    except ValueError:
        raise ValueError(f"{p.tag}: address {p.address!r} is not a Modicon reference") from None
    if not 0 <= address <= 65535:
        raise ValueError(f"{p.tag}: address {p.address} outside the {register_type} range")
    count = 1 if table in ("c", "d") else register_count(p.data_type)
    return Mapped(p, unit, table, address, count)


def plan_requests(mapped: list[Mapped], *, coalesce: bool = True, max_registers: int = MAX_REGISTERS,
                  max_gap: int = 0) -> list[ReadRequest]:
    """Fewest bounded read requests covering the points (one per point when coalesce is False)."""
    if not coalesce:
        return [ReadRequest(m.unit, m.table, m.address, m.count, (m,)) for m in mapped]
    groups: dict[tuple[int, str], list[Mapped]] = defaultdict(list)
    for m in mapped:
        groups[(m.unit, m.table)].append(m)
    out: list[ReadRequest] = []
    for (unit, table), items in sorted(groups.items()):
        limit = MAX_BITS if table in ("c", "d") else max(1, min(max_registers, MAX_REGISTERS))
        items.sort(key=lambda m: (m.address, m.count))
        start = end = -1
        members: list[Mapped] = []
        for m in items:
            m_end = m.address + m.count
            if members and m.address <= end + max_gap and max(end, m_end) - start <= limit:
                end = max(end, m_end)
                members.append(m)
                continue
            if members:
                out.append(ReadRequest(unit, table, start, end - start, tuple(members)))
            start, end, members = m.address, m_end, [m]
        if members:
            out.append(ReadRequest(unit, table, start, end - start, tuple(members)))
    return out


class DeviceError(Exception):
    """A Modbus exception response (the device answered, but not with data)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code


class ModbusPoller:
    """Reads points of the devices behind one TCP endpoint (host, port); one request at a time."""

    protocol = "modbus"

    def __init__(self, host: str, port: int, devices: list[DeviceSpec], points: list[PointSpec], *,
                 coalesce: bool = True, max_registers: int | None = None, max_gap: int | None = None,
                 timeout_s: float | None = None, retries: int | None = None) -> None:
        self.host, self.port = host, port
        self.devices = {d.device_id: d for d in devices}
        first = devices[0]
        gateway = any(d.protocol == "modbus-rtu" for d in devices)
        self.timeout_s = float(timeout_s or first.param("timeout_s", 2.0 if gateway else 3.0))
        self.retries = int(first.param("retries", 1) if retries is None else retries)
        self.max_registers = int(max_registers or first.param("max_registers", MAX_REGISTERS))
        self.max_gap = int(first.param("max_gap", 4) if max_gap is None else max_gap)
        self.coalesce = coalesce
        self.mapped: dict[str, Mapped] = {}
        self.unmappable: dict[str, str] = {}
        for p in points:
            dev = self.devices.get(p.device_id or "")
            try:
                if dev is None:
                    raise ValueError(f"{p.tag}: device {p.device_id!r} is not on {host}:{port}")
                self.mapped[p.tag] = map_point(p, dev.unit_id or 1)
            except ValueError as exc:   # a bad address must not take the other points down
                log.error("modbus %s:%s: %s (published BAD)", host, port, exc)
                self.unmappable[p.tag] = str(exc)
        self.points = {p.tag: p for p in points}
        self.plans: dict[frozenset[str], list[ReadRequest]] = {}
        self.last_good = LastGood()
        self.client: ReadOnly | None = None
        self._lock = asyncio.Lock()
        self._backoff = 0.0
        self._next_connect = 0.0
        self.requests_total = 0
        self.function_codes: set[int] = set()

    # -- connection ------------------------------------------------------------------------------------
    async def _connected(self) -> ReadOnly:
        if self.client is not None and self.client.connected:
            return self.client
        now = time.monotonic()
        if now < self._next_connect:
            raise ConnectionError(f"{self.host}:{self.port} unreachable, next attempt in "
                                  f"{self._next_connect - now:.0f} s")
        raw = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0,
                                   reconnect_delay=0, trace_pdu=_refuse_writes)
        client = ReadOnly(raw, {"connect", "close", "connected", *READ_CALLS.values()})
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout_s + 1)
        except (TimeoutError, OSError, ModbusException):
            ok = False
        if not ok:
            client.close()
            self._mark_down()
            raise ConnectionError(f"{self.host}:{self.port} connect failed (retry in {self._backoff:.0f} s)")
        self._backoff = 0.0
        self.client = client
        return client

    def _mark_down(self) -> None:
        self._drop()
        self._backoff = min(max(self._backoff * 2, RECONNECT_MIN_S), RECONNECT_MAX_S)
        self._next_connect = time.monotonic() + self._backoff

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    # -- requests --------------------------------------------------------------------------------------
    async def _execute(self, req: ReadRequest) -> list[int] | list[bool]:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(0.1 * 2 ** (attempt - 1), 1.0))
            client = await self._connected()
            call = getattr(client, READ_CALLS[req.table])
            try:
                self.requests_total += 1
                self.function_codes.add(req.function_code)
                rr = await asyncio.wait_for(call(req.address, count=req.count, device_id=req.unit),
                                            self.timeout_s + 1)
            except (TimeoutError, ConnectionException, ModbusException, OSError) as exc:
                last = exc
                self._drop()          # a late answer must not be taken for the next request's
                continue
            if rr.isError():
                code = int(getattr(rr, "exception_code", 0) or 0)
                err = DeviceError(code, f"unit {req.unit} exception {code:#04x}")
                if code in (0x0A, 0x0B) and attempt < self.retries:   # gateway: path/target busy or silent
                    last = err
                    continue
                raise err
            return rr.bits if req.table in ("c", "d") else rr.registers
        if not isinstance(last, DeviceError):
            self._mark_down()     # the rest of this cycle reports BAD at once instead of timing out again
        raise last if last is not None else ConnectionError("no attempt made")

    def plan(self, tags: frozenset[str]) -> list[ReadRequest]:
        if tags not in self.plans:
            mapped = [self.mapped[t] for t in sorted(tags) if t in self.mapped]
            self.plans[tags] = plan_requests(mapped, coalesce=self.coalesce, max_registers=self.max_registers,
                                             max_gap=self.max_gap)
        return self.plans[tags]

    def _decode(self, req: ReadRequest, data: list[int] | list[bool], ts: float) -> list[Sample]:
        out = []
        for m in req.points:
            p = m.point
            off = m.address - req.address
            try:
                if req.table in ("c", "d"):
                    value = (1.0 if data[off] else 0.0) * p.scale + p.offset
                else:
                    value = decode_registers(list(data[off:off + m.count]), p.data_type, p.word_order, p.scale,
                                             p.offset)
            except (ValueError, IndexError) as exc:
                out.append(self.last_good.bad(p, ts, f"decode: {exc}"))
                continue
            out.append(self.last_good.good(p, ts, value))
        return out

    async def _read_request(self, req: ReadRequest, tags: frozenset[str]) -> list[Sample]:
        try:
            data = await self._execute(req)
        except DeviceError as exc:
            if exc.code == ILLEGAL_ADDRESS and len(req.points) > 1:
                # The device does not like a bridged or long range: re-plan this group tighter.
                log.warning("modbus %s:%s unit %d: %s on %d-point request at %d; splitting", self.host, self.port,
                            req.unit, exc, len(req.points), req.address)
                mapped = list(req.points)
                split = plan_requests(mapped, max_registers=self.max_registers, max_gap=0)
                if len(split) == 1:
                    split = plan_requests(mapped, coalesce=False)
                plan = self.plans.get(tags, [])
                if req in plan:
                    i = plan.index(req)
                    self.plans[tags] = plan[:i] + split + plan[i + 1:]
                out: list[Sample] = []
                for sub in split:
                    out += await self._read_request(sub, frozenset())
                return out
            return [self.last_good.bad(m.point, time.time(), str(exc)) for m in req.points]
        except (ConnectionError, TimeoutError, ModbusException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            return [self.last_good.bad(m.point, time.time(), reason) for m in req.points]
        return self._decode(req, data, time.time())

    async def read(self, tags: list[str] | None = None) -> list[Sample]:
        """One sample per requested point (BAD for the ones that could not be read)."""
        wanted = frozenset(tags if tags is not None else self.points)
        out: list[Sample] = []
        async with self._lock:
            for req in list(self.plan(wanted)):
                if self.client is None and time.monotonic() < self._next_connect:
                    # Backing off: do not wait for the device, report its points BAD now.
                    out += [self.last_good.bad(m.point, time.time(), "device unreachable (backing off)")
                            for m in req.points]
                    continue
                out += await self._read_request(req, wanted)
        now = time.time()
        out += [self.last_good.bad(self.points[t], now, self.unmappable[t]) for t in sorted(wanted)
                if t in self.unmappable]
        return out


def pollers_for(devices: list[DeviceSpec], points: list[PointSpec], **kwargs) -> list[ModbusPoller]:
    """One poller per Modbus TCP endpoint (an RTU gateway's units share one connection)."""
    by_endpoint: dict[tuple[str, int], list[DeviceSpec]] = defaultdict(list)
    for d in devices:
        if d.protocol in ("modbus-tcp", "modbus-rtu") and d.port:
            by_endpoint[(d.host or "127.0.0.1", int(d.port))].append(d)
    out = []
    for (host, port), devs in sorted(by_endpoint.items()):
        ids = {d.device_id for d in devs}
        pts = [p for p in points if p.device_id in ids]
        if pts:
            out.append(ModbusPoller(host, port, devs, pts, **kwargs))
    return out
