"""quiz polls posted to groups, and each member's answer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("quiz_polls", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "group_polls",
        sa.Column("poll_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("correct_option", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["group_posts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("poll_id"),
    )


def downgrade() -> None:
    op.drop_table("group_polls")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("quiz_polls")
