"""The daemons over MQTT 3.1.1 against the embedded amqtt broker, as `mcs up` runs them on a machine
without Mosquitto: a module-scoped amqtt broker started by EmbeddedBroker with `kind` forced to amqtt
(the same amqtt.yaml the platform writes), the ingest module database, in-process daemons."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from ingest_daemons.edge.spool import Message, Spool
from ingest_daemons.edge.uplink import Uplink
from ingest_daemons.mqtt_ingestor.config import IngestSettings
from ingest_daemons.mqtt_ingestor.daemon import Ingestor
from mcs import mqtt_client
from mcs.local_services.broker import EmbeddedBroker, free_port
from tests.integration.ingest.conftest import db, module_db, wait_until  # noqa: F401 — fixtures re-used

MQTT311 = mqtt_client.MQTT311


class AmqttBroker(EmbeddedBroker):
    """EmbeddedBroker as on a machine without a mosquitto binary (anonymous clients, amqtt.yaml as written)."""

    @property
    def kind(self) -> str:
        return "amqtt"


class NamedSessionAmqttBroker(AmqttBroker):
    """amqtt with anonymous login off: a client that sends a user name is not anonymous, and amqtt keeps
    the persistent session (and queues QoS 1 messages) only for such clients."""

    def command(self) -> list[str]:
        argv = super().command()
        config = self.data_dir / "amqtt.yaml"
        config.write_text(config.read_text().replace("allow_anonymous: true", "allow_anonymous: false"))
        return argv


def _start(broker: EmbeddedBroker) -> Iterator[EmbeddedBroker]:
    assert broker.kind == "amqtt"
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def amqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    yield from _start(AmqttBroker(Path(tmp_path_factory.mktemp("amqtt")), free_port()))


@pytest.fixture(scope="module")
def named_amqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    yield from _start(NamedSessionAmqttBroker(Path(tmp_path_factory.mktemp("amqtt-named")), free_port()))


class Publisher311:
    """A plain MQTT 3.1.1 publisher (clean session) that waits for each PUBACK."""

    def __init__(self, url: str) -> None:
        self.client = mqtt_client.new_client(f"pub311-{uuid.uuid4().hex[:6]}", MQTT311, url=url, persistent=False)
        connected = threading.Event()
        self.client.on_connect = lambda *a: connected.set()
        self.client.loop_start()
        assert connected.wait(10), "publisher did not connect"

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class IngestorThread:
    def __init__(self, database_url: str, url: str, client_id: str, **settings: object) -> None:
        cfg = IngestSettings(group="mcs-ingest", client_id=client_id, report_s=0.5, batch_size=100, flush_ms=20,
                             **settings)
        self.ingestor = Ingestor(database_url, url, cfg, instance=client_id, protocol=MQTT311)
        self.thread = threading.Thread(target=self.ingestor.run, kwargs={"install_signals": False}, daemon=True)
        self.thread.start()
        assert wait_until(lambda: self.ingestor.connected, 20), "ingestor did not connect"
        time.sleep(0.5)                      # SUBACK (amqtt answers in a few ms; no event to wait on)

    def stop(self) -> None:
        """SIGTERM path: flush, commit, acknowledge, disconnect."""
        self.ingestor.request_stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "ingestor did not stop"


@pytest.fixture
def start_ingestor() -> Iterator[Callable[..., IngestorThread]]:
    running: list[IngestorThread] = []

    def start(database_url: str, url: str, client_id: str, **settings: object) -> IngestorThread:
        running.append(IngestorThread(database_url, url, client_id, **settings))
        return running[-1]

    yield start
    for r in running:
        if r.thread.is_alive():
            r.stop()


def send_through_uplink(url: str, spool_path: Path, messages: list[Message], *, subscriptions: tuple[str, ...] = (),
                        on_message: Callable[[mqtt.MQTTMessage], None] | None = None,
                        linger_s: float = 0.0) -> dict[str, int]:
    """Run an edge Uplink (MQTT 3.1.1) until every message is acknowledged by the broker; its counters."""

    async def run() -> dict[str, int]:
        up = Uplink(url, f"edge311-{uuid.uuid4().hex[:6]}", Spool(spool_path), window=200,
                    subscriptions=subscriptions, on_message=on_message, protocol=MQTT311)
        await up.start()
        deadline = time.monotonic() + 20
        while not up.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)             # SUBACK before the first publish
        up.send(messages)
        while up.depth > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(linger_s)
        await up.stop()
        return {"depth": up.depth, "published": up.published_total, "acked": up.acked_total}

    return asyncio.run(run())
