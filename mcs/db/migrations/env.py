"""Alembic environment: online migrations only, against the URL set by mcs.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)

with engine.connect() as connection:
    # Keep alembic's bookkeeping out of the data schemas.
    context.configure(connection=connection, version_table_schema="public")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
