"""One dbt build over three site-local days of simulator history, shared by the dbt tests.

The days are Baldwinsville's 2026-10-31 … 2026-11-02 (America/New_York): 1 November is the 25-hour
day when daylight saving ends, so the site-local hour/day logic is exercised on every run. Building
once (package scope) keeps the suite inside its time budget: database from the migrated template,
one demo block, a 3-day backfill, `dbt build` of the core models (staging, roll-ups, energy, heat,
efficiency, modes) with their generic, singular and unit tests. sqlfluff lints the same models in a
subprocess alongside.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from mcs.db.engine import libpq_env, make_engine
from simulator.backfill import backfill
from tests.conftest import with_database
from tests.fixtures.registry import load_demo_sites

REPO = Path(__file__).resolve().parents[3]
DBT_DIR = REPO / "dbt"
BIN = Path(sys.executable).parent

SITE, BLOCK, TZ = "ab-baldwinsville", "block-01", "America/New_York"
DATES = ("2026-10-31", "2026-11-01", "2026-11-02")
START = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)    # local midnight, EDT
END = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)       # local midnight, EST

# The core models this component owns (the business marts build in their own tests).
SELECT = [
    "path:models/staging",
    "path:models/intermediate/int_points_located.sql",
    "path:models/intermediate/int_meters_paired.sql",
    "path:models/intermediate/int_heat_calculated_1m.sql",
    "path:models/marts/core",
    "path:models/marts/rollups",
    "path:models/marts/energy",
    "path:models/marts/heat",
    "path:models/marts/efficiency",
    "path:models/marts/modes",
]
LINT_PATHS = [
    "models/staging",
    "models/intermediate/int_points_located.sql",
    "models/intermediate/int_meters_paired.sql",
    "models/intermediate/int_heat_calculated_1m.sql",
    "models/marts/core",
    "models/marts/rollups",
    "models/marts/energy",
    "models/marts/heat",
    "models/marts/efficiency",
    "models/marts/modes",
    "tests/assert_counters_never_negative.sql",
    "tests/assert_facility_energy_covers_it.sql",
    "tests/assert_heat_balance_within_tolerance.sql",
    "tests/assert_heat_worked_example.sql",
]


@dataclass
class BuiltProject:
    url: str
    engine: Engine
    env: dict[str, str]
    lint: subprocess.Popen
    timings: dict[str, float] = field(default_factory=dict)

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_dbt(self.env, *args)

    def lint_result(self) -> tuple[int, str]:
        out, _ = self.lint.communicate(timeout=300)
        return self.lint.returncode, out


def run_dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "dbt"), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def window_vars(first: str, last: str) -> str:
    return json.dumps({"min_date": first, "max_date": last})


def failure_tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.fixture(scope="package")
def built(pg_server_url: str, migrated_template: str,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltProject]:
    lint = subprocess.Popen([str(BIN / "sqlfluff"), "lint", *LINT_PATHS], cwd=DBT_DIR, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    name = f"mcs_dbt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
    url = with_database(pg_server_url, name)
    engine = make_engine(url)
    target = tmp_path_factory.mktemp("dbt_target")
    # Own target/log dirs: other dbt runs in the shared work tree must not see half-written artifacts.
    env = {**os.environ, **libpq_env(url), "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "MCS_DBT_THREADS": "2"}
    project = BuiltProject(url, engine, env, lint)
    try:
        load_demo_sites(engine, (SITE,))
        began = time.monotonic()
        report = backfill(url, (END - START) / timedelta(days=1), site_id=SITE, end=END, progress=False)
        project.timings["backfill_s"] = time.monotonic() - began
        project.timings["raw_rows"] = report.rows_inserted
        began = time.monotonic()
        # cautious: tests of other components' models that merely reference ours are left to their suites.
        result = run_dbt(env, "build", "--indirect-selection", "cautious", "--select", *SELECT,
                         "--vars", window_vars(DATES[0], DATES[-1]))
        project.timings["dbt_build_s"] = time.monotonic() - began
        if result.returncode != 0:
            pytest.fail(f"dbt build failed:\n{failure_tail(result)}")
        print(f"\n[dbt core] {report.rows_inserted} raw rows backfilled in {project.timings['backfill_s']:.1f} s; "
              f"dbt build {project.timings['dbt_build_s']:.1f} s")
        yield project
    finally:
        if lint.poll() is None:
            lint.kill()
            lint.communicate()
        engine.dispose()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
