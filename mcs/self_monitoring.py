"""Platform self-monitoring: is data arriving, is anything piling up, are edges and daemons alive.

Named, bounded queries over ops.ingest_counters, ops.point_latest, raw.dead_letter and
raw.edge_heartbeats (never a scan of raw.telemetry), a pure `evaluate` that turns one snapshot into
findings with alarm priorities, and a container health probe:

    python -m mcs.self_monitoring heartbeat --component ingestor --max-age 90
    python -m mcs.self_monitoring certs /path/to/server.crt /path/to/ca.crt

`mcs status` shows the snapshot and findings; the alarm engine can raise the findings as
platform alarms (priority from domain §3.8/§4.1: a silent edge is P0-grade, see EDGE_OFFLINE_S).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from mcs.db.engine import libpq_url

# Domain §3.8: no heartbeat for > 90 s means the edge is offline.
EDGE_OFFLINE_S = 90.0
# A daemon upserts its counters every few seconds; three missed minutes means it is gone.
DAEMON_STALE_S = 180.0
# Readings older than this at arrival (received_at - ts) mean ingest is behind (or an edge replays).
INGEST_LAG_WARN_S = 60.0
# Dead letters per window above which someone must look (a misconfigured edge floods quickly).
DEAD_LETTER_WARN = 100
# Domain §8.2: certificate expiry within 30 days must alert.
CERT_WARN_DAYS = 30

COMPONENTS_SQL = """
SELECT component, instance, ts, extract(epoch FROM now() - ts) AS age_s, counters
FROM ops.ingest_counters
ORDER BY component, instance
"""

# Per block: when the newest reading arrived and how late the latest readings were on arrival.
FRESHNESS_SQL = """
SELECT p.site_id, p.block_id,
       max(l.received_at)                                               AS last_received_at,
       extract(epoch FROM now() - max(l.received_at))                   AS age_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM l.received_at - l.ts)) AS lag_p50_s,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM l.received_at - l.ts)) AS lag_p99_s
FROM ops.point_latest l
JOIN ref.points p ON p.point_id = l.point_id
WHERE p.retired_at IS NULL
GROUP BY p.site_id, p.block_id
ORDER BY 1, 2
"""

# Dead letters in the last window and in the window before it, per category (growth, not totals).
DEAD_LETTER_SQL = """
SELECT category,
       count(*) FILTER (WHERE received_at >= now() - make_interval(secs => %(window_s)s))  AS recent,
       count(*) FILTER (WHERE received_at <  now() - make_interval(secs => %(window_s)s))  AS previous
FROM raw.dead_letter
WHERE received_at >= now() - make_interval(secs => 2 * %(window_s)s)
GROUP BY category
ORDER BY category
"""

# The newest heartbeat of every block: age, spool (buffer) depth, uplink state, adapters in error.
EDGES_SQL = """
SELECT DISTINCT ON (h.site_id, h.block_id)
       h.site_id, h.block_id, h.edge_id, h.ts,
       extract(epoch FROM now() - h.ts)                        AS age_s,
       (h.buffer ->> 'depth')::bigint                          AS spool_depth,
       (h.buffer ->> 'cloud_connected')::boolean               AS cloud_connected,
       (h.buffer ->> 'replay_active')::boolean                 AS replay_active,
       ARRAY(SELECT key FROM jsonb_each(coalesce(h.adapters, '{}'::jsonb))
             WHERE value ->> 'status' = 'error' ORDER BY key)  AS adapters_in_error
