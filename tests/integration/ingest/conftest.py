"""One migrated database with both demo sites per module (tables emptied before each test), a
publisher, and an in-process ingestor runner; real PostgreSQL and Mosquitto throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest_daemons.mqtt_ingestor.config import IngestSettings
from ingest_daemons.mqtt_ingestor.daemon import Ingestor
from mcs.db.engine import make_engine
from mcs.runtime import mqtt_host_port
from tests.conftest import with_database
from tests.fixtures.registry import load_demo_sites

EMPTIED = ("raw.telemetry", "raw.dead_letter", "raw.unregistered_readings", "raw.mode_events", "raw.edge_heartbeats",
           "raw.edge_alarm_events", "raw.command_responses", "ops.point_latest", "ops.commands",
           "ops.ingest_counters")


def wait_until(predicate: Callable[[], bool], timeout_s: float = 30.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


@pytest.fixture(scope="module")
def module_db(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    name = f"mcs_ingest_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = with_database(pg_server_url, name)
    engine = make_engine(url)
    load_demo_sites(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(module_db: str) -> str:
    """The module's database with every table the ingestor writes emptied (the registry stays)."""
    with psycopg.connect(module_db) as conn:
        conn.execute(f"TRUNCATE {', '.join(EMPTIED)}")
    return module_db


def q(url: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(url: str, sql: str, *params: object) -> object:
    return q(url, sql, *params)[0][0]


def count_rows(url: str, table: str) -> int:
    return scalar(url, f"SELECT count(*) FROM {table}")  # type: ignore[return-value]


@dataclass
class Publisher:
    """An edge-like MQTT 5 publisher that waits for the broker's PUBACK of every QoS 1 message."""

    client: mqtt.Client
    pending: list[mqtt.MQTTMessageInfo] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.pending.append(self.client.publish(topic, payload, qos=qos, retain=retain))

    def flush(self, timeout_s: float = 30) -> None:
        for info in self.pending:
            info.wait_for_publish(timeout_s)
        self.pending.clear()


@contextmanager
def make_publisher(mqtt_url: str) -> Iterator[Publisher]:
    host, port = mqtt_host_port(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-edge-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    pub = Publisher(client)
    try:
        yield pub
    finally:
        pub.flush()
        client.disconnect()
        client.loop_stop()


@pytest.fixture
def publisher(mqtt_url: str) -> Iterator[Publisher]:
    with make_publisher(mqtt_url) as pub:
        yield pub


@dataclass
class RunningIngestor:
    ingestor: Ingestor
    thread: threading.Thread

    def stop(self) -> None:
        self.ingestor.request_stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "ingestor did not stop"

    def wait_connected(self, timeout_s: float = 20) -> None:
        assert wait_until(lambda: self.ingestor.connected, timeout_s), "ingestor did not connect"
        time.sleep(0.2)                                  # SUBACK


@pytest.fixture
def start_ingestor(mqtt_url: str) -> Iterator[Callable[..., RunningIngestor]]:
    """Start in-process ingestors (thread) on a per-test shared-subscription group."""
    running: list[RunningIngestor] = []
    group = f"test-{uuid.uuid4().hex[:8]}"

    def start(database_url: str, client_id: str | None = None, mqtt_url: str = mqtt_url,
              **settings: object) -> RunningIngestor:
        cfg = IngestSettings(group=group, client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}",
                             report_s=0.5, **settings)
        ing = Ingestor(database_url, mqtt_url, cfg, instance=cfg.client_id)
        thread = threading.Thread(target=ing.run, kwargs={"install_signals": False}, daemon=True)
        thread.start()
        r = RunningIngestor(ing, thread)
        running.append(r)
        r.wait_connected()
        return r

    yield start
    for r in running:
        if r.thread.is_alive():
            r.stop()


def spawn_ingestor(database_url: str, mqtt_url: str, client_id: str, group: str, log: Path,
                   *extra: str) -> subprocess.Popen[bytes]:
    """`mcs ingest` as a separate process (for SIGKILL / SIGTERM tests)."""
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": mqtt_url, "MCS_INSTANCE": client_id,
           "MCS_INGEST_REPORT_S": "0.5"}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "mcs.cli", "ingest", "--group", group, "--client-id",
                                 client_id, *extra], env=env, stdout=out, stderr=subprocess.STDOUT)


def terminate(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
