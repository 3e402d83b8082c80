"""Engine and session factory; Alembic migrations applied at start."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
MIGRATION_LOCK_KEY = 0x5744B07  # a PostgreSQL advisory lock key of our own


class StorageError(RuntimeError):
    """The database cannot be opened or migrated; the message says what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the bot and the terminal mode read while the other writes; the busy timeout makes
    # a writer wait for the other's short transaction instead of failing with "locked".
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    # Two processes opening a new database at once race to switch it to WAL, and the loser is
    # told "locked" at once (the busy timeout does not cover a journal mode change): retry.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite, create the parent folder and set WAL + busy timeout."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            _lock_for_migration(connection)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except (DatabaseError, OperationalError) as exc:
        raise StorageError(describe_db_error(engine, exc)) from exc


def _lock_for_migration(connection: Connection) -> None:
    # Processes starting at once on an empty database would all create the tables, and all but
    # one fail: one migrates while the others wait, then find the schema up to date.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # else each CREATE commits on its own


def describe_db_error(engine: Engine, exc: Exception) -> str:
    """One line for the user: which database, what went wrong, what to do."""
    where = engine.url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    if "not a database" in reason or "malformed" in reason:
        return (
            f"{where} is not a usable SQLite database ({reason}); it was left untouched. "
            "Restore it from a backup, or point DATABASE_URL at a new file."
        )
    return f"cannot use the database {where}: {reason}. Check DATABASE_URL."


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Open and migrate the database; return the engine and a session factory."""
    engine = make_engine(url)
    migrate(engine)
    return engine, sessionmaker(engine, expire_on_commit=False)


def table_names(engine: Engine) -> list[str]:
    """The tables present (used by tests and diagnostics)."""
    return sorted(inspect(engine).get_table_names())
