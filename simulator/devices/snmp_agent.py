"""SNMP agents (pysnmp 7, asyncio) for a block's UPS, PDUs and switches: v2c and v3 authPriv.

Each agent answers GET, GETNEXT and GETBULK from a sorted OID table built from the registry's
points (OID, SNMP type, scale/offset) plus, on switches, the full IF-MIB ifTable/ifXTable rows of
the uplinks (a walkable table) and sysUpTime. Values are read from the live block at request time:

* Gauge32 / Integer32 / TimeTicks: raw = (value − offset) / scale.
* Counter32 / Counter64 behind a rate point (kind analog, e.g. uplink utilisation in %): the
  counter is the exact integral of the rate, raw(t) = ∫ value dt / scale, modulo 2³² / 2⁶⁴ — so
  the 1 GbE ifInOctets wraps every few minutes, as a real one does.
* Counter32 event counters (kind counter): the value itself, modulo 2³².

v3 keys come from the environment variables the device's params name (`auth_key_env`,
`priv_key_env`); when unset the simulator uses `mcs-sim-<variable in lower case>` and says so in
the log, so a local poller configured the same way can talk to it.
During COMMS_LOSS the agent drops requests silently (the poller times out).
"""

from __future__ import annotations

import bisect
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import instrum

from mcs.modbus_codec import raw_value
from simulator.devices.modbus_server import ValueSource
from simulator.model.readings import uplink_integral_pct_s
from simulator.registry_view import BlockBinding, DeviceBinding, PointBinding

log = logging.getLogger(__name__)

OID = tuple[int, ...]
AUTH = {"SHA": config.USM_AUTH_HMAC96_SHA, "MD5": config.USM_AUTH_HMAC96_MD5,
        "SHA256": config.USM_AUTH_HMAC192_SHA256, "SHA512": config.USM_AUTH_HMAC384_SHA512}
PRIV = {"AES128": config.USM_PRIV_CFB128_AES, "AES": config.USM_PRIV_CFB128_AES,
        "AES256": config.USM_PRIV_CFB256_AES, "DES": config.USM_PRIV_CBC56_DES}
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_X_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
UPLINK_SPEED = {1: 10_000_000_000, 2: 1_000_000_000}   # uplink 1 10 GbE, uplink 2 1 GbE (registry scales)


def oid_of(text: str) -> OID:
    return tuple(int(x) for x in text.strip(".").split("."))


def key_from_env(name: str | None) -> str:
    if not name:
        raise ValueError("SNMP v3 device params need auth_key_env / priv_key_env")
    value = os.environ.get(name)
    if value:
        return value
    fallback = f"mcs-sim-{name.lower()}"
    log.warning("%s is not set: the simulated agent uses the development key %r", name, fallback)
    return fallback


@dataclass
class OidTable:
    """Sorted OID → value producer, answering GET / GETNEXT."""

    producers: dict[OID, Callable[[], object]] = field(default_factory=dict)
    order: list[OID] = field(default_factory=list)

    def add(self, oid: OID, producer: Callable[[], object]) -> None:
        self.producers.setdefault(oid, producer)

    def freeze(self) -> None:
        self.order = sorted(self.producers)

    def get(self, oid: OID) -> object:
        producer = self.producers.get(oid)
        return rfc1905.noSuchInstance if producer is None else producer()

    def next(self, oid: OID) -> tuple[OID, object]:
        i = bisect.bisect_right(self.order, oid)
        if i >= len(self.order):
            return oid, rfc1905.endOfMibView
        nxt = self.order[i]
        return nxt, self.producers[nxt]()


class TableController(instrum.AbstractMibInstrumController):
    def __init__(self, table: OidTable) -> None:
        self.table = table

    def read_variables(self, *var_binds, **context):
        return [(name, self.table.get(tuple(name))) for name, _ in var_binds]

    def read_next_variables(self, *var_binds, **context):
        out = []
        for name, _ in var_binds:
            oid, value = self.table.next(tuple(name))
            out.append((rfc1902.ObjectName(oid), value))
        return out


def _wire(p: PointBinding, source: ValueSource, device_id: str, clock: Callable[[], float]) -> Callable[[], object]:
    """A producer of the point's SNMP value at request time."""
    snmp_type = p.snmp_type or "Gauge32"

    def engineering() -> float:
        return float(source.device_values(device_id).get(p.tag, 0.0))

    if snmp_type in ("Counter32", "Counter64"):
        bits = 32 if snmp_type == "Counter32" else 64
        cls = rfc1902.Counter32 if bits == 32 else rfc1902.Counter64
        if p.kind == "analog" and p.tag.startswith("SW-") and "-uplink" in p.tag:
            port = int(p.tag.split("-uplink")[1].split("-")[0])
            return lambda: cls(int(uplink_integral_pct_s(clock(), port) / p.scale) % 2**bits)
        return lambda: cls(int(engineering()) % 2**bits)
    cls = {"Gauge32": rfc1902.Gauge32, "Integer32": rfc1902.Integer32, "TimeTicks": rfc1902.TimeTicks}[snmp_type]
    data_type = "int32" if snmp_type == "Integer32" else "uint32"
    return lambda: cls(raw_value(engineering(), data_type, p.scale, p.value_offset))


