"""Least-privilege roles and tenant isolation (migration 0004_security) on a real PostgreSQL.

Tenant roles are cluster-wide, so each test names its own with a random suffix and drops them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.engine import make_url

from mcs.local_services.postgres import find_bin_dir
from tests.integration.infra.registry_data import READINGS_PER_POINT, seed_registry

SCRIPT = "infra/scripts/db-roles.sh"


@pytest.fixture
def points(database_url: str) -> dict[tuple[str, str, str], int]:
    return seed_registry(database_url)


@pytest.fixture
def tenants(database_url: str, points: dict) -> Iterator[dict[str, str]]:
    """customer acme: rfg-foods-jhb/block-01; host: all of rfg-foods-jhb; lender: ab-baldwinsville."""
    suffix = uuid.uuid4().hex[:8]
    roles = {kind: f"t_{kind}_{suffix}" for kind in ("customer", "host", "lender")}
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("""
            INSERT INTO ref.tenants (tenant_id, name, kind, db_role) VALUES
                ('acme', 'Acme Compute', 'customer', %(customer)s),
                ('rfg-host', 'RFG Foods', 'host', %(host)s),
                ('green-bank', 'Green Bank', 'lender', %(lender)s)""", roles)
        conn.execute("""
            INSERT INTO ref.tenant_sites (tenant_id, site_id, block_id) VALUES
                ('acme', 'rfg-foods-jhb', 'block-01'),
                ('rfg-host', 'rfg-foods-jhb', NULL),
                ('green-bank', 'ab-baldwinsville', NULL)""")
        for tenant in ("acme", "rfg-host", "green-bank"):
            conn.execute("SELECT sec.ensure_tenant_role(%s)", (tenant,))
        conn.execute("SELECT sec.ensure_tenant_role('acme')")  # idempotent
    try:
        yield roles
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            for role in roles.values():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')  # our own random names


def as_role(database_url: str, role: str, sql: str, params: tuple | None = None,
            setting: str | None = None) -> list[tuple]:
    """Run one query as `role` (SET ROLE from the superuser test connection)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'SET ROLE "{role}"')
        if setting is not None:
            conn.execute("SELECT set_config('mcs.tenant_id', %s, false)", (setting,))
        return conn.execute(sql, params).fetchall()


def sites_and_blocks(database_url: str, role: str, setting: str | None = None) -> tuple[list, list]:
    sites = as_role(database_url, role, "SELECT site_id FROM ref.sites ORDER BY 1", setting=setting)
    blocks = as_role(database_url, role, "SELECT site_id, block_id FROM ref.blocks ORDER BY 1, 2",
                     setting=setting)
    return [s for (s,) in sites], blocks


def telemetry_points(database_url: str, role: str, setting: str | None = None) -> dict[int, int]:
    rows = as_role(database_url, role, "SELECT point_id, count(*) FROM tenant.telemetry GROUP BY 1",
                   setting=setting)
    return dict(rows)


def test_customer_sees_only_its_block(database_url: str, points: dict, tenants: dict[str, str]) -> None:
    role = tenants["customer"]
    assert sites_and_blocks(database_url, role) == (["rfg-foods-jhb"], [("rfg-foods-jhb", "block-01")])
    own = {pid for (site, block, _), pid in points.items() if (site, block) == ("rfg-foods-jhb", "block-01")}
    assert telemetry_points(database_url, role) == {pid: READINGS_PER_POINT for pid in own}
    latest = as_role(database_url, role, "SELECT point_id FROM tenant.point_latest")
    assert {pid for (pid,) in latest} == own
    assert as_role(database_url, role, "SELECT block_id FROM tenant.mode_events") == [("block-01",)]
    assert as_role(database_url, role, "SELECT contract_ref FROM ref.contracts") == [("MSA-JHB-1",)]
    assert {pid for (pid,) in as_role(database_url, role, "SELECT point_id FROM ref.active_points")} == own
    # Only its own tenant row; never another tenant's name or mapping.
    assert as_role(database_url, role, "SELECT tenant_id FROM ref.tenants") == [("acme",)]
    assert len(as_role(database_url, role, "SELECT * FROM ref.tenant_sites")) == 1
    # The raw tables and device addresses are not a tenant's at all.
    for sql in ("SELECT 1 FROM raw.telemetry LIMIT 1", "SELECT 1 FROM ref.devices LIMIT 1",
                "SELECT 1 FROM raw.dead_letter LIMIT 1"):
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(database_url, role, sql)


def test_host_sees_heat_export_points_and_lender_no_telemetry(database_url: str, points: dict,
                                                              tenants: dict[str, str]) -> None:
    host = tenants["host"]
    assert sites_and_blocks(database_url, host)[1] == [("rfg-foods-jhb", "block-01"), ("rfg-foods-jhb", "block-02")]
    heat = {pid for (site, _, subsystem), pid in points.items()
            if site == "rfg-foods-jhb" and subsystem == "thermal-hx"}
    assert set(telemetry_points(database_url, host)) == heat
    assert as_role(database_url, host, "SELECT contract_ref FROM ref.contracts") == [("HOST-JHB",)]

    lender = tenants["lender"]
    assert sites_and_blocks(database_url, lender) == (["ab-baldwinsville"], [("ab-baldwinsville", "block-01")])
    assert telemetry_points(database_url, lender) == {}
    assert as_role(database_url, lender, "SELECT contract_ref FROM ref.contracts") == [("LOAN-AB",)]


