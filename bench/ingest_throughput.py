"""Ingest throughput: MCS v1 messages through Mosquitto → `mcs ingest` → PostgreSQL, next to the
transport and storage limits measured in the same run.

    .venv/bin/python bench/ingest_throughput.py [--runs 3] [--single 60000] [--batches 6000] [--items 50]

Each workload is queued in the broker first (the ingestor's persistent session holds it while the
ingestor is offline), then the ingestor starts and drains it: the figure is messages (and readings)
committed *and acknowledged* per second, from connect to the last ack, with no publisher competing
for the 2 cores. Workloads:

* single — one reading per message on `microlink/{site}/{block}/{subsystem}/{tag}` (the contract form)
* batch  — `--items` readings per message on `…/batch/{subsystem}` (1.1.0)

Limits, same rows, same server, same run:

* transport — a bare paho subscriber (MQTT 5, QoS 1, receive maximum 4000, manual acks sent every 500
  messages) that only decodes each payload with mcs.wire, draining the same single-message backlog;
* storage (idempotent) — binary COPY into a temp table + INSERT … ON CONFLICT DO NOTHING into an empty
  raw.telemetry (what the ingestor does, minus MQTT), in one transaction;
* storage (plain) — one plain binary COPY of the same rows into an empty table with UNIQUE (point_id, ts).

Prints the median of `--runs` runs and the ratios. Uses MCS_BENCH_DATABASE_URL (superuser; a scratch
database is created and dropped) or an embedded PostgreSQL (durable=False, as bench/backfill.py), and
an embedded Mosquitto.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scratch_db import scratch_database  # noqa: E402
from ingest_daemons.mqtt_ingestor.config import IngestSettings  # noqa: E402
from ingest_daemons.mqtt_ingestor.daemon import Ingestor  # noqa: E402
from mcs import wire  # noqa: E402
from mcs.db.engine import make_engine  # noqa: E402
from mcs.local_services.broker import EmbeddedBroker, free_port  # noqa: E402
from mcs.registry import load_site_files, sync_registry  # noqa: E402

SITES_DIR = Path(__file__).resolve().parents[1] / "sites"
RESET = "TRUNCATE raw.telemetry, ops.point_latest, raw.dead_letter, raw.unregistered_readings"


def load_points(url: str) -> list[tuple[str, str, str, str, str, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT site_id, block_id, subsystem, tag, unit, point_id FROM ref.active_points "
                            "ORDER BY point_id").fetchall()


def single_messages(points: list, n: int, t0: datetime) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        site, block, sub, tag, unit, _ = points[i % len(points)]
        ts = t0 + timedelta(milliseconds=10 * (i // len(points)))
        out.append((wire.telemetry_topic(site, block, sub, tag),
                    wire.encode_telemetry(wire.Reading(ts, float(i % 1000), unit, 0, None, i // len(points)))))
    return out


def batch_messages(points: list, batches: int, items: int, t0: datetime) -> list[tuple[str, bytes]]:
    by_sub: dict[tuple[str, str, str], list] = {}
    for p in points:
        by_sub.setdefault((p[0], p[1], p[2]), []).append(p)
    groups = list(by_sub.items())
    out = []
    cursor: dict[tuple[str, str, str], int] = {}
    for b in range(batches):
        key, pts = groups[b % len(groups)]
        start = cursor.get(key, 0)
        chunk = []
        for k in range(items):
            j = start + k
            _, _, _, tag, unit, _ = pts[j % len(pts)]
            ts = t0 + timedelta(milliseconds=10 * (j // len(pts)))
            chunk.append((tag, wire.Reading(ts, float(j % 1000), unit, 0, None, j // len(pts))))
        cursor[key] = start + items
        out.append((wire.batch_topic(*key), wire.encode_batch(t0, chunk)))
    return out


def rows_of(messages: list[tuple[str, bytes]], points: list) -> list[tuple]:
    ids = {(p[0], p[1], p[3]): p[5] for p in points}
    rows = []
    for topic, payload in messages:
        t = wire.parse_topic(topic)
        pairs = [(t.tag, wire.decode_telemetry(payload))] if t.kind == "telemetry" else wire.decode_batch(payload)
        for tag, r in pairs:
            rows.append((r.ts, ids[(t.site, t.block, tag)], r.value, r.quality))
    return rows


def connect_props(expiry: int) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry
    return props


def open_session(port: int, client_id: str, group: str) -> None:
    """Create the persistent session + shared subscription, so the broker queues for it."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port, clean_start=False, properties=connect_props(3600))
    c.loop_start()
    c.subscribe(f"$share/{group}/microlink/#", options=SubscribeOptions(qos=1))
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


