"""Alarm engine integration fixtures: a broker of this module's own (retained messages of other components'
tests cannot leak in), the demo registry, an engine running in a thread, an MQTT publisher."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text

from ingest_daemons.alarms.config import AlarmSettings
from ingest_daemons.alarms.engine import AlarmEngine
from mcs.local_services.broker import EmbeddedBroker, free_port
from mcs.runtime import mqtt_host_port
from tests.fixtures.registry import load_demo_sites

SITE, BLOCK = "ab-baldwinsville", "block-01"


@pytest.fixture(scope="module")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = EmbeddedBroker(Path(tmp_path_factory.mktemp("alarm-mqtt")), free_port())
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()


@pytest.fixture
def demo(engine: Engine) -> Engine:
    load_demo_sites(engine, ("ab-baldwinsville",))
    return engine


class Publisher:
    def __init__(self, url: str) -> None:
        host, port = mqtt_host_port(url)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def publisher(broker_url: str) -> Iterator[Publisher]:
    pub = Publisher(broker_url)
    yield pub
    pub.close()


@contextmanager
def running_engine(database_url: str, broker_url: str, group: str | None = None, client_id: str | None = None,
                   **settings: Any) -> Iterator[AlarmEngine]:
    """An AlarmEngine in a thread, subscribed, stopped (drained, disconnected) on exit."""
    s = AlarmSettings(group=group or f"alarms-{uuid.uuid4().hex[:8]}",
                      client_id=client_id or f"alarms-test-{uuid.uuid4().hex[:8]}", report_s=1.0, **settings)
    eng = AlarmEngine(database_url, broker_url, s, instance="test")
    thread = threading.Thread(target=eng.run, name="alarm-engine-test", daemon=True)
    thread.start()
    assert eng.subscribed.wait(15), "engine did not subscribe"
    try:
        yield eng
    finally:
        eng.stop()
        thread.join(20)
        assert not thread.is_alive(), "engine did not stop"


def wait_for(fn: Callable[[], Any], timeout_s: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        time.sleep(0.1)


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).mappings())
