"""Edge spool throughput: write and replay rows/s vs plain sqlite3 executemany, plus a drain to Mosquitto.

    .venv/bin/python bench/edge_spool.py [--rows 200000] [--batch 100]

Write: `Uplink.send` of `--batch`-message batches as the pollers call it (the forwarder group-commits
whatever accumulated, WAL, synchronous=FULL, capacity check), and `Spool.append` with one durable
transaction per batch, against the baseline — plain sqlite3 `executemany` of the same
rows into a same-shaped table in ONE transaction with default settings (no per-batch durability,
no index): the fastest a Python process writes these rows to SQLite. Replay: `Spool.peek` (in
order, with the newest-per-topic retain rule) + `Spool.delete` of each batch of 500, against a plain
`SELECT … ORDER BY id` + `DELETE` by id range. Drain: the edge's Uplink publishing a backlog to a real
Mosquitto at QoS 1 and deleting on PUBACK (what a reconnect after an outage does). Same run, same disk.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest_daemons.edge.spool import Message, Spool  # noqa: E402
from ingest_daemons.edge.uplink import Uplink  # noqa: E402
from mcs.local_services.broker import EmbeddedBroker, free_port  # noqa: E402
from mcs.wire import Reading, as_datetime, encode_telemetry  # noqa: E402

TAGS = [f"TT-{i:03d}" for i in range(250)]


def messages(n: int) -> list[Message]:
    t0 = time.time()
    out = []
    for i in range(n):
        tag = TAGS[i % len(TAGS)]
        ts = t0 + i * 0.01
        payload = encode_telemetry(Reading(as_datetime(ts), 40.0 + (i % 97) * 0.1, "°C", 0, None, i // len(TAGS)))
        out.append(Message(f"microlink/site-a/block-01/thermal-l2/{tag}", payload, 1, True, "telemetry", ts))
    return out


def bench_spool(path: Path, msgs: list[Message], batch: int) -> tuple[float, float]:
    sp = Spool(path, capacity=len(msgs) + 10)
    t0 = time.perf_counter()
    for i in range(0, len(msgs), batch):
        sp.append(msgs[i:i + batch])
    write = len(msgs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    n = 0
    while True:
        rows = sp.peek(0, 500)
        if not rows:
            break
        sp.delete([r.id for r in rows])
        n += len(rows)
    replay = n / (time.perf_counter() - t0)
    sp.close()
    return write, replay


def bench_baseline(path: Path, msgs: list[Message]) -> tuple[float, float]:
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE spool (id INTEGER PRIMARY KEY, topic TEXT, payload BLOB, qos INT, retain INT, "
                 "kind TEXT, created_at REAL)")
    rows = [(m.topic, m.payload, m.qos, int(m.retain), m.kind, m.created_at) for m in msgs]
    t0 = time.perf_counter()
    conn.executemany("INSERT INTO spool (topic, payload, qos, retain, kind, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     rows)
    conn.commit()
    write = len(rows) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    n = 0
    last = 0
    while True:
        got = conn.execute("SELECT id, topic, payload, qos, retain, created_at FROM spool WHERE id > ? ORDER BY id "
                           "LIMIT 500", (last,)).fetchall()
        if not got:
            break
        last = got[-1][0]
        conn.execute("DELETE FROM spool WHERE id <= ?", (last,))
        conn.commit()
        n += len(got)
    replay = n / (time.perf_counter() - t0)
    conn.close()
    return write, replay


async def bench_send(path: Path, msgs: list[Message], batch: int) -> float:
    """What producers see: Uplink.send in poll-sized batches, group-committed by the forwarder (no broker)."""
    sp = Spool(path, capacity=len(msgs) + 10)
    up = Uplink(f"mqtt://127.0.0.1:{free_port()}", f"bench-{free_port()}", sp)   # nothing listens there
    await up.start()
    t0 = time.perf_counter()
    for i in range(0, len(msgs), batch):
        up.send(msgs[i:i + batch])
        await asyncio.sleep(0)
    while sp.depth < len(msgs):
        await asyncio.sleep(0.005)
    rate = len(msgs) / (time.perf_counter() - t0)
    await up.stop(drain_s=0)
    sp.close()
    return rate


async def bench_drain(path: Path, msgs: list[Message], broker_url: str) -> float:
    sp = Spool(path, capacity=len(msgs) + 10)
    sp.append(msgs)
    up = Uplink(broker_url, f"bench-{free_port()}", sp)
    t0 = time.perf_counter()
    await up.start()
    while sp.depth > 0:
        await asyncio.sleep(0.01)
    rate = len(msgs) / (time.perf_counter() - t0)
    await up.stop()
    sp.close()
    return rate


def main(rows: int, batch: int) -> None:
    msgs = messages(rows)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        base_w, base_r = bench_baseline(d / "baseline.sqlite", msgs)
        spool_w, spool_r = bench_spool(d / "spool.sqlite", msgs, batch)
        send_w = asyncio.run(bench_send(d / "send.sqlite", msgs, batch))
        broker = EmbeddedBroker(d / "mqtt", free_port())
        broker.start()
        try:
            drain_n = min(rows, 50_000)
            drain = asyncio.run(bench_drain(d / "drain.sqlite", msgs[:drain_n], broker.url))
        finally:
            broker.stop()
    print(f"{rows} telemetry messages (~{len(msgs[0].payload)} B payload), spool batches of {batch}")
    print(f"write : Uplink.send (group commit) {send_w:9,.0f} rows/s | Spool.append per {batch}-row batch "
          f"{spool_w:9,.0f} rows/s | baseline executemany {base_w:9,.0f} rows/s | ratios {send_w / base_w:.2f} / "
          f"{spool_w / base_w:.2f}")
    print(f"replay: spool {spool_r:9,.0f} rows/s | baseline select+delete {base_r:9,.0f} rows/s | ratio "
          f"{spool_r / base_r:.2f}")
    print(f"drain to Mosquitto (QoS 1, delete on PUBACK), {drain_n} rows: {drain:9,.0f} msg/s "
          f"({drain / 88:.0f}x a block's schedule rate of ~88 msg/s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    main(args.rows, args.batch)
