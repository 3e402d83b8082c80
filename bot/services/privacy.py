"""A learner's own data: their review history as CSV, their progress reset, everything about
them deleted. Each function owns its transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog
from bot.storage.repo import privacy, reviews, users

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
    """The id of an existing learner, or None (unlike the study service, never creates one)."""
    with sessions.begin() as db:
        if telegram_id is not None:
            user = users.by_telegram_id(db, telegram_id)
        elif local_name is not None:
            user = users.by_local_name(db, local_name)
        else:
            raise ValueError("give telegram_id or local_name")
        return user.id if user else None


def export_rows(sessions: sessionmaker[Session], catalog: Catalog, user_id: int) -> list[ExportRow]:
    """Every review of one learner, oldest first, with the item's current title."""
    catalog.refresh()
    with sessions.begin() as db:
        return [
            ExportRow(
                item_id=r.item_id,
                title=item.title if (item := catalog.get(r.item_id)) else "",
                rating=r.rating,
                reviewed_at=r.reviewed_at,
                interval_days=r.interval_days,
            )
            for r in reviews.of_user(db, user_id)
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


def reset(sessions: sessionmaker[Session], user_id: int) -> int:
    """Delete a learner's progress (cards, marks, reviews, sessions); return reviews deleted."""
    with sessions.begin() as db:
        return privacy.delete_progress(db, user_id)


def forget_user(sessions: sessionmaker[Session], user_id: int) -> dict[str, int]:
    """Delete everything stored about one learner; the rows deleted per table.

    That is every row that refers to the user (card states, reviews, sessions, group ratings,
    so the name leaves group tallies, ...), the user row, and for a Telegram user their private
    chat's settings and push log. Group posts and other members' data stay. Returns ``{}``
    when there was no such user (already forgotten).
    """
    with sessions.begin() as db:
        return privacy.delete_learner(db, user_id)
