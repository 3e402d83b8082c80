"""A chat's settings: whether and when its daily push comes, in which zone, how big."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.core.schedule import ChatSettings, next_push
from bot.storage.repo import chats, users


@dataclass(frozen=True)
class ChatView:
    """What /settings and every settings confirmation show: the chat's settings, when its
    next push really goes out, and the learner's own interview date (private chats)."""

    settings: ChatSettings
    next_push: datetime | None  # None: the push is off
    exam: date | None = None


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

    def view(self, chat_id: int, now: datetime, user_id: int | None = None) -> ChatView:
        """The chat's settings and next push (and ``user_id``'s interview date, when given).

        Raises:
            KeyError: for a chat the bot has not met.
        """
        with self.sessions.begin() as db:
            settings = chats.get(db, chat_id)
            if settings is None:
                raise KeyError(chat_id)
            pushed = chats.pushed_on(db, chat_id, settings.local_date(now))
            exam = users.exam_date(db, user_id) if user_id is not None else None
        return ChatView(settings, next_push(settings, now, pushed), exam)

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
