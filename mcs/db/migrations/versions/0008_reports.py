"""Reports: ops.report_artifacts (one row per distinct report artifact) and a BRIN index that lets the
late-data sensor find recently received rows without scanning raw telemetry.

Why these shapes:
* A report artifact is identified by (report, site, period, content hash): re-running a partition on
  unchanged data produces the same files and the same hash, so the row is refreshed (run_id,
  code_version, last_built_at) instead of duplicated; changed data (late rows, a re-issue) gives a
  new hash and therefore a new row next to the old one, which stays as the audit trail of what was
  issued. The Streamlit Reports page lists this table.
* data_window is the ISO 8601 interval text the app shows; window_start/window_end are the same
  bounds as timestamptz for queries.
* raw.telemetry gets a BRIN index on received_at: rows arrive roughly in received_at order, so the
  index is a few pages per partition and costs the ingestor next to nothing (a B-tree would cost a
  large share of COPY throughput, DESIGN.md §6), yet `received_at > cursor` skips almost every block.
  A database where it cannot be created (e.g. compressed TimescaleDB chunks) keeps working: the
  sensor's query is bounded by a ts window anyway.
* Grants: Dagster runs as mcs_transform (writes rows); the app (mcs_app) reads them.

Revision ID: 0008_reports
Revises: 0002_registry
Depends on: 0004_security (roles)
"""

from alembic import op

revision = "0008_reports"
down_revision = "0002_registry"
branch_labels = None
depends_on = "0004_security"

UPGRADE_SQL = r"""
CREATE TABLE ops.report_artifacts (
    id            bigserial PRIMARY KEY,
    report        text NOT NULL CHECK (report ~ '^[a-z0-9_]+$'),
    site_id       text NOT NULL,
    period        text NOT NULL CHECK (period ~ '^[0-9]{4}-([0-9]{2}|Q[1-4])$'),
    pdf_path      text NOT NULL,
    data_path     text NOT NULL,
    content_hash  text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    data_window   text NOT NULL,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    code_version  text NOT NULL,
    run_id        text NOT NULL,
    totals        jsonb NOT NULL DEFAULT '{}'::jsonb,
    row_count     integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_built_at timestamptz NOT NULL DEFAULT now(),
    CHECK (window_end > window_start),
    UNIQUE (report, site_id, period, content_hash)
);
CREATE INDEX report_artifacts_site_period_idx ON ops.report_artifacts (site_id, period DESC, report);

GRANT SELECT, INSERT, UPDATE ON ops.report_artifacts TO mcs_transform;
GRANT USAGE ON SEQUENCE ops.report_artifacts_id_seq TO mcs_transform;
GRANT SELECT ON ops.report_artifacts TO mcs_app;

DO $$
BEGIN
    CREATE INDEX IF NOT EXISTS telemetry_received_at_brin ON raw.telemetry USING brin (received_at);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'raw.telemetry: no BRIN index on received_at (%); late-data sensor scans its ts window', SQLERRM;
END $$;
"""

DOWNGRADE_SQL = """
DROP INDEX IF EXISTS raw.telemetry_received_at_brin;
DROP TABLE IF EXISTS ops.report_artifacts;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
