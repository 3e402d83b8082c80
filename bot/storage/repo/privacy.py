"""Deleting a learner's progress, or everything stored about them."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Column, CursorResult, Executable, delete, select
from sqlalchemy.orm import Session

from bot.storage.models import Base, CardState, Chat, ItemMark, Push, Review, StudySession, User


def _deleted(db: Session, statement: Executable) -> int:
    result = cast(CursorResult[Any], db.execute(statement))
    return int(result.rowcount)


def delete_progress(db: Session, user_id: int) -> int:
    """Delete a learner's cards, marks, reviews and sessions; return the reviews deleted."""
    reviews = _deleted(db, delete(Review).where(Review.user_id == user_id))
    db.execute(delete(StudySession).where(StudySession.user_id == user_id))
    db.execute(delete(CardState).where(CardState.user_id == user_id))
    db.execute(delete(ItemMark).where(ItemMark.user_id == user_id))
    return reviews


def _learner_columns() -> list[Column[Any]]:
    """Every column that refers to users.id, ordered so that rows go before those they refer to.

    Found from the models rather than listed, so that a table added for a new feature is
    covered too.
    """
    users = User.__table__
    return [
        column
        for table in reversed(Base.metadata.sorted_tables)  # dependent tables first
        for column in table.columns
        if any(fk.references(users) for fk in column.foreign_keys)
    ]


def delete_learner(db: Session, user_id: int) -> dict[str, int]:
    """Delete every row about one learner; the rows deleted per table ({} for no such user).

    That is every row that refers to the user (card states, reviews, sessions, group ratings,
    so the name leaves group tallies, ...), the user row, and for a Telegram user their private
    chat's settings and push log. Group posts and other members' data stay.
    """
    user = db.get(User, user_id)
    if user is None:
        return {}
    counts: dict[str, int] = {}
    if user.telegram_id is not None:  # a private chat's id is the user's Telegram id
        private = (Chat.id == user.telegram_id) & (Chat.type == "private")
        pushes = delete(Push).where(Push.chat_id.in_(select(Chat.id).where(private)))
        counts["pushes"] = _deleted(db, pushes)
        counts["chats"] = _deleted(db, delete(Chat).where(private))
    for column in _learner_columns():
        counts[column.table.name] = _deleted(db, delete(column.table).where(column == user_id))
    counts["users"] = _deleted(db, delete(User).where(User.id == user_id))
    return counts
