"""`mcs status` surfaces the self-monitoring findings (silent edge, buffering edge) next to component health."""

from __future__ import annotations

from sqlalchemy import Engine, text

from mcs.health import platform_status
from mcs.settings import Settings


def test_status_reports_offline_and_buffering_edges(engine: Engine, database_url: str, mqtt_url: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO raw.edge_heartbeats (site_id, block_id, ts, edge_id, uptime_s, adapters, buffer)
            VALUES ('site-a', 'block-01', now() - interval '5 minutes', 'edge-a', 10, '{}',
                    '{"depth": 0, "cloud_connected": true, "replay_active": false}'),
                   ('site-b', 'block-01', now() - interval '5 seconds', 'edge-b', 10, '{}',
                    '{"depth": 1200, "cloud_connected": false, "replay_active": false}')
        """))

    report = platform_status(Settings(database_url=database_url, mqtt_url=mqtt_url))

    found = {(f["code"], f["subject"], f["priority"]) for f in report["findings"]}
    assert ("EDGE_OFFLINE", "site-a/block-01", "P0") in found
    assert ("EDGE_BUFFERING", "site-b/block-01", "P2") in found
