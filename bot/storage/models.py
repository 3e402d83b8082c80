"""SQLAlchemy 2 typed models. Times are timezone-aware UTC everywhere."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite hands back naive ones, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            # The same datetime as value.replace(tzinfo=UTC), which on Python 3.11 costs about
            # 1 us against 0.15 us: the daily push reads three of these per card, 130 cards per
            # learner, and replace() took a third of that read (16 learners: 16 -> 10 ms).
            return datetime.combine(value, value.time(), UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A learner: a Telegram user (telegram_id) or a local terminal user (local_name)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    local_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exam_date: Mapped[date | None] = mapped_column(Date)  # interview-date mode when set
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last "come back" nudge


class ItemMark(Base):
    """A learner's mark on an item: suspended ("know it cold") or skipped until a time."""

    __tablename__ = "item_marks"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Chat(Base):
    """A Telegram chat (private or group) and its settings."""

    __tablename__ = "chats"
    __table_args__ = (Index("ix_chats_subscribed", "subscribed", "active"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16), default="private")
    title: Mapped[str] = mapped_column(String(256), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    push_time: Mapped[str] = mapped_column(String(5), default="09:00")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    daily_size: Mapped[int] = mapped_column(Integer, default=10)
    group_items: Mapped[int] = mapped_column(Integer, default=3)
    # Pushes due before this moment are not owed (subscribing never sends a push by itself).
    schedule_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quiet: Mapped[str] = mapped_column(String(11), default="")  # "22:00-07:00": no pushes
    # Groups: quiz items posted as native quiz polls (an admin can switch it off).
    quiz_polls: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class CardState(Base):
    """The FSRS memory state of one item for one learner (real columns, indexed on due)."""

    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_user_due", "user_id", "due"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[int] = mapped_column(Integer)
    step: Mapped[int | None] = mapped_column(Integer)
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)


class StudySession(Base):
    """One study session: its planned queue of items and how far the learner got."""

    __tablename__ = "study_sessions"
    __table_args__ = (Index("ix_sessions_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), default="study")
    item_type: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    queue: Mapped[str] = mapped_column(Text)  # item ids, comma-separated, retries appended
    retry_from: Mapped[int] = mapped_column(Integer)  # positions >= this are retries
    position: Mapped[int] = mapped_column(Integer, default=0)
    notice: Mapped[str] = mapped_column(Text, default="")
    revealed: Mapped[int] = mapped_column(Integer, default=-1)  # position whose answer is shown
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # current item shown at
    # What the chat was sent: the question at ``presented`` (or, once that is past the queue,
    # the summary). ``presenting`` is claimed before a send, so that of two presses one sends;
    # a claim older than a few seconds whose send never landed (a crash) may be taken over.
    presenting: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")
    presenting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    presented: Mapped[int] = mapped_column(Integer, default=-1, server_default="-1")
    # The chat message that carries the session's live buttons (the question, or the answer's
    # ratings), so that ending the session can take them away; None in the terminal.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Review(Base):
    """One self-rating; (session, position) is unique so a repeated press records once."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("session_id", "position", name="uq_reviews_session_position"),
        Index("ix_reviews_user_time", "user_id", "reviewed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("study_sessions.id", ondelete="CASCADE")
    )
    position: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int] = mapped_column(Integer)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None] = mapped_column(Float)
    interval_days: Mapped[float] = mapped_column(Float)


class Push(Base):
    """One daily push to one chat: claimed (unique per chat and local date) before sending."""

    __tablename__ = "pushes"
    __table_args__ = (UniqueConstraint("chat_id", "local_date", name="uq_pushes_chat_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="claimed")  # sent, empty, failed
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A claim still "claimed" after its lease ran out was cut off by a crash: it may be taken
    # over, so the chat still gets its push (see ChatService.claim_push).
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")


class GroupPost(Base):
    """An item posted in a group; every member rates it for themselves."""

    __tablename__ = "group_posts"
    __table_args__ = (Index("ix_group_posts_chat_time", "chat_id", "posted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[str] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    push_date: Mapped[date | None] = mapped_column(Date)  # set when posted by the daily push
    # The group session the post belongs to, and its place there (0-based): "2/5" is 1.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="CASCADE")
    )
    position: Mapped[int | None] = mapped_column(Integer)


class GroupSession(Base):
    """Items posted to a group together (by /study N or the daily push), summed up once."""

    __tablename__ = "group_sessions"
    __table_args__ = (Index("ix_group_sessions_chat", "chat_id", "summary_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # "push" or "study"
    size: Mapped[int] = mapped_column(Integer)  # items planned: the 5 of "2/5"
    push_date: Mapped[date | None] = mapped_column(Date)  # the push's local day, if a push
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Claimed before the summary is sent, so that it is sent once (never twice; a crash
    # between the claim and the send loses it, as with a push).
    summary_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupPoll(Base):
    """A quiz poll a group post was sent as: members' answers arrive by the poll's id."""

    __tablename__ = "group_polls"

    poll_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("group_posts.id", ondelete="CASCADE"))
    correct_option: Mapped[int] = mapped_column(Integer)  # as sent (after the shuffle)


class GroupRating(Base):
    """A member's rating of a group post: one per member and post, the last press counts."""

    __tablename__ = "group_ratings"
    __table_args__ = (UniqueConstraint("post_id", "user_id", name="uq_group_ratings_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("group_posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"))
    rating: Mapped[int] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)
