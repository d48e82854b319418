"""Foundation: schemas ref/raw/ops, raw telemetry storage and the ingest-side tables.

raw.telemetry is a TimescaleDB hypertable when the extension can be created, and a natively
range-partitioned table otherwise. Both modes expose the same SQL interface:

* raw.telemetry                          the readings, UNIQUE (point_id, ts)
* raw.ensure_telemetry_partitions(a, b)  creates daily partitions covering [a, b) (no-op on TimescaleDB)
* raw.apply_retention(now)               archives billing-meter readings, then drops expired data
* raw.telemetry_1m                       one-minute roll-up (continuous aggregate / plain view)
* raw.storage_mode()                     'timescaledb' or 'postgres'

Revision ID: 0001_foundation
Revises:
"""

from alembic import context, op
from sqlalchemy import text

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

# One-day chunks/partitions: a block writes ~7.6 M readings a day at schedule poll rates (~0.6 GB
# with the unique index), so a day's chunk of a 10-block site stays well inside a quarter of the
# memory of a modest database server, and daily partitions line up with the site-local day
# partitions the marts rebuild.
CHUNK_INTERVAL = "1 day"
RAW_RETENTION = "90 days"
COMPRESS_AFTER = "7 days"

COMMON_SQL = """
CREATE SCHEMA IF NOT EXISTS ref;
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;

-- Readings of billing meters outlive raw retention: raw.apply_retention copies them here first.
CREATE TABLE raw.telemetry_archive (
    ts          timestamptz NOT NULL,
    point_id    integer     NOT NULL,
    value       double precision,
    quality     smallint    NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point_id, ts)
);

CREATE TABLE raw.dead_letter (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text,
    payload      bytea,
    payload_size integer,
    category     text NOT NULL CHECK (category IN ('PARSE_ERROR', 'TOPIC_ERROR', 'SENSOR_UNKNOWN',
                     'VALUE_ERROR', 'UNIT_ERROR', 'TIME_ERROR', 'INTERNAL_ERROR')),
    reason       text NOT NULL
);
CREATE INDEX dead_letter_received_at_idx ON raw.dead_letter (received_at);

CREATE TABLE raw.unregistered_readings (
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    subsystem   text NOT NULL,
    tag         text NOT NULL,
    ts          timestamptz NOT NULL,
    value       double precision,
    quality     smallint NOT NULL DEFAULT 0,
    unit        text,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, block_id, tag, ts)
);

CREATE TABLE raw.mode_events (
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    ts          timestamptz NOT NULL,
    state       text NOT NULL CHECK (state IN ('EXPORT', 'MIXED', 'REJECT', 'MAINTENANCE')),
    previous    text NOT NULL,
    trigger     text NOT NULL,
    valves      jsonb,
    guards      jsonb,
    operator    text,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, block_id, ts)
);

CREATE TABLE raw.edge_heartbeats (
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    ts          timestamptz NOT NULL,
    edge_id     text,
    uptime_s    double precision,
    adapters    jsonb,
    buffer      jsonb,
    system      jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, block_id, ts)
);

CREATE TABLE raw.edge_alarm_events (
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    ts          timestamptz NOT NULL,
    alarm_id    text NOT NULL,
    action      text NOT NULL,
    priority    text NOT NULL,
    sensor_tag  text NOT NULL,
    subsystem   text,
    value       double precision,
    threshold   double precision,
    direction   text,
    description text,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (alarm_id, action, ts)
);

CREATE TABLE raw.command_responses (
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    ts          timestamptz NOT NULL,
    request_id  uuid NOT NULL,
    status      text NOT NULL,
    reason      text,
    result      jsonb,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (request_id, ts)
);

CREATE TABLE ops.point_latest (
    point_id    integer PRIMARY KEY,
    ts          timestamptz NOT NULL,
    value       double precision,
    quality     smallint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Every daemon upserts its counters here every few seconds; `mcs status` reads last-seen times.
CREATE TABLE ops.ingest_counters (
    component text NOT NULL,
    instance  text NOT NULL,
    ts        timestamptz NOT NULL DEFAULT now(),
    counters  jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (component, instance)
);

CREATE TABLE ops.commands (
    request_id   uuid PRIMARY KEY,
    site_id      text NOT NULL,
    block_id     text NOT NULL,
    target       text NOT NULL,
    cmd          text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    source       text NOT NULL,
    status       text NOT NULL DEFAULT 'requested'
                 CHECK (status IN ('requested', 'sent', 'accepted', 'rejected', 'error', 'timed_out')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    answered_at  timestamptz,
    response     jsonb
);
CREATE INDEX commands_site_block_idx ON ops.commands (site_id, block_id, requested_at DESC);

-- The points whose readings retention must never drop (billing meters). ref.points arrives with the
-- registry migration, so it is looked up at call time.
CREATE FUNCTION raw.billing_point_ids() RETURNS SETOF integer LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF to_regclass('ref.points') IS NOT NULL THEN
        RETURN QUERY EXECUTE 'SELECT point_id FROM ref.points WHERE billing_role IS NOT NULL';
    END IF;
END $$;
"""

