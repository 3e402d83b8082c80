"""Learners: terminal users (by name) and Telegram users (by Telegram id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from bot.storage.models import User


@dataclass(frozen=True)
class Plan:
    """What choosing a session reads of a learner besides their cards."""

    user_id: int
    exam_date: date | None
    nudged_at: datetime | None


def by_local_name(db: Session, name: str) -> User | None:
    return db.scalars(select(User).where(User.local_name == name)).first()


def by_telegram_id(db: Session, telegram_id: int) -> User | None:
    return db.scalars(select(User).where(User.telegram_id == telegram_id)).first()


def add(
    db: Session,
    now: datetime,
    *,
    local_name: str | None = None,
    telegram_id: int | None = None,
    first_name: str = "",
) -> User:
    user = User(
        local_name=local_name,
        telegram_id=telegram_id,
        first_name=first_name,
        timezone="UTC",
        created_at=now,
    )
    db.add(user)
    db.flush()
    return user


_USERS = cast(Table, User.__table__)
_ID_AND_NAME = select(_USERS.c.id, _USERS.c.first_name).where(
    _USERS.c.telegram_id == bindparam("tid")
)


def id_and_name(db: Session, telegram_id: int) -> tuple[int, str] | None:
    """(id, first name) of a Telegram user: every update asks, so no ORM object is loaded."""
    row = db.execute(_ID_AND_NAME, {"tid": telegram_id}).first()
    return None if row is None else (row.id, row.first_name)


def plans(db: Session, user_ids: Collection[int]) -> dict[int, Plan]:
    """Learner id -> their plan, for the known ones."""
    if not user_ids:
        return {}
    rows = db.execute(
        select(User.id, User.exam_date, User.nudged_at).where(User.id.in_(list(user_ids)))
    )
    return {r.id: Plan(r.id, r.exam_date, r.nudged_at) for r in rows}


def plans_by_telegram_id(db: Session, telegram_ids: Collection[int]) -> dict[int, Plan]:
    """Telegram id -> the learner's plan, for the known ones."""
    if not telegram_ids:
        return {}
    rows = db.execute(
        select(User.telegram_id, User.id, User.exam_date, User.nudged_at).where(
            User.telegram_id.in_(list(telegram_ids))
        )
    )
    return {r.telegram_id: Plan(r.id, r.exam_date, r.nudged_at) for r in rows}


def set_nudged(db: Session, user_ids: Sequence[int], now: datetime) -> None:
    """Record that these learners were nudged now."""
    if user_ids:
        db.execute(
            update(User)
            .where(User.id.in_(user_ids))
            .values(nudged_at=now)
            .execution_options(synchronize_session=False)
        )


def set_exam(db: Session, user_id: int, exam: date | None) -> None:
    db.execute(
        update(User)
        .where(User.id == user_id)
        .values(exam_date=exam)
        .execution_options(synchronize_session=False)
    )


def exam_date(db: Session, user_id: int) -> date | None:
    found: date | None = db.scalar(select(User.exam_date).where(User.id == user_id))
    return found
