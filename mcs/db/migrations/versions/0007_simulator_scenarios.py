"""Simulator scenarios: the control table `mcs scenario run/stop` writes and `mcs simulate` polls.

A scenario is active while stopped_at is NULL and ends_at (if any) is in the future. Kept as
history: stopping sets stopped_at, nothing is deleted, so a test or a demo can show which faults
were injected when (useful next to the alarm history they caused).

Revision ID: 0007_simulator_scenarios
Revises: 0001_foundation
"""

from alembic import op

revision = "0007_simulator_scenarios"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE ops.sim_scenarios (
    id           bigserial PRIMARY KEY,
    site_id      text NOT NULL,
    block_id     text NOT NULL,
    name         text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ends_at      timestamptz,
    stopped_at   timestamptz,
    requested_by text
);
CREATE INDEX sim_scenarios_active_idx ON ops.sim_scenarios (site_id, block_id) WHERE stopped_at IS NULL;
""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ops.sim_scenarios")
