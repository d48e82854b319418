"""Fixtures for the deployment tests: a Mosquitto started with generated ACL/password files, and
MQTT 5 clients that report what the broker answered."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mcs.local_services.broker import free_port, wait_for_port
from tests.integration.infra.mqtt_helpers import Client, wait_until


@dataclass
class SecuredBroker:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def start_secured_broker(tmp_path: Path) -> Iterator[Callable[[Path], SecuredBroker]]:
    """Starts mosquitto with `acl` and `passwd` from the given directory (password auth, no anonymous)."""
    started: list[SecuredBroker] = []

    def start(files_dir: Path) -> SecuredBroker:
        port = free_port()
        data = tmp_path / f"broker-{port}"
        data.mkdir()
        log = data / "mosquitto.log"
        conf = data / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {port} 127.0.0.1",
            "allow_anonymous false",
            f"password_file {files_dir / 'passwd'}",
            f"acl_file {files_dir / 'acl'}",
            "persistence false",
            "max_queued_messages 100000",
            "max_inflight_messages 1000",
            f"log_dest file {log}",
            "log_type all",
            # As root, mosquitto would switch to the `mosquitto` account, which cannot read the 0600
            # files in the test's temporary directory.
            *(["user root"] if os.geteuid() == 0 else []),
            "",
        ]))
        process = subprocess.Popen([shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        if not wait_for_port("127.0.0.1", port, 20):
            process.kill()
            raise RuntimeError(f"mosquitto did not start: {log.read_text() if log.exists() else ''}")
        broker = SecuredBroker(port, process, log)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.process.terminate()
        try:
            broker.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            broker.process.kill()


@pytest.fixture
def mqtt5_client() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def connect(port: int, username: str, password: str, expect_ok: bool = True) -> Client:
        paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:10]}",
                           protocol=mqtt.MQTTv5)
        paho.username_pw_set(username, password)
        wrapper = Client(paho)

        def on_connect(_c, _u, _f, reason_code, _p):  # noqa: ANN001
            wrapper.connect_rc.append(reason_code.value)

        def on_message(_c, _u, message):  # noqa: ANN001
            with wrapper.lock:
                wrapper.received.append((message.topic, message.payload))

        def on_publish(_c, _u, mid, reason_code, _p):  # noqa: ANN001
            wrapper.puback[mid] = reason_code.value

        def on_subscribe(_c, _u, mid, reason_codes, _p):  # noqa: ANN001
            wrapper.suback[mid] = [code.value for code in reason_codes]

        paho.on_connect, paho.on_message = on_connect, on_message
        paho.on_publish, paho.on_subscribe = on_publish, on_subscribe
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 0
        paho.connect("127.0.0.1", port, keepalive=30, clean_start=True, properties=properties)
        paho.loop_start()
        clients.append(wrapper)
        assert wait_until(lambda: bool(wrapper.connect_rc)), f"no CONNACK for {username}"
        if expect_ok:
            assert wrapper.connect_rc[0] == 0, f"{username} refused: {wrapper.connect_rc[0]}"
        return wrapper

    yield connect
    for wrapper in clients:
        wrapper.client.disconnect()
        wrapper.client.loop_stop()
