"""`mcs up` on embedded defaults brings up a database and a broker that `mcs status` reports healthy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcs.local_services.broker import free_port

REPO = Path(__file__).resolve().parents[3]


def _status(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-m", "mcs.cli", "status", "--json"], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout)


def test_up_starts_database_and_broker_and_status_reports_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCS_")}
    env.update({
        "MCS_DATA_DIR": str(tmp_path / "data"),
        "MCS_EMBEDDED_POSTGRES_PORT": str(free_port()),
        "MCS_EMBEDDED_MQTT_PORT": str(free_port()),
        "MCS_DAGSTER_PORT": str(free_port()),
        "MCS_STREAMLIT_PORT": str(free_port()),
    })
    # The data path only: this test is about storage and broker, not the heavier UIs.
    up = subprocess.Popen([sys.executable, "-m", "mcs.cli", "up", "--only", "none"], env=env, cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        status: dict = {}
        while time.monotonic() < deadline:
            status = _status(env)
            if status["database"]["ok"] and status["broker"]["ok"]:
                break
            time.sleep(1)
        assert status["database"]["ok"], status
        assert status["broker"]["ok"], status
        assert status["database"]["storage"] in ("timescaledb", "postgres")
        assert status["database"]["url"].endswith(f":{env['MCS_EMBEDDED_POSTGRES_PORT']}/mcs")
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output
    assert "stopped" in output
    # Everything it started is gone again: the ports are free.
    assert not _status(env)["database"]["ok"]


def test_unreachable_database_is_one_actionable_line() -> None:
    env = {**os.environ, "MCS_DATABASE_URL": f"postgresql://mcs@127.0.0.1:{free_port()}/mcs"}
    result = subprocess.run([sys.executable, "-m", "mcs.cli", "db", "upgrade"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: database") and "MCS_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_malformed_database_url_is_one_actionable_line() -> None:
    env = {**os.environ, "MCS_DATABASE_URL": "not a url"}
    result = subprocess.run([sys.executable, "-m", "mcs.cli", "db", "upgrade"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: MCS_DATABASE_URL 'not a url' is not a URL; "
                                     "expected postgresql://user:password@host:port/database")


def test_unreachable_broker_is_reported_not_raised() -> None:
    env = {**os.environ, "MCS_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
           "MCS_DATABASE_URL": f"postgresql://mcs@127.0.0.1:{free_port()}/mcs"}
    status = _status(env)
    assert status["broker"]["ok"] is False
    assert "MCS_MQTT_URL" in status["broker"]["error"]
