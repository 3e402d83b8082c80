"""Chats and their settings (the daily push's time, zone, size and quiet hours)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.core.schedule import DEFAULT_PUSH_TIME, ChatSettings
from bot.storage.models import Chat, Push

SETTINGS = frozenset(
    {
        "subscribed",
        "push_time",
        "timezone",
        "daily_size",
        "group_items",
        "active",
        "schedule_from",
        "quiet",
    }
)
TITLE_CHARS = 256  # the chats.title column


def _settings(row: Any) -> ChatSettings:
    """From a Chat, or a row of its columns."""
    return ChatSettings(
        chat_id=row.id,
        type=row.type,
        title=row.title,
        active=row.active,
        subscribed=row.subscribed,
        push_time=row.push_time,
        timezone=row.timezone,
        daily_size=row.daily_size,
        group_items=row.group_items,
        schedule_from=row.schedule_from,
        quiet=row.quiet,
    )


def ensure(db: Session, chat_id: int, chat_type: str, title: str, now: datetime) -> ChatSettings:
    """The chat's settings, creating its row on first contact; contact reactivates it."""
    title = title[:TITLE_CHARS]
    row = db.get(Chat, chat_id)
    if row is None:
        try:
            with db.begin_nested():
                row = Chat(
                    id=chat_id,
                    type=chat_type,
                    title=title,
                    active=True,
                    subscribed=False,
                    push_time=DEFAULT_PUSH_TIME,
                    timezone="UTC",
                    daily_size=10,
                    group_items=3,
                    created_at=now,
                )
                db.add(row)
        except IntegrityError:  # created concurrently by another update
            row = db.get(Chat, chat_id)
            assert row is not None
    if not row.active:
        row.active = True
    if title and row.title != title:
        row.title = title
    return _settings(row)


def get(db: Session, chat_id: int) -> ChatSettings | None:
    row = db.get(Chat, chat_id)
    return _settings(row) if row else None


def of_ids(db: Session, chat_ids: Collection[int]) -> dict[int, ChatSettings]:
    """The settings of the known chats among ``chat_ids``."""
    rows = db.execute(select(Chat.__table__).where(Chat.id.in_(list(chat_ids))))
    return {row.id: _settings(row) for row in rows}


def change(db: Session, chat_id: int, changes: Mapping[str, object]) -> ChatSettings:
    """Change settings (names in SETTINGS).

    Raises:
        ValueError: for an unknown setting; KeyError: for an unknown chat.
    """
    unknown = set(changes) - SETTINGS
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    row = db.get(Chat, chat_id)
    if row is None:
        raise KeyError(chat_id)
    for key, value in changes.items():
        setattr(row, key, value)
    return _settings(row)


_SUBSCRIBED = (Chat.subscribed.is_(True), Chat.active.is_(True))


def count_subscribed(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Chat).where(*_SUBSCRIBED)) or 0)


def subscribed(db: Session) -> list[ChatSettings]:
    """Every chat that gets a daily push."""
    return [_settings(r) for r in db.execute(select(Chat.__table__).where(*_SUBSCRIBED))]


def deactivate(db: Session, chat_id: int) -> None:
    db.execute(
        update(Chat)
        .where(Chat.id == chat_id)
        .values(active=False)
        .execution_options(synchronize_session=False)
    )


def pushed_on(db: Session, chat_id: int, day: date) -> bool:
    """Whether the chat's push of its local ``day`` was claimed (sent, or on its way): there is
    one a day, so the next one is the next day's."""
    claimed = select(Push.id).where(Push.chat_id == chat_id, Push.local_date == day).limit(1)
    return db.scalar(claimed) is not None
