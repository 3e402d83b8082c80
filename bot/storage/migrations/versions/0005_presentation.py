"""presentation: which item's question (or the summary) the chat was last sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("study_sessions") as batch:
        batch.add_column(sa.Column("presenting", sa.Integer(), nullable=False, server_default="-1"))
        batch.add_column(sa.Column("presenting_since", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("presented", sa.Integer(), nullable=False, server_default="-1"))


def downgrade() -> None:
    with op.batch_alter_table("study_sessions") as batch:
        batch.drop_column("presented")
        batch.drop_column("presenting_since")
        batch.drop_column("presenting")
