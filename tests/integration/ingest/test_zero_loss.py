"""Zero loss, zero duplicates across failures: the ingestor SIGKILLed mid-stream and restarted
(persistent session + acks after commit), a graceful SIGTERM restart, the database refusing
connections for a while (nothing acknowledged, retried), and a broker restart with a backlog
queued for the ingestor's session (Mosquitto persistence)."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from mcs import wire
from mcs.local_services.broker import EmbeddedBroker, free_port
from mcs.wire import Reading
from tests.integration.ingest.conftest import Publisher, count_rows, spawn_ingestor, terminate, wait_until

SITE, BLOCK = "ab-baldwinsville", "block-01"
TAGS = [("TT-L2s", "thermal-l2", "°C"), ("FT-L2", "thermal-l2", "m³/h"), ("PT-L2s", "thermal-l2", "kPa"),
        ("TT-HXsOut", "thermal-hx", "°C")]


def stream(n: int) -> list[tuple[str, bytes]]:
    """n readings per tag, 1 s apart, in publish order."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    out = []
    for i in range(n):
        for tag, sub, unit in TAGS:
            out.append((wire.telemetry_topic(SITE, BLOCK, sub, tag),
                        wire.encode_telemetry(Reading(t0 + timedelta(seconds=i), float(i), unit, 0, None, i))))
    return out


def assert_exactly_once(db: str, n: int) -> None:
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT p.tag, count(*), count(DISTINCT t.ts), min(value), max(value) "
                            "FROM raw.telemetry t JOIN ref.points p USING (point_id) GROUP BY 1").fetchall()
        dead = conn.execute("SELECT count(*) FROM raw.dead_letter").fetchone()[0]  # type: ignore[index]
    assert sorted(rows) == sorted((tag, n, n, 0.0, float(n - 1)) for tag, _, _ in TAGS)
    assert dead == 0


