"""Shared fixtures: a real PostgreSQL server and a real MQTT broker for the test session.

`MCS_TEST_DATABASE_URL` points the tests at an existing server (a superuser URL); otherwise an
embedded server is started on a free port in a temporary directory. Every test that asks for
`database_url` gets its own database, cloned from a migrated template and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from mcs.db.engine import libpq_url, make_engine
from mcs.db.migrate import upgrade
from mcs.local_services.broker import EmbeddedBroker, free_port
from mcs.local_services.postgres import EmbeddedPostgres

TEMPLATE_DB = "mcs_test_template"


def with_database(url: str, name: str) -> str:
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("MCS_TEST_DATABASE_URL")
    if given:
        yield libpq_url(given)
        return
    # Not under pytest's temp root: the server runs as `postgres` when we are root, and another pytest
    # session on the machine may reset that root to mode 0700 while this one runs.
    data_dir = Path(tempfile.mkdtemp(prefix="mcs-test-pg-"))
    server = EmbeddedPostgres(data_dir, free_port(), durable=False)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(pg_server_url: str) -> str:
    """A database with every migration applied; tests clone it (CREATE DATABASE … TEMPLATE).

    It takes the plain-PostgreSQL storage path, which every machine has; the storage tests build
    their own TimescaleDB database where the extension is installed (tests/integration/foundation).
    `MCS_TEST_TIMESCALEDB=auto` runs the whole suite on the TimescaleDB path instead (by hand, on a
    server with the extension preloaded).
    """
    name = f"{TEMPLATE_DB}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    storage = os.environ.get("MCS_TEST_TIMESCALEDB", "off")
    if storage not in ("off", "auto"):
        raise pytest.UsageError(f"MCS_TEST_TIMESCALEDB must be 'off' or 'auto', not {storage!r}")
    upgrade(with_database(pg_server_url, name), timescaledb=storage)
    yield name
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server_url: str, migrated_template: str) -> Iterator[str]:
    name = f"mcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    try:
        yield with_database(pg_server_url, name)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture(scope="module")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker per test module: telemetry is published retained (MCS contract), so a broker shared by
    the whole session would hand one module's retained readings to the next module's subscribers."""
    broker = EmbeddedBroker(Path(tmp_path_factory.mktemp("mqtt")), free_port())
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()
