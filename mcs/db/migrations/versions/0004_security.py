"""Least-privilege database roles, tenants and row-level security.

Roles (cluster-wide, NOLOGIN here: deployments give them LOGIN and a password from their secret
store with infra/scripts/db-roles.sh, so no secret is ever in DDL):

* mcs_internal   group of the platform's own services; sees every row
* mcs_ingest     MQTT ingestor: writes raw.* and ops.point_latest / ops.ingest_counters
* mcs_alarm      alarm engine: reads everything, writes the alarm tables
* mcs_transform  dbt / Dagster: reads ref/raw/ops, creates and owns the analytics schemas
* mcs_app        Streamlit: reads everything incl. marts, writes commands and alarm actions/audit
* mcs_tenant     group of tenant roles (customer, host, lender): only their own sites/blocks
* mcs_tenant_gateway  a trusted front end that serves many tenants over one login and names the
                 tenant per request with `SET mcs.tenant_id = '<id>'`

Tenancy: ref.tenants (kind customer|host|lender, optional db_role) and ref.tenant_sites (a NULL
block_id grants the whole site). ref.* tenant-scoped tables have FORCE ROW LEVEL SECURITY with
an `internal_all` policy for mcs_internal and a `tenant_read` policy for mcs_tenant.

Telemetry reaches tenants through security-barrier views in schema `tenant` that apply the same
point -> block mapping, not through RLS on raw.telemetry: TimescaleDB refuses row security on a
hypertable with compression ("operation not supported on hypertables that have columnstore
enabled", TimescaleDB 2.28), so a view is the one mechanism that works in both storage modes.
Host tenants see only the heat-export subsystems, lenders no telemetry (domain §6.5).

Tables built later (dbt marts, other components' tenant-scoped tables) get the same isolation from
their owner with `SELECT sec.protect_table('<schema.table>')`.

Grants live in sec.apply_grants() so that `SELECT sec.apply_grants()` after later migrations
(e.g. the alarm tables) grants them too; it is idempotent.

Revision ID: 0004_security
Revises: 0002_registry
"""

from alembic import op

revision = "0004_security"
down_revision = "0002_registry"
branch_labels = None
depends_on = None

SERVICE_ROLES = ("mcs_ingest", "mcs_alarm", "mcs_transform", "mcs_app")
GROUP_ROLES = ("mcs_internal", "mcs_tenant", "mcs_tenant_gateway")

