"""A simulator-backfilled platform database shared by this folder's tests (built once per module).

ab-baldwinsville is re-commissioned on 2026-10-31 and backfilled for that last site-local day of
October 2026, so October is a complete billing month for it (a block's expected data starts at its
commissioning) while the test stays small: one day × one block at one sample per minute (~390 k rows).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from mcs.db.engine import make_engine
from mcs.settings import get_settings
from tests.conftest import with_database
from tests.fixtures.registry import load_demo_sites

SITE = "ab-baldwinsville"
MONTH = "2026-10"
DAYS = ("2026-10-31",)
# Local midnight Nov 1 in New York (still EDT, UTC−4): the end of the backfill.
BACKFILL_END = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def platform_db(pg_server_url: str, migrated_template: str, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[tuple[str, Engine, Path]]:
    """(database URL, engine, reports dir) with MCS_DATABASE_URL / MCS_REPORT_DIR pointing at them."""
    from simulator.backfill import backfill

    name = f"mcs_orch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = with_database(pg_server_url, name)
    engine = make_engine(url)
    reports_dir = tmp_path_factory.mktemp("reports")
    saved = {k: os.environ.get(k) for k in ("MCS_DATABASE_URL", "MCS_REPORT_DIR")}
    os.environ["MCS_DATABASE_URL"] = url
    os.environ["MCS_REPORT_DIR"] = str(reports_dir)
    get_settings.cache_clear()
    try:
        load_demo_sites(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE ref.blocks SET commissioned_on = DATE '2026-10-31' WHERE site_id = :s"),
                         {"s": SITE})
        backfill(url, days=1, site_id=SITE, end=BACKFILL_END, progress=False)
        yield url, engine, reports_dir
    finally:
        engine.dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
