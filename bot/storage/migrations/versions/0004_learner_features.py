"""learner features: interview date, quiet hours, nudges, skipped and suspended items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("exam_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("quiet", sa.String(length=11), nullable=False, server_default="")
        )
    op.create_table(
        "item_marks",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "item_id"),
    )


def downgrade() -> None:
    op.drop_table("item_marks")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("quiet")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("nudged_at")
        batch.drop_column("exam_date")
