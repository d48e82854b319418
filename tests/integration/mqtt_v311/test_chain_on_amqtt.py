"""The live chain as `mcs up` runs it without Mosquitto: simulator devices → `mcs edge` → amqtt (MQTT
3.1.1) → `mcs ingest` and `mcs alarms run`, each a process started with MCS_MQTT_PROTOCOL=3.1.1 (what
mcs.stack.child_env sets for amqtt). Device ports are moved to free ones (the demo ports may be taken
on a shared machine). Opt-in: 30–60 s of process start-up, over this folder's budget."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from mcs.db.engine import libpq_url, make_engine
from mcs.local_services.broker import EmbeddedBroker, free_port
from tests.fixtures.registry import load_demo_sites

SITE, BLOCK = "ab-baldwinsville", "block-01"
ROOT = Path(__file__).resolve().parents[3]
PROBE = ("PDU-01-kW", "MET-01-kW", "TT-CDU1s", "TT-L2s", "TT-DCout")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.mark.e2e
def test_simulator_edge_ingestor_and_alarm_engine_over_amqtt(database_url: str, amqtt: EmbeddedBroker,
                                                             tmp_path: Path) -> None:
    engine = make_engine(database_url)
    load_demo_sites(engine, (SITE,))
    engine.dispose()
    with psycopg.connect(libpq_url(database_url)) as conn:
        for (old,) in conn.execute("SELECT DISTINCT port FROM ref.devices WHERE port IS NOT NULL").fetchall():
            conn.execute("UPDATE ref.devices SET port = %s WHERE port = %s", (free_port(), old))
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": amqtt.url, "MCS_MQTT_PROTOCOL": "3.1.1",
           "MCS_DATA_DIR": str(tmp_path), "MCS_EDGE_HEARTBEAT_S": "2", "MCS_EDGE_BACNET_CLIENT_PORT": str(free_port()),
           "MCS_EDGE_PLC_REQUESTS": "none", "MCS_INGEST_REPORT_S": "1", "MCS_ALARMS_REPORT_S": "1"}
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        daemons = (("ingest", ["ingest"]), ("alarms", ["alarms", "run"]), ("simulate", ["simulate", "--site", SITE]),
                   ("edge", ["edge", "--site", SITE, "--block", BLOCK]))
        for name, args in daemons:
            with open(tmp_path / f"{name}.log", "wb") as log:
                procs.append((name, subprocess.Popen([sys.executable, "-m", "mcs.cli", *args], env=env, cwd=ROOT,
                                                     stdout=log, stderr=subprocess.STDOUT)))
        fresh = """SELECT count(*) FROM ops.point_latest l JOIN ref.points p USING (point_id)
                   WHERE p.site_id = %s AND p.block_id = %s AND p.tag = ANY(%s) AND l.quality = 0
                   AND l.received_at > now() - interval '15 seconds'"""
        evaluated = """SELECT coalesce((counters->>'received')::bigint, 0) FROM ops.ingest_counters
                       WHERE component = 'alarm-engine' ORDER BY ts DESC LIMIT 1"""
        deadline = time.monotonic() + 150
        while True:
            exited = [name for name, p in procs if p.poll() is not None]
            assert not exited, f"{exited} exited; logs in {tmp_path}"
            with psycopg.connect(libpq_url(database_url)) as conn:
                live = conn.execute(fresh, (SITE, BLOCK, list(PROBE))).fetchone()[0]  # type: ignore[index]
                beats = conn.execute("SELECT count(*) FROM raw.edge_heartbeats").fetchone()[0]  # type: ignore[index]
                row = conn.execute(evaluated).fetchone()
            if live == len(PROBE) and beats > 0 and row and row[0] > 0:
                break
            assert time.monotonic() < deadline, (
                f"over amqtt within 150 s: {live}/{len(PROBE)} fresh GOOD probes, {beats} heartbeats, "
                f"alarm engine {row}; logs in {tmp_path}")
            time.sleep(1.0)
    finally:
        for _, proc in reversed(procs):
            stop(proc)
    ingest_log = (tmp_path / "ingest.log").read_text()
    assert "over MQTT 3.1.1" in ingest_log and "subscribing microlink/#" in ingest_log
