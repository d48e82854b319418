"""`mcs simulate`: every registered block live, its devices served, its direct points published.

Once a second each block advances to the wall clock; device servers answer from its values at
request time. Every 2 s the active scenarios are read from ops.sim_scenarios, every 5 s the
simulator's counters are upserted into ops.ingest_counters (`mcs status`). SIGTERM/SIGINT set the
stop event: servers close, the MQTT session disconnects cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, text

from mcs.db.engine import make_engine
from simulator import scenario_store
from simulator.devices.bacnet_device import BacnetDevice, bacnet_devices
from simulator.devices.modbus_server import endpoints_for, start_endpoint, stop_endpoint
from simulator.devices.snmp_agent import agents_for, start_agent
from simulator.live import LiveBlock
from simulator.publisher import Publisher
from simulator.registry_view import load_bindings

log = logging.getLogger(__name__)

HEARTBEAT_SQL = text("""
INSERT INTO ops.ingest_counters (component, instance, ts, counters)
VALUES ('simulator', :instance, now(), CAST(:counters AS jsonb))
ON CONFLICT (component, instance) DO UPDATE SET ts = now(), counters = EXCLUDED.counters
""")


@dataclass
class SimulationOptions:
    site_id: str | None = None
    seed: int = 0
    mqtt_url: str | None = None          # None: no direct publishing
    publish_modes: bool = True
    tick_s: float = 1.0
    scenario_poll_s: float = 2.0
    heartbeat_s: float = 5.0


class Simulation:
    def __init__(self, engine: Engine, options: SimulationOptions) -> None:
        self.engine, self.options = engine, options
        self.blocks: list[LiveBlock] = []
        self.modbus = []
        self.snmp = []
        self.bacnet: list[BacnetDevice] = []
        self.publisher: Publisher | None = None
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.transitions = 0

    async def start(self) -> None:
        bindings = await asyncio.to_thread(load_bindings, self.engine, self.options.site_id, self.options.seed)
        if not bindings:
            raise RuntimeError("no blocks registered (run `mcs sites load` first)")
        now = time.time()
        for b in bindings:
            block = await asyncio.to_thread(LiveBlock, b, now)   # fast-forward from the epoch
            self.blocks.append(block)
            log.info("block %s/%s live (mode %s)", *b.key, block.values.get("PLC-SAFE-mode"))
        for block in self.blocks:     # a port already in use is logged and skipped; the rest still start
            for ep in endpoints_for(block.binding, block):
                try:
                    await start_endpoint(ep)
                    self.modbus.append(ep)
                except (OSError, RuntimeError) as exc:
                    log.error("modbus %s:%s not started: %s", ep.host, ep.port, exc)
            for dev in agents_for(block.binding):
                try:
                    self.snmp.append(start_agent(block.binding, dev, block))
                except (OSError, RuntimeError) as exc:
                    log.error("snmp %s not started: %s", dev.device_id, exc)
            for dev in bacnet_devices(block.binding):
                device = BacnetDevice(block.binding, dev, block)
                try:
                    device.start()
                    self.bacnet.append(device)
                except (OSError, RuntimeError) as exc:
                    log.error("bacnet %s not started: %s", dev.device_id, exc)
        if self.options.mqtt_url:
            self.publisher = Publisher(self.options.mqtt_url, f"mcs-simulator-{self.instance}")

    async def stop(self) -> None:
        for ep in self.modbus:
            await stop_endpoint(ep)
        for agent in self.snmp:
            agent.close()
        for device in self.bacnet:
            device.stop()
        if self.publisher is not None:
            self.publisher.close()

    def tick(self, now: float) -> None:
        for block in self.blocks:
            transitions = block.update(now)
            self.transitions += len(transitions)
            if self.publisher is not None:
                self.publisher.publish_due(block, now)
                if self.options.publish_modes:
                    self.publisher.publish_transitions(block, transitions)
        for device in self.bacnet:
            device.refresh()

    async def poll_scenarios(self) -> None:
        active = await asyncio.to_thread(scenario_store.active, self.engine)
        for block in self.blocks:
            for change in block.set_scenarios(active):
                log.info("%s/%s scenario %s", *block.key, change)

    async def heartbeat(self) -> None:
        counters = {"blocks": len(self.blocks), "modbus_endpoints": len(self.modbus), "snmp_agents": len(self.snmp),
                    "bacnet_devices": len(self.bacnet), "mode_transitions": self.transitions,
                    "published": self.publisher.published if self.publisher else 0,
                    "scenarios": sum(len(b.scenarios) for b in self.blocks)}

        def write() -> None:
            with self.engine.begin() as conn:
                conn.execute(HEARTBEAT_SQL, {"instance": self.instance, "counters": orjson.dumps(counters).decode()})

        await asyncio.to_thread(write)

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        log.info("simulator running: %d blocks, %d modbus endpoints, %d snmp agents, %d bacnet devices",
                 len(self.blocks), len(self.modbus), len(self.snmp), len(self.bacnet))
        last_poll = last_beat = 0.0
        try:
            while not stop.is_set():
                now = time.time()
                if now - last_poll >= self.options.scenario_poll_s:
                    await self.poll_scenarios()
                    last_poll = now
                self.tick(now)
                if now - last_beat >= self.options.heartbeat_s:
                    await self.heartbeat()
                    last_beat = now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=max(self.options.tick_s - (time.time() - now), 0.05))
        finally:
            await self.stop()


async def run_simulation(database_url: str, options: SimulationOptions, stop: asyncio.Event) -> None:
    engine = make_engine(database_url)
    try:
        await Simulation(engine, options).run(stop)
    finally:
        engine.dispose()
