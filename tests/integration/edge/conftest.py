"""The demo block's devices served by the simulator on free loopback ports, a broker, an MQTT recorder.

The simulator's own servers (pymodbus, pysnmp, bacpypes3) answer the edge; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ingest_daemons.edge.config import BlockConfig, EdgeSettings, from_rows
from mcs.local_services.broker import EmbeddedBroker, free_port
from mcs.runtime import mqtt_host_port
from simulator.devices.bacnet_device import BacnetDevice, bacnet_devices
from simulator.devices.modbus_server import endpoints_for, start_endpoint, stop_endpoint
from simulator.devices.snmp_agent import agents_for, start_agent
from simulator.live import LiveBlock
from simulator.registry_view import BlockBinding
from tests.fixtures.simulator import demo_block_binding

V3_AUTH, V3_PRIV = "edge-test-auth-key", "edge-test-priv-key"


@pytest.fixture(scope="session")
def binding() -> BlockBinding:
    return demo_block_binding(seed=5)


@pytest.fixture(scope="session")
def live(binding: BlockBinding) -> LiveBlock:
    """The plant frozen at one instant, so polled values can be compared exactly with the model."""
    return LiveBlock(binding, now=float(int(time.time())))


@pytest.fixture
def v3_keys(monkeypatch):
    monkeypatch.setenv("SNMP_AUTH_PASS", V3_AUTH)
    monkeypatch.setenv("SNMP_PRIV_PASS", V3_PRIV)


@contextlib.asynccontextmanager
async def serve(block: LiveBlock, protocols: tuple[str, ...] = ("modbus", "snmp", "bacnet"),
                clock=time.time) -> AsyncIterator[dict]:
    """Start the block's device servers on the running loop; yields {"bacnet": BacnetDevice, ...}."""
    b = block.binding
    endpoints = endpoints_for(b, block) if "modbus" in protocols else []
    for ep in endpoints:
        await start_endpoint(ep)
    agents = [start_agent(b, d, block, clock=clock) for d in agents_for(b)] if "snmp" in protocols else []
    bms = None
    if "bacnet" in protocols:
        bms = BacnetDevice(b, bacnet_devices(b)[0], block)
        bms.start()
    try:
        yield {"bacnet": bms, "modbus": endpoints, "snmp": agents}
    finally:
        for ep in endpoints:
            await stop_endpoint(ep)
        for a in agents:
            a.close()
        if bms is not None:
            bms.stop()


def block_config(binding: BlockBinding, protocols: tuple[str, ...] | None = None) -> BlockConfig:
    s, blk = binding.key
    cfg = from_rows(s, blk, "edge-test-01", list(binding.devices.values()), binding.points)
    if protocols is not None:
        cfg.points = [p for p in cfg.points if p.protocol in protocols]
        cfg.devices = [d for d in cfg.devices if d.protocol in protocols]
    return cfg


def edge_settings(**overrides) -> EdgeSettings:
    return EdgeSettings(**{"heartbeat_s": 1.0, "plc_requests": "none", "mode_messages": "on", **overrides})


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A Mosquitto of this test's own, which the test may stop and start again (same port, persistence on)."""
    b = EmbeddedBroker(tmp_path / "mqtt", free_port())
    b.start()
    try:
        yield b
    finally:
        b.stop()


class Recorder:
    """An MQTT 3.1.1 subscriber with a persistent session: what the cloud would receive."""

    def __init__(self, url: str, topic: str = "microlink/#", client_id: str | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool, int]] = []
        self.lock = threading.Lock()
        host, port = mqtt_host_port(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"rec-{free_port()}",
                                  clean_session=False)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain), msg.qos))

    def where(self, suffix: str) -> list[tuple[str, bytes, bool, int]]:
        with self.lock:
            return [m for m in self.messages if m[0].endswith(suffix)]

    async def wait_for(self, suffix: str, n: int = 1, timeout_s: float = 15.0,
                       match=lambda m: True) -> list[tuple[str, bytes, bool, int]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [m for m in self.where(suffix) if match(m)]
            if len(found) >= n:
                return found
            await asyncio.sleep(0.05)
        return [m for m in self.where(suffix) if match(m)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
