"""Group study: items posted in a group, and each member's rating of a post."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.storage.models import (
    CardState,
    Chat,
    GroupPoll,
    GroupPost,
    GroupRating,
    GroupSession,
    Review,
    User,
)


@dataclass(frozen=True)
class Rater:
    """One member's rating of a post, in the order they came."""

    rating: int
    first_name: str


@dataclass(frozen=True)
class GroupTotals:
    posts: int
    items_posted: int
    ratings: int
    members: int


def add_post(
    db: Session,
    chat_id: int,
    item_id: str,
    now: datetime,
    push_date: date | None = None,
    *,
    session_id: int | None = None,
    position: int | None = None,
) -> int:
    """A post of an item in a group (``position`` in a group session ``session_id``)."""
    row = GroupPost(
        chat_id=chat_id,
        item_id=item_id,
        posted_at=now,
        revealed=False,
        push_date=push_date,
        session_id=session_id,
        position=position,
    )
    db.add(row)
    db.flush()
    return row.id


def post(db: Session, post_id: int) -> GroupPost | None:
    return db.get(GroupPost, post_id)


def count_push_posts(db: Session, chat_id: int, push_date: date) -> int:
    """How many items the daily push of ``push_date`` posted."""
    stmt = (
        select(func.count())
        .select_from(GroupPost)
        .where(GroupPost.chat_id == chat_id, GroupPost.push_date == push_date)
    )
    return int(db.scalar(stmt) or 0)


def recent_members(db: Session, chat_id: int, since: datetime) -> list[int]:
    """The learners who rated a post of this group since ``since``."""
    return list(
        db.scalars(
            select(GroupRating.user_id)
            .join(GroupPost, GroupPost.id == GroupRating.post_id)
            .where(GroupPost.chat_id == chat_id, GroupRating.rated_at >= since)
            .distinct()
        )
    )


def last_posted(db: Session, chat_id: int) -> dict[str, datetime]:
    """Item -> when it was last posted to this group."""
    rows = db.execute(
        select(GroupPost.item_id, func.max(GroupPost.posted_at).label("at"))
        .where(GroupPost.chat_id == chat_id)
        .group_by(GroupPost.item_id)
    )
    return {r.item_id: r.at for r in rows}


def due_counts(db: Session, user_ids: Collection[int], now: datetime) -> Counter[str]:
    """Item -> how many of these learners have it due at ``now``."""
    due: Counter[str] = Counter()
    if user_ids:
        due.update(
            db.scalars(
                select(CardState.item_id).where(
                    CardState.user_id.in_(list(user_ids)), CardState.due <= now
                )
            )
        )
    return due


def rating_of(db: Session, post_id: int, user_id: int) -> GroupRating | None:
    stmt = select(GroupRating).where(GroupRating.post_id == post_id, GroupRating.user_id == user_id)
    return db.scalars(stmt).first()


def add_rating(
    db: Session, post_id: int, user_id: int, review_id: int, rating: int, now: datetime
) -> None:
    db.add(
        GroupRating(
            post_id=post_id, user_id=user_id, review_id=review_id, rating=rating, rated_at=now
        )
    )
    db.flush()


def raters(db: Session, post_id: int) -> list[Rater]:
    """The ratings of a post with the members' first names, in the order they came."""
    rows = db.execute(
        select(GroupRating.rating, User.first_name)
        .join(User, User.id == GroupRating.user_id)
        .where(GroupRating.post_id == post_id)
        .order_by(GroupRating.rated_at, GroupRating.id)
    )
    return [Rater(r.rating, r.first_name) for r in rows]


def week_reviews(db: Session, chat_id: int, since: datetime) -> list[tuple[int, int, str]]:
    """(learner, rating, first name) of every review given in this chat since ``since``."""
    rows = db.execute(
        select(Review.user_id, Review.rating, User.first_name)
        .join(User, User.id == Review.user_id)
        .where(Review.chat_id == chat_id, Review.reviewed_at >= since)
    )
    return [(r.user_id, r.rating, r.first_name) for r in rows]