def test_gateway_acts_for_the_tenant_named_in_the_session(database_url: str, tenants: dict[str, str]) -> None:
    assert sites_and_blocks(database_url, "mcs_tenant_gateway") == ([], [])
    assert sites_and_blocks(database_url, "mcs_tenant_gateway", setting="green-bank") == (
        ["ab-baldwinsville"], [("ab-baldwinsville", "block-01")])
    # A tenant role cannot borrow another tenant's identity through the setting.
    assert sites_and_blocks(database_url, tenants["customer"], setting="green-bank")[0] == ["rfg-foods-jhb"]


def test_tenant_filters_cannot_be_bypassed_by_writing(database_url: str, tenants: dict[str, str]) -> None:
    role = tenants["customer"]
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(database_url, role, "INSERT INTO ref.tenant_sites VALUES ('acme', 'ab-baldwinsville', NULL)")
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(database_url, role, "UPDATE ref.tenants SET kind = 'customer'")
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(database_url, role, "SELECT sec.ensure_tenant_role('rfg-host')")


def test_service_roles_have_least_privilege(database_url: str, points: dict) -> None:
    point = as_role(database_url, "mcs_ingest", "SELECT min(point_id) FROM ref.points")[0][0]
    insert = ("INSERT INTO raw.telemetry (ts, point_id, value) VALUES (now(), %s, 1) "
              "ON CONFLICT DO NOTHING RETURNING 1")
    as_role(database_url, "mcs_ingest", "SELECT raw.ensure_telemetry_partitions(now(), now() + interval '1 day')")
    assert as_role(database_url, "mcs_ingest", insert, (point,)) == [(1,)]
    assert as_role(database_url, "mcs_ingest", "INSERT INTO ops.ingest_counters (component, instance) "
                   "VALUES ('ingestor', 'a') RETURNING 1") == [(1,)]
    # Ingest may not change the registry, nor rewrite or delete history.
    for sql in ("UPDATE ref.points SET unit = 'W'", "DELETE FROM raw.telemetry", "UPDATE raw.telemetry SET value = 0"):
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(database_url, "mcs_ingest", sql)
    # The app and dbt read raw data but do not write it; internal roles see every registry row.
    for role in ("mcs_app", "mcs_transform", "mcs_alarm"):
        with pytest.raises(errors.InsufficientPrivilege):
            as_role(database_url, role, insert, (point,))
        assert as_role(database_url, role, "SELECT count(*) FROM ref.blocks") == [(3,)]
    assert as_role(database_url, "mcs_app", "INSERT INTO ops.commands (request_id, site_id, block_id, target, "
                   "cmd, source) VALUES (gen_random_uuid(), 'rfg-foods-jhb', 'block-01', 'edge', "
                   "'diagnostics_request', 'operator:test') RETURNING 1") == [(1,)]
    attributes = as_role(database_url, "mcs_ingest", """
        SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles
        WHERE rolname IN ('mcs_ingest', 'mcs_alarm', 'mcs_transform', 'mcs_app', 'mcs_tenant_gateway')""")
    assert len(attributes) == 5
    assert all(not any(flags) for _, *flags in attributes)


def test_roles_script_enables_login_with_a_password_from_the_environment(database_url: str) -> None:
    url = make_url(database_url)
    env = {**os.environ, "PATH": f"{find_bin_dir()}:{os.environ['PATH']}",
           "MCS_ADMIN_DATABASE_URL": database_url, "MCS_DB_PASSWORD_INGEST": "it's-a-secret;--"}
    env.pop("MCS_DB_PASSWORD_APP", None)
    result = subprocess.run(["sh", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mcs_ingest: login enabled" in result.stdout
    assert "mcs_app: MCS_DB_PASSWORD_APP not set" in result.stdout
    service_url = url.set(username="mcs_ingest", password="it's-a-secret;--").render_as_string(hide_password=False)
    with psycopg.connect(service_url.replace("postgresql+psycopg", "postgresql")) as conn:
        assert conn.execute("SELECT current_user, count(*) FROM ref.sites").fetchone() == ("mcs_ingest", 0)


def test_marts_built_by_dbt_are_readable_by_the_app_and_scoped_for_tenants(database_url: str,
                                                                          tenants: dict[str, str]) -> None:
    """What a dbt run as mcs_transform does: its own schema and tables, then the protect post-hook."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        # Database-level grants (CREATE for dbt) do not travel with CREATE DATABASE … TEMPLATE.
        conn.execute("SELECT sec.apply_grants()")
        conn.execute("SET ROLE mcs_transform")
        conn.execute("CREATE SCHEMA analytics_marts")
        conn.execute("CREATE TABLE analytics_marts.fct_energy_daily AS SELECT site_id, block_id, 1.0 AS kwh "
                     "FROM ref.blocks")
        conn.execute("SELECT sec.protect_table('analytics_marts.fct_energy_daily')")
        conn.execute("SELECT sec.protect_table('analytics_marts.fct_energy_daily')")  # idempotent (re-runs)
    sql = "SELECT site_id, block_id FROM analytics_marts.fct_energy_daily ORDER BY 1, 2"
    assert len(as_role(database_url, "mcs_app", sql)) == 3          # default privileges of mcs_transform
    assert as_role(database_url, tenants["customer"], sql) == [("rfg-foods-jhb", "block-01")]
    assert as_role(database_url, tenants["lender"], sql) == [("ab-baldwinsville", "block-01")]
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(database_url, "mcs_app", "SELECT sec.protect_table('ref.sites')")  # only owners protect
