"""data sets validate in the background: status, error, validation job

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        # Rows from before were validated inside the request: they are ready.
        batch_op.add_column(sa.Column("status", sa.String(length=20), server_default="ready", nullable=False))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("validation_job_id", sa.String(length=32), nullable=True))
        batch_op.alter_column("report", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE datasets SET report = '{}' WHERE report IS NULL")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("report", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("validation_job_id")
        batch_op.drop_column("error")
        batch_op.drop_column("status")
