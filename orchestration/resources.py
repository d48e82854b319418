"""Dagster resources of the MCS code location, configured only through environment variables.

Why a subclass of DbtCliResource: the dbt profile (dbt/profiles.yml) reads the standard libpq
variables, and `mcs dbt` derives them from MCS_DATABASE_URL. Dagster must build against the same
database without anyone exporting PG* by hand, so the resource carries the URL (an EnvVar) and sets
the PG* variables for the dbt subprocess only while it is started.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar
from dagster_dbt import DbtCliResource
from packaging import version
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
        # The dbt subprocess reads os.environ when started.
        # Indirect selection "cautious": a test runs only when all its parents are in this build (a
        # relationships test from a daily roll-up to a dimension must not run in the static build
        # before the roll-up exists). dagster-dbt overrides it when the run selects checks itself.
        extra = {} if "DBT_INDIRECT_SELECTION" in os.environ else {"DBT_INDIRECT_SELECTION": "cautious"}
        with libpq_environ(self.database_url, extra):
            return super().cli(args, **kwargs)

    # The two overrides below save ~3-4 s per dbt step (a run is a fresh process, so per run as well).
    # Both replace private hooks of dagster-dbt 0.29 (pinned < 0.30 in pyproject.toml); the orchestration
    # tests run real dbt builds through them, so an upgrade that changes the hooks fails there first.

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:  # type: ignore[override]
        """No adapter handle: dagster-dbt builds one per invocation (0.4-1.7 s: profile, project, adapter
        registration) only to fetch column metadata and row counts, which these assets never request;
        without it the invocation runs as it does under the dbt Fusion engine."""
        return None

    @property
    def _cli_version(self) -> version.Version:  # type: ignore[override]
        """dagster-dbt runs `dbt --version` (~2.5 s) per resource instance, i.e. per run."""
        return _dbt_cli_version(self.dbt_executable)


@functools.cache
def _dbt_cli_version(executable: str) -> version.Version:
    """The venv's own dbt is the installed dbt-core package: its version without a subprocess."""
    if Path(executable).parent == Path(sys.executable).parent:
        return version.parse(importlib.metadata.version("dbt-core"))
    raw = subprocess.check_output([executable, "--version"]).decode("utf-8")  # noqa: S603 - the configured dbt
    match = re.search(r"(\d+\.\d+\.\d+)", raw)
    if not match:
        raise ValueError(f"could not parse the dbt version from `{executable} --version`: {raw.strip()[:200]}")
    return version.parse(match.group(1))


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