def _interfaces(table: OidTable, points: list[PointBinding], source: ValueSource, device_id: str,
                clock: Callable[[], float]) -> None:
    """Complete ifTable/ifXTable rows of the uplinks a switch reports (a walkable table)."""
    ports = sorted({int(p.tag.split("-uplink")[1].split("-")[0]) for p in points if "-uplink" in p.tag})
    for n in ports:
        def octets(bits: int, n: int = n) -> int:
            # Same integral as the rate points: utilisation % of the link's speed.
            scale = 8 * 100 / UPLINK_SPEED.get(n, 1_000_000_000)
            return int(uplink_integral_pct_s(clock(), n) / scale) % 2**bits

        def up(n: int = n) -> rfc1902.Integer32:
            status = source.device_values(device_id).get(f"SW-01-uplink{n}-status", 1.0)
            return rfc1902.Integer32(1 if status >= 0.5 else 2)

        table.add(IF_TABLE + (1, n), lambda n=n: rfc1902.Integer32(n))
        table.add(IF_TABLE + (2, n), lambda n=n: rfc1902.OctetString(f"uplink{n}"))
        table.add(IF_TABLE + (5, n), lambda n=n: rfc1902.Gauge32(min(UPLINK_SPEED.get(n, 10**9), 2**32 - 1)))
        table.add(IF_TABLE + (8, n), up)
        table.add(IF_TABLE + (10, n), lambda octets=octets: rfc1902.Counter32(octets(32)))
        table.add(IF_TABLE + (20, n), lambda: rfc1902.Counter32(
            int(source.device_values(device_id).get("SW-01-errors", 0.0)) % 2**32))
        table.add(IF_X_TABLE + (6, n), lambda octets=octets: rfc1902.Counter64(octets(64)))
        table.add(IF_X_TABLE + (15, n), lambda n=n: rfc1902.Gauge32(UPLINK_SPEED.get(n, 10**9) // 1_000_000))


def build_table(binding: BlockBinding, device: DeviceBinding, source: ValueSource,
                clock: Callable[[], float] = time.time) -> OidTable:
    table = OidTable()
    points = [p for p in binding.points_of(device.device_id) if p.protocol == "snmp" and p.address]
    for p in points:
        table.add(oid_of(p.address), _wire(p, source, device.device_id, clock))
    if any(oid_of(p.address)[:len(IF_TABLE)] == IF_TABLE or "-uplink" in p.tag for p in points):
        _interfaces(table, points, source, device.device_id, clock)
    table.add(SYS_DESCR, lambda: rfc1902.OctetString(f"MCS simulator {device.device_id} ({binding.key[0]})"))
    table.freeze()
    return table


class SilenceableUdp(udp.UdpAsyncioTransport):
    """UDP transport that drops datagrams while the device is silenced (COMMS_LOSS)."""

    def __init__(self, silenced: Callable[[], bool]) -> None:
        super().__init__()
        self._silenced = silenced

    def datagram_received(self, datagram, transportAddress):
        if not self._silenced():
            super().datagram_received(datagram, transportAddress)


@dataclass
class SnmpAgent:
    device: DeviceBinding
    snmp_engine: engine.SnmpEngine

    def close(self) -> None:
        self.snmp_engine.close_dispatcher()


def start_agent(binding: BlockBinding, device: DeviceBinding, source: ValueSource,
                clock: Callable[[], float] = time.time) -> SnmpAgent:
    """Start one agent on the running asyncio loop."""
    snmp_engine = engine.SnmpEngine()
    transport = SilenceableUdp(lambda: source.is_silenced(device.device_id))
    config.add_transport(snmp_engine, udp.DOMAIN_NAME,
                         transport.open_server_mode((device.host or "127.0.0.1", int(device.port))))
    params = device.params
    if str(params.get("version", "2c")) == "3":
        config.add_v3_user(snmp_engine, params["user"], AUTH[str(params.get("auth_protocol", "SHA")).upper()],
                           key_from_env(params.get("auth_key_env")),
                           PRIV[str(params.get("priv_protocol", "AES128")).upper()],
                           key_from_env(params.get("priv_key_env")))
    else:
        config.add_v1_system(snmp_engine, "mcs-sim", str(params.get("community", "public")))
    snmp_context = context.SnmpContext(snmp_engine)
    snmp_context.unregister_context_name(b"")
    snmp_context.register_context_name(b"", TableController(build_table(binding, device, source, clock)))
    for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder, cmdrsp.BulkCommandResponder):
        responder(snmp_engine, snmp_context)
    log.info("snmp %s on udp %s:%s (v%s)", device.device_id, device.host, device.port, params.get("version", "2c"))
    return SnmpAgent(device, snmp_engine)


def agents_for(binding: BlockBinding) -> list[DeviceBinding]:
    return [d for d in binding.devices.values()
            if d.protocol == "snmp" and d.port and binding.points_of(d.device_id)]
