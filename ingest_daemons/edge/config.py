"""What one edge needs: its block's devices and points (from the registry), and its own settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, text

from ingest_daemons.pollers.base import DeviceSpec, PointSpec
from mcs.registry import devices_for, points_for

POLLED_PROTOCOLS = ("modbus-tcp", "modbus-rtu", "snmp", "bacnet-ip")


class EdgeSettings(BaseSettings):
    """`MCS_EDGE_*` environment settings (defaults follow domain §3.8 and §5.8)."""

    model_config = SettingsConfigDict(env_prefix="MCS_EDGE_", env_file=".env", extra="ignore")

    spool_capacity: int = 5_000_000          # messages; the heartbeat's buffer.capacity
    heartbeat_s: float = 30.0
    window: int = 1000                       # unacknowledged QoS 1 messages in flight
    mode_messages: str = "auto"              # auto | on | off (see mode.py)
    mode_grace_s: float = 5.0
    command_targets: str = "edge,plc"        # explicit targets only, never `response`
    plc_requests: str = "auto"               # auto | none | module:Class
    command_max_age_s: float = 60.0
    bacnet_client_port: int | None = None    # default: BMS port + 1 (sites/README.md port plan)


@dataclass
class BlockConfig:
    site_id: str
    block_id: str
    edge_id: str
    devices: list[DeviceSpec]
    points: list[PointSpec]
    unpolled: list[str] = field(default_factory=list)   # mqtt/derived points: published by others

    @property
    def key(self) -> str:
        return f"{self.site_id}/{self.block_id}"

    def spool_path(self, data_dir: Path) -> Path:
        return Path(data_dir) / "edge" / self.site_id / f"{self.block_id}.sqlite"


def from_rows(site_id: str, block_id: str, edge_id: str | None, devices, points) -> BlockConfig:
    """Build from registry rows (PointRow/DeviceRow) or simulator bindings (same field names)."""
    specs = [PointSpec.from_row(p) for p in points]
    return BlockConfig(site_id, block_id, edge_id or f"edge-{site_id}-{block_id}",
                       [DeviceSpec.from_row(d) for d in devices if d.protocol in POLLED_PROTOCOLS],
                       [p for p in specs if p.protocol in POLLED_PROTOCOLS],
                       [p.tag for p in specs if p.protocol not in POLLED_PROTOCOLS])


EDGE_ID_SQL = text("SELECT edge_id FROM ref.blocks WHERE site_id = :s AND block_id = :b AND retired_at IS NULL")
BLOCKS_SQL = text("SELECT site_id, block_id FROM ref.blocks WHERE retired_at IS NULL ORDER BY site_id, block_id")


def load_block(engine: Engine, site_id: str, block_id: str) -> BlockConfig:
    with engine.connect() as conn:
        row = conn.execute(EDGE_ID_SQL, {"s": site_id, "b": block_id}).first()
    if row is None:
        raise KeyError(f"no registered block {site_id}/{block_id} (run `mcs sites load`)")
    return from_rows(site_id, block_id, row[0], devices_for(engine, site_id, block_id),
                     points_for(engine, site_id, block_id))


def registered_blocks(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r[0], r[1]) for r in conn.execute(BLOCKS_SQL)]
