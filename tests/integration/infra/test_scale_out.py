"""Scale-out through MQTT 5 shared subscriptions.

1. Broker level, on a Mosquitto secured with the generated ACL: two ingest sessions on
   `$share/ingest/microlink/#` split the edges' messages, every message reaching exactly one.
2. With the real ingestor (`mcs ingest`): two replicas on one broker land every reading exactly
   once in raw.telemetry, also across a rolling restart of one replica in the middle of the stream.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from mcs.broker_acl import broker_accounts, read_credentials, registry_blocks, write_broker_files
from mcs.local_services.broker import EmbeddedBroker, free_port
from tests.integration.infra.mqtt_helpers import needs_mosquitto, wait_until
from tests.integration.infra.registry_data import BLOCKS, seed_registry

MESSAGES_PER_EDGE = 1000
SHARED = "$share/ingest/microlink/#"


@needs_mosquitto
def test_two_ingest_replicas_share_the_load_exactly_once(database_url, tmp_path: Path, start_secured_broker,
                                                         mqtt5_client) -> None:
    seed_registry(database_url, with_telemetry=False)
    files = write_broker_files(broker_accounts(registry_blocks(database_url)), tmp_path / "auth", {})
    passwords = read_credentials(files["credentials.env"])
    broker = start_secured_broker(tmp_path / "auth")

    replicas = [mqtt5_client(broker.port, "mcs-ingest", passwords["mcs-ingest"]) for _ in range(2)]
    for replica in replicas:
        assert replica.subscribe(SHARED) == [1]
    # The alarm engine's group receives its own full copy, independently of the ingest group.
    alarms = mqtt5_client(broker.port, "mcs-alarms", passwords["mcs-alarms"])
    assert alarms.subscribe("$share/alarms/microlink/#") == [1]

    edges = {}
    for (site, block), name in zip(BLOCKS, ("edge-ab-bville-01", "edge-rfg-foods-jhb-block-01",
                                            "edge-rfg-foods-jhb-block-02"), strict=True):
        edges[(site, block)] = mqtt5_client(broker.port, name, passwords[name])
    expected = []
    for i in range(MESSAGES_PER_EDGE):
        for (site, block), edge in edges.items():
            payload = f"{site}/{block}/{i}".encode()
            edge.client.publish(f"microlink/{site}/{block}/thermal-l2/TT-L2s", payload, qos=1)
            expected.append(payload)

    def received() -> list[bytes]:
        with replicas[0].lock, replicas[1].lock:
            return [payload for r in replicas for _, payload in r.received]

    assert wait_until(lambda: len(received()) >= len(expected), timeout_s=60), (
        f"{len(received())} of {len(expected)} delivered")
    assert wait_until(lambda: len(alarms.received) >= len(expected), timeout_s=60)
    counts = Counter(received())
    assert set(counts) == set(expected)                         # nothing lost
    assert max(counts.values()) == 1                            # nothing delivered twice
    shares = [len(r.received) for r in replicas]
    assert min(shares) > 0.2 * len(expected), f"load not shared: {shares}"
    assert sorted(p for _, p in alarms.received) == sorted(expected)


READINGS_PER_POINT = 200


def telemetry_messages(points: dict[tuple[str, str, str], int]) -> list[tuple[str, bytes]]:
    """MCS v1 single-reading messages (domain §3.4) for every test point, 1 s apart."""
    tags = {"electrical": "MET-01-kW", "thermal-hx": "MET-T1-kWt", "thermal-l1": "TT-CDU1-SUP", "security": "DOOR-01"}
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    messages = []
    for i in range(READINGS_PER_POINT):
        ts = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for site, block, subsystem in points:
            payload = {"ts": ts, "v": float(i), "u": "kW", "q": "GOOD", "alarm": None, "seq": i}
            messages.append((f"microlink/{site}/{block}/{subsystem}/{tags[subsystem]}", json.dumps(payload).encode()))
    return messages


def start_ingestor(database_url: str, mqtt_url: str, instance: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_MQTT_URL": mqtt_url,
           "MCS_INSTANCE": instance, "HOSTNAME": instance}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "mcs.cli", "ingest"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.skipif(importlib.util.find_spec("ingest_daemons.mqtt_ingestor") is None,
                    reason="the MQTT ingestor (ingest_daemons.mqtt_ingestor, `mcs ingest`) is not in this checkout")
@needs_mosquitto
def test_two_ingestor_replicas_land_every_reading_exactly_once(database_url, tmp_path: Path) -> None:
    points = seed_registry(database_url, with_telemetry=False)
    broker = EmbeddedBroker(tmp_path / "broker", free_port())
    mqtt_url = broker.start()
    replicas = [start_ingestor(database_url, mqtt_url, f"replica-{n}", tmp_path / f"ingest-{n}.log") for n in (1, 2)]
    try:
        def reporting() -> int:
            with psycopg.connect(database_url) as conn:
                return conn.execute("SELECT count(*) FROM ops.ingest_counters WHERE component = 'ingestor' "
                                    "AND ts > now() - interval '1 minute'").fetchone()[0]  # type: ignore[index]

        assert wait_until(lambda: reporting() >= 2, timeout_s=60), (tmp_path / "ingest-1.log").read_text()[-2000:]
        messages = telemetry_messages(points)
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="scale-out-edge", protocol=mqtt.MQTTv5)
        publisher.connect("127.0.0.1", int(mqtt_url.rsplit(":", 1)[1]))
        publisher.loop_start()
        half = len(messages) // 2
        for topic, payload in messages[:half]:
            publisher.publish(topic, payload, qos=1)
        # A rolling restart in the middle of the stream: replica 1 stops (SIGTERM flushes), the other
        # carries on, replica 1 comes back with the same identity and drains what its session holds.
        stop(replicas[0])
        for topic, payload in messages[half:]:
            publisher.publish(topic, payload, qos=1)
        replicas[0] = start_ingestor(database_url, mqtt_url, "replica-1", tmp_path / "ingest-1.log")

        def landed() -> int:
            with psycopg.connect(database_url) as conn:
                return conn.execute("SELECT count(*) FROM raw.telemetry").fetchone()[0]  # type: ignore[index]

        assert wait_until(lambda: landed() >= len(messages), timeout_s=120), f"{landed()} of {len(messages)}"
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT point_id, count(*), count(DISTINCT ts) FROM raw.telemetry "
                                "GROUP BY point_id").fetchall()
            dead = conn.execute("SELECT count(*) FROM raw.dead_letter").fetchone()[0]  # type: ignore[index]
        assert sorted(pid for pid, _, _ in rows) == sorted(points.values())
        assert all(n == READINGS_PER_POINT and distinct == READINGS_PER_POINT for _, n, distinct in rows)
        assert dead == 0
        publisher.disconnect()
        publisher.loop_stop()
    finally:
        for replica in replicas:
            stop(replica)
        broker.stop()
