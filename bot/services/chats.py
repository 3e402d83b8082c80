"""A chat's settings: whether and when its daily push comes, in which zone, how big."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.core.schedule import ChatSettings
from bot.storage.repo import chats


class ChatService:
    """Chat settings over one database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def ensure(self, chat_id: int, chat_type: str, title: str, now: datetime) -> ChatSettings:
        """The chat's settings, creating the row on first contact; contact reactivates it."""
        with self.sessions.begin() as db:
            return chats.ensure(db, chat_id, chat_type, title, now)

    def get(self, chat_id: int) -> ChatSettings | None:
        with self.sessions.begin() as db:
            return chats.get(db, chat_id)

    def update(self, chat_id: int, **changes: object) -> ChatSettings:
        """Change settings (subscribed, push_time, timezone, daily_size, group_items, active,
        schedule_from, quiet)."""
        with self.sessions.begin() as db:
            return chats.change(db, chat_id, changes)

    def count_subscribed(self) -> int:
        """How many chats get a daily push."""
        with self.sessions.begin() as db:
            return chats.count_subscribed(db)

    def subscribed(self) -> list[ChatSettings]:
        """Every chat that gets a daily push."""
        with self.sessions.begin() as db:
            return chats.subscribed(db)

    def deactivate(self, chat_id: int) -> None:
        """The bot was blocked or removed: stop pushing until someone writes again."""
        with self.sessions.begin() as db:
            chats.deactivate(db, chat_id)