def drop_session(port: int, client_id: str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port, clean_start=True, properties=connect_props(0))
    c.loop_start()
    time.sleep(0.1)
    c.disconnect()
    c.loop_stop()


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:6]}", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = [c.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(120)
    c.disconnect()
    c.loop_stop()


def drain_ingestor(url: str, port: int, messages: list[tuple[str, bytes]], batch_size: int,
                   flush_ms: int) -> tuple[float, int]:
    """Seconds from connect to the last acknowledged message; rows written."""
    client_id, group = f"bench-ingest-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}"
    open_session(port, client_id, group)
    publish_all(port, messages)
    cfg = IngestSettings(group=group, client_id=client_id, batch_size=batch_size, flush_ms=flush_ms,
                         report_s=3600, registry_refresh_s=3600)
    ing = Ingestor(url, f"mqtt://127.0.0.1:{port}", cfg, instance=client_id)
    thread = threading.Thread(target=ing.run, kwargs={"install_signals": False})
    thread.start()
    while not ing.connected:
        time.sleep(0.001)
    began = time.monotonic()
    while ing.counters.received < len(messages):
        time.sleep(0.005)
        if not thread.is_alive():
            raise RuntimeError("ingestor stopped")
    seconds = time.monotonic() - began
    ing.request_stop()
    thread.join()
    drop_session(port, client_id)
    if ing.counters.dead_letter:
        raise RuntimeError(f"{ing.counters.dead_letter} dead letters in the benchmark workload")
    return seconds, ing.counters.written


