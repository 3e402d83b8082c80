"""Storage on SQLite and PostgreSQL: UTC round-trips, migrations, two processes writing one
database, bad database files."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import load_catalog
from bot.services.study import Scheduling, StudyService
from bot.storage.db import StorageError, open_database, table_names
from bot.storage.models import CardState, Review, User

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_migrations_create_the_schema_and_are_idempotent(db_url: str) -> None:
    engine, _ = open_database(db_url)
    assert {"users", "chats", "cards", "reviews", "study_sessions", "alembic_version"} <= set(
        table_names(engine)
    )
    engine.dispose()
    engine, _ = open_database(db_url)  # a second start applies nothing and breaks nothing
    engine.dispose()


def test_aware_utc_round_trip(sessions: sessionmaker[Session]) -> None:
    berlin = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)
    with sessions.begin() as db:
        db.add(User(id=1, local_name="x", first_name="", timezone="UTC", created_at=moment))
    with sessions() as db:
        user = db.get(User, 1)
        assert user is not None
        assert user.created_at.tzinfo is UTC
        assert user.created_at == moment
        assert user.created_at.hour == 0


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), sessions.begin() as db:
        db.add(User(local_name="y", first_name="", timezone="UTC", created_at=datetime(2026, 1, 1)))
        db.flush()


def _writer(db_url: str, content: str, name: str, rounds: int) -> None:
    _engine, factory = open_database(db_url)
    service = StudyService(factory, load_catalog([Path(content)]), Scheduling(fuzzing=False))
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    user = service.local_user(name, now)
    for k in range(rounds):
        started = service.start_session(user, 3, now + timedelta(days=k), UTC)
        while (cur := service.current(started.session_id)) is not None:
            service.reveal(started.session_id, cur.position)
            service.answer(started.session_id, cur.position, 3, now + timedelta(days=k))


def test_two_processes_write_one_database(
    db_url: str, content_dir: Path, sessions: sessionmaker[Session]
) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_writer, args=(db_url, str(content_dir), name, 5))
        for name in ("p1", "p2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Review)) == 30
        assert db.scalar(select(func.count(func.distinct(CardState.user_id)))) == 2


def _start(db_url: str, start: Any) -> None:
    start.wait(60)
    engine, _ = open_database(db_url)
    engine.dispose()


def test_two_processes_start_on_an_empty_database_at_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_start, args=(db_url, start)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]  # one migrated, the other found it done


def test_corrupt_database_is_reported_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    garbage = b"this is not a database at all" * 100
    path.write_bytes(garbage)
    with pytest.raises(StorageError, match="not a usable SQLite database"):
        open_database(f"sqlite:///{path}")
    assert path.read_bytes() == garbage
