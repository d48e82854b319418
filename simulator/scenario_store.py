"""ops.sim_scenarios: start, stop and list scenarios (the running simulator polls `active`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from simulator.scenarios import resolve

START_SQL = text("""
INSERT INTO ops.sim_scenarios (site_id, block_id, name, params, ends_at, requested_by)
VALUES (:site_id, :block_id, :name, CAST(:params AS jsonb),
        CASE WHEN CAST(:duration_s AS double precision) IS NULL THEN NULL
             ELSE now() + make_interval(secs => CAST(:duration_s AS double precision)) END,
        :requested_by)
RETURNING id
""")
STOP_SQL = text("""
UPDATE ops.sim_scenarios SET stopped_at = now()
WHERE stopped_at IS NULL
  AND (CAST(:site_id AS text) IS NULL OR site_id = :site_id)
  AND (CAST(:block_id AS text) IS NULL OR block_id = :block_id)
  AND (CAST(:name AS text) IS NULL OR name = :name)
""")
BLOCK_EXISTS_SQL = text("SELECT 1 FROM ref.blocks WHERE site_id = :site_id AND block_id = :block_id "
                        "AND retired_at IS NULL")
ACTIVE_SQL = text("""
SELECT id, site_id, block_id, name, params, started_at, ends_at, now() AS db_now
FROM ops.sim_scenarios
WHERE stopped_at IS NULL AND (ends_at IS NULL OR ends_at > now())
ORDER BY started_at
""")


@dataclass(frozen=True)
class ActiveScenario:
    id: int
    site_id: str
    block_id: str
    name: str
    params: dict[str, Any]
    started_at: datetime
    ends_at: datetime | None


def start(engine: Engine, site_id: str, block_id: str, name: str, params: dict[str, Any] | None = None,
          duration_s: float | None = None, requested_by: str | None = None) -> int:
    definition, merged = resolve(name, params)
    with engine.begin() as conn:
        if conn.execute(BLOCK_EXISTS_SQL, {"site_id": site_id, "block_id": block_id}).scalar() is None:
            raise KeyError(f"no registered block {site_id}/{block_id}")
        return int(conn.execute(START_SQL, {"site_id": site_id, "block_id": block_id, "name": definition.name,
                                            "params": json.dumps(merged), "duration_s": duration_s,
                                            "requested_by": requested_by}).scalar_one())


def stop(engine: Engine, site_id: str | None = None, block_id: str | None = None, name: str | None = None) -> int:
    with engine.begin() as conn:
        return conn.execute(STOP_SQL, {"site_id": site_id, "block_id": block_id,
                                       "name": name.upper() if name else None}).rowcount


def active(engine: Engine) -> list[ActiveScenario]:
    with engine.connect() as conn:
        rows = conn.execute(ACTIVE_SQL).mappings().all()
    return [ActiveScenario(r["id"], r["site_id"], r["block_id"], r["name"],
                           r["params"] if isinstance(r["params"], dict) else json.loads(r["params"]),
                           r["started_at"], r["ends_at"]) for r in rows]
