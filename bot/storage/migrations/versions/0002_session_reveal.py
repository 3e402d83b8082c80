"""study sessions remember the revealed item and when the current item was shown

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("study_sessions") as batch:
        batch.add_column(sa.Column("revealed", sa.Integer(), nullable=False, server_default="-1"))
        batch.add_column(sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("study_sessions") as batch:
        batch.drop_column("shown_at")
        batch.drop_column("revealed")
