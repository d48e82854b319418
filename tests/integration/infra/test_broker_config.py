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
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from mcs.broker_acl import broker_accounts, read_credentials, write_broker_files
from mcs.local_services.broker import free_port, wait_for_port
from tests.integration.infra.mqtt_helpers import Client, needs_mosquitto, wait_until

CONF = Path("infra/mosquitto/mosquitto.conf")
NOT_AUTHORIZED = 0x87


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


@needs_mosquitto
def test_shipped_config_serves_tls_edges_and_password_services(tmp_path: Path, mqtt5_client) -> None:
    edge_cn = "edge-ab-bville-01"
    auth = tmp_path / "auth"
    files = write_broker_files(broker_accounts([("ab-baldwinsville", "block-01", edge_cn)]), auth, {})
    passwords = read_credentials(files["credentials.env"])
    pki = write_pki(tmp_path / "certs", edge_cn)
    internal, tls = free_port(), free_port()
    conf = shipped_config(tmp_path, internal, tls, auth, tmp_path / "certs")
    process = subprocess.Popen([shutil.which("mosquitto") or "mosquitto", "-c", str(conf)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        log = tmp_path / "mosquitto.log"
        assert wait_for_port("127.0.0.1", tls, 20), log.read_text() if log.exists() else "no log"

        admin = mqtt5_client(internal, "mcs-admin", passwords["mcs-admin"])
        admin.subscribe("microlink/#")

        edge, failures = tls_client(tls, pki, with_cert=True)
        assert wait_until(lambda: bool(edge.connect_rc) or bool(failures)), "no answer on the TLS listener"
        assert edge.connect_rc == [0], f"edge refused: {edge.connect_rc} {failures}"
        assert edge.publish("microlink/ab-baldwinsville/block-01/thermal-hx/MET-T1-kWht", b"{}") == 0
        assert edge.publish("microlink/rfg-foods-jhb/block-01/thermal-hx/MET-T1-kWht", b"{}") == NOT_AUTHORIZED
        assert wait_until(lambda: admin.topics() == ["microlink/ab-baldwinsville/block-01/thermal-hx/MET-T1-kWht"])
        edge.client.disconnect()
        edge.client.loop_stop()

        anonymous, failures = tls_client(tls, pki, with_cert=False)
        assert wait_until(lambda: bool(failures) or bool(anonymous.connect_rc))
        assert failures and 0 not in anonymous.connect_rc, "a client without a certificate got in"
        anonymous.client.loop_stop()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_config_sets_queue_limits_deliberately() -> None:
    settings = dict(line.split(None, 1) for line in CONF.read_text().splitlines()
                    if line.strip() and not line.startswith("#") and not line.startswith("listener"))
    assert int(settings["max_queued_messages"]) >= 1_000_000
    assert int(settings["max_inflight_messages"]) >= 1000
    assert settings["persistence"] == "true"
    assert settings["allow_anonymous"] == "false"
    assert settings["queue_qos0_messages"] == "true"
