"""Start-up cost of the database: Alembic is imported only when there is something to migrate.

A database at the newest revision opens after one read of ``alembic_version``; an empty or an
older one is migrated by Alembic as before (under the migration lock, see test_storage.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

from bot.storage import db
from bot.storage.db import (
    MIGRATIONS_DIR,
    head_revision,
    is_at_head,
    make_engine,
    open_database,
    read_head_revision,
)

pytestmark = pytest.mark.backends("sqlite", "postgresql")
REPO = Path(__file__).resolve().parents[2]


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _alembic_upgrade(engine: Engine, revision: str) -> None:
    """Run Alembic's own upgrade to ``revision``, as the bot did before it created new databases."""
    with engine.begin() as connection:
        cfg = _alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet); return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


OPEN_AND_REPORT = """
    import sys
    from bot.storage.db import open_database, table_names
    engine, _ = open_database({url!r})
    watched = ("alembic", "mako", "pygments", "mako.ext.pygmentplugin")
    print("users" in table_names(engine), *[m for m in watched if m in sys.modules])
"""


def test_head_revision_is_alembics_head() -> None:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    assert head_revision() == head


def test_database_at_head_opens_without_importing_alembic(db_url: str) -> None:
    open_database(db_url)[0].dispose()  # migrated here, in the test process
    assert _run(OPEN_AND_REPORT.format(url=db_url)).split() == ["True"]
    assert _versions(db_url) == [head_revision()]


def test_empty_database_is_created_at_head(db_url: str) -> None:
    assert _run(OPEN_AND_REPORT.format(url=db_url)).split()[:2] == ["True", "alembic"]
    assert _versions(db_url) == [head_revision()]


@pytest.fixture
def other_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh database of the backend under test."""
    if backend == "postgresql":
        with request.getfixturevalue("postgres").fresh() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'other.db'}"


def _schema(url: str) -> dict[str, object]:
    """Tables, columns (type, nullability), keys and indexes, as the database reports them."""
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        out: dict[str, object] = {}
        for table in sorted(insp.get_table_names()):
            out[table] = (
                # In any order: a migration adds a column at the end, the model names it earlier.
                sorted((c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)),
                insp.get_pk_constraint(table)["constrained_columns"],
                sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in insp.get_foreign_keys(table)
                ),
                sorted(
                    (tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
                ),
                sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            )
        return out
    finally:
        engine.dispose()


def test_a_database_created_at_head_is_the_one_the_migrations_build(
    db_url: str, other_db_url: str
) -> None:
    """The models' tables stamped at head (a new database) and every migration run on an empty
    database (how Alembic used to build it) give the same schema."""
    open_database(db_url)[0].dispose()
    engine = make_engine(other_db_url)
    try:
        _alembic_upgrade(engine, "head")
    finally:
        engine.dispose()
    assert _schema(db_url) == _schema(other_db_url)
    assert _versions(db_url) == _versions(other_db_url) == [head_revision()]


def test_an_empty_database_still_migrates_with_alembic_when_the_head_is_unclear(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "import bot.storage.db as d; d.head_revision = lambda: None\n" + textwrap.dedent(
        OPEN_AND_REPORT.format(url=db_url)
    )
    assert _run(code).split()[:2] == ["True", "alembic"]


def test_older_schema_is_upgraded(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        _alembic_upgrade(engine, "0003")
        assert not is_at_head(engine)
    finally:
        engine.dispose()
    engine, _ = open_database(db_url)
    try:
        assert is_at_head(engine)
        assert "exam_date" in {c["name"] for c in inspect(engine).get_columns("users")}
    finally:
        engine.dispose()
    assert _versions(db_url) == [head_revision()]


def test_unknown_head_falls_back_to_alembic(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the files do not name the head plainly, Alembic decides, as it always did."""
    monkeypatch.setattr(db, "head_revision", lambda: None)
    for _ in range(2):  # creates the schema, then finds it up to date
        engine, _ = open_database(db_url)
        assert not is_at_head(engine)
        engine.dispose()
    assert _versions(db_url) == [ScriptDirectory.from_config(_alembic_config()).get_current_head()]


def test_bot_start_up_imports_neither_alembic_nor_rich(tmp_path: Path) -> None:
    """What `studybot bot` imports before it polls, on a database at head: not Alembic (nor
    Mako), and not rich, which only the terminal commands print with."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    open_database(url)[0].dispose()
    out = _run(
        f"""
        import os, sys
        os.environ.setdefault("PTB_TIMEDELTA", "1")
        import bot.cli, bot.telegram.app
        from bot.config import load_settings
        env = {{"TELEGRAM_BOT_TOKEN": "123456:ABCdefGHI", "DATABASE_URL": {url!r}}}
        settings = load_settings(env)
        bot.telegram.app.build_application(settings, bot.telegram.app.make_deps(settings))
        print(*sorted(m for m in ("alembic", "mako", "rich") if m in sys.modules))
        """
    )
    assert out.split() == []


def _revision_file(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")


def test_read_head_revision_follows_the_chain(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    _revision_file(versions, "__init__.py", "")
    _revision_file(versions, "a_first.py", 'revision = "a1"\ndown_revision = None\n')
    _revision_file(
        versions,
        "b_second.py",
        '"""Revision ID: b2\nRevises: a1\n"""\n'
        "revision: str = 'b2'\ndown_revision: str | None = 'a1'\n",
    )
    _revision_file(versions, "c_third.py", 'revision = "c3"\ndown_revision = "b2"\n')
    assert read_head_revision(versions) == "c3"


@pytest.mark.parametrize(
    "third",
    [
        'revision = "c3"\ndown_revision = ("a1", "b2")\n',  # a merge
        'revision = "c3"\ndown_revision = "a1"\n',  # two heads: b2 and c3
        "revision = make_id()\ndown_revision = 'b2'\n",  # not a plain string
        'down_revision = "b2"\n',  # no revision at all
    ],
)
def test_read_head_revision_gives_up_when_unsure(tmp_path: Path, third: str) -> None:
    versions = tmp_path / "versions"
    _revision_file(versions, "a_first.py", 'revision = "a1"\ndown_revision = None\n')
    _revision_file(versions, "b_second.py", 'revision = "b2"\ndown_revision = "a1"\n')
    _revision_file(versions, "c_third.py", third)
    assert read_head_revision(versions) is None


def test_read_head_revision_of_an_empty_folder_is_none(tmp_path: Path) -> None:
    assert read_head_revision(tmp_path) is None
