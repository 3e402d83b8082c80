"""Where the bot runs blocking work: SQLite in one database thread, drawing elsewhere."""

from __future__ import annotations

import asyncio
import threading
import time
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


async def test_sqlite_work_runs_one_transaction_at_a_time_in_one_thread(tmp_path: Path) -> None:
    d = _deps(tmp_path)
    running = 0
    most = 0
    lock = threading.Lock()

    def work() -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return threading.current_thread().name

    names = await asyncio.gather(*(d.run(work) for _ in range(6)))
    assert most == 1
    assert len(set(names)) == 1 and names[0].startswith("db")
    drawn = await d.draw(threading.current_thread)
    assert not drawn.name.startswith("db")  # drawing never holds up the database thread
