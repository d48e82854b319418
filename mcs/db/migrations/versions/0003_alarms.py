"""Alarms: ops.alarms (one row per alarm instance), ops.alarm_events (append-only transition log)
and ops.audit_log (append-only log of every audited action, shared by all components).

Why these shapes:
* One row per alarm *instance* (episode of one condition), keyed by the deterministic
  `alarm_id` = `{block_id}-{tag}-{unix_ms}` of the first violating sample (domain §3.7), so the
  live engine, a replay over the same history and an edge that evaluated the same reading all
  name the same alarm, and every writer can upsert on it.
* At most one open (not CLOSED) instance per condition (site, block, tag, kind): enforced by a
  partial unique index, so two engine replicas racing on the same condition cannot both raise.
* ops.alarm_events and ops.audit_log are append-only: UPDATE/DELETE are revoked from the service
  roles and refused by a trigger as well (a later `sec.apply_grants()` re-grants UPDATE on the alarm
  tables, the trigger still holds). The unique (alarm_id, event, ts) key makes re-delivery and
  replay idempotent (ON CONFLICT DO NOTHING).
* Tenants get no access here (alarm rows carry operator names and free text); tenant-facing alarm
  figures come through the dbt marts.

Revision ID: 0003_alarms
Revises: 0002_registry
Depends on: 0004_security (roles, sec.apply_grants)
"""

from alembic import op

revision = "0003_alarms"
down_revision = "0002_registry"
branch_labels = None
depends_on = "0004_security"