TIMESCALE_SQL = f"""
CREATE TABLE raw.telemetry (
    ts          timestamptz NOT NULL,
    point_id    integer     NOT NULL,
    value       double precision,
    quality     smallint    NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point_id, ts)
);
-- No default time index: UNIQUE (point_id, ts) serves point/time queries and the extra index costs
-- ~29 % of ingest throughput (DESIGN.md §6).
SELECT create_hypertable('raw.telemetry', by_range('ts', INTERVAL '{CHUNK_INTERVAL}'),
                         create_default_indexes => false);
ALTER TABLE raw.telemetry SET (timescaledb.compress,
                               timescaledb.compress_segmentby = 'point_id',
                               timescaledb.compress_orderby = 'ts');
SELECT add_compression_policy('raw.telemetry', INTERVAL '{COMPRESS_AFTER}');

CREATE FUNCTION raw.storage_mode() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'timescaledb' $$;

CREATE FUNCTION raw.ensure_telemetry_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;  -- chunks are created on insert

CREATE FUNCTION raw.apply_retention(at_time timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := at_time - INTERVAL '{RAW_RETENTION}';
    dropped integer;
BEGIN
    INSERT INTO raw.telemetry_archive (ts, point_id, value, quality, received_at)
    SELECT t.ts, t.point_id, t.value, t.quality, t.received_at
    FROM raw.telemetry t
    WHERE t.ts < cutoff AND t.point_id IN (SELECT raw.billing_point_ids())
    ON CONFLICT (point_id, ts) DO NOTHING;
    SELECT count(*) INTO dropped FROM drop_chunks('raw.telemetry', older_than => cutoff);
    RETURN dropped;
END $$;

CREATE MATERIALIZED VIEW raw.telemetry_1m WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 minute', ts) AS bucket,
       point_id,
       count(value)         AS n,
       sum(value)           AS value_sum,
       min(value)           AS value_min,
       max(value)           AS value_max,
       first(value, ts)     AS value_first,
       last(value, ts)      AS value_last,
       max(quality)         AS worst_quality
FROM raw.telemetry
GROUP BY 1, 2
WITH NO DATA;
-- Real-time aggregation: the live tier also shows the minutes not yet materialised.
ALTER MATERIALIZED VIEW raw.telemetry_1m SET (timescaledb.materialized_only = false);
SELECT add_continuous_aggregate_policy('raw.telemetry_1m',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 minute',
    schedule_interval => INTERVAL '1 minute');
"""

