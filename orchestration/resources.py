"""Dagster resources of the MCS code location, configured only through environment variables.

Why a subclass of DbtCliResource: the dbt profile (dbt/profiles.yml) reads the standard libpq
variables, and `mcs dbt` derives them from MCS_DATABASE_URL. Dagster must build against the same
database without anyone exporting PG* by hand, so the resource carries the URL (an EnvVar) and sets
the PG* variables for the dbt subprocess only while it is started.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource
from pydantic import Field
from sqlalchemy import Engine

from mcs.db.engine import libpq_env, make_engine

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"


@contextmanager
def libpq_environ(url: str, extra: dict[str, str] | None = None) -> Iterator[None]:
    """PG* variables of `url` (and `extra`) in os.environ for the duration (restored afterwards)."""
    wanted = {**libpq_env(url), **(extra or {})}
    saved = {key: os.environ.get(key) for key in (*wanted, "PGPASSWORD")}
    os.environ.pop("PGPASSWORD", None)
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class McsDatabase(ConfigurableResource):
    """The platform database (MCS_DATABASE_URL). Engines are created per use and disposed."""

    url: str = Field(description="PostgreSQL URL of the platform database")

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        eng = make_engine(self.url, pool_size=2, max_overflow=0)
        try:
            yield eng
        finally:
            eng.dispose()


class McsDbtCliResource(DbtCliResource):
    """dbt CLI resource that points the dbt profile at MCS_DATABASE_URL."""

    database_url: str = Field(description="PostgreSQL URL dbt builds in (MCS_DATABASE_URL)")

    def cli(self, args: Sequence[str], **kwargs: Any):  # type: ignore[override]
        # The subprocess (and dagster-dbt's in-process adapter handle) read os.environ when started.
        # Indirect selection "cautious": a test runs only when all its parents are in this build (a
        # relationships test from a daily roll-up to a dimension must not run in the static build
        # before the roll-up exists). dagster-dbt overrides it when the run selects checks itself.
        extra = {} if "DBT_INDIRECT_SELECTION" in os.environ else {"DBT_INDIRECT_SELECTION": "cautious"}
        with libpq_environ(self.database_url, extra):
            return super().cli(args, **kwargs)


def dbt_executable() -> str:
    """The venv's dbt when present (PATH may not include the venv when started by `mcs up`)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def resources() -> dict[str, Any]:
    return {
        "database": McsDatabase(url=EnvVar("MCS_DATABASE_URL")),
        "dbt": McsDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                 dbt_executable=dbt_executable(), database_url=EnvVar("MCS_DATABASE_URL")),
    }
