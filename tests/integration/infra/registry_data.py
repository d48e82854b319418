"""A small two-site registry with telemetry, written straight into ref.*/raw.* for the infra tests.

Sites as in the contract: ab-baldwinsville (1 block, edge_id registered) and rfg-foods-jhb
(2 blocks). Each block gets one point in each of four subsystems and READINGS_PER_POINT readings.
"""

from __future__ import annotations

import psycopg

SUBSYSTEM_TAGS = {"electrical": "MET-01-kW", "thermal-hx": "MET-T1-kWt", "thermal-l1": "TT-CDU1-SUP",
                  "security": "DOOR-01"}
BLOCKS = (("ab-baldwinsville", "block-01"), ("rfg-foods-jhb", "block-01"), ("rfg-foods-jhb", "block-02"))
READINGS_PER_POINT = 30

SEED_SQL = """
INSERT INTO ref.sites (site_id, name, timezone, currency, grid_hz, grid_region, definition_hash)
VALUES ('ab-baldwinsville', 'Baldwinsville', 'America/New_York', 'USD', 60, 'US-NY', 'h'),
       ('rfg-foods-jhb', 'RFG Foods', 'Africa/Johannesburg', 'ZAR', 50, 'ZA', 'h');
INSERT INTO ref.blocks (site_id, block_id, name, it_capacity_kw, rack_count, availability_class,
                        edge_id, definition_hash)
VALUES ('ab-baldwinsville', 'block-01', 'B1', 1000, 14, 'B', 'edge-ab-bville-01', 'h'),
       ('rfg-foods-jhb', 'block-01', 'J1', 1000, 14, 'B', NULL, 'h'),
       ('rfg-foods-jhb', 'block-02', 'J2', 1000, 14, 'B', NULL, 'h');
INSERT INTO ref.devices (site_id, block_id, device_id, protocol, host, port, definition_hash)
SELECT site_id, block_id, 'plc', 'modbus-tcp', '127.0.0.1', 1502, 'h' FROM ref.blocks;
INSERT INTO ref.contracts (contract_ref, site_id, block_id, kind, counterparty, start_date, currency,
                           definition_hash)
VALUES ('MSA-JHB-1', 'rfg-foods-jhb', 'block-01', 'colo_msa', 'Acme Compute', '2026-01-01', 'ZAR', 'h'),
       ('HOST-JHB', 'rfg-foods-jhb', NULL, 'host_agreement', 'RFG Foods', '2026-01-01', 'ZAR', 'h'),
       ('LOAN-AB', 'ab-baldwinsville', NULL, 'lender', 'Green Bank', '2026-01-01', 'USD', 'h');
"""

POINT_SQL = """
INSERT INTO ref.points (site_id, block_id, tag, subsystem, description, kind, unit, protocol, definition_hash)
VALUES (%s, %s, %s, %s, 'test point', 'analog', 'kW', 'derived', 'h') RETURNING point_id
"""

TELEMETRY_SQL = """
SELECT raw.ensure_telemetry_partitions(now() - interval '1 day', now() + interval '1 day');
INSERT INTO raw.telemetry (ts, point_id, value, quality)
SELECT now() - g * interval '10 seconds', p.point_id, g, 0
FROM ref.points p CROSS JOIN generate_series(1, {n}) g;
INSERT INTO ops.point_latest (point_id, ts, value, quality)
SELECT point_id, now(), 1, 0 FROM ref.points;
INSERT INTO raw.mode_events (site_id, block_id, ts, state, previous, trigger)
SELECT site_id, block_id, now(), 'EXPORT', 'REJECT', 'test' FROM ref.blocks;
"""


def seed_registry(database_url: str, with_telemetry: bool = True) -> dict[tuple[str, str, str], int]:
    """Seed the registry; returns point ids by (site, block, subsystem)."""
    points: dict[tuple[str, str, str], int] = {}
    with psycopg.connect(database_url) as conn:
        conn.execute(SEED_SQL)
        for site, block in BLOCKS:
            for subsystem, tag in SUBSYSTEM_TAGS.items():
                row = conn.execute(POINT_SQL, (site, block, tag, subsystem)).fetchone()
                points[(site, block, subsystem)] = row[0]  # type: ignore[index]
        if with_telemetry:
            conn.execute(TELEMETRY_SQL.format(n=int(READINGS_PER_POINT)))
    return points
