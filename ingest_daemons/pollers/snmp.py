"""SNMP poller (pysnmp 7 asyncio): v1/v2c community or v3 authPriv, GET plus GETBULK for table columns.

* Points of one device whose OIDs are rows of the same table column (same parent OID, at least
  `bulk_min_rows` of them, e.g. a PDU's outlet power column) are read with one GETBULK starting just
  before the first row; the others with GETs of at most `max_oids` varbinds. A row a GETBULK did not
  return is read with a GET in the same cycle. (With every OID known from the registry, GETs alone
  would need fewer requests on the demo devices — 1 vs 2–3 per agent; GETBULK is what stays correct
  when a table's rows move, and `bulk: false` in the device params switches it off.)
* Values: raw × scale + offset (Integer32 signed, Gauge32/TimeTicks/Counter unsigned). A rate point
  (kind `analog` on a Counter32/Counter64, e.g. uplink utilisation) is published as
  Δraw/Δt × scale with the counter's wrap handled (+2³² / +2⁶⁴); its first sample is UNCERTAIN 0
  (no rate yet), as sites/README.md specifies. Event counters (kind `counter`) are published raw.
* v3 keys come from the environment variables the device's params name (`auth_key_env`,
  `priv_key_env`); a missing variable falls back to the simulator's development key with a warning,
  so the demo stack works without secrets — set the variables on a real edge.
* Read-only: only GET and GETBULK are imported; this module has no SET path (tests check it).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    usmAesCfb128Protocol,
    usmAesCfb256Protocol,
    usmDESPrivProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import rfc1905

from ingest_daemons.pollers.base import UNCERTAIN, DeviceSpec, LastGood, PointSpec, Sample

log = logging.getLogger(__name__)

OID = tuple[int, ...]
AUTH = {"SHA": usmHMACSHAAuthProtocol, "MD5": usmHMACMD5AuthProtocol, "SHA256": usmHMAC192SHA256AuthProtocol,
        "SHA512": usmHMAC384SHA512AuthProtocol}
PRIV = {"AES128": usmAesCfb128Protocol, "AES": usmAesCfb128Protocol, "AES256": usmAesCfb256Protocol,
        "DES": usmDESPrivProtocol}
COUNTER_BITS = {"Counter32": 32, "Counter64": 64}
NO_VALUE = (rfc1905.NoSuchObject, rfc1905.NoSuchInstance, rfc1905.EndOfMibView)


def oid_of(text: str) -> OID:
    return tuple(int(x) for x in str(text).strip().strip(".").split("."))


def v3_key(name: str | None) -> str:
    if not name:
        raise ValueError("SNMP v3 device params need auth_key_env / priv_key_env")
    value = os.environ.get(name)
    if value:
        return value
    log.warning("%s is not set: using the simulator's development key (set it on a real edge)", name)
    return f"mcs-sim-{name.lower()}"


def credentials(device: DeviceSpec) -> CommunityData | UsmUserData:
    p = device.params
    version = str(p.get("version", "2c"))
    if version == "3":
        return UsmUserData(p["user"], v3_key(p.get("auth_key_env")), v3_key(p.get("priv_key_env")),
                           authProtocol=AUTH[str(p.get("auth_protocol", "SHA")).upper()],
                           privProtocol=PRIV[str(p.get("priv_protocol", "AES128")).upper()])
    return CommunityData(str(p.get("community", "public")), mpModel=0 if version == "1" else 1)


@dataclass(frozen=True)
class Bulk:
    start: OID
    repetitions: int
    oids: tuple[OID, ...]


def plan_oids(oids: list[OID], *, bulk_min_rows: int = 3, max_oids: int = 20) -> tuple[list[Bulk], list[list[OID]]]:
    """Split OIDs into GETBULKs over table columns and GET chunks for the rest."""
    by_parent: dict[OID, list[OID]] = defaultdict(list)
    for o in sorted(set(oids)):
        by_parent[o[:-1]].append(o)
    bulks: list[Bulk] = []
    singles: list[OID] = []
    for parent, rows in sorted(by_parent.items()):
        lasts = [r[-1] for r in rows]
        span = max(lasts) - min(lasts) + 1
        if len(rows) >= bulk_min_rows and span <= 3 * len(rows):
            start = parent + ((min(lasts) - 1,) if min(lasts) > 0 else ())
            bulks.append(Bulk(start, span, tuple(rows)))
        else:
            singles += rows
    chunks = [singles[i:i + max_oids] for i in range(0, len(singles), max_oids)]
    return bulks, chunks


class SnmpPoller:
    """Reads one SNMP agent's points."""

    protocol = "snmp"

    def __init__(self, device: DeviceSpec, points: list[PointSpec], engine: SnmpEngine | None = None, *,
                 bulk: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self.clock = clock
        self.engine = engine or SnmpEngine()
        self.auth = credentials(device)
        self.timeout_s = float(device.param("timeout_s", 5))
        self.retries = int(device.param("retries", 2))
        bulk = bulk and bool(device.param("bulk", True))
        self.bulk_min_rows = int(device.param("bulk_min_rows", 3)) if bulk else 10**9
        self.max_oids = int(device.param("max_oids", 20))
        self.points = {p.tag: p for p in points}
        self.by_oid: dict[OID, list[PointSpec]] = defaultdict(list)
        for p in points:
            self.by_oid[oid_of(p.address or "")].append(p)
        self.last_good = LastGood()
        self.counters: dict[str, tuple[int, float]] = {}
        self._target: UdpTransportTarget | None = None
        self.requests_total = 0
        self.bulk_requests = 0

    async def target(self) -> UdpTransportTarget:
        if self._target is None:
            self._target = await UdpTransportTarget.create((self.device.host or "127.0.0.1", int(self.device.port)),
                                                           timeout=self.timeout_s, retries=self.retries)
        return self._target

    async def _get(self, oids: list[OID]) -> dict[OID, object]:
        self.requests_total += 1
        err, status, index, binds = await get_cmd(self.engine, self.auth, await self.target(), ContextData(),
                                                  *[ObjectType(ObjectIdentity(o)) for o in oids], lookupMib=False)
        if err is not None:
            raise ConnectionError(str(err))
        if status:
            raise ValueError(f"{status.prettyPrint()} at varbind {int(index)}")
        return {tuple(b[0]): b[1] for b in binds}

    async def _bulk(self, b: Bulk) -> dict[OID, object]:
        self.requests_total += 1
        self.bulk_requests += 1
        err, status, index, binds = await bulk_cmd(self.engine, self.auth, await self.target(), ContextData(), 0,
                                                   b.repetitions, ObjectType(ObjectIdentity(b.start)),
                                                   lookupMib=False)
        if err is not None:
            raise ConnectionError(str(err))
        if status:
            raise ValueError(f"{status.prettyPrint()} at varbind {int(index)}")
        return {tuple(vb[0]): vb[1] for vb in binds}

    def _sample(self, p: PointSpec, value: object, ts: float) -> Sample:
        if isinstance(value, NO_VALUE) or value is None:
            return self.last_good.bad(p, ts, f"{p.address}: {type(value).__name__ if value is not None else 'missing'}")
        try:
            raw = int(value)
        except (TypeError, ValueError):
            return self.last_good.bad(p, ts, f"{p.address}: not a number ({value!r})")
        bits = COUNTER_BITS.get(p.snmp_type or "")
        if bits and p.kind == "analog":
            prev = self.counters.get(p.tag)
            self.counters[p.tag] = (raw, ts)
            if prev is None or ts <= prev[1]:
                return Sample(p.tag, ts, 0.0, UNCERTAIN, "first counter sample: no rate yet")
            delta = (raw - prev[0]) % 2**bits          # a wrap adds 2^bits
            return self.last_good.good(p, ts, delta / (ts - prev[1]) * p.scale)
        return self.last_good.good(p, ts, raw * p.scale + p.offset)

    async def read(self, tags: list[str] | None = None) -> list[Sample]:
        wanted = [self.points[t] for t in (tags if tags is not None else self.points)]
        oids = [oid_of(p.address or "") for p in wanted]
        bulks, chunks = plan_oids(oids, bulk_min_rows=self.bulk_min_rows, max_oids=self.max_oids)
        values: dict[OID, object] = {}
        errors: dict[OID, str] = {}
        for b in bulks:
            try:
                got = await self._bulk(b)
                values.update({o: got[o] for o in b.oids if o in got})
                missing = [o for o in b.oids if o not in got]
                if missing:
                    chunks.append(missing)
            except (ConnectionError, ValueError) as exc:
                errors.update({o: str(exc) for o in b.oids})
                if isinstance(exc, ConnectionError):
                    chunks = []             # the agent is not answering: do not wait for each GET too
                    errors.update({o: str(exc) for o in oids if o not in values})
                    break
        for chunk in chunks:
            try:
                values.update(await self._get(chunk))
            except ConnectionError as exc:
                errors.update({o: str(exc) for o in oids if o not in values})
                break
            except ValueError as exc:
                errors.update({o: str(exc) for o in chunk})
        ts = self.clock()
        out = []
        for p, o in zip(wanted, oids, strict=True):
            if o in values:
                out.append(self._sample(p, values[o], ts))
            else:
                out.append(self.last_good.bad(p, ts, errors.get(o, f"{p.address}: no answer")))
        return out

    async def close(self) -> None:
        """Nothing per device: the shared SnmpEngine is closed by its owner."""


def pollers_for(devices: list[DeviceSpec], points: list[PointSpec], engine: SnmpEngine | None = None,
                **kwargs) -> list[SnmpPoller]:
    out = []
    for d in devices:
        if d.protocol == "snmp" and d.port:
            pts = [p for p in points if p.device_id == d.device_id and p.protocol == "snmp" and p.address]
            if pts:
                out.append(SnmpPoller(d, pts, engine, **kwargs))
    return out