def publish_paced(publisher: Publisher, messages: list[tuple[str, bytes]], seconds: float) -> threading.Thread:
    def run() -> None:
        chunk = 50
        pause = seconds / max(1, len(messages) // chunk)
        for k in range(0, len(messages), chunk):
            for topic, payload in messages[k:k + chunk]:
                publisher.publish(topic, payload)
            time.sleep(pause)
        publisher.flush()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_restart_mid_stream_loses_and_duplicates_nothing(db, publisher, mqtt_url, tmp_path: Path, sig):
    n = 600                                                        # 2400 messages
    group, client_id = f"zl-{uuid.uuid4().hex[:6]}", f"ingest-zl-{uuid.uuid4().hex[:6]}"
    log = tmp_path / "ingest.log"
    proc = spawn_ingestor(db, mqtt_url, client_id, group, log, "--batch-size", "200", "--flush-ms", "50")
    try:
        assert wait_until(lambda: count_rows(db, "ops.ingest_counters") >= 1, 30), log.read_text()[-3000:]
        messages = stream(n)
        pub = publish_paced(publisher, messages, seconds=2.0)
        assert wait_until(lambda: count_rows(db, "raw.telemetry") >= 400, 30), log.read_text()[-3000:]
        terminate(proc, sig)                                        # mid-stream
        landed_at_stop = count_rows(db, "raw.telemetry")
        pub.join()
        assert landed_at_stop < len(messages), "the stop was not mid-stream"
        proc = spawn_ingestor(db, mqtt_url, client_id, group, log)  # same identity → same session
        assert wait_until(lambda: count_rows(db, "raw.telemetry") >= len(messages), 60), (
            count_rows(db, "raw.telemetry"), log.read_text()[-3000:])
        time.sleep(0.5)
        assert_exactly_once(db, n)
    finally:
        terminate(proc)


def test_database_refusing_connections_delays_but_loses_nothing(db, publisher, start_ingestor, pg_server_url):
    ing = start_ingestor(db, batch_size=100, flush_ms=20)
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    messages = stream(250)                                          # 1000 messages
    for topic, payload in messages[:400]:
        publisher.publish(topic, payload)
    publisher.flush()
    assert wait_until(lambda: count_rows(db, "raw.telemetry") == 400)
    with psycopg.connect(pg_server_url, autocommit=True) as admin:   # "database down"
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        for topic, payload in messages[400:]:
            publisher.publish(topic, payload)
        publisher.flush()
        assert wait_until(lambda: ing.ingestor.counters.db_errors >= 2, 20)
        assert ing.ingestor.counters.received == 400                  # nothing counted (or acked) meanwhile
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert wait_until(lambda: count_rows(db, "raw.telemetry") == len(messages), 60)
    assert_exactly_once(db, 250)


def test_backlog_survives_a_broker_restart(db, tmp_path: Path, start_ingestor):
    """The ingestor is down, the edge keeps publishing (queued in the ingestor's session), the
    broker restarts (persistence on), the ingestor comes back: everything lands once."""
    from tests.integration.ingest.conftest import make_publisher

    broker = EmbeddedBroker(tmp_path / "broker", free_port())
    url = broker.start()
    client_id = f"ingest-br-{uuid.uuid4().hex[:6]}"
    try:
        ing = start_ingestor(db, client_id=client_id, mqtt_url=url)
        ing.stop()                                                  # session + subscription persist
        messages = stream(200)
        with make_publisher(url) as pub:
            for topic, payload in messages:
                pub.publish(topic, payload)
            pub.flush()
        broker.stop()
        broker.start()
        start_ingestor(db, client_id=client_id, mqtt_url=url)
        assert wait_until(lambda: count_rows(db, "raw.telemetry") >= len(messages), 30), count_rows(db,
                                                                                                    "raw.telemetry")
        assert_exactly_once(db, 200)
    finally:
        broker.stop()


def test_a_replica_leaving_the_group_strands_nothing(db, publisher, start_ingestor):
    """Mosquitto hands shared messages to offline member sessions too; a replica removed for good
    (SIGUSR1 → request_leave) unsubscribes and ends its session, so the others get everything."""
    leaving, staying = start_ingestor(db), start_ingestor(db)
    messages = stream(10)
    for topic, payload in messages[:20]:
        publisher.publish(topic, payload)
    publisher.flush()
    assert wait_until(lambda: count_rows(db, "raw.telemetry") == 20)
    leaving.ingestor.request_leave()
    leaving.thread.join(30)
    assert not leaving.thread.is_alive()
    for topic, payload in messages[20:]:
        publisher.publish(topic, payload)
    publisher.flush()
    assert wait_until(lambda: count_rows(db, "raw.telemetry") == len(messages), 15), count_rows(db, "raw.telemetry")
    assert staying.ingestor.counters.received >= len(messages) - 20
    assert_exactly_once(db, 10)


def test_stop_while_the_database_is_down_leaves_the_batch_for_redelivery(db, publisher, start_ingestor,
                                                                         pg_server_url):
    """SIGTERM during an outage: the writer gives up after the grace period without acknowledging;
    the restarted replica (same session) gets the messages again once the database is back."""
    client_id = f"ingest-dbdown-{uuid.uuid4().hex[:6]}"
    ing = start_ingestor(db, client_id=client_id, shutdown_grace_s=2)
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    messages = stream(50)
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        for topic, payload in messages:
            publisher.publish(topic, payload)
        publisher.flush()
        assert wait_until(lambda: ing.ingestor.counters.db_errors >= 1, 20)
        began = time.monotonic()
        ing.stop()
        assert time.monotonic() - began < 15
        assert ing.ingestor.counters.received == 0
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    start_ingestor(db, client_id=client_id)
    assert wait_until(lambda: count_rows(db, "raw.telemetry") == len(messages), 30), count_rows(db, "raw.telemetry")
    assert_exactly_once(db, 50)


def test_broker_restart_with_unacknowledged_messages_in_hand(db, tmp_path: Path, start_ingestor, pg_server_url):
    """Messages received on a connection that then drops are committed but not acked on the next
    connection (their packet ids may name other messages there); the broker redelivers them from
    the persisted session and the idempotent write absorbs the copies."""
    from tests.integration.ingest.conftest import make_publisher

    broker = EmbeddedBroker(tmp_path / "broker", free_port())
    url = broker.start()
    name = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    try:
        ing = start_ingestor(db, mqtt_url=url)
        with psycopg.connect(pg_server_url, autocommit=True) as admin:      # hold the batch unacked
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        messages = stream(25)
        try:
            with make_publisher(url) as pub:
                for topic, payload in messages:
                    pub.publish(topic, payload)
                pub.flush()
            assert wait_until(lambda: ing.ingestor.counters.db_errors >= 1 and not ing.ingestor.queue, 20)
            broker.stop()                                   # the connection that received them is gone
            broker.start()
            assert wait_until(lambda: ing.ingestor.connected, 30)
        finally:
            with psycopg.connect(pg_server_url, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert wait_until(lambda: count_rows(db, "raw.telemetry") == len(messages), 30)
        assert wait_until(lambda: ing.ingestor.counters.received >= 2 * len(messages), 30), ing.ingestor.counters
        assert ing.ingestor.counters.acks_skipped == len(messages)
        assert ing.ingestor.counters.duplicates == len(messages)
        assert_exactly_once(db, 25)
    finally:
        broker.stop()
