"""daily push claims, group posts and members' ratings of them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "local_date", name="uq_pushes_chat_day"),
    )
    op.create_index("ix_pushes_chat_id", "pushes", ["chat_id"])
    op.create_table(
        "group_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        sa.Column("push_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_group_posts_chat_time", "group_posts", ["chat_id", "posted_at"])
    op.create_table(
        "group_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["group_posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["review_id"], ["reviews.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "user_id", name="uq_group_ratings_member"),
    )
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("schedule_from", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_chats_subscribed", "chats", ["subscribed", "active"])


def downgrade() -> None:
    op.drop_index("ix_chats_subscribed", table_name="chats")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("schedule_from")
    op.drop_table("group_ratings")
    op.drop_index("ix_group_posts_chat_time", table_name="group_posts")
    op.drop_table("group_posts")
    op.drop_index("ix_pushes_chat_id", table_name="pushes")
    op.drop_table("pushes")
