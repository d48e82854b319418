"""`sync_registry(engine, sites)`: make ref.* match the site files, idempotently.

* Identity: a site by site_id, a block by (site, block), a device/equipment by (site, block, id), a
  point by (site, block, tag), a contract by contract_ref. A point keeps its point_id for ever.
* Change detection: each row stores the sha256 of its definition (`definition_hash`); only rows whose
  hash differs are written, so re-loading unchanged files writes nothing (no updated_at churn).
* Removal: rows of the synced sites that are no longer in the files get `retired_at` (never deleted,
  so telemetry history stays joinable); a retired row that comes back is restored. Sites not passed
  in are not touched.
* Concurrency: one transaction under an advisory lock, so two `mcs sites load` never interleave.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text

from mcs.registry.models import SiteDefinition, definition_hash

LOCK_KEY = "mcs.registry.sync"


@dataclass(frozen=True)
class Table:
    """How one ref table is synced. Column names are constants of this module, never user input."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (column, SQL type) of the definition, keys included

    @property
    def select_existing(self) -> str:
        return (f"SELECT {', '.join(self.keys)}, definition_hash, retired_at IS NOT NULL AS retired "
                f"FROM {self.name} WHERE site_id = ANY(:site_ids)")

    @property
    def upsert(self) -> str:
        cols = [c for c, _ in self.columns] + ["definition_hash"]
        record = ", ".join(f"{c} {t}" for c, t in self.columns) + ", definition_hash text"
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c not in self.keys)
        returning = ", ".join(["point_id", *self.keys]) if self.name == "ref.points" else "1"
        return (f"INSERT INTO {self.name} ({', '.join(cols)}) "
                f"SELECT {', '.join(cols)} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record}) "
                f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updates}, updated_at = now(), "
                f"retired_at = NULL RETURNING {returning}")

    @property
    def retire(self) -> str:
        record = ", ".join(f"{k} text" for k in self.keys)
        return (f"UPDATE {self.name} t SET retired_at = now(), updated_at = now() "
                f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record}) "
                f"WHERE {' AND '.join(f't.{k} = r.{k}' for k in self.keys)}")


SITES = Table("ref.sites", ("site_id",), (
    ("site_id", "text"), ("name", "text"), ("timezone", "text"), ("country", "text"), ("currency", "text"),
    ("grid_hz", "smallint"), ("grid_region", "text"), ("latitude", "double precision"),
    ("longitude", "double precision"), ("host_name", "text"), ("status", "text"),
    ("schedule_revision", "text")))
BLOCKS = Table("ref.blocks", ("site_id", "block_id"), (
    ("site_id", "text"), ("block_id", "text"), ("name", "text"), ("it_capacity_kw", "double precision"),
    ("rack_count", "integer"), ("availability_class", "text"), ("status", "text"),
    ("commissioned_on", "date"), ("edge_id", "text")))
DEVICES = Table("ref.devices", ("site_id", "block_id", "device_id"), (
    ("site_id", "text"), ("block_id", "text"), ("device_id", "text"), ("protocol", "text"), ("host", "text"),
    ("port", "integer"), ("unit_id", "integer"), ("params", "jsonb"), ("description", "text")))
EQUIPMENT = Table("ref.equipment", ("site_id", "block_id", "equipment_tag"), (
    ("site_id", "text"), ("block_id", "text"), ("equipment_tag", "text"), ("equipment_type", "text"),
    ("subsystem", "text"), ("description", "text")))
CONTRACTS = Table("ref.contracts", ("contract_ref",), (
    ("contract_ref", "text"), ("site_id", "text"), ("block_id", "text"), ("kind", "text"),
    ("counterparty", "text"), ("start_date", "date"), ("end_date", "date"), ("currency", "text"),
    ("availability_class", "text"), ("committed_kw", "double precision"), ("racks", "text[]"),
    ("terms", "jsonb")))
POINTS = Table("ref.points", ("site_id", "block_id", "tag"), (
    ("site_id", "text"), ("block_id", "text"), ("tag", "text"), ("subsystem", "text"),
    ("equipment_tag", "text"), ("description", "text"), ("kind", "text"), ("unit", "text"),
    ("protocol", "text"), ("device_id", "text"), ("address", "text"), ("register_type", "text"),
    ("data_type", "text"), ("word_order", "text"), ("snmp_type", "text"), ("scale", "double precision"),
    ("value_offset", "double precision"), ("enum_map", "jsonb"), ("range_min", "double precision"),
    ("range_max", "double precision"), ("precision", "double precision"), ("poll_ms", "integer"),
    ("deadband", "double precision"), ("on_delay_s", "double precision"),
    ("off_delay_s", "double precision"), ("billing_role", "text"), ("notes", "text")))

# Parents before children (foreign keys); retirement order does not matter since nothing is deleted.
TABLES: tuple[Table, ...] = (SITES, BLOCKS, DEVICES, EQUIPMENT, CONTRACTS, POINTS)

REPLACE_LIMITS_DELETE = "DELETE FROM ref.alarm_limits WHERE point_id = ANY(:point_ids)"
REPLACE_LIMITS_INSERT = """
INSERT INTO ref.alarm_limits (point_id, priority, direction, value)
SELECT point_id, priority, direction, value
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(point_id integer, priority text, direction text,
                                                     value double precision)
"""


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    restored: int = 0
    retired: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.added + self.updated + self.restored + self.retired

    def __str__(self) -> str:
        text_ = f"added={self.added} updated={self.updated} retired={self.retired} unchanged={self.unchanged}"
        return text_ + (f" restored={self.restored}" if self.restored else "")