UPGRADE_SQL = r"""
CREATE TABLE ops.alarms (
    alarm_id        text PRIMARY KEY,
    site_id         text NOT NULL,
    block_id        text NOT NULL,
    point_id        integer,                       -- NULL for edge_offline / derived / unregistered edge tags
    tag             text NOT NULL,
    subsystem       text,
    kind            text NOT NULL CHECK (kind IN ('limit', 'bool', 'stale', 'bad_quality', 'edge_offline',
                                                  'derived', 'edge')),
    priority        text NOT NULL CHECK (priority IN ('P0', 'P1', 'P2', 'P3')),   -- peak of the instance
    active_priority text CHECK (active_priority IN ('P0', 'P1', 'P2', 'P3')),     -- band now (NULL: normal)
    direction       text CHECK (direction IN ('HIGH', 'LOW', 'BOOL')),
    state           text NOT NULL CHECK (state IN ('ACTIVE_UNACK', 'ACTIVE_ACK', 'RTN_UNACK', 'CLOSED')),
    shelved_until   timestamptz,
    shelve_reason   text,
    shelved_by      text,
    suppressed_by   text,                          -- 'mode:MAINTENANCE' or the causing alarm_id / rule
    out_of_service  boolean NOT NULL DEFAULT false,
    oos_reason      text,
    oos_by          text,
    chattering      boolean NOT NULL DEFAULT false,
    activations     integer NOT NULL DEFAULT 1,
    escalations     integer NOT NULL DEFAULT 0,
    raised_at       timestamptz NOT NULL,
    acked_at        timestamptz,
    acked_by        text,
    cleared_at      timestamptz,
    closed_at       timestamptz,
    value           double precision,              -- value at raise
    threshold       double precision,              -- limit of `priority`
    last_value      double precision,
    last_seen       timestamptz,
    description     text,
    source          text NOT NULL DEFAULT 'engine' CHECK (source IN ('engine', 'replay', 'edge')),
    edge_alarm_ids  text[] NOT NULL DEFAULT '{}',  -- edge-issued ids merged into this instance
    notified_at     timestamptz,                   -- P0/P1 notification sent (once, across replicas)
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'CLOSED' OR closed_at IS NOT NULL)
);
-- Exactly one open instance per condition.
CREATE UNIQUE INDEX alarms_open_condition_uq ON ops.alarms (site_id, block_id, tag, kind)
    WHERE state <> 'CLOSED';
-- The active list (operators' main screen) and the per-block history.
CREATE INDEX alarms_active_idx ON ops.alarms (site_id, block_id, priority, raised_at DESC)
    WHERE state <> 'CLOSED';
CREATE INDEX alarms_history_idx ON ops.alarms (site_id, block_id, raised_at DESC);
CREATE INDEX alarms_raised_at_idx ON ops.alarms (raised_at);
CREATE INDEX alarms_tag_idx ON ops.alarms (site_id, block_id, tag, raised_at DESC);
CREATE INDEX alarms_edge_ids_idx ON ops.alarms USING gin (edge_alarm_ids);

CREATE TABLE ops.alarm_events (
    event_id    bigserial PRIMARY KEY,
    alarm_id    text NOT NULL REFERENCES ops.alarms (alarm_id),
    site_id     text NOT NULL,
    block_id    text NOT NULL,
    tag         text NOT NULL,
    priority    text NOT NULL CHECK (priority IN ('P0', 'P1', 'P2', 'P3')),
    ts          timestamptz NOT NULL,
    event       text NOT NULL CHECK (event IN ('RAISED', 'ESCALATED', 'ACKED', 'CLEARED', 'CLOSED', 'SHELVED',
                    'UNSHELVED', 'SUPPRESSED', 'UNSUPPRESSED', 'OUT_OF_SERVICE', 'RETURNED_TO_SERVICE',
                    'COMMENT', 'CHATTER')),
    state_after text NOT NULL CHECK (state_after IN ('ACTIVE_UNACK', 'ACTIVE_ACK', 'RTN_UNACK', 'CLOSED')),
    value       double precision,
    threshold   double precision,
    actor       text,
    reason      text,
    source      text NOT NULL CHECK (source IN ('engine', 'replay', 'operator', 'edge')),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
-- Idempotency key: a transition happens once per alarm, kind and instant.
CREATE UNIQUE INDEX alarm_events_uq ON ops.alarm_events (alarm_id, event, ts);
CREATE INDEX alarm_events_ts_idx ON ops.alarm_events (ts);
CREATE INDEX alarm_events_block_ts_idx ON ops.alarm_events (site_id, block_id, ts);

CREATE TABLE ops.audit_log (
    id      bigserial PRIMARY KEY,
    ts      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    role    text NOT NULL,
    action  text NOT NULL,                         -- e.g. alarm.ack, command.mode_override, report.launch
    target  text,                                  -- e.g. the alarm_id, request_id, report partition
    reason  text,
    details jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_ts_idx ON ops.audit_log (ts);
CREATE INDEX audit_log_target_idx ON ops.audit_log (target, ts);

CREATE FUNCTION ops.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER alarm_events_append_only BEFORE UPDATE OR DELETE ON ops.alarm_events
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON ops.audit_log
    FOR EACH ROW EXECUTE FUNCTION ops.refuse_change();

-- Grants: the security migration's matrix covers these tables once they exist; then narrow it.
SELECT sec.apply_grants();
GRANT SELECT, INSERT, UPDATE ON ops.alarms TO mcs_alarm, mcs_app;
GRANT SELECT, INSERT ON ops.alarm_events, ops.audit_log TO mcs_alarm, mcs_app;
REVOKE UPDATE, DELETE, TRUNCATE ON ops.alarm_events, ops.audit_log FROM PUBLIC, mcs_internal, mcs_alarm, mcs_app,
    mcs_ingest, mcs_transform;
GRANT SELECT ON ops.alarms, ops.alarm_events, ops.audit_log TO mcs_transform, mcs_internal;
GRANT USAGE ON SEQUENCE ops.alarm_events_event_id_seq, ops.audit_log_id_seq TO mcs_alarm, mcs_app;
-- The edge/ingest side records audited actions too (command responses are not audited, requests are).
GRANT INSERT ON ops.audit_log TO mcs_ingest;
GRANT USAGE ON SEQUENCE ops.audit_log_id_seq TO mcs_ingest;
"""

DOWNGRADE_SQL = """
DROP TABLE IF EXISTS ops.audit_log;
DROP TABLE IF EXISTS ops.alarm_events;
DROP TABLE IF EXISTS ops.alarms;
DROP FUNCTION IF EXISTS ops.refuse_change();
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