FROM raw.edge_heartbeats h
WHERE h.ts >= now() - interval '1 day'
ORDER BY h.site_id, h.block_id, h.ts DESC
"""


@dataclass
class Snapshot:
    components: list[dict[str, Any]] = field(default_factory=list)
    freshness: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    dead_letter_window_s: float = 300.0


@dataclass(frozen=True)
class Finding:
    priority: str   # P0..P3 (domain §4.1)
    code: str       # EDGE_OFFLINE, EDGE_BUFFERING, ADAPTER_ERROR, DAEMON_STALE, BROKER_DISCONNECTED, ...
    subject: str    # site/block or component/instance
    message: str


def snapshot(conn: psycopg.Connection, dead_letter_window_s: float = 300.0) -> Snapshot:
    """Read everything `evaluate` needs in four small queries."""
    with conn.cursor(row_factory=dict_row) as cur:
        return Snapshot(
            components=cur.execute(COMPONENTS_SQL).fetchall(),
            freshness=cur.execute(FRESHNESS_SQL).fetchall(),
            dead_letters=cur.execute(DEAD_LETTER_SQL, {"window_s": dead_letter_window_s}).fetchall(),
            edges=cur.execute(EDGES_SQL).fetchall(),
            dead_letter_window_s=dead_letter_window_s,
        )


def evaluate(snap: Snapshot) -> list[Finding]:
    """Findings, most urgent first. Pure: the thresholds above are the only policy."""
    findings: list[Finding] = []
    for edge in snap.edges:
        subject = f"{edge['site_id']}/{edge['block_id']}"
        if float(edge["age_s"]) > EDGE_OFFLINE_S:
            findings.append(Finding("P0", "EDGE_OFFLINE", subject,
                                    f"no heartbeat for {float(edge['age_s']):.0f} s (edge {edge['edge_id']})"))
            continue
        if edge["cloud_connected"] is False or (edge["spool_depth"] or 0) > 0:
            findings.append(Finding("P2", "EDGE_BUFFERING", subject,
                                    f"spool depth {edge['spool_depth'] or 0}, uplink "
                                    f"{'up' if edge['cloud_connected'] else 'down'}"
                                    f"{', replaying' if edge['replay_active'] else ''}: expect late data"))
        for adapter in edge["adapters_in_error"] or []:
            findings.append(Finding("P1", "ADAPTER_ERROR", subject,
                                    f"adapter {adapter} in error: its subsystems' data may be BAD"))
    for component in snap.components:
        subject = f"{component['component']}/{component['instance']}"
        if float(component["age_s"]) > DAEMON_STALE_S:
            findings.append(Finding("P1", "DAEMON_STALE", subject,
                                    f"no counters for {float(component['age_s']):.0f} s"))
        elif (component["counters"] or {}).get("mqtt_connected") is False:
            findings.append(Finding("P1", "BROKER_DISCONNECTED", subject, "not connected to the MQTT broker"))
    for block in snap.freshness:
        lag = block["lag_p99_s"]
        if lag is not None and float(lag) > INGEST_LAG_WARN_S:
            findings.append(Finding("P2", "INGEST_LAG", f"{block['site_id']}/{block['block_id']}",
                                    f"latest readings arrived up to {float(lag):.0f} s after they were read"))
    for row in snap.dead_letters:
        if row["recent"] > DEAD_LETTER_WARN and row["recent"] > row["previous"]:
            findings.append(Finding("P2", "DEAD_LETTER_GROWTH", row["category"],
                                    f"{row['recent']} dead letters in {snap.dead_letter_window_s:.0f} s "
                                    f"(previous window {row['previous']})"))
    return sorted(findings, key=lambda f: (f.priority, f.code, f.subject))


def certificate_findings(pem_files: list[Path], now: datetime) -> list[Finding]:
    """Domain §8.2: a certificate expiring within 30 days is P3, within a week P2, expired P1."""
    from cryptography import x509

    findings = []
    for path in pem_files:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        days = (cert.not_valid_after_utc - now).total_seconds() / 86400
        subject = f"{path.name} ({cert.subject.rfc4514_string()})"
        if days < 0:
            findings.append(Finding("P1", "CERT_EXPIRED", subject, f"expired {-days:.0f} days ago"))
        elif days < CERT_WARN_DAYS:
            findings.append(Finding("P2" if days < 7 else "P3", "CERT_EXPIRY", subject,
                                    f"expires in {days:.0f} days ({cert.not_valid_after_utc:%Y-%m-%d})"))
    return findings


# Security drift (domain §6.5): a service role that became privileged, or a relation a tenant can
# read that is neither row-secured (FORCE) nor one of the filtered `tenant` views.
PRIVILEGED_ROLES_SQL = """
SELECT rolname FROM pg_roles
WHERE rolname IN ('mcs_ingest', 'mcs_alarm', 'mcs_transform', 'mcs_app', 'mcs_tenant', 'mcs_tenant_gateway')
  AND (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)
ORDER BY 1
"""
TENANT_EXPOSED_SQL = """
SELECT n.nspname || '.' || c.relname AS relation
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname <> 'tenant' AND n.nspname <> 'information_schema'
  AND n.nspname !~ '^(pg_|_timescaledb|timescaledb_)'
  -- NULL (filtered out) where the role does not exist yet
  AND has_table_privilege((SELECT oid FROM pg_roles WHERE rolname = 'mcs_tenant'), c.oid, 'SELECT')
  AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
  AND NOT (c.relkind = 'v' AND coalesce(c.reloptions, '{}') @> ARRAY['security_invoker=true'])
ORDER BY 1
"""


def security_findings(conn: psycopg.Connection) -> list[Finding]:
    findings = [Finding("P1", "ROLE_PRIVILEGED", role, "runtime role has superuser/bypassrls/createrole/createdb")
                for (role,) in conn.execute(PRIVILEGED_ROLES_SQL).fetchall()]
    findings += [Finding("P1", "TENANT_EXPOSED", relation, "tenants can read it without row-level security")
                 for (relation,) in conn.execute(TENANT_EXPOSED_SQL).fetchall()]
    return findings


HEARTBEAT_SQL = """
SELECT count(*) FROM ops.ingest_counters
WHERE component = %(component)s AND (%(instance)s::text IS NULL OR instance = %(instance)s)
  AND ts >= now() - make_interval(secs => %(max_age_s)s)
"""


def heartbeat_ok(conn: psycopg.Connection, component: str, max_age_s: float, instance: str | None = None) -> bool:
    row = conn.execute(HEARTBEAT_SQL, {"component": component, "instance": instance, "max_age_s": max_age_s})
    return bool(row.fetchone()[0])  # type: ignore[index]


def main(argv: list[str] | None = None) -> int:
    """Container health probe: exit 0 when the component upserted its counters recently."""
    parser = argparse.ArgumentParser(prog="python -m mcs.self_monitoring")
    sub = parser.add_subparsers(dest="command", required=True)
    probe = sub.add_parser("heartbeat", help="exit 0 if the component reported within --max-age seconds")
    probe.add_argument("--component", required=True)
    probe.add_argument("--instance", default=None)
    probe.add_argument("--max-age", type=float, default=90.0)
    certs = sub.add_parser("certs", help="report certificates that expire within 30 days (exit 1 if any)")
    certs.add_argument("pem_files", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "certs":
        findings = certificate_findings(args.pem_files, datetime.now(UTC))
        for finding in findings:
            print(f"{finding.priority} {finding.code} {finding.subject}: {finding.message}")
        return 1 if findings else 0

    from mcs.runtime import database_url

    try:
        with psycopg.connect(libpq_url(database_url()), connect_timeout=5) as conn:
            ok = heartbeat_ok(conn, args.component, args.max_age, args.instance)
    except psycopg.Error as exc:
        print(f"unhealthy: database: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    print("healthy" if ok else f"unhealthy: no counters from {args.component} within {args.max_age:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
