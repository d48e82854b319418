"""End to end: `mcs simulate` (device servers + MQTT points + PLC mode messages) → `mcs edge` (real Modbus/SNMP/
BACnet polling, QoS 1) → broker → alarm engine → ops.alarms, driven by simulator scenarios through
ops.sim_scenarios. LEAK_DETECTED must raise the zone's leak detectors at P0 and suppress the flow/pressure
alarms the isolation causes; COMMS_LOSS of a CDU must raise bad-quality sensor alarms, not clear anything."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from mcs.local_services.broker import free_port
from simulator import scenario_store
from simulator.runner import SimulationOptions, run_simulation
from tests.integration.alarms.conftest import BLOCK, SITE, rows, running_engine, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def plant(demo: Engine, database_url: str, broker_url: str, tmp_path) -> Iterator[None]:
    """The simulator and the block's edge, on free ports, publishing to this module's broker."""
    with demo.begin() as conn:  # the demo ports may be taken on a shared machine: move every device
        ports = {p: free_port() for (p,) in conn.execute(text("SELECT DISTINCT port FROM ref.devices "
                                                               "WHERE port IS NOT NULL"))}
        for old, new in ports.items():
            conn.execute(text("UPDATE ref.devices SET port = :new WHERE port = :old"), {"new": new, "old": old})
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    options = SimulationOptions(site_id=SITE, seed=2, mqtt_url=broker_url, heartbeat_s=1.0, scenario_poll_s=1.0)
    sim = threading.Thread(target=lambda: loop.run_until_complete(run_simulation(database_url, options, stop)),
                           daemon=True)
    sim.start()
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": broker_url, "MCS_DATA_DIR": str(tmp_path),
           "MCS_EDGE_HEARTBEAT_S": "2", "MCS_EDGE_BACNET_CLIENT_PORT": str(free_port()),
           "MCS_EDGE_PLC_REQUESTS": "none"}
    edge = subprocess.Popen([sys.executable, "-m", "mcs.cli", "edge", "--site", SITE, "--block", BLOCK], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        edge.send_signal(signal.SIGTERM)
        try:
            edge.wait(30)
        except subprocess.TimeoutExpired:
            edge.kill()
            edge.wait()
        loop.call_soon_threadsafe(stop.set)
        sim.join(30)


def open_alarms(engine: Engine) -> dict[tuple[str, str], dict]:
    return {(r["tag"], r["kind"]): dict(r) for r in rows(engine, "SELECT * FROM ops.alarms WHERE state <> 'CLOSED'")}


def test_leak_and_comms_loss_scenarios_end_to_end(demo: Engine, database_url: str, broker_url: str,
                                                  plant: None) -> None:
    leak_tags = ("LD-03a", "LD-03b")
    with running_engine(database_url, broker_url, bad_delay_s=3.0) as eng:
        wait_for(lambda: eng.processor.counters["samples"] > 500, timeout_s=60, what="telemetry via the edge")
        wait_for(lambda: eng.counters["heartbeats"] > 0, timeout_s=30, what="edge heartbeat")
        # (devices still starting when the edge first polled may have left bad-quality alarms that are
        # back to normal and wait for an ack; the assertions below look at what the scenarios cause)

        leak = scenario_store.start(demo, SITE, BLOCK, "LEAK_DETECTED", {"zone": 3})
        found = wait_for(lambda: [v for (tag, kind), v in open_alarms(demo).items()
                                  if tag in leak_tags and kind == "bool" and v["active_priority"]],
                         timeout_s=30, what="leak alarms")
        assert {(v["tag"], v["priority"]) for v in found} >= {("LD-03a", "P0")}
        assert all(v["suppressed_by"] is None for v in found), "a P0 leak is never suppressed"
        raised_at = min(v["raised_at"] for v in found)
        # flow/pressure alarms the isolation causes are explained by the leak (cascade), not annunciated
        for (tag, kind), a in open_alarms(demo).items():
            if kind in ("limit", "bool") and tag.startswith(("FT-", "PT-")) and a["raised_at"] >= raised_at:
                assert a["suppressed_by"] is not None, (tag, a)
        scenario_store.stop(demo, SITE, BLOCK, "LEAK_DETECTED")
        wait_for(lambda: not [v for (tag, kind), v in open_alarms(demo).items()
                              if tag in leak_tags and kind == "bool" and v["active_priority"]],
                 timeout_s=30, what="leak back to normal")
        assert leak

        scenario_store.start(demo, SITE, BLOCK, "COMMS_LOSS", {"device": "cdu-01"})
        bad = wait_for(lambda: [v for (tag, kind), v in open_alarms(demo).items()
                                if kind == "bad_quality" and tag in ("FT-CDU1", "PT-CDU1", "CDU1-status")
                                and v["state"] == "ACTIVE_UNACK"
                                and (v["raised_at"] > raised_at or v["activations"] > 1)],
                       timeout_s=60, what="bad-quality alarms of the silent CDU")
        assert {v["priority"] for v in bad} <= {"P1", "P2", "P3"}
        # a sensor going BAD never clears its standing process alarm (§4.6): the leak instances stay as they were
    sources = {e["source"] for e in rows(demo, "SELECT DISTINCT source FROM ops.alarm_events")}
    assert sources <= {"engine", "edge"}
