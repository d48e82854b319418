"""`mcs simulate` end to end on real services: registry in PostgreSQL, a real broker, scenarios via the DB."""

from __future__ import annotations

import asyncio
import threading
import time

import orjson
import paho.mqtt.client as mqtt
from pymodbus.client import AsyncModbusTcpClient
from sqlalchemy import text

from mcs.local_services.broker import free_port
from mcs.runtime import mqtt_host_port
from simulator import scenario_store
from simulator.runner import SimulationOptions, run_simulation
from tests.fixtures.registry import load_demo_sites


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def modbus_answers(port: int) -> bool:
    async def read() -> bool:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
        try:
            if not await client.connect():
                return False
            rr = await client.read_holding_registers(1000, count=2, device_id=1)   # TT-CDU1s (41001)
            return not rr.isError()
        except Exception:  # noqa: BLE001 - no answer in time is the point of the check
            return False
        finally:
            client.close()

    return asyncio.run(read())


def test_simulate_serves_publishes_and_obeys_scenarios(engine, database_url, mqtt_url):
    load_demo_sites(engine, ("ab-baldwinsville",))
    with engine.begin() as conn:   # the demo ports may be taken on a shared machine: move every device
        ports = {p: free_port() for (p,) in conn.execute(text("SELECT DISTINCT port FROM ref.devices "
                                                               "WHERE port IS NOT NULL"))}
        for old, new in ports.items():
            conn.execute(text("UPDATE ref.devices SET port = :new WHERE port = :old"), {"new": new, "old": old})
        cdu_port = conn.execute(text("SELECT port FROM ref.devices WHERE device_id = 'cdu-01'")).scalar_one()

    received: list[tuple[str, dict]] = []
    host, port = mqtt_host_port(mqtt_url)
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-sub")
    sub.on_message = lambda c, u, m: received.append((m.topic, orjson.loads(m.payload)))
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("microlink/ab-baldwinsville/#", qos=1)
    sub.connect(host, port)
    sub.loop_start()

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    options = SimulationOptions(site_id="ab-baldwinsville", seed=1, mqtt_url=mqtt_url, heartbeat_s=1.0)
    runner = threading.Thread(target=lambda: loop.run_until_complete(run_simulation(database_url, options, stop)),
                              daemon=True)
    runner.start()
    try:
        wait_for(lambda: any(t.endswith("/network/NET-latency-cloud") for t, _ in received), what="mqtt telemetry")
        topic, payload = next((t, p) for t, p in received if t.endswith("/network/NET-latency-cloud"))
        assert set(payload) == {"ts", "v", "u", "q", "alarm", "seq"} and payload["u"] == "ms"
        assert payload["ts"].endswith("Z") and payload["q"] == "GOOD"
        with engine.connect() as conn:
            wait_for(lambda: conn.execute(text("SELECT counters FROM ops.ingest_counters "
                                               "WHERE component = 'simulator'")).scalar(), what="heartbeat")
        assert wait_for(lambda: modbus_answers(cdu_port), what="cdu-01 answering")

        scenario_store.start(engine, "ab-baldwinsville", "block-01", "COMMS_LOSS", {"device": "cdu-01"})
        wait_for(lambda: not modbus_answers(cdu_port), what="cdu-01 silent")
        assert scenario_store.stop(engine, "ab-baldwinsville", "block-01") == 1
        wait_for(lambda: modbus_answers(cdu_port), what="cdu-01 answering again")
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(timeout=30)
        sub.loop_stop()
        sub.disconnect()
    assert not runner.is_alive()   # SIGTERM path: servers closed, MQTT disconnected
