"""BACnet/IP poller (bacpypes3) for the host BMS: ReadPropertyMultiple, ReadProperty fallback, COV.

* Each poll reads presentValue and statusFlags of every point with one ReadPropertyMultiple. A
  device that rejects RPM (unrecognized service, segmentation) is remembered and read with
  ReadProperty per property from then on.
* Binary objects (demand, pump and BMS states — the T02/T05 guards) are also subscribed for COV with
  a finite lifetime (`cov_lifetime_s`, default 300 s, domain §2.9) and renewed at half the lifetime by
  the poller itself, so a renewal failure is seen and the subscription re-made; a notification is
  published at once instead of waiting for the 30 s poll.
* Units: analog objects also report their BACnet `units`; a value in a unit other than the point's
  canonical one is converted (°F → °C, bar/psi/Pa → kPa, L/s, L/min, gpm → m³/h, W → kW); an
  engineering unit the edge cannot convert makes the reading UNCERTAIN instead of publishing a
  wrong number.
* Quality: statusFlags fault → BAD; out-of-service or overridden → UNCERTAIN (the value is not the
  live field value); otherwise the range rule. Binary active/inactive → 1/0; analogs raw × scale + offset.
* Read-only toward the host BMS (§2.9): the application is wrapped in `ReadOnly`, which exposes only
  read_property, read_property_multiple and change_of_value; write_property raises WriteRefused.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable

from bacpypes3.apdu import ErrorRejectAbortNack
from bacpypes3.app import Application
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier

from ingest_daemons.pollers.base import BAD, GOOD, UNCERTAIN, DeviceSpec, LastGood, PointSpec, ReadOnly, Sample

log = logging.getLogger(__name__)

READ_CALLS = ("read_property", "read_property_multiple", "change_of_value", "close")
STATUS_FLAGS = ("in-alarm", "fault", "overridden", "out-of-service")
_process_ids = itertools.count(1)


def parse_object(address: str) -> ObjectIdentifier:
    kind, _, instance = str(address).replace(":", ",").partition(",")
    return ObjectIdentifier(f"{kind.strip()},{int(instance)}")


def flags_quality(flags: object) -> int:
    """statusFlags (in-alarm, fault, overridden, out-of-service) → MCS quality before the range rule."""
    try:
        bits = [int(b) for b in flags]      # bacpypes3 StatusFlags is a BitString (a list of 0/1)
    except TypeError:
        return GOOD
    bits += [0] * (4 - len(bits))
    if bits[1]:
        return BAD
    if bits[2] or bits[3]:
        return UNCERTAIN
    return GOOD


# BACnet engineering units → (canonical unit, conversion)
CONVERSIONS = {
    "degreesFahrenheit": ("°C", lambda v: (v - 32.0) * 5.0 / 9.0), "degreesKelvin": ("°C", lambda v: v - 273.15),
    "degreesCelsius": ("°C", None), "kilopascals": ("kPa", None), "pascals": ("kPa", lambda v: v / 1000.0),
    "bars": ("kPa", lambda v: v * 100.0), "poundsForcePerSquareInch": ("kPa", lambda v: v * 6.894757),
    "cubicMetersPerHour": ("m³/h", None), "litersPerSecond": ("m³/h", lambda v: v * 3.6),
    "litersPerMinute": ("m³/h", lambda v: v * 0.06), "usGallonsPerMinute": ("m³/h", lambda v: v * 0.2271247),
    "kilowatts": ("kW", None), "watts": ("kW", lambda v: v / 1000.0), "percent": ("%", None),
}


_CONVERSIONS = {k.lower(): v for k, v in CONVERSIONS.items()}


def to_canonical(p: PointSpec, value: float, units: object) -> tuple[float, bool]:
    """(value in the point's unit, converted-or-already-right). Unknown pairs are not guessed."""
    name = str(units).replace("-", "").lower() if units is not None else ""     # bacpypes3: "degrees-celsius"
    if not name or name == "nounits":
        return value, True
    canonical, fn = _CONVERSIONS.get(name, (None, None))
    if canonical != p.unit:
        return value, False
    return (fn(value) if fn else value), True


def engineering(p: PointSpec, value: object) -> float:
    text = str(value)
    binary = {"active": 1.0, "inactive": 0.0}
    raw = binary[text] if text in binary else float(value)          # Real, Unsigned, Enumerated…
    return raw * p.scale + p.offset


class BacnetPoller:
    """Reads one BACnet device's points; owns a client application bound to `local_address`."""

    protocol = "bacnet"

    def __init__(self, device: DeviceSpec, points: list[PointSpec], local_address: str | None = None, *,
                 on_samples: Callable[[list[Sample]], None] | None = None, cov: bool = True,
                 instance: int | None = None) -> None:
        self.device = device
        self.points = {p.tag: p for p in points}
        self.objects = {p.tag: parse_object(p.address or "") for p in points}
        self.address = Address(f"{device.host or '127.0.0.1'}:{device.port}")
        self.local_address = local_address or f"{device.host or '127.0.0.1'}/32:{int(device.port) + 1}"
        self.timeout_s = float(device.param("timeout_s", 5))
        self.cov_lifetime_s = int(device.param("cov_lifetime_s", 300))
        self.instance = instance or 4_000_000 + int(device.param("device_instance", 100))
        self.on_samples = on_samples
        self.cov_enabled = cov
        self.rpm_supported = True
        self.last_good = LastGood()
        self.flags: dict[str, int] = {}
        self.units: dict[str, object] = {}
        self.unit_warned: set[str] = set()
        self.app: ReadOnly | None = None
        self.cov_tasks: list[asyncio.Task] = []
        self.cov_notifications = 0
        self.cov_renewals = 0
        self.cov_errors = 0
        self.requests_total = 0

    async def start(self) -> None:
        if self.app is not None:
            return
        args = argparse.Namespace(vendoridentifier=999, instance=self.instance, name=f"mcs-edge-{self.instance}",
                                  address=self.local_address, network=0, foreign=None, bbmd=None, ttl=30)
        self.app = ReadOnly(Application.from_args(args), READ_CALLS)
        if self.cov_enabled and self.on_samples is not None:
            for tag, obj in self.objects.items():
                if obj[0].attr.startswith("binary"):
                    self.cov_tasks.append(asyncio.create_task(self._cov(tag), name=f"cov-{tag}"))

    async def close(self) -> None:
        for t in self.cov_tasks:
            t.cancel()
        for t in self.cov_tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception, ErrorRejectAbortNack):
                await t
        self.cov_tasks = []
        if self.app is not None:
            self.app.close()
            self.app = None

    # -- polling ---------------------------------------------------------------------------------------
    def _sample(self, p: PointSpec, value: object, flags: object, ts: float) -> Sample:
        if isinstance(value, ErrorRejectAbortNack) or value is None or type(value).__name__ == "ErrorType":
            return self.last_good.bad(p, ts, f"{p.address}: {value}")
        try:
            v, convertible = to_canonical(p, engineering(p, value), self.units.get(p.tag))
        except (TypeError, ValueError):
            return self.last_good.bad(p, ts, f"{p.address}: not a number ({value!r})")
        fq = flags_quality(flags) if flags is not None else self.flags.get(p.tag, GOOD)
        if not convertible:
            fq = max(fq, UNCERTAIN)
            if p.tag not in self.unit_warned:
                self.unit_warned.add(p.tag)
                log.warning("bacnet %s %s: device reports %s, point unit %s: published UNCERTAIN",
                            self.device.device_id, p.tag, self.units.get(p.tag), p.unit)
        self.flags[p.tag] = fq
        if fq == BAD:
            return self.last_good.bad(p, ts, "statusFlags: fault")
        s = self.last_good.good(p, ts, v)
        return Sample(s.tag, s.ts, s.value, max(s.quality, fq), s.error)

    def _props(self, tag: str) -> list[str]:
        props = ["present-value", "status-flags"]
        if self.objects[tag][0].attr.startswith("analog"):
            props.append("units")
        return props

    async def _rpm(self, tags: list[str]) -> dict[str, tuple[object, object]]:
        request: list = []
        for t in tags:
            request += [self.objects[t], self._props(t)]
        self.requests_total += 1
        result = await asyncio.wait_for(self.app.read_property_multiple(self.address, request), self.timeout_s)
        by_obj: dict[tuple, dict[str, object]] = {}
        for objid, prop, _idx, value in result:
            by_obj.setdefault(tuple(objid), {})[str(prop)] = value
        out = {}
        for t in tags:
            props = by_obj.get(tuple(self.objects[t]), {})
            if "units" in props and not isinstance(props["units"], ErrorRejectAbortNack):
                self.units[t] = props["units"]
            out[t] = (props.get("present-value"), props.get("status-flags"))
        return out

    async def _rp(self, tags: list[str]) -> dict[str, tuple[object, object]]:
        out = {}
        for t in tags:
            values = []
            props = self._props(t) if t not in self.units else ["present-value", "status-flags"]
            for prop in props:
                self.requests_total += 1
                try:
                    values.append(await asyncio.wait_for(
                        self.app.read_property(self.address, self.objects[t], prop), self.timeout_s))
                except ErrorRejectAbortNack as exc:
                    if "no-response" in str(exc):
                        raise                    # the device is gone: do not wait out every property
                    values.append(exc if prop == "present-value" else None)
            if len(values) > 2 and values[2] is not None:
                self.units[t] = values[2]
            out[t] = (values[0], values[1])
        return out

    async def read(self, tags: list[str] | None = None) -> list[Sample]:
        wanted = list(tags if tags is not None else self.points)
        await self.start()
        try:
            if self.rpm_supported:
                try:
                    got = await self._rpm(wanted)
                except ErrorRejectAbortNack as exc:
                    if "timeout" in str(exc).lower() or "no-response" in str(exc).lower():
                        raise
                    log.warning("bacnet %s: ReadPropertyMultiple refused (%s); falling back to ReadProperty",
                                self.device.device_id, exc)
                    self.rpm_supported = False
                    got = await self._rp(wanted)
            else:
                got = await self._rp(wanted)
        except (TimeoutError, ErrorRejectAbortNack, OSError) as exc:
            ts = time.time()
            reason = str(exc) or type(exc).__name__
            return [self.last_good.bad(self.points[t], ts, reason) for t in wanted]
        ts = time.time()
        return [self._sample(self.points[t], *got[t], ts) for t in wanted]

    # -- COV -------------------------------------------------------------------------------------------
    async def _cov(self, tag: str) -> None:
        """Keep a COV subscription alive for one object; renew at half its lifetime; re-make on failure."""
        p, obj = self.points[tag], self.objects[tag]
        backoff = 1.0
        while True:
            try:
                pid = next(_process_ids)
                async with self.app.change_of_value(self.address, obj, pid, False, self.cov_lifetime_s) as scm:
                    self._cancel_auto_refresh(scm)
                    backoff = 1.0
                    renew_at = time.monotonic() + self.cov_lifetime_s / 2
                    while True:
                        try:
                            prop, value = await asyncio.wait_for(scm.get_value(),
                                                                 max(renew_at - time.monotonic(), 0.01))
                        except TimeoutError:
                            await asyncio.wait_for(scm.refresh_subscription(), self.timeout_s)
                            self._cancel_auto_refresh(scm)
                            self.cov_renewals += 1
                            renew_at = time.monotonic() + self.cov_lifetime_s / 2
                            continue
                        if str(prop) == "status-flags":
                            self.flags[tag] = flags_quality(value)
                        elif str(prop) == "present-value":
                            self.cov_notifications += 1
                            sample = self._sample(p, value, None, time.time())
                            if self.on_samples is not None:
                                self.on_samples([sample])
            except asyncio.CancelledError:
                raise
            except (Exception, ErrorRejectAbortNack) as exc:   # noqa: BLE001 — log, back off, subscribe again
                # (bacpypes3's Error/Reject/Abort PDUs derive from BaseException, not Exception)
                self.cov_errors += 1
                log.warning("bacnet %s %s: COV subscription lost (%s); retry in %.0f s", self.device.device_id,
                            tag, exc or type(exc).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    @staticmethod
    def _cancel_auto_refresh(scm) -> None:
        """bacpypes3 schedules its own silent refresh; the poller renews explicitly instead."""
        if scm.refresh_subscription_handle is not None:
            scm.refresh_subscription_handle.cancel()
            scm.refresh_subscription_handle = None


def pollers_for(devices: list[DeviceSpec], points: list[PointSpec], **kwargs) -> list[BacnetPoller]:
    out = []
    for d in devices:
        if d.protocol == "bacnet-ip" and d.port:
            pts = [p for p in points if p.device_id == d.device_id and p.protocol == "bacnet-ip" and p.address]
            if pts:
                out.append(BacnetPoller(d, pts, **kwargs))
    return out