POSTGRES_SQL = f"""
CREATE TABLE raw.telemetry (
    ts          timestamptz NOT NULL,
    point_id    integer     NOT NULL,
    value       double precision,
    quality     smallint    NOT NULL DEFAULT 0,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (point_id, ts)
) PARTITION BY RANGE (ts);
-- Safety net: a reading for a day without a partition is kept here until its partition exists.
CREATE TABLE raw.telemetry_default PARTITION OF raw.telemetry DEFAULT;

CREATE FUNCTION raw.storage_mode() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'postgres' $$;

-- Creates the missing daily (UTC) partitions covering [from_ts, to_ts). Rows already parked in the
-- default partition for such a day are moved into the new partition.
CREATE FUNCTION raw.ensure_telemetry_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    day date := (from_ts AT TIME ZONE 'UTC')::date;
    last_day date := ((to_ts - INTERVAL '1 microsecond') AT TIME ZONE 'UTC')::date;
    part text;
    lo timestamptz;
    hi timestamptz;
    created integer := 0;
BEGIN
    WHILE day <= last_day LOOP
        part := 'telemetry_p' || to_char(day, 'YYYYMMDD');
        lo := day::timestamp AT TIME ZONE 'UTC';
        hi := (day + 1)::timestamp AT TIME ZONE 'UTC';
        IF to_regclass('raw.' || part) IS NULL THEN
            -- Serialise concurrent creators (several ingestors/backfills) on the parent table.
            LOCK TABLE raw.telemetry IN SHARE ROW EXCLUSIVE MODE;
            IF to_regclass('raw.' || part) IS NULL THEN
                EXECUTE format('CREATE TABLE raw.%I (LIKE raw.telemetry INCLUDING DEFAULTS)', part);
                EXECUTE format('INSERT INTO raw.%I SELECT * FROM raw.telemetry_default '
                               'WHERE ts >= $1 AND ts < $2', part) USING lo, hi;
                DELETE FROM raw.telemetry_default WHERE ts >= lo AND ts < hi;
                EXECUTE format('ALTER TABLE raw.telemetry ATTACH PARTITION raw.%I '
                               'FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
                created := created + 1;
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END $$;

CREATE FUNCTION raw.apply_retention(at_time timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff timestamptz := at_time - INTERVAL '{RAW_RETENTION}';
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                             'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS upper_bound
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'raw.telemetry'::regclass AND c.relname <> 'telemetry_default'
    LOOP
        IF part.upper_bound <= cutoff THEN
            EXECUTE format('INSERT INTO raw.telemetry_archive SELECT * FROM raw.%I '
                           'WHERE point_id IN (SELECT raw.billing_point_ids()) '
                           'ON CONFLICT (point_id, ts) DO NOTHING', part.relname);
            EXECUTE format('DROP TABLE raw.%I', part.relname);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

CREATE VIEW raw.telemetry_1m AS
SELECT date_bin(INTERVAL '1 minute', ts, TIMESTAMPTZ '2000-01-01') AS bucket,
       point_id,
       count(value)                                       AS n,
       sum(value)                                         AS value_sum,
       min(value)                                         AS value_min,
       max(value)                                         AS value_max,
       (array_agg(value ORDER BY ts ASC))[1]              AS value_first,
       (array_agg(value ORDER BY ts DESC))[1]             AS value_last,
       max(quality)                                       AS worst_quality
FROM raw.telemetry
GROUP BY 1, 2;

SELECT raw.ensure_telemetry_partitions(now() - INTERVAL '2 days', now() + INTERVAL '8 days');
"""

# raw.apply_retention copies and drops a range in one transaction, so the two never overlap.
TELEMETRY_ALL_SQL = """
CREATE VIEW raw.telemetry_all AS
SELECT ts, point_id, value, quality, received_at FROM raw.telemetry
UNION ALL
SELECT ts, point_id, value, quality, received_at FROM raw.telemetry_archive;
"""


def timescaledb_available() -> bool:
    """True when TimescaleDB is wanted and the extension exists (or can be created) here."""
    if context.config.attributes.get("timescaledb", "auto") == "off":
        return False
    bind = op.get_bind()
    if bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).scalar():
        return True
    if not bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar():
        return False
    # Installed but perhaps not preloaded: try, and fall back to plain PostgreSQL if it refuses.
    savepoint = bind.begin_nested()
    try:
        bind.execute(text("CREATE EXTENSION IF NOT EXISTS timescaledb"))
        savepoint.commit()
        return True
    except Exception:  # noqa: BLE001 - any refusal means "not usable here"
        savepoint.rollback()
        return False


def upgrade() -> None:
    op.execute(COMMON_SQL)
    op.execute(TIMESCALE_SQL if timescaledb_available() else POSTGRES_SQL)
    op.execute(TELEMETRY_ALL_SQL)


def downgrade() -> None:
    for schema in ("ops", "raw", "ref"):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