# Roles are shared by every database on the server (several test databases, a staging copy), so
# creation tolerates "already exists" and the race of two databases migrating at once.
ROLES_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.ensure_role(name text, member_of text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF member_of IS NOT NULL AND NOT pg_has_role(name, member_of, 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT %I TO %I', member_of, name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
END $$;
SELECT pg_temp.ensure_role('mcs_internal', NULL);
SELECT pg_temp.ensure_role('mcs_tenant', NULL);
SELECT pg_temp.ensure_role('mcs_tenant_gateway', 'mcs_tenant');
SELECT pg_temp.ensure_role(r, 'mcs_internal')
FROM unnest(ARRAY['mcs_ingest', 'mcs_alarm', 'mcs_transform', 'mcs_app']) AS r;
"""

SCHEMA_SQL = r"""
CREATE SCHEMA sec;
CREATE SCHEMA tenant;

CREATE TABLE ref.tenants (
    tenant_id  text PRIMARY KEY CHECK (tenant_id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
    name       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('customer', 'host', 'lender')),
    db_role    text UNIQUE,              -- database role whose members act as this tenant
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ref.tenant_sites (
    tenant_id text NOT NULL REFERENCES ref.tenants (tenant_id) ON DELETE CASCADE,
    site_id   text NOT NULL REFERENCES ref.sites (site_id),
    block_id  text,                      -- NULL: the whole site, including blocks added later
    FOREIGN KEY (site_id, block_id) REFERENCES ref.blocks (site_id, block_id)
);
CREATE UNIQUE INDEX tenant_sites_uq ON ref.tenant_sites (tenant_id, site_id, coalesce(block_id, ''));

-- The tenants the current user acts for: those whose db_role it is a member of, or, for the
-- gateway role only, the one named in the session setting mcs.tenant_id. (pg_has_role on an oid
-- never fails for a db_role that has not been created yet.)
CREATE FUNCTION sec.acts_for(t ref.tenants) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT t.active AND (
        t.db_role IN (SELECT rolname FROM pg_catalog.pg_roles
                      WHERE pg_catalog.pg_has_role(current_user, oid, 'MEMBER'))
        OR (t.tenant_id = pg_catalog.current_setting('mcs.tenant_id', true)
            AND pg_catalog.pg_has_role(current_user, 'mcs_tenant_gateway', 'MEMBER')))
$$;

-- Both run with the caller's rights, so the RLS of ref.tenant_sites/ref.tenants narrows them.
-- p_block NULL asks "any block of the site" (for site-level rows).
CREATE FUNCTION sec.can_see(p_site text, p_block text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM ref.tenant_sites ts
                   WHERE ts.site_id = p_site
                     AND (p_block IS NULL OR ts.block_id IS NULL OR ts.block_id = p_block))
$$;

-- Points whose readings the caller may see: customers all of their blocks' points, hosts the
-- heat-export side only, lenders none (domain §6.5 data scopes).
CREATE FUNCTION sec.visible_point_ids() RETURNS SETOF integer LANGUAGE sql STABLE AS $$
    SELECT p.point_id
    FROM ref.points p
    JOIN ref.tenant_sites ts ON ts.site_id = p.site_id AND (ts.block_id IS NULL OR ts.block_id = p.block_id)
    JOIN ref.tenants t ON t.tenant_id = ts.tenant_id
    WHERE t.kind = 'customer'
       OR (t.kind = 'host' AND p.subsystem IN ('thermal-l3', 'thermal-hx', 'thermal-reject', 'environmental'))
$$;

-- Which contract kinds a tenant kind may read.
CREATE FUNCTION sec.can_see_contract(p_site text, p_block text, p_kind text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM ref.tenant_sites ts JOIN ref.tenants t ON t.tenant_id = ts.tenant_id
                   WHERE ts.site_id = p_site
                     AND (p_block IS NULL OR ts.block_id IS NULL OR ts.block_id = p_block)
                     AND p_kind = CASE t.kind WHEN 'customer' THEN 'colo_msa'
                                              WHEN 'host' THEN 'host_agreement'
                                              ELSE 'lender' END)
$$;

-- Row-level security on the tenant-scoped registry tables.
DO $$
DECLARE
    rule record;
BEGIN
    FOR rule IN SELECT * FROM (VALUES
        ('ref.tenants',      'sec.acts_for(tenants)'),
        ('ref.tenant_sites', 'tenant_id IN (SELECT tenant_id FROM ref.tenants)'),
        ('ref.sites',        'sec.can_see(site_id, NULL)'),
        ('ref.blocks',       'sec.can_see(site_id, block_id)'),
        ('ref.equipment',    'sec.can_see(site_id, block_id)'),
        ('ref.points',       'sec.can_see(site_id, block_id)'),
        ('ref.alarm_limits', 'point_id IN (SELECT point_id FROM ref.points)'),
        ('ref.contracts',    'sec.can_see_contract(site_id, block_id, kind)'),
        ('ref.devices',      'false')  -- device addresses and secret names are never a tenant's
    ) AS v(tbl, predicate)
    LOOP
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', rule.tbl);
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', rule.tbl);
        EXECUTE format('CREATE POLICY internal_all ON %s TO mcs_internal USING (true) WITH CHECK (true)',
                       rule.tbl);
        EXECUTE format('CREATE POLICY tenant_read ON %s FOR SELECT TO mcs_tenant USING (%s)',
                       rule.tbl, rule.predicate);
    END LOOP;
END $$;

-- Views over RLS tables must check the caller, not the view owner.
ALTER VIEW ref.active_points SET (security_invoker = true);

-- Tenant-facing views of the raw/ops data (security_barrier: a caller's own predicates cannot be
-- pushed below the filter to probe hidden rows).
CREATE VIEW tenant.telemetry WITH (security_barrier = true) AS
SELECT t.ts, t.point_id, t.value, t.quality
FROM raw.telemetry_all t
WHERE t.point_id IN (SELECT sec.visible_point_ids());

CREATE VIEW tenant.point_latest WITH (security_barrier = true) AS
SELECT l.point_id, l.ts, l.value, l.quality
FROM ops.point_latest l
WHERE l.point_id IN (SELECT sec.visible_point_ids());

CREATE VIEW tenant.mode_events WITH (security_barrier = true) AS
SELECT m.site_id, m.block_id, m.ts, m.state, m.previous, m.trigger
FROM raw.mode_events m
WHERE sec.can_see(m.site_id, m.block_id);

-- Partition creation needs the table owner's rights; ingest and backfill may call it.
ALTER FUNCTION raw.ensure_telemetry_partitions(timestamptz, timestamptz)
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION raw.ensure_telemetry_partitions(timestamptz, timestamptz) FROM PUBLIC;

-- Creates (idempotently) the database role of a tenant and makes it a tenant. LOGIN and the
-- password are set by the operator (infra/scripts/db-roles.sh), never here.
CREATE FUNCTION sec.ensure_tenant_role(p_tenant text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    role_name text;
BEGIN
    SELECT db_role INTO role_name FROM ref.tenants WHERE tenant_id = p_tenant;
    IF role_name IS NULL THEN
        RAISE EXCEPTION 'tenant % has no db_role', p_tenant;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF pg_has_role(role_name, 'mcs_internal', 'MEMBER') THEN
        RAISE EXCEPTION 'role % is an internal service role, not a tenant', role_name;
    END IF;
    EXECUTE format('GRANT mcs_tenant TO %I', role_name);
    RETURN role_name;
END $$;
REVOKE EXECUTE ON FUNCTION sec.ensure_tenant_role(text) FROM PUBLIC;

-- Tenant isolation for tables built later by their owners: dbt marts (as a post-hook:
-- `select sec.protect_table('{{ this }}')`) and tenant-scoped tables of other migrations. The
-- table needs a site_id column (and block_id when its rows are per block). Runs with the
-- caller's rights, so only the table's owner can protect it.
CREATE FUNCTION sec.protect_table(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    columns text[];
    predicate text;
BEGIN
    SELECT array_agg(attname::text) INTO columns FROM pg_attribute
    WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped;
    IF NOT 'site_id' = ANY (columns) THEN
        RAISE EXCEPTION '% has no site_id column: cannot scope it to tenants', tbl;
    END IF;
    predicate := CASE WHEN 'block_id' = ANY (columns) THEN 'sec.can_see(site_id, block_id)'
                      ELSE 'sec.can_see(site_id, NULL)' END;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('DROP POLICY IF EXISTS internal_all ON %s', tbl);
    EXECUTE format('DROP POLICY IF EXISTS tenant_read ON %s', tbl);
    EXECUTE format('CREATE POLICY internal_all ON %s TO mcs_internal USING (true) WITH CHECK (true)', tbl);
    EXECUTE format('CREATE POLICY tenant_read ON %s FOR SELECT TO mcs_tenant USING (%s)', tbl, predicate);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO mcs_tenant',
                   (SELECT nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl));
    EXECUTE format('GRANT SELECT ON %s TO mcs_tenant', tbl);
END $$;

-- The grant matrix. Idempotent; tables of later migrations are granted when present.
CREATE FUNCTION sec.apply_grants() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tbl text;
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO mcs_internal, mcs_tenant', current_database());
    -- dbt creates its analytics schemas itself and owns what it builds.
    EXECUTE format('GRANT CREATE ON DATABASE %I TO mcs_transform', current_database());
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;

    GRANT USAGE ON SCHEMA ref, raw, ops, sec, tenant TO mcs_internal;
    GRANT SELECT ON ALL TABLES IN SCHEMA ref, raw, ops, tenant TO mcs_internal;
    GRANT INSERT, UPDATE ON ops.ingest_counters TO mcs_internal;   -- every daemon's heartbeat

    GRANT INSERT ON raw.telemetry, raw.dead_letter, raw.unregistered_readings, raw.mode_events,
        raw.edge_heartbeats, raw.edge_alarm_events, raw.command_responses TO mcs_ingest;
    GRANT DELETE ON raw.unregistered_readings TO mcs_ingest;       -- released once registered
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw TO mcs_ingest;
    GRANT INSERT, UPDATE ON ops.point_latest TO mcs_ingest;
    GRANT UPDATE (status, answered_at, response) ON ops.commands TO mcs_ingest;  -- edge replies
    GRANT EXECUTE ON FUNCTION raw.ensure_telemetry_partitions(timestamptz, timestamptz)
        TO mcs_ingest, mcs_transform;

    GRANT INSERT, UPDATE (status, sent_at) ON ops.commands TO mcs_app;

    -- Alarm tables (the alarm engine's migration): the engine owns their state, the app records
    -- operator actions through the same tables, and the audit log is append-only for both.
    FOREACH tbl IN ARRAY ARRAY['ops.alarms', 'ops.alarm_events'] LOOP
        IF to_regclass(tbl) IS NOT NULL THEN
            EXECUTE format('GRANT INSERT, UPDATE ON %s TO mcs_alarm, mcs_app', tbl);
        END IF;
    END LOOP;
    IF to_regclass('ops.audit_log') IS NOT NULL THEN
        GRANT INSERT ON ops.audit_log TO mcs_alarm, mcs_app;
    END IF;
    EXECUTE (SELECT coalesce(string_agg(format('GRANT USAGE ON SEQUENCE %I.%I TO mcs_alarm, mcs_app',
                                               schemaname, sequencename), '; '), 'SELECT 1')
             FROM pg_sequences WHERE schemaname = 'ops');

    GRANT USAGE ON SCHEMA ref, sec, tenant TO mcs_tenant;
    GRANT SELECT ON ref.tenants, ref.tenant_sites, ref.sites, ref.blocks, ref.equipment, ref.points,
        ref.active_points, ref.alarm_limits, ref.contracts TO mcs_tenant;
    GRANT SELECT ON ALL TABLES IN SCHEMA tenant TO mcs_tenant;
END $$;
REVOKE EXECUTE ON FUNCTION sec.apply_grants() FROM PUBLIC;
SELECT sec.apply_grants();

-- Tables later migrations create are readable by the services; what dbt builds (marts) is
-- readable by the app, in whichever schema dbt puts it.
ALTER DEFAULT PRIVILEGES IN SCHEMA ref, raw, ops GRANT SELECT ON TABLES TO mcs_internal;
ALTER DEFAULT PRIVILEGES FOR ROLE mcs_transform GRANT USAGE ON SCHEMAS TO mcs_app;
ALTER DEFAULT PRIVILEGES FOR ROLE mcs_transform GRANT SELECT ON TABLES TO mcs_app;
"""

DOWNGRADE_SQL = """
ALTER DEFAULT PRIVILEGES FOR ROLE mcs_transform REVOKE SELECT ON TABLES FROM mcs_app;
ALTER DEFAULT PRIVILEGES FOR ROLE mcs_transform REVOKE USAGE ON SCHEMAS FROM mcs_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA ref, raw, ops REVOKE SELECT ON TABLES FROM mcs_internal;
DROP SCHEMA tenant CASCADE;
ALTER VIEW ref.active_points RESET (security_invoker);
ALTER FUNCTION raw.ensure_telemetry_partitions(timestamptz, timestamptz) SECURITY INVOKER RESET search_path;
GRANT EXECUTE ON FUNCTION raw.ensure_telemetry_partitions(timestamptz, timestamptz) TO PUBLIC;
DO $$
DECLARE
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['ref.sites', 'ref.blocks', 'ref.equipment', 'ref.points', 'ref.alarm_limits',
                               'ref.contracts', 'ref.devices'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS internal_all ON %s', tbl);
        EXECUTE format('DROP POLICY IF EXISTS tenant_read ON %s', tbl);
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
        EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
    END LOOP;
END $$;
DROP TABLE ref.tenant_sites;
DROP TABLE ref.tenants;
DROP SCHEMA sec CASCADE;
"""


def upgrade() -> None:
    op.execute(ROLES_SQL)
    op.execute(SCHEMA_SQL)


def downgrade() -> None:
    # The roles stay: they are shared with every other database on the server.
    op.execute(DOWNGRADE_SQL)
