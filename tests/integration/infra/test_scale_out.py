"""Scale-out through MQTT 5 shared subscriptions on a Mosquitto secured with the generated ACL:
two ingest replicas on `$share/ingest/microlink/#` split the edges' messages between them, every
message reaching exactly one replica."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mcs.broker_acl import broker_accounts, read_credentials, registry_blocks, write_broker_files
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
