"""The handlers' and jobs' dependencies: services, settings, clock, and the worker threads."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ParamSpec, TypeVar

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.core.schedule import ChatSettings
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.progress import ProgressService
from bot.services.push import PushService
from bot.services.study import StudyService

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Deps:
    """Services and state the handlers use; stored in ``application.bot_data["deps"]``."""

    study: StudyService
    progress: ProgressService
    chats: ChatService
    pushes: PushService
    groups: GroupService
    settings: Settings
    close_services: Callable[[], None] = lambda: None  # at shutdown
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    photo_ids: dict[tuple[str, bool], str] = field(default_factory=dict)
    stats_asked: dict[int, float] = field(default_factory=dict)
    zones: dict[int, tzinfo] = field(default_factory=dict)  # chats seen active, with their zone

    _db_threads: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run database work in the database thread(s), off the event loop.

        SQLite takes one writer at a time, and a writer that finds the database locked sleeps
        (1, 2, 5, 10 ms...) before it tries again: transactions from several threads of one
        process mostly wait on each other that way. So with SQLite the bot's database work
        runs in one thread, one transaction after the other; PostgreSQL gets four.
        """
        if self._db_threads is None:
            sqlite = self.settings.database_url.startswith("sqlite")
            self._db_threads = ThreadPoolExecutor(1 if sqlite else 4, thread_name_prefix="db")
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_threads, call)

    def shutdown(self) -> None:
        """Stop the database thread(s) and close the database's connections."""
        if self._db_threads is not None:
            self._db_threads.shutdown(wait=True)
            self._db_threads = None
        self.close_services()

    async def draw(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run slow work that is not the database's (drawing) in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def tz(self, chat_id: int) -> tzinfo:
        """The chat's time zone (UTC until the chat sets one)."""
        return self.zones.get(chat_id, UTC)

    def remember(self, chat: ChatSettings) -> None:
        if chat.active:
            self.zones[chat.chat_id] = chat.tz
        else:
            self.zones.pop(chat.chat_id, None)


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """The dependencies of a handler or job."""
    return deps_of(context.application)


def deps_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Deps:
    """The dependencies stored in an application's ``bot_data``."""
    found = app.bot_data["deps"]
    assert isinstance(found, Deps)
    return found


async def user_id_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The learner id of whoever sent this update (registered on first contact)."""
    user = update.effective_user
    assert user is not None
    d = deps(context)
    return await d.run(d.study.telegram_user, user.id, user.first_name or "", d.clock())
