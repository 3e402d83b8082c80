"""Run the real bot Application in-process against the Bot API stand-in (real HTTP)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core.stats import Stats
from bot.telegram.app import build_application, make_deps
from bot.telegram.deps import Deps
from tests.botapi import BotApiStandIn

REPO_CONTENT = Path(__file__).resolve().parent.parent / "content"


@dataclass
class RunningBot:
    """The running Application and its services: tests check results through the services
    (``learner``, ``stats``, ``deps.chats``...) and read rows with SQL (``rows``) only for
    facts that no service exposes."""

    api: BotApiStandIn
    app: Any
    deps: Deps
    db_path: Path

    def rows(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(sql, params))

    def set_clock(self, now: datetime) -> None:
        self.deps.clock = lambda: now

    def learner(self, telegram_id: int) -> int:
        """The learner id of a Telegram user the bot has met (one it has not is created)."""
        return self.deps.study.telegram_user(telegram_id, "", self.deps.clock())

    def stats(self, telegram_id: int) -> Stats:
        """What /stats shows a Telegram user the bot has met, from the progress service."""
        return self.deps.progress.stats(self.learner(telegram_id), self.deps.clock(), UTC)


@asynccontextmanager
async def running_bot(
    api: BotApiStandIn,
    tmp_path: Path,
    *,
    content: Path = REPO_CONTENT,
    db_name: str = "bot.db",
    **overrides: Any,
) -> AsyncIterator[RunningBot]:
    """Start the Application (long polling against ``api``), stop it cleanly afterwards."""
    db_path = tmp_path / db_name
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{db_path}",
        content_dirs=(content,),
        token=api.token,
        base_url=api.base_url,
        fuzzing=False,
        **overrides,
    )
    deps = make_deps(settings)
    app = build_application(settings, deps)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0.0, timeout=2)
    await app.start()
    try:
        yield RunningBot(api, app, deps, db_path)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    """A Bot API stand-in on 127.0.0.1 for this test."""
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
async def bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The real bot Application polling ``api``, on a fresh SQLite database and real content."""
    async with running_bot(api, tmp_path) as running:
        yield running
