"""Reviews: every self-rating, with the interval it scheduled."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from bot.storage.models import Review

# Built once, on the table: every rating inserts one (see repo/sessions.py).
_REVIEWS = cast(Table, Review.__table__)
_ADD = insert(_REVIEWS).returning(_REVIEWS.c.id)


def add(
    db: Session,
    *,
    user_id: int,
    item_id: str,
    chat_id: int | None,
    session_id: int | None,
    position: int | None,
    rating: int,
    now: datetime,
    seconds: float | None,
    interval_days: float,
) -> int:
    """Record a review; returns its id. (session, position) is unique: a second review of the
    same session position raises IntegrityError."""
    values = {
        "user_id": user_id,
        "item_id": item_id,
        "chat_id": chat_id,
        "session_id": session_id,
        "position": position,
        "rating": rating,
        "reviewed_at": now,
        "seconds": seconds,
        "interval_days": interval_days,
    }
    return int(db.execute(_ADD, values).scalar_one())


def get(db: Session, review_id: int) -> Review | None:
    return db.get(Review, review_id)


def at_position(db: Session, session_id: int, position: int) -> int:
    """The id of the review recorded for (session, position), or 0."""
    found = db.scalar(
        select(Review.id).where(Review.session_id == session_id, Review.position == position)
    )
    return int(found or 0)


def latest_id(db: Session, user_id: int, item_id: str) -> int:
    """The id of the learner's latest review of an item, or 0."""
    found = db.scalar(
        select(func.max(Review.id)).where(Review.user_id == user_id, Review.item_id == item_id)
    )
    return int(found or 0)


def history(db: Session, user_id: int, item_id: str) -> list[Review]:
    """The learner's reviews of an item, oldest first."""
    stmt = (
        select(Review)
        .where(Review.user_id == user_id, Review.item_id == item_id)
        .order_by(Review.reviewed_at, Review.id)
    )
    return list(db.scalars(stmt))


def of_user(db: Session, user_id: int) -> list[Review]:
    """Every review of a learner, oldest first."""
    stmt = select(Review).where(Review.user_id == user_id).order_by(Review.reviewed_at, Review.id)
    return list(db.scalars(stmt))


def ratings_of_session(db: Session, session_id: int) -> list[int]:
    stmt = select(Review.rating).where(Review.session_id == session_id).order_by(Review.position)
    return list(db.scalars(stmt))


def ratings_by_session(db: Session, session_ids: Collection[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {sid: [] for sid in session_ids}
    if not session_ids:
        return out
    stmt = select(Review.session_id, Review.rating).where(Review.session_id.in_(list(session_ids)))
    for row in db.execute(stmt):
        if row.session_id is not None:
            out[row.session_id].append(row.rating)
    return out


def last_times(db: Session, user_ids: Collection[int]) -> dict[int, datetime]:
    """Learner -> the time of their last review (learners who never reviewed are absent)."""
    if not user_ids:
        return {}
    rows = db.execute(
        select(Review.user_id, func.max(Review.reviewed_at).label("at"))
        .where(Review.user_id.in_(list(user_ids)))
        .group_by(Review.user_id)
    )
    return {r.user_id: r.at for r in rows if r.at is not None}


def times(db: Session, user_id: int, since: datetime | None = None) -> list[datetime]:
    stmt = select(Review.reviewed_at).where(Review.user_id == user_id)
    if since is not None:
        stmt = stmt.where(Review.reviewed_at >= since)
    return list(db.scalars(stmt))


def since(db: Session, user_id: int, start: datetime) -> list[tuple[datetime, int]]:
    """(time, rating) of the learner's reviews from ``start`` on."""
    stmt = select(Review.reviewed_at, Review.rating).where(
        Review.user_id == user_id, Review.reviewed_at >= start
    )
    return [(r.reviewed_at, r.rating) for r in db.execute(stmt)]


def count(db: Session, user_id: int) -> int:
    stmt = select(func.count()).select_from(Review).where(Review.user_id == user_id)
    return int(db.scalar(stmt) or 0)