def totals(db: Session, chat_id: int) -> GroupTotals:
    """Posts, distinct items posted, ratings and rating members of a group, all time."""
    in_chat = GroupPost.chat_id == chat_id
    rated = select(GroupRating).join(GroupPost, GroupPost.id == GroupRating.post_id).where(in_chat)
    ratings = rated.subquery()
    return GroupTotals(
        posts=int(db.scalar(select(func.count()).select_from(GroupPost).where(in_chat)) or 0),
        items_posted=int(
            db.scalar(select(func.count(func.distinct(GroupPost.item_id))).where(in_chat)) or 0
        ),
        ratings=int(db.scalar(select(func.count()).select_from(ratings)) or 0),
        members=int(db.scalar(select(func.count(func.distinct(ratings.c.user_id)))) or 0),
    )


# Group sessions, quiz polls and the leaderboard ---------------------------------------------


@dataclass(frozen=True)
class SessionRating:
    """A member's rating of one post of a group session."""

    position: int
    item_id: str
    user_id: int
    first_name: str
    rating: int
    rated_at: datetime


def add_session(
    db: Session, chat_id: int, kind: str, size: int, now: datetime, push_date: date | None
) -> int:
    row = GroupSession(chat_id=chat_id, kind=kind, size=size, push_date=push_date, started_at=now)
    db.add(row)
    db.flush()
    return row.id


def session(db: Session, session_id: int) -> GroupSession | None:
    return db.get(GroupSession, session_id)


def push_session(db: Session, chat_id: int, push_date: date) -> GroupSession | None:
    """The group session the daily push of ``push_date`` started, if it did."""
    stmt = select(GroupSession).where(
        GroupSession.chat_id == chat_id, GroupSession.push_date == push_date
    )
    return db.scalars(stmt.order_by(GroupSession.id.desc())).first()


def unsummed_sessions(db: Session, chat_id: int) -> list[int]:
    """The sessions of a group whose summary was not claimed yet, oldest first."""
    stmt = select(GroupSession.id).where(
        GroupSession.chat_id == chat_id, GroupSession.summary_at.is_(None)
    )
    return list(db.scalars(stmt.order_by(GroupSession.id)))


def claim_summary(db: Session, session_id: int, now: datetime) -> bool:
    """Claim the sending of a session's summary: True for the one caller that gets it."""
    stmt = (
        update(GroupSession)
        .where(GroupSession.id == session_id, GroupSession.summary_at.is_(None))
        .values(summary_at=now)
    )
    return bool(db.execute(stmt).rowcount)  # type: ignore[attr-defined]


def session_posts(db: Session, session_id: int) -> list[GroupPost]:
    """The posts of a group session in their order."""
    stmt = select(GroupPost).where(GroupPost.session_id == session_id)
    return list(db.scalars(stmt.order_by(GroupPost.position, GroupPost.id)))


def session_ratings(db: Session, session_id: int) -> list[SessionRating]:
    """Every member's rating of the session's posts, in the order they came."""
    rows = db.execute(
        select(
            GroupPost.position,
            GroupPost.item_id,
            GroupRating.user_id,
            User.first_name,
            GroupRating.rating,
            GroupRating.rated_at,
        )
        .join(GroupPost, GroupPost.id == GroupRating.post_id)
        .join(User, User.id == GroupRating.user_id)
        .where(GroupPost.session_id == session_id)
        .order_by(GroupRating.rated_at, GroupRating.id)
    )
    return [
        SessionRating(r.position or 0, r.item_id, r.user_id, r.first_name, r.rating, r.rated_at)
        for r in rows
    ]


def quiz_polls(db: Session, chat_id: int) -> bool:
    """Whether quiz items go to this group as quiz polls (yes for a chat not seen yet)."""
    found = db.scalar(select(Chat.quiz_polls).where(Chat.id == chat_id))
    return True if found is None else bool(found)


def set_quiz_polls(db: Session, chat_id: int, on: bool) -> bool:
    """Switch quiz polls on or off for a group; False when the chat is unknown."""
    stmt = update(Chat).where(Chat.id == chat_id).values(quiz_polls=on)
    return bool(db.execute(stmt).rowcount)  # type: ignore[attr-defined]


def add_poll(db: Session, poll_id: str, post_id: int, correct_option: int) -> None:
    db.add(GroupPoll(poll_id=poll_id, post_id=post_id, correct_option=correct_option))
    db.flush()


def poll(db: Session, poll_id: str) -> GroupPoll | None:
    return db.get(GroupPoll, poll_id)


def posted_items(db: Session, chat_id: int) -> list[str]:
    """Every item ever posted to this group."""
    stmt = select(GroupPost.item_id).where(GroupPost.chat_id == chat_id).distinct()
    return list(db.scalars(stmt))
