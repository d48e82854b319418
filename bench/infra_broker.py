"""Broker figures behind infra/SIZING.md, measured on this machine with a real Mosquitto.

1. Throughput through an open broker vs. one with password auth and the ACL generated for a
   100-block fleet (`mcs.broker_acl`): the cost of the security layer, as a ratio.
2. A burst of QoS 1 messages to a subscriber that is offline (persistent session): the share kept
   with Mosquitto's default queue limits vs. the limits in infra/mosquitto/mosquitto.conf.

    .venv/bin/python bench/infra_broker.py [--messages 50000] [--burst 20000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties

from mcs.broker_acl import broker_accounts, read_credentials, write_broker_files
from mcs.local_services.broker import free_port, wait_for_port

SHIPPED = Path(__file__).resolve().parents[1] / "infra" / "mosquitto" / "mosquitto.conf"
QUEUE_KEYS = ("max_queued_messages", "max_queued_bytes", "queue_qos0_messages", "max_inflight_messages")


def start(directory: Path, lines: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = directory / f"m{port}.conf"
    extra = ["user root"] if os.geteuid() == 0 else []
    conf.write_text("\n".join([f"listener {port} 127.0.0.1", *lines, *extra, ""]))
    process = subprocess.Popen([shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_for_port("127.0.0.1", port, 20):
        raise SystemExit("mosquitto did not start")
    return process, port


def client(port: int, user: str | None, password: str | None, client_id: str, clean: bool = True) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if user:
        c.username_pw_set(user, password)
    props = Properties(mqtt.PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0 if clean else 3600
    c.connect("127.0.0.1", port, keepalive=60, clean_start=clean, properties=props)
    c.loop_start()
    return c


def throughput(port: int, creds: dict[str, str] | None, messages: int) -> float:
    """Messages per second delivered to one QoS 0 subscriber from one publisher."""
    done = threading.Event()
    count = [0]

    def on_message(_c, _u, _m) -> None:  # noqa: ANN001
        count[0] += 1
        if count[0] >= messages:
            done.set()

    sub = client(port, "mcs-ingest" if creds else None, creds and creds["mcs-ingest"], "bench-sub")
    sub.on_message = on_message
    sub.subscribe("microlink/#", qos=0)
    time.sleep(0.5)
    edge = "edge-site-000-block-01"
    pub = client(port, edge if creds else None, creds and creds[edge], "bench-pub")
    topic = "microlink/site-000/block-01/thermal-l2/TT-L2s"
    started = time.perf_counter()
    for i in range(messages):
        pub.publish(topic, b'{"ts":"2026-03-04T09:15:04.880Z","v":45.3,"u":"\xc2\xb0C","q":0,"seq":%d}' % i)
        if i % 2000 == 0:
            time.sleep(0.005)  # let the subscriber keep up instead of measuring socket buffers
    done.wait(120)
    elapsed = time.perf_counter() - started
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()
    return count[0] / elapsed


def burst_kept(port: int, burst: int) -> float:
    """Share of a QoS 1 burst that an offline persistent subscriber receives when it returns."""
    sub = client(port, None, None, "bench-lagging", clean=False)
    sub.subscribe("microlink/#", qos=1)
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()
    pub = client(port, None, None, "bench-burst")
    infos = [pub.publish(f"microlink/site-000/block-01/thermal-l2/T{i % 50}", b"x", qos=1) for i in range(burst)]
    for info in infos:
        info.wait_for_publish(30)
    pub.disconnect()
    pub.loop_stop()
    received = [0]
    last = [time.monotonic()]

    def on_message(_c, _u, _m) -> None:  # noqa: ANN001
        received[0] += 1
        last[0] = time.monotonic()

    back = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-lagging", protocol=mqtt.MQTTv5)
    back.on_message = on_message
    props = Properties(mqtt.PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    back.connect("127.0.0.1", port, clean_start=False, properties=props)
    back.loop_start()
    while time.monotonic() - last[0] < 3:
        time.sleep(0.2)
    back.disconnect()
    back.loop_stop()
    return received[0] / burst


def shipped_queue_settings() -> list[str]:
    return [line for line in SHIPPED.read_text().splitlines() if line.split(" ", 1)[0] in QUEUE_KEYS]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--burst", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        blocks = [(f"site-{i:03d}", "block-01", None) for i in range(100)]
        files = write_broker_files(broker_accounts(blocks), directory / "auth", {})
        creds = read_credentials(files["credentials.env"])
        common = ["persistence false", "max_queued_messages 1000000", "max_inflight_messages 1000"]

        results = {}
        for name, lines, use_creds in (
            ("open", ["allow_anonymous true", *common], None),
            ("auth+acl (100 edges)", ["allow_anonymous false", f"password_file {directory}/auth/passwd",
                                      f"acl_file {directory}/auth/acl", *common], creds),
        ):
            process, port = start(directory, lines)
            try:
                results[name] = throughput(port, use_creds, args.messages)
            finally:
                process.terminate()
                process.wait()
        print(f"throughput, {args.messages} QoS 0 messages, 1 publisher -> 1 subscriber:")
        for name, rate in results.items():
            print(f"  {name:22s} {rate:10,.0f} msg/s")
        print(f"  ratio auth+acl / open: {results['auth+acl (100 edges)'] / results['open']:.2f}")

        print(f"burst of {args.burst} QoS 1 messages to an offline persistent subscriber:")
        for name, lines in (("mosquitto defaults", ["allow_anonymous true", "persistence false"]),
                            ("infra/mosquitto.conf limits", ["allow_anonymous true", "persistence false",
                                                             *shipped_queue_settings()])):
            process, port = start(directory, lines)
            try:
                print(f"  {name:28s} kept {burst_kept(port, args.burst):6.1%}")
            finally:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
