"""What every poller shares: point/device specs from the registry, samples, quality rules, counters.

Quality follows the MCS contract (domain §3.4): GOOD = read OK and inside [range_min, range_max];
UNCERTAIN = read OK but outside the range, or the value is older than 2× its poll interval (stale);
BAD = read failure, sensor fault or communication loss. A BAD sample carries the point's last good
value (0.0 if it never had one), so counters never appear to reset on a comms glitch.

Read-only: pollers talk to PLCs and the host BMS, which the platform observes but never commands
(domain §5.1, §2.9). Protocol clients are wrapped in `ReadOnly`, which forwards an explicit list of
read operations and raises `WriteRefused` for anything else, so a write cannot happen by accident.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

GOOD, UNCERTAIN, BAD = 0, 1, 2
POLL_GROUPS_MS = {"safety": 1000, "fast": 2000, "normal": 5000, "slow": 30000}


class WriteRefused(PermissionError):
    """A poller was asked to write to a device; the edge is strictly read-only toward PLC and BMS."""


class ReadOnly:
    """Proxy exposing only the named read operations of a protocol client (writes raise WriteRefused)."""

    __slots__ = ("_allowed", "_client")

    def __init__(self, client: Any, allowed: Iterable[str]) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_allowed", frozenset(allowed))

    def __getattr__(self, name: str) -> Any:
        if name in self._allowed:
            return getattr(self._client, name)
        raise WriteRefused(f"{type(self._client).__name__}.{name} is not a read operation: pollers are read-only")

    def __setattr__(self, name: str, value: Any) -> None:
        raise WriteRefused("pollers are read-only")


@dataclass(frozen=True)
class PointSpec:
    """The registry fields a poller needs (built from mcs.registry.PointRow or a simulator binding)."""

    tag: str
    subsystem: str
    kind: str
    unit: str
    protocol: str
    device_id: str | None
    address: str | None
    register_type: str | None = None
    data_type: str | None = None
    word_order: str | None = None
    snmp_type: str | None = None
    scale: float = 1.0
    offset: float = 0.0
    range_min: float | None = None
    range_max: float | None = None
    poll_ms: int = 5000
    point_id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> PointSpec:
        return cls(tag=row.tag, subsystem=row.subsystem, kind=row.kind, unit=row.unit, protocol=row.protocol,
                   device_id=row.device_id, address=row.address, register_type=row.register_type,
                   data_type=(row.data_type or None) and row.data_type.lower(), word_order=row.word_order,
                   snmp_type=row.snmp_type, scale=float(row.scale if row.scale is not None else 1.0) or 1.0,
                   offset=float(row.value_offset or 0.0), range_min=row.range_min, range_max=row.range_max,
                   poll_ms=int(row.poll_ms or 5000), point_id=getattr(row, "point_id", None))

    def quality_of(self, value: float) -> int:
        """GOOD inside the registered range, UNCERTAIN outside it (the read itself worked)."""
        if (self.range_min is not None and value < self.range_min) or \
                (self.range_max is not None and value > self.range_max):
            return UNCERTAIN
        return GOOD


@dataclass(frozen=True)
class DeviceSpec:
    device_id: str
    protocol: str
    host: str | None
    port: int | None
    unit_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> DeviceSpec:
        return cls(row.device_id, row.protocol, row.host, row.port, row.unit_id, dict(row.params or {}))

    def param(self, name: str, default: Any) -> Any:
        value = self.params.get(name)
        return default if value is None else value


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of one point: acquisition time (epoch s), engineering value, quality 0/1/2."""

    tag: str
    ts: float
    value: float
    quality: int
    error: str | None = None


def stale_quality(quality: int, ts: float, poll_ms: int, now: float | None = None) -> int:
    """Downgrade GOOD to UNCERTAIN when the value is older than twice its poll interval."""
    now = time.time() if now is None else now
    if quality == GOOD and now - ts > 2 * poll_ms / 1000.0:
        return UNCERTAIN
    return quality


class LastGood:
    """Last good value per tag, for BAD samples (so a comms glitch does not look like a counter reset)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def good(self, p: PointSpec, ts: float, value: float) -> Sample:
        self.values[p.tag] = value
        return Sample(p.tag, ts, value, p.quality_of(value))

    def bad(self, p: PointSpec, ts: float, error: str) -> Sample:
        return Sample(p.tag, ts, self.values.get(p.tag, 0.0), BAD, error)


@dataclass
class AdapterStats:
    """Per-adapter counters in the heartbeat's shape (domain §3.8)."""

    reads_total: int = 0
    errors_total: int = 0
    last_read_ts: float | None = None
    online: dict[str, bool] = field(default_factory=dict)
    running: bool = True

    def record(self, device_id: str, samples: list[Sample]) -> None:
        bad = sum(1 for s in samples if s.quality == BAD)
        self.reads_total += len(samples)
        self.errors_total += bad
        ok = bad < len(samples) or not samples
        self.online[device_id] = ok
        if ok and samples:
            self.last_read_ts = max(s.ts for s in samples)

    def as_heartbeat(self) -> dict[str, Any]:
        from mcs.wire import format_ts

        online = sum(1 for v in self.online.values() if v)
        status = "stopped" if not self.running else ("error" if self.online and online == 0 else "running")
        return {"status": status, "last_read_ts": format_ts(self.last_read_ts) if self.last_read_ts else None,
                "reads_total": self.reads_total, "errors_total": self.errors_total, "devices_online": online,
                "devices_total": len(self.online)}
