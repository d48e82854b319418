"""SQLAlchemy engines and plain libpq URLs for one PostgreSQL URL.

Users give `postgresql://…`; SQLAlchemy needs the driver spelled out (`postgresql+psycopg://`) and
psycopg, dbt and pg_dump need it without. These two functions are the only place that translates.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url


def sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(sqlalchemy_url(url), **kwargs)  # type: ignore[arg-type]


def libpq_env(url: str) -> dict[str, str]:
    """The standard libpq variables (PGHOST, PGPORT, …) for tools such as dbt and pg_dump."""
    parsed = make_url(url)
    env = {
        "PGHOST": parsed.host or parsed.query.get("host", "") or "127.0.0.1",
        "PGPORT": str(parsed.port or 5432),
        "PGUSER": parsed.username or "postgres",
        "PGDATABASE": parsed.database or "postgres",
    }
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env
