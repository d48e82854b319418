"""A migrated, empty scratch database for a benchmark, dropped afterwards.

    with scratch_database() as db:          # db.url, db.embedded
        ...

On the server of MCS_BENCH_DATABASE_URL (a superuser URL) when set, otherwise on an embedded
PostgreSQL in a temporary directory (durable=False: benchmarks measure the platform, not fsync).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from mcs.db.engine import libpq_url
from mcs.db.migrate import upgrade
from mcs.local_services.broker import free_port
from mcs.local_services.postgres import EmbeddedPostgres


@dataclass(frozen=True)
class ScratchDatabase:
    url: str
    embedded: bool   # True when the benchmark started its own server


def with_database(url: str, name: str) -> str:
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_database(timescaledb: str = "off") -> Iterator[ScratchDatabase]:
    with tempfile.TemporaryDirectory(prefix="mcs-bench-") as tmp:
        server = None
        base = os.environ.get("MCS_BENCH_DATABASE_URL")
        if not base:
            server = EmbeddedPostgres(Path(tmp) / "pg", free_port(), durable=False)
            base = server.start()
        name = f"mcs_bench_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(libpq_url(base), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = with_database(base, name)
            upgrade(url, timescaledb=timescaledb)
            yield ScratchDatabase(url, embedded=server is not None)
        finally:
            with psycopg.connect(libpq_url(base), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if server is not None:
                server.stop()
