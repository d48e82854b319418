"""URL translation between users' URLs, SQLAlchemy, libpq and the environment of dbt/pg_dump."""

from __future__ import annotations

import pytest

from mcs.db.engine import libpq_env, libpq_url, sqlalchemy_url
from mcs.runtime import UserError, database_url, mqtt_host_port, mqtt_url
from mcs.settings import Settings


def test_sqlalchemy_url_names_the_psycopg3_driver() -> None:
    assert sqlalchemy_url("postgresql://u:p@h:5433/d") == "postgresql+psycopg://u:p@h:5433/d"
    assert sqlalchemy_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_libpq_url_drops_the_driver_and_keeps_the_password() -> None:
    assert libpq_url("postgresql+psycopg://u:s%40cret@h:5433/d") == "postgresql://u:s%40cret@h:5433/d"


def test_libpq_env_gives_dbt_the_standard_variables() -> None:
    assert libpq_env("postgresql://mcs:pw@db.example:6543/platform") == {
        "PGHOST": "db.example", "PGPORT": "6543", "PGUSER": "mcs", "PGDATABASE": "platform", "PGPASSWORD": "pw",
    }
    assert "PGPASSWORD" not in libpq_env("postgresql://mcs@h/d")


def test_without_urls_the_embedded_servers_are_used() -> None:
    settings = Settings(database_url=None, mqtt_url=None, embedded_postgres_port=6000, embedded_mqtt_port=7000)
    assert database_url(settings) == "postgresql://postgres@127.0.0.1:6000/mcs"
    assert mqtt_url(settings) == "mqtt://127.0.0.1:7000"


def test_configured_urls_win() -> None:
    settings = Settings(database_url="postgresql://a@b/c", mqtt_url="mqtt://broker:1884")
    assert database_url(settings) == "postgresql://a@b/c"
    assert mqtt_host_port(mqtt_url(settings)) == ("broker", 1884)


def test_mqtt_url_must_be_mqtt() -> None:
    with pytest.raises(UserError, match="expected mqtt://host:port"):
        mqtt_host_port("http://broker:80")
    assert mqtt_host_port("mqtts://broker") == ("broker", 8883)