@dataclass
class SyncReport:
    """What a sync changed, per table (`str()` is the one-line summary `mcs sites load` prints)."""

    sites: list[str] = field(default_factory=list)
    tables: dict[str, Counts] = field(default_factory=dict)

    @property
    def points(self) -> Counts:
        return self.tables.get(POINTS.name, Counts())

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.tables.values())

    def __str__(self) -> str:
        others = Counts()
        for name, counts in self.tables.items():
            if name != POINTS.name:
                for attr in ("added", "updated", "restored", "retired", "unchanged"):
                    setattr(others, attr, getattr(others, attr) + getattr(counts, attr))
        return (f"{len(self.sites)} site(s): points {self.points}; "
                f"sites/blocks/devices/equipment/contracts {others}")


def sync_registry(engine: Engine, sites: Sequence[SiteDefinition], *, dry_run: bool = False) -> SyncReport:
    """Upsert the given sites' definitions into ref.*; see the module docstring for the rules.

    With `dry_run` the same work is done and reported, then rolled back."""
    rows = _definition_rows(sites)
    site_ids = [s.site_id for s in sites]
    report = SyncReport(sites=site_ids)
    with engine.connect() as conn, conn.begin() as transaction:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": LOCK_KEY})
        for table in TABLES:
            report.tables[table.name] = _sync_table(conn, table, rows[table.name], site_ids, rows["limits"])
        if dry_run:
            transaction.rollback()
    return report


def _sync_table(conn: Connection, table: Table, rows: list[dict[str, Any]], site_ids: list[str],
                limits: dict[tuple[str, ...], list[dict[str, Any]]]) -> Counts:
    existing = {tuple(r[:len(table.keys)]): (r.definition_hash, r.retired)
                for r in conn.execute(text(table.select_existing), {"site_ids": site_ids})}
    counts = Counts()
    write: list[dict[str, Any]] = []
    for row in rows:
        key = tuple(row[k] for k in table.keys)
        before = existing.pop(key, None)
        if before is None:
            counts.added += 1
        elif before[1]:
            counts.restored += 1
        elif before[0] != row["definition_hash"]:
            counts.updated += 1
        else:
            counts.unchanged += 1
            continue
        write.append(row)
    gone = [dict(zip(table.keys, key, strict=True)) for key, (_, retired) in existing.items() if not retired]
    counts.retired = len(gone)
    if write:
        result = conn.execute(text(table.upsert), {"rows": _json(write)})
        if table is POINTS:
            _replace_limits(conn, [(r.point_id, (r.site_id, r.block_id, r.tag)) for r in result], limits)
    if gone:
        conn.execute(text(table.retire), {"rows": _json(gone)})
    return counts


def _replace_limits(conn: Connection, written: list[tuple[int, tuple[str, ...]]],
                    limits: dict[tuple[str, ...], list[dict[str, Any]]]) -> None:
    conn.execute(text(REPLACE_LIMITS_DELETE), {"point_ids": [pid for pid, _ in written]})
    rows = [{"point_id": pid, **limit} for pid, key in written for limit in limits.get(key, [])]
    if rows:
        conn.execute(text(REPLACE_LIMITS_INSERT), {"rows": _json(rows)})


def _json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=str, ensure_ascii=False)


def _hashed(row: dict[str, Any], extra: Any = None) -> dict[str, Any]:
    payload = dict(row) if extra is None else {**row, "_extra": extra}
    return {**row, "definition_hash": definition_hash(payload)}


def _definition_rows(sites: Sequence[SiteDefinition]) -> dict[str, Any]:
    """The rows each table should hold for these sites, each with its definition hash."""
    out: dict[str, Any] = {t.name: [] for t in TABLES}
    limits: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for site in sites:
        sid = site.site_id
        out[SITES.name].append(_hashed(site.site.model_dump(mode="json")))
        for contract in site.contracts:
            out[CONTRACTS.name].append(_hashed({"site_id": sid, **contract.model_dump(mode="json")}))
        for bdef in site.blocks:
            block, bid = bdef.block, bdef.block_id
            out[BLOCKS.name].append(_hashed({"site_id": sid, **block.model_dump(
                mode="json", exclude={"points", "devices", "equipment"})}))
            for device in block.devices:
                out[DEVICES.name].append(_hashed({"site_id": sid, "block_id": bid, **device.model_dump(mode="json")}))
            for eq in block.equipment:
                out[EQUIPMENT.name].append(_hashed({
                    "site_id": sid, "block_id": bid, "equipment_tag": eq.tag, "equipment_type": eq.type,
                    "subsystem": eq.subsystem, "description": eq.description}))
            for point in bdef.points:
                data = point.model_dump(mode="json", exclude={"limits"})
                point_limits = [lim.model_dump() for lim in point.limits]
                out[POINTS.name].append(_hashed({"site_id": sid, "block_id": bid, **data}, point_limits))
                limits[(sid, bid, point.tag)] = point_limits
    out["limits"] = limits
    return out
