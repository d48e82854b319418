"""MQTT 3.1.1 keeps the ingestor's zero-loss guarantee on Mosquitto: a persistent session
(clean_session=False) queues QoS 1 while the ingestor is down, and unacknowledged messages are
redelivered after a SIGKILL, because acknowledgements still follow the commit."""

from __future__ import annotations

import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcs.local_services.broker import EmbeddedBroker, free_port
from tests.integration.ingest.conftest import count_rows, spawn_ingestor, terminate, wait_until
from tests.integration.ingest.test_zero_loss import assert_exactly_once, stream
from tests.integration.mqtt_v311.conftest import Publisher311


@pytest.fixture(scope="module")
def mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Mosquitto of this module's own: other modules' retained messages must not reach `microlink/#`."""
    if not shutil.which("mosquitto"):
        pytest.skip("mosquitto is not on PATH (this test is about 3.1.1 on Mosquitto)")
    broker = EmbeddedBroker(Path(tmp_path_factory.mktemp("mosquitto311")), free_port())
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()


def test_sigkill_mid_stream_over_311_loses_and_duplicates_nothing(db: str, mosquitto_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MCS_MQTT_PROTOCOL", "3.1.1")
    n = 200                                                            # 800 messages
    client_id, log = f"ingest311-{uuid.uuid4().hex[:6]}", tmp_path / "ingest.log"
    proc = spawn_ingestor(db, mosquitto_url, client_id, "mcs-ingest", log, "--batch-size", "100", "--flush-ms", "50")
    pub = Publisher311(mosquitto_url)
    try:
        assert wait_until(lambda: count_rows(db, "ops.ingest_counters") >= 1, 30), log.read_text()[-3000:]
        messages = stream(n)

        def publish() -> None:
            for k, (topic, payload) in enumerate(messages):             # paced over ≥ 2 s
                pub.publish(topic, payload)
                if k % 50 == 49:
                    time.sleep(0.125)

        thread = threading.Thread(target=publish)
        thread.start()
        assert wait_until(lambda: count_rows(db, "raw.telemetry") >= 200, 30), log.read_text()[-3000:]
        terminate(proc, signal.SIGKILL)                                # mid-stream, acks outstanding
        landed_at_kill = count_rows(db, "raw.telemetry")
        thread.join()
        assert landed_at_kill < len(messages), "the kill was not mid-stream"
        proc = spawn_ingestor(db, mosquitto_url, client_id, "mcs-ingest", log)   # same client id → same session
        assert wait_until(lambda: count_rows(db, "raw.telemetry") >= len(messages), 60), (
            count_rows(db, "raw.telemetry"), log.read_text()[-3000:])
        assert_exactly_once(db, n)
        assert "over MQTT 3.1.1 (session present: True)" in log.read_text()
    finally:
        pub.close()
        terminate(proc)
