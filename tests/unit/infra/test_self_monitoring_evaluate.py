"""Findings from a self-monitoring snapshot: thresholds and priorities (domain §3.8, §4.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcs.self_monitoring import Snapshot, certificate_findings, evaluate


def edge(age_s: float, depth: int = 0, connected: bool = True, errors: list[str] | None = None) -> dict:
    return {"site_id": "ab-baldwinsville", "block_id": "block-01", "edge_id": "edge-ab-bville-01",
            "age_s": age_s, "spool_depth": depth, "cloud_connected": connected, "replay_active": depth > 0,
            "adapters_in_error": errors or []}


def codes(snap: Snapshot) -> list[tuple[str, str]]:
    return [(f.priority, f.code) for f in evaluate(snap)]


def test_healthy_platform_has_no_findings() -> None:
    snap = Snapshot(edges=[edge(20)],
                    components=[{"component": "ingestor", "instance": "a", "age_s": 3, "counters": {}}],
                    freshness=[{"site_id": "s", "block_id": "b", "lag_p99_s": 1.2}],
                    dead_letters=[{"category": "PARSE_ERROR", "recent": 3, "previous": 1}])
    assert evaluate(snap) == []


def test_edge_silent_past_90_s_is_offline_and_nothing_else_is_reported_for_it() -> None:
    assert codes(Snapshot(edges=[edge(90.5, depth=10, errors=["bacnet"])])) == [("P0", "EDGE_OFFLINE")]
    assert codes(Snapshot(edges=[edge(89.0)])) == []


def test_buffering_edge_and_adapter_errors() -> None:
    assert codes(Snapshot(edges=[edge(10, depth=5000, connected=False, errors=["bacnet"])])) == [
        ("P1", "ADAPTER_ERROR"), ("P2", "EDGE_BUFFERING")]


def test_daemons_broker_lag_and_dead_letters() -> None:
    snap = Snapshot(
        components=[{"component": "ingestor", "instance": "a", "age_s": 500, "counters": {}},
                    {"component": "ingestor", "instance": "b", "age_s": 2, "counters": {"mqtt_connected": False}}],
        freshness=[{"site_id": "s", "block_id": "b", "lag_p99_s": 75.0}],
        dead_letters=[{"category": "SENSOR_UNKNOWN", "recent": 250, "previous": 10},
                      {"category": "PARSE_ERROR", "recent": 150, "previous": 400}])
    assert codes(snap) == [("P1", "BROKER_DISCONNECTED"), ("P1", "DAEMON_STALE"), ("P2", "DEAD_LETTER_GROWTH"),
                           ("P2", "INGEST_LAG")]
    growth = [f for f in evaluate(snap) if f.code == "DEAD_LETTER_GROWTH"]
    assert growth[0].subject == "SENSOR_UNKNOWN"


def write_cert(path: Path, not_after: datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, path.stem)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(not_after - timedelta(days=365)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_certificate_expiry_priorities(tmp_path: Path) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    certs = [write_cert(tmp_path / f"{name}.crt", now + timedelta(days=days))
             for name, days in (("fine", 90), ("soon", 20), ("imminent", 3), ("expired", -1))]
    found = {(f.code, f.priority, f.subject.split()[0]) for f in certificate_findings(certs, now)}
    assert found == {("CERT_EXPIRY", "P3", "soon.crt"), ("CERT_EXPIRY", "P2", "imminent.crt"),
                     ("CERT_EXPIRED", "P1", "expired.crt")}
