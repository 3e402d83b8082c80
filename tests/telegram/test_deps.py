"""Where the bot runs blocking work: SQLite's on the event loop (its long reads in a thread),
PostgreSQL's in database threads, drawing elsewhere."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.telegram.app import make_deps
from bot.telegram.deps import Deps
from tests.harness import REPO_CONTENT


def _deps(tmp_path: Path) -> Deps:
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'deps.db'}",
        content_dirs=(REPO_CONTENT,),
    )
    return make_deps(settings)


async def test_sqlite_work_runs_on_the_event_loop_one_call_at_a_time(tmp_path: Path) -> None:
    d = _deps(tmp_path)
    try:
        order: list[str] = []

        def work(k: int) -> str:
            order.append(f"start {k}")
            order.append(f"end {k}")
            return threading.current_thread().name

        names = await asyncio.gather(*(d.run(work, k) for k in range(3)))
        assert set(names) == {threading.current_thread().name}
        assert order == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]
        drawn = await d.draw(threading.current_thread)
        assert drawn is not threading.current_thread()  # drawing never holds up the loop
        read = await d.read(threading.current_thread)
        assert read is not threading.current_thread()  # nor does a long read
    finally:
        d.shutdown()


async def test_postgresql_work_runs_in_database_threads(tmp_path: Path) -> None:
    d = _deps(tmp_path)
    try:
        # Only where the work runs depends on the URL; this work touches no database.
        d.settings = replace(d.settings, database_url="postgresql+psycopg://studybot@localhost/x")
        names = await asyncio.gather(
            *(d.run(lambda: threading.current_thread().name) for _ in range(3)),
            d.read(lambda: threading.current_thread().name),
        )
        assert all(name.startswith("db") for name in names)
    finally:
        d.shutdown()
