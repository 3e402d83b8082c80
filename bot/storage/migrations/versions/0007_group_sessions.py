"""group sessions (header, numbering, summary) and the group message budget

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("push_date", sa.Date(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_group_sessions_chat", "group_sessions", ["chat_id", "summary_at"])
    with op.batch_alter_table("group_posts") as batch:
        batch.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_group_posts_session",
            "group_sessions",
            ["session_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("group_posts") as batch:
        batch.drop_constraint("fk_group_posts_session", type_="foreignkey")
        batch.drop_column("position")
        batch.drop_column("session_id")
    op.drop_index("ix_group_sessions_chat", table_name="group_sessions")
    op.drop_table("group_sessions")
