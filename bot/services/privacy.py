"""A learner's own data: their review history as CSV, and deleting everything about them.

Core code: no telegram imports. Each function owns its transaction, like services.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, CursorResult, Executable, delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog
from bot.storage import repo
from bot.storage.models import Base, Chat, Push, Review, User

CSV_HEADER = ("item_id", "title", "rating", "reviewed_at_utc", "interval_days")


@dataclass(frozen=True)
class ExportRow:
    """One review, as exported."""

    item_id: str
    title: str  # "" when the item has since been removed from the content
    rating: int
    reviewed_at: datetime
    interval_days: float


def find_user(
    sessions: sessionmaker[Session],
    *,
    telegram_id: int | None = None,
    local_name: str | None = None,
) -> int | None:
    """The id of an existing learner, or None (unlike the services, never creates one)."""
    with sessions.begin() as db:
        if telegram_id is not None:
            user = repo.user_by_telegram_id(db, telegram_id)
        elif local_name is not None:
            user = repo.user_by_local_name(db, local_name)
        else:
            raise ValueError("give telegram_id or local_name")
        return user.id if user else None


def export_rows(sessions: sessionmaker[Session], catalog: Catalog, user_id: int) -> list[ExportRow]:
    """Every review of one learner, oldest first, with the item's current title."""
    catalog.refresh()
    with sessions.begin() as db:
        reviews = db.scalars(
            select(Review).where(Review.user_id == user_id).order_by(Review.reviewed_at, Review.id)
        )
        return [
            ExportRow(
                item_id=r.item_id,
                title=item.title if (item := catalog.get(r.item_id)) else "",
                rating=r.rating,
                reviewed_at=r.reviewed_at,
                interval_days=r.interval_days,
            )
            for r in reviews
        ]


def export_csv(rows: Iterable[ExportRow]) -> str:
    """The rows as CSV text with a header row; times in UTC ISO-8601, intervals in days."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            (
                row.item_id,
                row.title,
                row.rating,
                row.reviewed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                f"{round(row.interval_days, 3):g}",
            )
        )
    return out.getvalue()


def _deleted(db: Session, statement: Executable) -> int:
    result = cast(CursorResult[Any], db.execute(statement))
    return int(result.rowcount)


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


def forget_user(sessions: sessionmaker[Session], user_id: int) -> dict[str, int]:
    """Delete everything stored about one learner; return the rows deleted per table.

    That is every row that refers to the user (card states, reviews, sessions, group ratings,
    so the name leaves group tallies, ...), the user row, and for a Telegram user their private
    chat's settings and push log. Group posts and other members' data stay. Returns ``{}``
    when there was no such user (already forgotten).
    """
    with sessions.begin() as db:
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
