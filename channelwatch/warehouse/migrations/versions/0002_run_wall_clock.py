"""ingestion runs: the machine's clock beside the pass's as-of time

started_at and finished_at are the pass's as-of time (the moment a live pass starts, the
end of the window of a backfill); wall_started_at and wall_finished_at are when the process
really ran, for durations and operations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:30:00
"""

from alembic import op
import sqlalchemy as sa

from channelwatch.warehouse.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ingestion_runs") as batch:
        batch.add_column(sa.Column("wall_started_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("wall_finished_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("backfill", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("ingestion_runs") as batch:
        batch.drop_column("backfill")
        batch.drop_column("wall_finished_at")
        batch.drop_column("wall_started_at")
