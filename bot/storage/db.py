"""Engine and session factory; Alembic migrations applied at start.

Alembic (with Mako and every SQL dialect it supports) costs a good share of the bot's start-up
to import, and on every start but the first there is nothing for it to do. So ``migrate`` first
reads the database's revision and compares it with the newest revision of the migration files,
found by reading those files as text; Alembic is imported only when they differ. Then an empty
database gets the models' tables stamped with the newest revision, an older one is upgraded.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import Base

logger = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which bot/storage/migrations/env.py keeps
# `revision = "0004"` and `down_revision = "0003"` (or None) at the start of a line, with an
# optional annotation (`revision: str = ...`), as the revision template writes them.
_REVISION_RE = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*(['"])([^'"\n]+)\1\s*$""", re.M)
_DOWN_REVISION_RE = re.compile(
    r"""^down_revision\s*(?::[^=\n]*)?=\s*(?:None|(['"])([^'"\n]+)\1)\s*$""", re.M
)
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


@functools.cache
def head_revision() -> str | None:
    """The newest revision id of bot/migrations, read without importing Alembic (or None).

    tests/test_db_startup.py checks that this agrees with Alembic's own head.
    """
    return read_head_revision(MIGRATIONS_DIR / "versions")


def read_head_revision(versions_dir: Path) -> str | None:
    """The one revision no other revision file names as its ``down_revision``.

    None when the files do not say it plainly (a file without a one-line ``revision`` or
    ``down_revision`` string, a merge, several heads or none): then only Alembic can tell.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions_dir.glob("*.py"):
        if path.name == "__init__.py" or path.name.startswith(".#"):  # as Alembic skips them
            continue
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        revision = _REVISION_RE.findall(source)
        down = _DOWN_REVISION_RE.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0][1])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_at_head(engine: Engine) -> bool:
    """True when the database's schema is at the newest revision (nothing to migrate).

    A plain read, without the migration lock: a migration in progress elsewhere commits its
    schema and its revision together, so a reader sees either both or neither.
    """
    head = head_revision()
    if head is None:
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return False  # an empty database (or one Alembic never managed)
        current = connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    return current == [head]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    try:
        if is_at_head(engine):
            return
        _upgrade(engine)
    except (DatabaseError, OperationalError) as exc:
        raise StorageError(describe_db_error(engine, exc)) from exc


def _upgrade(engine: Engine) -> None:
    # Imported here: only a database that needs a migration pays for Alembic.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        _lock_for_migration(connection)
        cfg.attributes["connection"] = connection
        if inspect(connection).get_table_names():
            command.upgrade(cfg, "head")
        else:
            # A new database: the models' tables, stamped with the newest revision (Alembic's
            # advice for a new database). tests/storage/test_db_startup.py checks that this
            # schema is the one the migrations build.
            Base.metadata.create_all(connection)
            command.stamp(cfg, "head")


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
