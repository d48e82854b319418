"""Run the platform's alembic migrations programmatically (`mcs db upgrade`).

Components add their own revision files beside the foundation's; several heads are expected, so
we always upgrade to `heads`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from mcs.db.engine import sqlalchemy_url
from mcs.settings import get_settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be doubled for ConfigParser interpolation (passwords may contain it).
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads", timescaledb: str | None = None) -> None:
    """Apply migrations; `timescaledb` ("auto"/"off") overrides the MCS_TIMESCALEDB setting."""
    config = alembic_config(url)
    config.attributes["timescaledb"] = timescaledb or get_settings().timescaledb
    command.upgrade(config, revision)


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    from mcs.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
