"""The ACL and password files generated from the registry confine each edge to its own topics, on a
real Mosquitto: a foreign publish is refused (MQTT 5 reason 0x87) and never reaches a subscriber."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mcs.broker_acl import broker_accounts, read_credentials, registry_blocks, write_broker_files
from tests.integration.infra.mqtt_helpers import needs_mosquitto, wait_until
from tests.integration.infra.registry_data import seed_registry

NOT_AUTHORIZED = 0x87
BAD_CREDENTIALS = 0x86


@needs_mosquitto
def test_edge_publishes_and_reads_only_its_own_topics(database_url, tmp_path: Path, start_secured_broker,
                                                      mqtt5_client) -> None:
    seed_registry(database_url, with_telemetry=False)
    accounts = broker_accounts(registry_blocks(database_url))
    assert [a.username for a in accounts if a.username.startswith("edge-")] == [
        "edge-ab-bville-01", "edge-rfg-foods-jhb-block-01", "edge-rfg-foods-jhb-block-02"]
    files = write_broker_files(accounts, tmp_path / "generated", {})
    assert oct(os.stat(files["credentials.env"]).st_mode & 0o777) == "0o600"
    passwords = read_credentials(files["credentials.env"])
    broker = start_secured_broker(tmp_path / "generated")

    admin = mqtt5_client(broker.port, "mcs-admin", passwords["mcs-admin"])
    assert admin.subscribe("microlink/#") == [1]
    edge = mqtt5_client(broker.port, "edge-ab-bville-01", passwords["edge-ab-bville-01"])
    own = "microlink/ab-baldwinsville/block-01"
    foreign = "microlink/rfg-foods-jhb/block-01"

    # Own topics: telemetry, heartbeat, mode, alarms, batch and command replies are accepted.
    for topic in (f"{own}/thermal-hx/MET-T1-kWht", f"{own}/edge/heartbeat", f"{own}/mode/state",
                  f"{own}/alarms/P1", f"{own}/batch/electrical", f"{own}/command/response"):
        assert edge.publish(topic, b"{}") == 0, topic
    # Another block's telemetry, an unknown subsystem, a forged command to itself, a topic outside
    # the MCS tree: all refused.
    for topic in (f"{foreign}/thermal-hx/MET-T1-kWht", f"{own}/not-a-subsystem/X", f"{own}/command/mode",
                  "microlink/ab-baldwinsville/block-02/electrical/MET-01-kW", "elsewhere/x"):
        assert edge.publish(topic, b"{}") == NOT_AUTHORIZED, topic

    assert wait_until(lambda: len(admin.topics()) >= 6)
    # Poll a little longer: a leaked foreign message would arrive after the accepted ones.
    edge.publish(f"{own}/network/SW-01-latency", b"sentinel")
    assert wait_until(lambda: f"{own}/network/SW-01-latency" in admin.topics())
    assert sorted(admin.topics()) == sorted([
        f"{own}/thermal-hx/MET-T1-kWht", f"{own}/edge/heartbeat", f"{own}/mode/state", f"{own}/alarms/P1",
        f"{own}/batch/electrical", f"{own}/command/response", f"{own}/network/SW-01-latency"])


@needs_mosquitto
def test_edge_receives_only_its_own_commands(database_url, tmp_path: Path, start_secured_broker,
                                             mqtt5_client) -> None:
    seed_registry(database_url, with_telemetry=False)
    files = write_broker_files(broker_accounts(registry_blocks(database_url)), tmp_path / "generated", {})
    passwords = read_credentials(files["credentials.env"])
    broker = start_secured_broker(tmp_path / "generated")

    edge = mqtt5_client(broker.port, "edge-rfg-foods-jhb-block-02", passwords["edge-rfg-foods-jhb-block-02"])
    edge.subscribe("microlink/#")  # accepted, but delivery is checked per message
    neighbour = mqtt5_client(broker.port, "edge-rfg-foods-jhb-block-01",
                             passwords["edge-rfg-foods-jhb-block-01"])
    commander = mqtt5_client(broker.port, "mcs-commander", passwords["mcs-commander"])

    assert neighbour.publish("microlink/rfg-foods-jhb/block-01/electrical/MET-01-kW", b"{}") == 0
    assert commander.publish("microlink/rfg-foods-jhb/block-01/command/edge", b"{}") == 0
    assert commander.publish("microlink/rfg-foods-jhb/block-02/command/edge", b"{}") == 0
    # The commander may not impersonate an edge.
    assert commander.publish("microlink/rfg-foods-jhb/block-02/electrical/MET-01-kW", b"{}") == NOT_AUTHORIZED

    assert wait_until(lambda: "microlink/rfg-foods-jhb/block-02/command/edge" in edge.topics())
    assert commander.publish("microlink/rfg-foods-jhb/block-02/command/mode", b"{}") == 0
    assert wait_until(lambda: len(edge.topics()) >= 2)
    assert edge.topics() == ["microlink/rfg-foods-jhb/block-02/command/edge",
                             "microlink/rfg-foods-jhb/block-02/command/mode"]


@needs_mosquitto
def test_wrong_password_and_anonymous_are_refused(database_url, tmp_path: Path, start_secured_broker,
                                                  mqtt5_client) -> None:
    seed_registry(database_url, with_telemetry=False)
    directory = tmp_path / "generated"
    write_broker_files(broker_accounts(registry_blocks(database_url)), directory, {})
    first = read_credentials(directory / "credentials.env")
    # Regenerating keeps every existing password (edges in the field keep working).
    write_broker_files(broker_accounts(registry_blocks(database_url)), directory, {})
    assert read_credentials(directory / "credentials.env") == first
    broker = start_secured_broker(directory)

    wrong = mqtt5_client(broker.port, "edge-ab-bville-01", "not-the-password", expect_ok=False)
    assert wrong.connect_rc[0] in (BAD_CREDENTIALS, NOT_AUTHORIZED)
    anonymous = mqtt5_client(broker.port, "", "", expect_ok=False)
    assert anonymous.connect_rc[0] != 0


def test_mcs_infra_acl_command_writes_the_three_files(database_url, tmp_path: Path) -> None:
    seed_registry(database_url, with_telemetry=False)
    out = tmp_path / "generated"
    env = {**os.environ, "MCS_DATABASE_URL": database_url, "MCS_BROKER_PASSWORD_MCS_INGEST": "from-the-vault"}
    result = subprocess.run([str(Path(sys.executable).parent / "mcs"), "infra", "acl", "--out", str(out)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "3 edge and 4 service accounts" in result.stdout
    assert "user edge-rfg-foods-jhb-block-02" in (out / "acl").read_text()
    assert read_credentials(out / "credentials.env")["mcs-ingest"] == "from-the-vault"
    assert len((out / "passwd").read_text().splitlines()) == 7
