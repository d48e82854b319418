"""MQTT 5 test helpers for the deployment tests (polling waits, a recording client)."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest

needs_mosquitto = pytest.mark.skipif(shutil.which("mosquitto") is None,
                                     reason="ACL tests need the mosquitto binary (amqtt has no ACL file)")


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


@dataclass
class Client:
    """A connected MQTT 5 client that records received messages and publish/subscribe reason codes."""

    client: mqtt.Client
    received: list[tuple[str, bytes]] = field(default_factory=list)
    puback: dict[int, int] = field(default_factory=dict)
    suback: dict[int, list[int]] = field(default_factory=dict)
    connect_rc: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Publish and return the broker's PUBACK reason code (QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos)
        assert wait_until(lambda: info.mid in self.puback), f"no PUBACK for {topic}"
        return self.puback[info.mid]

    def subscribe(self, topic: str, qos: int = 1) -> list[int]:
        _, mid = self.client.subscribe(topic, qos=qos)
        assert wait_until(lambda: mid in self.suback), f"no SUBACK for {topic}"
        return self.suback[mid]

    def topics(self) -> list[str]:
        with self.lock:
            return [topic for topic, _ in self.received]


