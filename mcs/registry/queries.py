"""Typed reads of the registry for pollers, the simulator, the ingestor and the alarm engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, text

from mcs.registry.models import Limit, Point

POINTS_SQL = """
SELECT p.point_id, p.site_id, p.block_id, p.tag, p.subsystem, p.equipment_tag, p.description, p.kind,
       p.unit, p.protocol, p.device_id, p.address, p.register_type, p.data_type, p.word_order, p.snmp_type,
       p.scale, p.value_offset, p.enum_map, p.range_min, p.range_max, p.precision, p.poll_ms, p.deadband,
       p.on_delay_s, p.off_delay_s, p.billing_role, p.notes, p.retired_at,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('priority', l.priority, 'direction', l.direction,
                                                     'value', l.value) ORDER BY l.priority, l.direction)
                 FROM ref.alarm_limits l WHERE l.point_id = p.point_id), '[]'::jsonb) AS limits
FROM ref.points p
WHERE (CAST(:site_id AS text) IS NULL OR p.site_id = :site_id)
  AND (CAST(:block_id AS text) IS NULL OR p.block_id = :block_id)
  AND (CAST(:protocol AS text) IS NULL OR p.protocol = :protocol)
  AND (:include_retired OR p.retired_at IS NULL)
ORDER BY p.site_id, p.block_id, p.subsystem, p.tag
"""

DEVICES_SQL = """
SELECT site_id, block_id, device_id, protocol, host, port, unit_id, params, description
FROM ref.devices
WHERE retired_at IS NULL
  AND (CAST(:site_id AS text) IS NULL OR site_id = :site_id)
  AND (CAST(:block_id AS text) IS NULL OR block_id = :block_id)
ORDER BY site_id, block_id, device_id
"""


@dataclass(frozen=True)
class PointRow:
    """One registered point as stored in ref.points, with its alarm limits (most severe first)."""

    point_id: int
    site_id: str
    block_id: str
    tag: str
    subsystem: str
    equipment_tag: str | None
    description: str
    kind: str
    unit: str
    protocol: str
    device_id: str | None
    address: str | None
    register_type: str | None
    data_type: str | None
    word_order: str | None
    snmp_type: str | None
    scale: float
    value_offset: float
    enum_map: dict[str, str] | None
    range_min: float | None
    range_max: float | None
    precision: float | None
    poll_ms: int | None
    deadband: float | None
    on_delay_s: float | None
    off_delay_s: float | None
    billing_role: str | None
    notes: str | None
    retired: bool
    limits: tuple[Limit, ...]

    def to_point(self) -> Point:
        """The registered definition as a schedule `Point` (e.g. to export an as-built schedule)."""
        return Point.model_validate({name: getattr(self, name) for name in Point.model_fields})

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "limits"}
        out["limits"] = [lim.model_dump() for lim in self.limits]
        return out


@dataclass(frozen=True)
class DeviceRow:
    site_id: str
    block_id: str
    device_id: str
    protocol: str
    host: str | None
    port: int | None
    unit_id: int | None
    params: dict[str, Any]
    description: str | None


def points_for(engine: Engine, site_id: str | None = None, block_id: str | None = None, *,
               protocol: str | None = None, include_retired: bool = False) -> list[PointRow]:
    """Registered points, optionally of one site / block / protocol; retired points only on request."""
    params = {"site_id": site_id, "block_id": block_id, "protocol": protocol, "include_retired": include_retired}
    with engine.connect() as conn:
        rows = conn.execute(text(POINTS_SQL), params).mappings().all()
    return [PointRow(**{k: v for k, v in row.items() if k not in ("limits", "retired_at")},
                     retired=row["retired_at"] is not None,
                     limits=tuple(Limit(**lim) for lim in row["limits"])) for row in rows]


def devices_for(engine: Engine, site_id: str | None = None, block_id: str | None = None) -> list[DeviceRow]:
    """Live device endpoints (host, port, unit, protocol params) of a site / block."""
    with engine.connect() as conn:
        rows = conn.execute(text(DEVICES_SQL), {"site_id": site_id, "block_id": block_id}).mappings().all()
    return [DeviceRow(**row) for row in rows]
