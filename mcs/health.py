"""Component heartbeats and the platform status that `mcs status` prints.

Each long-running process upserts its counters into ops.ingest_counters every few seconds
(`report`); `platform_status` turns those rows, plus database and broker checks, into one report.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from mcs.db.engine import make_engine
from mcs.runtime import UserError, check_broker, check_database, database_url, mqtt_url
from mcs.settings import Settings, get_settings

# A component that has not reported for this long is shown as not ok.
STALE_AFTER_S = 90

UPSERT_COUNTERS = text("""
    INSERT INTO ops.ingest_counters (component, instance, ts, counters)
    VALUES (:component, :instance, now(), CAST(:counters AS jsonb))
    ON CONFLICT (component, instance) DO UPDATE SET ts = excluded.ts, counters = excluded.counters
""")

SELECT_COMPONENTS = text("""
    SELECT component, instance, ts, counters, extract(epoch FROM now() - ts) AS age_s
    FROM ops.ingest_counters ORDER BY component, instance
""")


def report(engine: Engine, component: str, instance: str, counters: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(UPSERT_COUNTERS, {"component": component, "instance": instance,
                                       "counters": json.dumps(counters, default=str)})


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def platform_status(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    db_url, broker_url = database_url(settings), mqtt_url(settings)
    status: dict[str, Any] = {
        "checked_at": datetime.now(UTC).isoformat(),
        "database": {"ok": False, "url": _without_password(db_url), "storage": None, "error": None},
        "broker": {"ok": False, "url": broker_url, "error": None},
        "components": {},
        "findings": [],
        "urls": {
            "dagster": f"http://127.0.0.1:{settings.dagster_port}",
            "streamlit": f"http://127.0.0.1:{settings.streamlit_port}",
        },
    }
    try:
        check_broker(broker_url)
        status["broker"]["ok"] = True
    except UserError as exc:
        status["broker"]["error"] = str(exc)
    try:
        status["database"]["version"] = check_database(db_url)
    except UserError as exc:
        status["database"]["error"] = str(exc)
        return status
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            status["database"]["storage"] = conn.execute(text("SELECT raw.storage_mode()")).scalar_one()
            status["database"]["ok"] = True
            for row in conn.execute(SELECT_COMPONENTS):
                name = row.component if row.instance == "main" else f"{row.component}/{row.instance}"
                status["components"][name] = {
                    "ok": float(row.age_s) <= STALE_AFTER_S,
                    "last_seen": row.ts.isoformat(),
                    "counters": row.counters,
                }
    except Exception as exc:  # noqa: BLE001 - reachable but not migrated, permissions, …
        status["database"]["error"] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0]} (run `mcs db upgrade`)"
    finally:
        engine.dispose()
    if status["database"]["ok"]:
        status["findings"] = _self_monitoring_findings(db_url)
    for name, port in (("dagster-webserver", settings.dagster_port), ("streamlit", settings.streamlit_port)):
        status["components"].setdefault(name, {"ok": _port_open(port), "last_seen": None})
    return status


def _self_monitoring_findings(db_url: str) -> list[dict[str, str]]:
    """Ingest lag, dead-letter growth, spool depth, silent edges/daemons, security drift (mcs.self_monitoring)."""
    import psycopg

    from mcs.db.engine import libpq_url
    from mcs.self_monitoring import evaluate, security_findings, snapshot

    with psycopg.connect(libpq_url(db_url), connect_timeout=5) as conn:
        findings = evaluate(snapshot(conn)) + security_findings(conn)
    return [{"priority": f.priority, "code": f.code, "subject": f.subject, "message": f.message} for f in findings]


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