def drain_bare(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Transport limit: decode only, acks batched per 500 messages."""
    client_id, group = f"bench-bare-{uuid.uuid4().hex[:6]}", f"bare-{uuid.uuid4().hex[:6]}"
    open_session(port, client_id, group)
    publish_all(port, messages)
    done = threading.Event()
    state = {"n": 0, "mids": []}
    total = len(messages)

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        wire.parse_topic(msg.topic)
        wire.decode_telemetry(msg.payload)
        state["mids"].append(msg.mid)
        state["n"] += 1
        if len(state["mids"]) >= 500 or state["n"] == total:
            for mid in state["mids"]:
                client.ack(mid, 1)
            state["mids"].clear()
        if state["n"] == total:
            done.set()

    connected = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True)
    c.on_message = on_message
    c.on_connect = lambda *a: connected.set()
    props = connect_props(3600)
    props.ReceiveMaximum = 4000                  # as the ingestor (2 × batch size)
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    connected.wait(10)
    began = time.monotonic()
    done.wait(600)
    seconds = time.monotonic() - began
    c.disconnect()
    c.loop_stop()
    drop_session(port, client_id)
    return seconds


def live_latency(url: str, port: int, points: list, rate: float, seconds: float, log: Path) -> tuple[float, ...]:
    """Publish single messages at `rate` msg/s (ts = publish time) to `mcs ingest` running as its own
    process; returns (sent, p50 ms, p99 ms, max ms) of publish → insert (raw.telemetry.received_at)."""
    reset(url)
    client_id, group = f"bench-live-{uuid.uuid4().hex[:6]}", f"live-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "MCS_DATABASE_URL": url, "MCS_MQTT_URL": f"mqtt://127.0.0.1:{port}",
           "MCS_INGEST_REPORT_S": "0.5", "MCS_INSTANCE": client_id}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mcs.cli", "ingest", "--group", group, "--client-id",
                                 client_id], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while not conn.execute("SELECT count(*) FROM ops.ingest_counters WHERE instance = %s",
                                   (client_id,)).fetchone()[0]:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"mcs ingest did not start (log {log})")
                time.sleep(0.1)
        time.sleep(0.5)
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-edge-{uuid.uuid4().hex[:6]}",
                        protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", port)
        c.loop_start()
        topics = [(wire.telemetry_topic(p[0], p[1], p[2], p[3]), p[4]) for p in points]
        sent, tick, began = 0, 0.01, time.monotonic()
        last_ts: dict[int, float] = {}
        infos = []
        while time.monotonic() - began < seconds:
            due = int((time.monotonic() - began) * rate)
            while sent < due:
                k = sent % len(topics)
                now = max(time.time(), last_ts.get(k, 0.0) + 0.001)       # unique (point, ts) at ms precision
                last_ts[k] = now
                topic, unit = topics[k]
                infos.append(c.publish(topic, wire.encode_telemetry(wire.Reading(wire.as_datetime(now), 1.0, unit)),
                                       qos=1))
                sent += 1
            time.sleep(tick)
        for info in infos:                        # every PUBACK before DISCONNECT, or paho drops the rest
            info.wait_for_publish(60)
        c.disconnect()
        c.loop_stop()
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM raw.telemetry").fetchone()[0] < sent:
                if time.monotonic() > deadline:
                    raise RuntimeError("live run did not land every message")
                time.sleep(0.2)
            p50, p99, mx = conn.execute(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY e), percentile_cont(0.99) WITHIN GROUP "
                "(ORDER BY e), max(e) FROM (SELECT extract(epoch FROM received_at - ts) * 1000 AS e "
                "FROM raw.telemetry) x").fetchone()
            time.sleep(1.0)
            counters = conn.execute("SELECT counters FROM ops.ingest_counters WHERE instance = %s",
                                    (client_id,)).fetchone()[0]
        print("  ingestor counters: " + ", ".join(f"{k} {counters.get(k)}" for k in (
            "received", "batches", "route_s", "write_s", "commit_ms", "duplicates", "dead_letter")))
        return float(sent), p50, p99, mx
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        drop_session(port, client_id)


def storage_rates(url: str, rows: list[tuple]) -> tuple[float, float]:
    """(idempotent COPY→stage→ON CONFLICT seconds, plain COPY seconds) for the same rows."""
    with psycopg.connect(url) as conn:
        conn.execute(RESET)
        conn.commit()
        conn.execute("CREATE TEMP TABLE stage (ts timestamptz, point_id int, value float8, quality int2)")
        began = time.monotonic()
        with conn.cursor() as cur:
            with cur.copy("COPY stage FROM STDIN (FORMAT BINARY)") as cp:
                cp.set_types(["timestamptz", "int4", "float8", "int2"])
                for r in rows:
                    cp.write_row(r)
            cur.execute("INSERT INTO raw.telemetry (ts, point_id, value, quality) SELECT ts, point_id, value, "
                        "quality FROM stage ORDER BY point_id, ts ON CONFLICT (point_id, ts) DO NOTHING")
        conn.commit()
        idempotent = time.monotonic() - began
        conn.execute("DROP TABLE IF EXISTS bench_plain")
        conn.execute("CREATE TABLE bench_plain (ts timestamptz NOT NULL, point_id integer NOT NULL, "
                     "value double precision, quality smallint NOT NULL, UNIQUE (point_id, ts))")
        conn.commit()
        began = time.monotonic()
        with conn.cursor() as cur, cur.copy("COPY bench_plain FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["timestamptz", "int4", "float8", "int2"])
            for r in rows:
                cp.write_row(r)
        conn.commit()
        plain = time.monotonic() - began
        conn.execute("DROP TABLE bench_plain")
        conn.execute(RESET)
        conn.commit()
    return idempotent, plain


def reset(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(RESET)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--single", type=int, default=60_000, help="single-reading messages per run")
    ap.add_argument("--batches", type=int, default=6_000, help="batch messages per run")
    ap.add_argument("--items", type=int, default=50, help="readings per batch message")
    ap.add_argument("--batch-size", type=int, default=IngestSettings().batch_size)
    ap.add_argument("--flush-ms", type=int, default=IngestSettings().flush_ms)
    ap.add_argument("--live-seconds", type=float, default=10.0, help="latency run at half the single rate")
    ap.add_argument("--live-rate", type=float, default=None, help="only the latency run, at this msg/s")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp, scratch_database() as db:
        url = db.url
        broker = EmbeddedBroker(Path(tmp) / "mqtt", free_port())
        broker.start()
        try:
            engine = make_engine(url)
            sync_registry(engine, load_site_files(SITES_DIR))
            engine.dispose()
            points = load_points(url)
            t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
            single = single_messages(points, args.single, t0)
            batch = batch_messages(points, args.batches, args.items, t0 + timedelta(hours=1))
            single_rows, batch_rows = rows_of(single, points), rows_of(batch, points)
            if args.live_rate:
                sent, p50, p99, mx = live_latency(url, broker.port, points, args.live_rate, args.live_seconds,
                                                  Path(tmp) / "live.log")
                print(f"live at {args.live_rate:,.0f} msg/s for {args.live_seconds:.0f} s, {sent:,.0f} messages: "
                      f"publish→insert p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {mx:.0f} ms")
                return
            print(f"{len(points)} points; single: {len(single)} messages; batch: {len(batch)} messages × "
                  f"{args.items} = {len(batch_rows)} readings; ingestor batch {args.batch_size}, "
                  f"flush {args.flush_ms} ms; broker {broker.kind}")
            res: dict[str, list[float]] = {k: [] for k in ("single", "batch", "bare", "idem_single", "plain_single",
                                                            "idem_batch", "plain_batch")}
            for run in range(args.runs):
                reset(url)
                s, written = drain_ingestor(url, broker.port, single, args.batch_size, args.flush_ms)
                assert written == len(single_rows), (written, len(single_rows))
                res["single"].append(len(single) / s)
                reset(url)
                s, written = drain_ingestor(url, broker.port, batch, args.batch_size, args.flush_ms)
                assert written == len(batch_rows), (written, len(batch_rows))
                res["batch"].append(len(batch_rows) / s)
                res["bare"].append(len(single) / drain_bare(broker.port, single))
                idem, plain = storage_rates(url, single_rows)
                res["idem_single"].append(len(single_rows) / idem)
                res["plain_single"].append(len(single_rows) / plain)
                idem, plain = storage_rates(url, batch_rows)
                res["idem_batch"].append(len(batch_rows) / idem)
                res["plain_batch"].append(len(batch_rows) / plain)
                print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in res.items()))
            med = {k: statistics.median(v) for k, v in res.items()}

            def ratio(a: str, b: str) -> float:
                """Median of the per-run ratios: each run's pair shares the machine's load at that time."""
                return statistics.median(x / y for x, y in zip(res[a], res[b], strict=True))

            print(f"\nmedians of {args.runs} runs (per second; ratios are medians of per-run ratios):")
            print(f"  single-reading messages, ingested: {med['single']:>10,.0f} msg/s (= readings/s)")
            print(f"  bare subscriber (decode only):     {med['bare']:>10,.0f} msg/s   "
                  f"ratio single/transport = {ratio('single', 'bare'):.2f}")
            print(f"  plain COPY of the same rows:       {med['plain_single']:>10,.0f} rows/s  "
                  f"ratio single/plain COPY = {ratio('single', 'plain_single'):.2f}")
            print(f"  batch messages ({args.items}/msg), ingested: {med['batch']:>10,.0f} readings/s "
                  f"({med['batch'] / args.items:,.0f} msg/s)")
            print(f"  idempotent COPY (stage+ON CONFLICT): {med['idem_batch']:>8,.0f} rows/s  "
                  f"ratio batch/storage = {ratio('batch', 'idem_batch'):.2f}")
            print(f"  plain COPY of the same rows:       {med['plain_batch']:>10,.0f} rows/s  "
                  f"ratio batch/plain COPY = {ratio('batch', 'plain_batch'):.2f}")
            if args.live_seconds > 0:
                rate = med["single"] / 2
                sent, p50, p99, mx = live_latency(url, broker.port, points, rate, args.live_seconds,
                                                  Path(tmp) / "live.log")
                print(f"  live at {rate:,.0f} msg/s (half the single rate) for {args.live_seconds:.0f} s, "
                      f"{sent:,.0f} messages: publish→insert p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {mx:.0f} ms")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
