"""The registry as the simulator needs it: blocks to model, their devices and points.

Read from the database (`ref.*`, what `mcs simulate` and `mcs backfill` use, with point_ids) or
straight from the site files (tests and tools that have no database).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from simulator.model.spec import BlockSpec

BLOCKS_SQL = text("""
SELECT s.site_id, s.timezone, s.latitude, s.grid_hz, s.host_name, s.name AS site_name,
       b.block_id, b.it_capacity_kw, b.rack_count, b.commissioned_on
FROM ref.blocks b JOIN ref.sites s USING (site_id)
WHERE b.retired_at IS NULL AND s.retired_at IS NULL
  AND (CAST(:site_id AS text) IS NULL OR s.site_id = :site_id)
ORDER BY s.site_id, b.block_id
""")

DEVICES_SQL = text("""
SELECT site_id, block_id, device_id, protocol, host, port, unit_id, params
FROM ref.devices WHERE retired_at IS NULL AND (CAST(:site_id AS text) IS NULL OR site_id = :site_id)
""")

POINTS_SQL = text("""
SELECT point_id, site_id, block_id, tag, subsystem, kind, unit, protocol, device_id, address, register_type,
       data_type, word_order, snmp_type, scale, value_offset, range_min, range_max, precision, poll_ms, enum_map
FROM ref.points WHERE retired_at IS NULL AND (CAST(:site_id AS text) IS NULL OR site_id = :site_id)
ORDER BY site_id, block_id, point_id
""")


@dataclass(frozen=True)
class PointBinding:
    point_id: int | None
    tag: str
    subsystem: str
    kind: str
    unit: str
    protocol: str
    device_id: str | None = None
    address: str | None = None
    register_type: str | None = None
    data_type: str | None = None
    word_order: str | None = None
    snmp_type: str | None = None
    scale: float = 1.0
    value_offset: float = 0.0
    range_min: float | None = None
    range_max: float | None = None
    precision: float | None = None
    poll_ms: int = 5000


@dataclass(frozen=True)
class DeviceBinding:
    device_id: str
    protocol: str
    host: str | None
    port: int | None
    unit_id: int | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BlockBinding:
    spec: BlockSpec
    devices: dict[str, DeviceBinding]
    points: list[PointBinding]

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.site_id, self.spec.block_id

    def points_of(self, device_id: str) -> list[PointBinding]:
        return [p for p in self.points if p.device_id == device_id]


def host_profile(*names: str | None) -> str:
    """The host's demand profile, recognised from its name (brewery unless it says food)."""
    text_ = " ".join(n or "" for n in names).lower()
    return "food_plant" if "food" in text_ else "brewery"


def load_bindings(engine: Engine, site_id: str | None = None, seed: int = 0) -> list[BlockBinding]:
    with engine.connect() as conn:
        blocks = conn.execute(BLOCKS_SQL, {"site_id": site_id}).mappings().all()
        devices = conn.execute(DEVICES_SQL, {"site_id": site_id}).mappings().all()
        points = conn.execute(POINTS_SQL, {"site_id": site_id}).mappings().all()
    out: list[BlockBinding] = []
    for b in blocks:
        key = (b["site_id"], b["block_id"])
        spec = BlockSpec(site_id=b["site_id"], block_id=b["block_id"], timezone=b["timezone"],
                         latitude=b["latitude"] if b["latitude"] is not None else 40.0, grid_hz=b["grid_hz"],
                         it_capacity_kw=b["it_capacity_kw"], rack_count=b["rack_count"],
                         host_profile=host_profile(b["host_name"], b["site_name"]),
                         commissioned_on=b["commissioned_on"], seed=seed)
        devs = {d["device_id"]: DeviceBinding(d["device_id"], d["protocol"], d["host"], d["port"], d["unit_id"],
                                              _json(d["params"]))
                for d in devices if (d["site_id"], d["block_id"]) == key}
        pts = [PointBinding(p["point_id"], p["tag"], p["subsystem"], p["kind"], p["unit"], p["protocol"],
                            p["device_id"], p["address"], p["register_type"], p["data_type"], p["word_order"],
                            p["snmp_type"], p["scale"], p["value_offset"], p["range_min"], p["range_max"],
                            p["precision"], p["poll_ms"] or 5000)
               for p in points if (p["site_id"], p["block_id"]) == key]
        out.append(BlockBinding(spec, devs, pts))
    return out


def bindings_from_sites(sites: list[Any], seed: int = 0) -> list[BlockBinding]:
    """Bindings from `mcs.registry.load_site_files(...)` results (no point_ids)."""
    out: list[BlockBinding] = []
    for site_def in sites:
        s = site_def.site
        for bdef in site_def.blocks:
            b = bdef.block
            spec = BlockSpec(site_id=s.site_id, block_id=b.block_id, timezone=s.timezone,
                             latitude=s.latitude if s.latitude is not None else 40.0, grid_hz=s.grid_hz,
                             it_capacity_kw=b.it_capacity_kw, rack_count=b.rack_count,
                             host_profile=host_profile(s.host_name, s.name), commissioned_on=b.commissioned_on,
                             seed=seed)
            devs = {d.device_id: DeviceBinding(d.device_id, d.protocol, d.host, d.port, d.unit_id, dict(d.params))
                    for d in b.devices}
            pts = [PointBinding(None, p.tag, p.subsystem, p.kind, p.unit, p.protocol, p.device_id, p.address,
                                p.register_type, p.data_type, p.word_order, p.snmp_type, p.scale, p.value_offset,
                                p.range_min, p.range_max, p.precision, p.poll_ms)
                   for p in bdef.points]
            out.append(BlockBinding(spec, devs, pts))
    return out


def _json(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return value if isinstance(value, dict) else json.loads(value)
