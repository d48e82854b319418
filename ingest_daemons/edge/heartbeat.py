"""The edge heartbeat (domain §3.8): adapters' counters, spool state and host metrics, every 30 s.

Exactly the contract's shape: `adapters` name → {status, last_read_ts, reads_total, errors_total,
devices_online, devices_total}; `buffer` {depth, capacity, oldest_ts, cloud_connected,
replay_active}; `system` {cpu_pct, mem_pct, disk_pct, temp_c}. Published QoS 1, retained.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import psutil

from mcs.wire import Heartbeat, as_datetime, format_ts


def cpu_temperature() -> float | None:
    with contextlib.suppress(AttributeError, OSError, RuntimeError):
        temps = psutil.sensors_temperatures()
        for name in ("cpu_thermal", "coretemp", "k10temp", "acpitz"):
            if temps.get(name):
                return float(temps[name][0].current)
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text().strip()) / 1000.0
    return None


def system_metrics(disk_path: Path) -> dict[str, Any]:
    path = disk_path if disk_path.exists() else Path("/")
    return {"cpu_pct": psutil.cpu_percent(interval=None), "mem_pct": psutil.virtual_memory().percent,
            "disk_pct": psutil.disk_usage(str(path)).percent, "temp_c": cpu_temperature()}


def build(edge_id: str, started_monotonic: float, adapters: dict[str, dict[str, Any]], depth: int, capacity: int,
          oldest_ts: float | None, cloud_connected: bool, replay_active: bool, disk_path: Path,
          now: float | None = None) -> Heartbeat:
    now = time.time() if now is None else now
    return Heartbeat(ts=as_datetime(now), edge_id=edge_id, uptime_s=round(time.monotonic() - started_monotonic, 1),
                     adapters=adapters,
                     buffer={"depth": depth, "capacity": capacity,
                             "oldest_ts": format_ts(oldest_ts) if oldest_ts is not None else None,
                             "cloud_connected": cloud_connected, "replay_active": replay_active},
                     system=system_metrics(disk_path))
