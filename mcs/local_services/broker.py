"""An embedded MQTT broker the platform owns, for machines without `MCS_MQTT_URL`.

Mosquitto when its binary is on PATH (fast: 11–25 µs per message); otherwise the pure-Python amqtt
broker from PyPI (1.7–3 k msg/s: enough for one demo site, not for benchmarks).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mcs.runtime import UserError

# Mosquitto's defaults silently dropped 76–87 % of a burst to a lagging QoS 1 subscriber
# (DESIGN.md §6). The ingestor acks only after commit, so while the database is down the broker must
# hold a long outage's worth of messages: ~1 M messages is ~3 hours of a block at schedule rates.
MAX_QUEUED_MESSAGES = 1_000_000
MAX_INFLIGHT_MESSAGES = 1000


def mosquitto_config(port: int, data_dir: Path, bind: str = "127.0.0.1") -> str:
    return "\n".join([
        f"listener {port} {bind}",
        "allow_anonymous true",
        # Started as root, Mosquitto switches to the `mosquitto` account, which cannot write our data
        # directory, and then persists nothing (queued QoS 1 messages would be lost on a restart).
        # Staying the account that started it keeps persistence working; non-root ignores the line.
        f"user {getpass.getuser()}",
        "persistence true",
        f"persistence_location {data_dir}/",
        "autosave_interval 10",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        "max_queued_bytes 0",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        "max_packet_size 1048576",
        "set_tcp_nodelay true",
        f"log_dest file {data_dir}/mosquitto.log",
        "",
    ])


def amqtt_config(port: int, bind: str = "127.0.0.1") -> str:
    return "\n".join([
        "listeners:",
        "  default:",
        "    type: tcp",
        f"    bind: {bind}:{port}",
        "plugins:",
        "  amqtt.plugins.authentication.AnonymousAuthPlugin:",
        "    allow_anonymous: true",
        "",
    ])


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@dataclass
class EmbeddedBroker:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def kind(self) -> str:
        return "mosquitto" if shutil.which("mosquitto") else "amqtt"

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "mosquitto":
            config = self.data_dir / "mosquitto.conf"
            config.write_text(mosquitto_config(self.port, self.data_dir.resolve()))
            return [shutil.which("mosquitto") or "mosquitto", "-c", str(config)]
        config = self.data_dir / "amqtt.yaml"
        config.write_text(amqtt_config(self.port))
        amqtt = Path(sys.executable).parent / "amqtt"
        return [str(amqtt), "-c", str(config)]

    def start(self, timeout_s: float = 20) -> str:
        if wait_for_port("127.0.0.1", self.port, 0.2):
            raise UserError(f"port {self.port} is already in use: set MCS_EMBEDDED_MQTT_PORT to a free port, "
                            "or MCS_MQTT_URL to an existing broker")
        command = self.command()
        with open(self.data_dir / "broker.out", "ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        if not wait_for_port("127.0.0.1", self.port, timeout_s):
            self.stop()
            raise UserError(f"the embedded {self.kind} broker did not open port {self.port} within "
                            f"{timeout_s:.0f} s (log: {self.data_dir / 'broker.out'})")
        return self.url

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
