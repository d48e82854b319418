"""The shipped infra/mosquitto/mosquitto.conf runs on a real Mosquitto: edges authenticate with a
client certificate whose CN is their username and stay confined by the generated ACL; services use
passwords on the internal listener; a client without a certificate is refused on the TLS port."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from mcs.broker_acl import broker_accounts, edge_account, read_credentials, render_edge_bridge, write_broker_files
from mcs.local_services.broker import free_port, wait_for_port
from tests.integration.infra.mqtt_helpers import Client, needs_mosquitto, wait_until

CONF = Path("infra/mosquitto/mosquitto.conf")
NOT_AUTHORIZED = 0x87
NO_SUBSCRIBERS = 0x10


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject: str, issuer_key: ec.EllipticCurvePrivateKey, issuer: str, key: ec.EllipticCurvePrivateKey,
          ca: bool = False, san: str | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(directory: Path, edge_cn: str) -> dict[str, Path]:
    """A throwaway CA, the broker's server certificate and one edge client certificate."""
    directory.mkdir()
    ca_key, server_key, edge_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    files = {
        "ca.crt": _cert("test-ca", ca_key, "test-ca", ca_key, ca=True),
        "server.crt": _cert("localhost", ca_key, "test-ca", server_key, san="localhost"),
        "edge.crt": _cert(edge_cn, ca_key, "test-ca", edge_key),
    }
    paths = {}
    for name, cert in files.items():
        paths[name] = directory / name
        paths[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    for name, key in (("server.key", server_key), ("edge.key", edge_key)):
        paths[name] = directory / name
        paths[name].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


def shipped_config(tmp: Path, internal_port: int, tls_port: int, auth: Path, certs: Path) -> Path:
    """The production file with only container paths and ports swapped for the test's."""
    text = CONF.read_text()
    text = text.replace("/mosquitto/auth", str(auth)).replace("/mosquitto/certs", str(certs))
    text = text.replace("/mosquitto/data/", f"{tmp}/data/")
    text = re.sub(r"^listener 1883 0\.0\.0\.0$", f"listener {internal_port} 127.0.0.1", text, flags=re.M)
    text = re.sub(r"^listener 8883 0\.0\.0\.0$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    text = text.replace("log_dest stdout", f"log_dest file {tmp}/mosquitto.log")
    if os.geteuid() == 0:
        text += "\nuser root\n"  # the `mosquitto` account could not read the test's 0600 files
    (tmp / "data").mkdir()
    path = tmp / "mosquitto.conf"
    path.write_text(text)
    return path


def tls_client(port: int, certs: dict[str, Path], with_cert: bool) -> tuple[Client, list[int]]:
    paho = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
    context = ssl.create_default_context(cafile=str(certs["ca.crt"]))
    if with_cert:
        context.load_cert_chain(str(certs["edge.crt"]), str(certs["edge.key"]))
    paho.tls_set_context(context)
    wrapper = Client(paho)
    failures: list[int] = []
    paho.on_connect = lambda _c, _u, _f, rc, _p: wrapper.connect_rc.append(rc.value)
    paho.on_publish = lambda _c, _u, mid, rc, _p: wrapper.puback.__setitem__(mid, rc.value)
    paho.on_connect_fail = lambda _c, _u: failures.append(1)
    paho.on_disconnect = lambda _c, _u, _f, rc, _p: failures.append(rc.value)
    try:
        paho.connect("localhost", port, keepalive=30)
    except (ssl.SSLError, OSError):
        failures.append(-1)
        return wrapper, failures
    paho.loop_start()
    return wrapper, failures


EDGE_CN = "edge-ab-bville-01"
OWN = "microlink/ab-baldwinsville/block-01"


def run_mosquitto(conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass
class Cloud:
    internal_port: int
    tls_port: int
    passwords: dict[str, str]
    pki: dict[str, Path]


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    """The shipped mosquitto.conf with a throwaway PKI and the ACL for the demo sites' blocks."""
    blocks = [("ab-baldwinsville", "block-01", EDGE_CN), ("rfg-foods-jhb", "block-01", None)]
    files = write_broker_files(broker_accounts(blocks), tmp_path / "auth", {})
    pki = write_pki(tmp_path / "certs", EDGE_CN)
    internal, tls = free_port(), free_port()
    process = run_mosquitto(shipped_config(tmp_path, internal, tls, tmp_path / "auth", tmp_path / "certs"))
    try:
        log = tmp_path / "mosquitto.log"
        assert wait_for_port("127.0.0.1", tls, 20), log.read_text() if log.exists() else "no log"
        yield Cloud(internal, tls, read_credentials(files["credentials.env"]), pki)
    finally:
        stop(process)


@needs_mosquitto
def test_shipped_config_serves_tls_edges_and_password_services(cloud: Cloud, mqtt5_client) -> None:
    admin = mqtt5_client(cloud.internal_port, "mcs-admin", cloud.passwords["mcs-admin"])
    admin.subscribe("microlink/#")

    edge, failures = tls_client(cloud.tls_port, cloud.pki, with_cert=True)
    assert wait_until(lambda: bool(edge.connect_rc) or bool(failures)), "no answer on the TLS listener"
    assert edge.connect_rc == [0], f"edge refused: {edge.connect_rc} {failures}"
    assert edge.publish(f"{OWN}/thermal-hx/MET-T1-kWht", b"{}") == 0
    assert edge.publish("microlink/rfg-foods-jhb/block-01/thermal-hx/MET-T1-kWht", b"{}") == NOT_AUTHORIZED
    assert wait_until(lambda: admin.topics() == [f"{OWN}/thermal-hx/MET-T1-kWht"])
    edge.client.disconnect()
    edge.client.loop_stop()

    anonymous, failures = tls_client(cloud.tls_port, cloud.pki, with_cert=False)
    assert wait_until(lambda: bool(failures) or bool(anonymous.connect_rc))
    assert failures and 0 not in anonymous.connect_rc, "a client without a certificate got in"
    anonymous.client.loop_stop()


@needs_mosquitto
def test_generated_edge_bridge_forwards_own_topics_and_brings_commands_in(cloud: Cloud, tmp_path: Path,
                                                                          mqtt5_client) -> None:
    """Edge broker (generated bridge config) -> cloud broker (shipped config) over mutual TLS."""
    local_port = free_port()
    text = render_edge_bridge(edge_account("ab-baldwinsville", "block-01", EDGE_CN), "localhost",
                              cloud.tls_port, certs_dir=str(tmp_path / "certs"))
    text = text.replace("listener 1883 127.0.0.1", f"listener {local_port} 127.0.0.1")
    text = text.replace("/mosquitto/data/", f"{tmp_path}/edge-data/")
    (tmp_path / "edge-data").mkdir()
    conf = tmp_path / "edge.conf"
    conf.write_text(text + f"log_dest file {tmp_path}/edge.log\n" + ("user root\n" if os.geteuid() == 0 else ""))
    edge_broker = run_mosquitto(conf)
    try:
        assert wait_for_port("127.0.0.1", local_port, 20)
        admin = mqtt5_client(cloud.internal_port, "mcs-admin", cloud.passwords["mcs-admin"])
        admin.subscribe("microlink/#")
        adapters = mqtt5_client(local_port, "", "")     # the edge's own processes, on loopback
        adapters.subscribe(f"{OWN}/command/+")
        bridge_up = tmp_path / "edge.log"
        assert wait_until(lambda: bridge_up.exists() and "Connecting bridge" in bridge_up.read_text())

        # Telemetry goes up once the bridge is connected; another block's topic never leaves the edge.
        def published_upstream() -> bool:
            adapters.publish(f"{OWN}/thermal-l2/TT-L2s", b"{}", qos=1)
            return wait_until(lambda: f"{OWN}/thermal-l2/TT-L2s" in admin.topics(), timeout_s=1)

        assert wait_until(published_upstream, timeout_s=30)
        # 0x10 "no matching subscribers": the bridge has no route for another block's topic.
        assert adapters.publish("microlink/rfg-foods-jhb/block-01/thermal-l2/TT-L2s", b"{}") == NO_SUBSCRIBERS
        assert adapters.publish(f"{OWN}/edge/heartbeat", b"{}") == 0
        assert wait_until(lambda: f"{OWN}/edge/heartbeat" in admin.topics())
        assert not any(t.startswith("microlink/rfg-foods-jhb") for t in admin.topics())

        commander = mqtt5_client(cloud.internal_port, "mcs-commander", cloud.passwords["mcs-commander"])
        assert commander.publish(f"{OWN}/command/diagnostics", b'{"cmd":"diagnostics_request"}') == 0
        assert commander.publish("microlink/rfg-foods-jhb/block-01/command/diagnostics", b"{}") == 0
        assert wait_until(lambda: f"{OWN}/command/diagnostics" in adapters.topics())
        assert adapters.topics() == [f"{OWN}/command/diagnostics"]
    finally:
        stop(edge_broker)


def test_config_sets_queue_limits_deliberately() -> None:
    settings = dict(line.split(None, 1) for line in CONF.read_text().splitlines()
                    if line.strip() and not line.startswith("#") and not line.startswith("listener"))
    assert int(settings["max_queued_messages"]) >= 1_000_000
    assert int(settings["max_inflight_messages"]) >= 1000
    assert settings["persistence"] == "true"
    assert settings["allow_anonymous"] == "false"
    assert settings["queue_qos0_messages"] == "true"
