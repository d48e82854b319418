"""Where the platform's database and broker are, and one-line errors when they cannot be reached.

Configured URLs win; without them the embedded servers that `mcs up` owns are used (their ports
come from settings, their files live under the data directory).
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import psycopg
from sqlalchemy.exc import ArgumentError

from mcs.db.engine import libpq_url
from mcs.settings import Settings, get_settings

PLATFORM_DATABASE = "mcs"


class UserError(RuntimeError):
    """An error a user can act on: printed as one line by the CLI, never as a traceback."""


def database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    return f"postgresql://postgres@127.0.0.1:{settings.embedded_postgres_port}/{PLATFORM_DATABASE}"


def mqtt_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    return settings.mqtt_url or f"mqtt://127.0.0.1:{settings.embedded_mqtt_port}"


def mqtt_host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts", "tcp"):
        raise UserError(f"MCS_MQTT_URL {url!r}: expected mqtt://host:port")
    return parsed.hostname or "127.0.0.1", parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)


def _redacted(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def check_database(url: str, timeout_s: int = 5) -> str:
    """Connect once; return the server version or raise a UserError that says what to do."""
    try:
        plain = libpq_url(url)
    except ArgumentError:
        expected = "postgresql://user:password@host:port/database"
        raise UserError(f"MCS_DATABASE_URL {url!r} is not a URL; expected {expected}") from None
    try:
        with psycopg.connect(plain, connect_timeout=timeout_s) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except psycopg.OperationalError as exc:
        # psycopg's first line names the host and the cause ("… failed: Connection refused").
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        reason = lines[0] if lines else exc.__class__.__name__
        raise UserError(
            f"database {_redacted(url)} is not reachable ({reason}); check MCS_DATABASE_URL, "
            "or unset it and run `mcs up` to start the embedded database"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise UserError(f"MCS_DATABASE_URL {_redacted(url)!r} is not a valid PostgreSQL URL: {exc}") from None


def check_broker(url: str, timeout_s: float = 3) -> None:
    host, port = mqtt_host_port(url)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        raise UserError(
            f"MQTT broker {url} is not reachable ({exc.strerror or exc}); check MCS_MQTT_URL, "
            "or unset it and run `mcs up` to start the embedded broker"
        ) from None
