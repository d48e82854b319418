"""`mcs edge` as a process: registry from PostgreSQL, heartbeat on the broker, clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from mcs.local_services.broker import free_port
from mcs.wire import decode_heartbeat, decode_telemetry, parse_topic
from tests.fixtures.registry import load_demo_sites
from tests.integration.edge.conftest import Recorder


def test_mcs_edge_runs_a_registered_block_and_stops_on_sigterm(engine, database_url, mqtt_url, tmp_path):
    """No simulator runs here: every device is unreachable, so the edge must publish BAD readings, not nothing."""
    load_demo_sites(engine, ("ab-baldwinsville",))
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": mqtt_url, "MCS_DATA_DIR": str(tmp_path),
           "MCS_EDGE_HEARTBEAT_S": "1", "MCS_EDGE_BACNET_CLIENT_PORT": str(free_port()),
           "MCS_EDGE_PLC_REQUESTS": "none"}

    async def scenario():
        rec = Recorder(mqtt_url, topic="microlink/ab-baldwinsville/block-01/#")
        proc = subprocess.Popen([sys.executable, "-m", "mcs.cli", "edge", "--site", "ab-baldwinsville", "--block",
                                 "block-01"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            beats = await rec.wait_for("/edge/heartbeat", 1, timeout_s=30)
            await rec.wait_for("/PLC-SAFE-mode", 1, timeout_s=10)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
            rec.close()
        return rec, beats, proc.returncode, out.decode(errors="replace")

    rec, beats, rc, log = asyncio.run(scenario())
    assert rc == 0, log[-2000:]
    assert beats, log[-2000:]
    hb = decode_heartbeat(beats[0][1])
    assert hb.edge_id == "edge-ab-bville-01" and hb.buffer["cloud_connected"] is True
    mode = [decode_telemetry(m[1]) for m in rec.where("/PLC-SAFE-mode")]
    assert mode and all(r.quality == 2 for r in mode)               # unreachable PLC → BAD, still published
    assert all(parse_topic(m[0]).site == "ab-baldwinsville" for m in rec.messages)
    assert (tmp_path / "edge" / "ab-baldwinsville" / "block-01.sqlite").exists()
