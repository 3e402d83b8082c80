"""Shared fixtures: a tiny content folder, a real database, a pinned clock.

The database is SQLite; a test module marked ``pytest.mark.backends("sqlite", "postgresql")``
runs each of its database tests once per backend (PostgreSQL from ``tests/pg.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, load_catalog
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.progress import ProgressService
from bot.services.push import PushService
from bot.services.study import Scheduling, StudyService
from bot.storage.db import open_database
from tests import pg
from tests.harness import api, bot  # noqa: F401 - shared end-to-end fixtures

# PTB 22 warns (deprecation) when it builds a RetryAfter with an int; the warning is an error
# under filterwarnings=error. Opt in to the timedelta behaviour, as the bot process does.
os.environ.setdefault("PTB_TIMEDELTA", "1")
REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def write_item(
    root: Path,
    folder: str,
    item_id: str,
    *,
    category: str = "foundations",
    difficulty: int = 2,
    title: str | None = None,
    type_: str | None = None,
    extra: str = "",
    question: str = "What is it?",
    answer: str = "It is a thing, with $x^2$.",
) -> Path:
    """Write one valid item in the YAML style and return its path."""
    title = title or f"Item {item_id}"
    folder_types = {"concepts": "concept", "quiz": "quiz", "deep": "deep", "derive": "derive"}
    type_ = type_ or folder_types.get(folder, "concept")
    path = root / folder / f"{item_id}_item.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nid: {item_id}\ntitle: {title}\ntype: {type_}\ncategory: {category}\n"
        f"difficulty: {difficulty}\ntags: [t]\n{extra}---\n# {title}\n\n"
        f"## Question\n{question}\n\n## Answer\n{answer}\n\n"
        f"## Follow-up Questions\n- Why?\n- How?\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """12 concepts over three categories, 4 quiz, 2 deep, 2 derive."""
    root = tmp_path / "content"
    cats = ["foundations", "transformers", "advanced"]
    for k in range(12):
        write_item(root, "concepts", f"c{k + 1:03d}", category=cats[k // 4], difficulty=1 + k % 4)
    for k in range(4):
        write_item(root, "quiz", f"q{k + 1:03d}", category=cats[k % 3])
    for k in range(2):
        write_item(root, "deep", f"d{k + 1:03d}", category="transformers", difficulty=4)
        write_item(root, "derive", f"v{k + 1:03d}", category="foundations", difficulty=4)
    return root


@pytest.fixture
def catalog(content_dir: Path) -> Catalog:
    return load_catalog([content_dir])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run each database test per backend")


def pytest_report_header() -> str:
    return f"postgresql: {pg.describe()}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test: "sqlite" unless the module names several."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg.Databases]:
    """One PostgreSQL server for the session (skips the test when there is none)."""
    with pg.databases() as databases:
        yield databases


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database of the backend under test."""
    if backend == "postgresql":
        postgres: pg.Databases = request.getfixturevalue("postgres")  # started on first use
        with postgres.fresh() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = open_database(db_url)
    yield factory
    engine.dispose()


@pytest.fixture
def service(sessions: sessionmaker[Session], catalog: Catalog) -> StudyService:
    return StudyService(sessions, catalog, Scheduling(fuzzing=False, new_per_day=15))


@pytest.fixture
def progress(service: StudyService) -> ProgressService:
    return ProgressService(service.sessions, service.catalog, service.scheduler)


@pytest.fixture
def chats(sessions: sessionmaker[Session]) -> ChatService:
    return ChatService(sessions)


@pytest.fixture
def pushes(service: StudyService) -> PushService:
    return PushService(service.sessions, service)


@pytest.fixture
def groups(service: StudyService) -> GroupService:
    return GroupService(service.sessions, service.catalog, service.scheduler)
