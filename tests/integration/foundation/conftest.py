"""Storage tests run once per storage mode: plain PostgreSQL partitioning and TimescaleDB."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from mcs.db.engine import make_engine
from mcs.db.migrate import upgrade
from tests.conftest import with_database


@pytest.fixture(params=["postgres", "timescaledb"])
def storage_engine(request: pytest.FixtureRequest, pg_server_url: str) -> Iterator[Engine]:
    name = f"mcs_storage_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(pg_server_url, name)
    engine = make_engine(url)
    try:
        upgrade(url, timescaledb="off" if request.param == "postgres" else "auto")
        with engine.connect() as conn:
            mode = conn.execute(text("SELECT raw.storage_mode()")).scalar_one()
        if mode != request.param:
            pytest.skip("the timescaledb extension is not installed (or not preloaded) on this PostgreSQL "
                        "server, so only the plain-PostgreSQL storage path can be tested here")
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
