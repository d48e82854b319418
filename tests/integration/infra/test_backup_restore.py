"""Backup -> drop -> restore with infra/scripts/backup.sh and restore.sh (pg_dump/pg_restore of the
server's own major version) reproduces the telemetry row count, grants and Dagster's run history,
for both storage modes (TimescaleDB with a compressed chunk, and plain partitioning)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster import DagsterInstance, job, op

from mcs.db.migrate import upgrade
from mcs.local_services.postgres import find_bin_dir
from tests.conftest import with_database
from tests.integration.infra.registry_data import seed_registry

SCRIPTS = Path("infra/scripts")
HISTORY_SQL = """
SELECT raw.ensure_telemetry_partitions(now() - interval '4 days', now() + interval '1 day');
INSERT INTO raw.telemetry (ts, point_id, value, quality)
SELECT now() - interval '3 days' + g * interval '15 seconds', p.point_id, g, 0
FROM ref.points p CROSS JOIN generate_series(1, 1000) g
ON CONFLICT DO NOTHING;
"""
COMPRESS_SQL = """
SELECT count(compress_chunk(c, if_not_compressed => true))
FROM show_chunks('raw.telemetry', older_than => now() - interval '2 days') c
"""


@op
def touch() -> int:
    return 1


@job
def mcs_backup_probe() -> None:
    touch()


def admin(pg_server_url: str, *statements: str) -> None:
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def databases(pg_server_url: str) -> Iterator[tuple[str, str]]:
    names = (f"mcs_backup_{uuid.uuid4().hex[:8]}", f"dagster_backup_{uuid.uuid4().hex[:8]}")
    admin(pg_server_url, *(f'CREATE DATABASE "{name}"' for name in names))
    try:
        yield names
    finally:
        admin(pg_server_url, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


def dagster_instance(tmp_path: Path, pg_server_url: str, db: str, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    """The shipped infra/dagster.yaml, with only the compute-log directory moved into tmp_path."""
    config = yaml.safe_load(Path("infra/dagster.yaml").read_text())
    config["compute_logs"]["config"]["base_dir"] = str(tmp_path / "compute_logs")
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    server = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    for key, value in (("DAGSTER_PG_HOST", server["host"]), ("DAGSTER_PG_PORT", str(server["port"])),
                       ("DAGSTER_PG_DB", db), ("DAGSTER_PG_USER", server.get("user", "postgres")),
                       ("DAGSTER_PG_PASSWORD", server.get("password", ""))):
        monkeypatch.setenv(key, value)
    return DagsterInstance.from_config(str(home))


def run_script(script: str, *args: str, **env: str) -> str:
    full_env = {**os.environ, "PATH": f"{find_bin_dir()}:{os.environ['PATH']}", **env}
    result = subprocess.run(["sh", str(SCRIPTS / script), *args], env=full_env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{script} failed: {result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.parametrize("storage", ["postgres", "timescaledb"])
def test_backup_drop_restore_reproduces_the_data(storage: str, pg_server_url: str, databases: tuple[str, str],
                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mcs_db, dagster_db = databases
    url, dagster_url = with_database(pg_server_url, mcs_db), with_database(pg_server_url, dagster_db)
    upgrade(url, timescaledb="off" if storage == "postgres" else "auto")
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT raw.storage_mode()").fetchone()[0] != storage:  # type: ignore[index]
            pytest.skip("the timescaledb extension is not installed/preloaded on this PostgreSQL server")
    seed_registry(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(HISTORY_SQL)
        if storage == "timescaledb":
            assert conn.execute(COMPRESS_SQL).fetchone()[0] >= 1  # type: ignore[index]
        rows = conn.execute("SELECT count(*), sum(value) FROM raw.telemetry").fetchone()
    assert rows[0] > 10_000  # type: ignore[index]

    instance = dagster_instance(tmp_path, pg_server_url, dagster_db, monkeypatch)
    assert mcs_backup_probe.execute_in_process(instance=instance).success
    assert instance.get_runs_count() == 1
    instance.dispose()

    out = run_script("backup.sh", str(tmp_path / "backups"), MCS_ADMIN_DATABASE_URL=url,
                     DAGSTER_ADMIN_DATABASE_URL=dagster_url).strip().splitlines()[-1]
    backup = Path(out)
    assert {p.name for p in backup.iterdir()} == {"mcs.dump", "dagster.dump", "roles.sql", "counts.txt"}
    assert (backup / "counts.txt").read_text().strip() == f"raw.telemetry={rows[0]}"  # type: ignore[index]
    assert "PASSWORD" not in (backup / "roles.sql").read_text().upper().replace("NO PASSWORD", "")

    # Disaster: both databases are gone, recreated empty, restored.
    admin(pg_server_url, *(f'DROP DATABASE "{name}" WITH (FORCE)' for name in databases),
          *(f'CREATE DATABASE "{name}"' for name in databases))
    assert run_script("restore.sh", str(backup / "mcs.dump"), MCS_ADMIN_DATABASE_URL=url).strip() == (
        f"raw.telemetry={rows[0]}")  # type: ignore[index]
    run_script("restore.sh", str(backup / "dagster.dump"), MCS_ADMIN_DATABASE_URL=dagster_url)

    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*), sum(value) FROM raw.telemetry").fetchone() == rows
        assert conn.execute("SELECT raw.storage_mode()").fetchone()[0] == storage  # type: ignore[index]
        # Grants and row-level security come back with the data, database-level grants included.
        assert conn.execute("SELECT has_database_privilege('mcs_transform', current_database(), 'CREATE')"
                            ).fetchone()[0] is True  # type: ignore[index]
        conn.execute("SET ROLE mcs_ingest")
        assert conn.execute("SELECT count(*) FROM ref.blocks").fetchone()[0] == 3  # type: ignore[index]
        assert conn.execute("SELECT relforcerowsecurity FROM pg_class WHERE oid = 'ref.points'::regclass"
                            ).fetchone()[0] is True  # type: ignore[index]
    restored = dagster_instance(tmp_path, pg_server_url, dagster_db, monkeypatch)
    try:
        assert restored.get_runs_count() == 1
        assert restored.get_runs()[0].job_name == "mcs_backup_probe"
    finally:
        restored.dispose()
