"""Search, one-item sessions, export and forgetting a learner, on a real SQLite database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, load_catalog
from bot.core.search import find_items, item_by_id
from bot.services import privacy as account
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.push import PushService
from bot.services.study import Scheduling, StudyService
from bot.storage.models import (
    CardState,
    Chat,
    GroupPost,
    GroupRating,
    Push,
    Review,
    StudySession,
    User,
)
from bot.storage.repo import groups as group_rows
from tests.conftest import NOW


def _item(root: Path, item_id: str, title: str, tags: str, question: str) -> None:
    folder = {"c": "concepts", "q": "quiz"}[item_id[0]]
    path = root / folder / f"{item_id}_item.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nid: {item_id}\ntitle: {title}\ncategory: transformers\ndifficulty: 2\n"
        f"tags: [{tags}]\n---\n## Question\n{question}\n\n## Answer\nBecause.\n",
        encoding="utf-8",
    )


@pytest.fixture
def search_catalog(tmp_path: Path) -> Catalog:
    root = tmp_path / "search"
    _item(root, "c001", "Rotary positional embeddings (RoPE)", "rope, positional-encoding", "How?")
    _item(root, "c002", "Positional encodings and ALiBi", "positional-encoding", "Compare them.")
    _item(root, "c003", "The KV cache", "inference", "How does a rotary embedding fit in?")
    _item(root, "q001", "European capitals", "trivia", "Name one.")
    _item(root, "c004", "Self-attention", "attention, Long-Context", "What does it cost?")
    return load_catalog([root])


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["rope"], ["c001"]),  # a word start: not "European"
        (["ROTARY"], ["c001", "c003"]),  # the title match first, then the question match
        (["rotary", "embeddings"], ["c001"]),  # every word must match
        (["positional"], ["c001", "c002"]),
        (["encoding", "positional"], ["c002", "c001"]),  # two words in the title beat one
        (["inference"], ["c003"]),  # a tag
        (["context"], ["c004"]),  # inside a hyphenated tag, any case
        (["attention", "attention"], ["c004"]),  # "self-attention"; repeats count once
        (["zebra"], []),
        ([], []),
        (["  "], []),
    ],
)
def test_find_items(search_catalog: Catalog, words: list[str], expected: list[str]) -> None:
    assert [i.id for i in find_items(search_catalog, words)] == expected


def test_find_items_limit_and_item_by_id(search_catalog: Catalog) -> None:
    assert [i.id for i in find_items(search_catalog, ["e"], limit=2)] == ["c001", "c002"]
    assert find_items(search_catalog, ["e"], limit=0) == []
    found = item_by_id(search_catalog, " C001 ")
    assert found is not None and found.id == "c001"
    assert item_by_id(search_catalog, "c999") is None


def _rate(service: StudyService, session_id: int, rating: int, when: datetime = NOW) -> None:
    cur = service.current(session_id)
    assert cur is not None
    assert service.reveal(session_id, cur.position).refusal == ""
    assert service.answer(session_id, cur.position, rating, when).recorded


def test_item_session_is_one_item_due_or_not(
    service: StudyService, sessions: sessionmaker[Session]
) -> None:
    user = service.local_user("ann", NOW)
    other = service.start_session(user, 3, NOW, UTC)
    started = service.start_item_session(user, "Q002", NOW)
    assert started.size == 1 and started.selection.item_ids == ("q002",)
    cur = service.current(started.session_id)
    assert cur is not None and (cur.item.id, cur.number, cur.total) == ("q002", 1, 1)
    _rate(service, started.session_id, 1)  # a 1 comes back once, as in any session
    _rate(service, started.session_id, 3)
    assert service.current(started.session_id) is None
    with sessions() as db:
        rows = {s.id: (s.kind, s.status) for s in db.scalars(select(StudySession))}
    assert rows == {
        other.session_id: ("study", "cancelled"),
        started.session_id: ("item", "finished"),
    }
    with pytest.raises(KeyError):
        service.start_item_session(user, "nope", NOW)
    assert service.item("nope") is None


def test_export_has_one_row_per_review_of_that_learner_only(
    service: StudyService, sessions: sessionmaker[Session], catalog: Catalog, content_dir: Path
) -> None:
    ann, bob = service.local_user("ann", NOW), service.local_user("bob", NOW)
    first = service.start_item_session(ann, "c001", NOW)
    _rate(service, first.session_id, 2)
    later = NOW + timedelta(hours=1, seconds=30)
    second = service.start_item_session(ann, "c002", later)
    _rate(service, second.session_id, 3, later)
    _rate(service, service.start_item_session(bob, "c003", NOW).session_id, 3)
    (content_dir / "concepts" / "c002_item.md").unlink()  # a removed item keeps its history
    rows = account.export_rows(sessions, catalog, ann)
    assert [(r.item_id, r.title, r.rating) for r in rows] == [
        ("c001", "Item c001", 2),
        ("c002", "", 3),
    ]
    parsed = list(csv.reader(io.StringIO(account.export_csv(rows))))
    assert parsed[0] == ["item_id", "title", "rating", "reviewed_at_utc", "interval_days"]
    assert parsed[1][:4] == ["c001", "Item c001", "2", "2026-03-02T09:00:00Z"]
    assert parsed[2][:4] == ["c002", "", "3", "2026-03-02T10:00:30Z"]
    assert float(parsed[1][4]) == pytest.approx(rows[0].interval_days, abs=0.001)
    assert account.export_csv([]) == "item_id,title,rating,reviewed_at_utc,interval_days\r\n"
    assert account.find_user(sessions, local_name="ann") == ann
    assert account.find_user(sessions, local_name="cy") is None


def _count(db: Session, column: Any, user_id: int) -> int:
    return int(db.scalar(select(func.count()).where(column == user_id)) or 0)


def test_forget_user_deletes_everything_about_them_and_nothing_else(
    sessions: sessionmaker[Session], catalog: Catalog
) -> None:
    service = StudyService(sessions, catalog, Scheduling(fuzzing=False))
    chats = ChatService(sessions)
    groups = GroupService(sessions, catalog, service.scheduler)
    ann = service.telegram_user(501, "Ann", NOW)
    bob = service.telegram_user(502, "Bob", NOW)
    chats.ensure(501, "private", "Ann A", NOW)
    chats.ensure(502, "private", "Bob B", NOW)
    chats.ensure(-600, "group", "Study group", NOW)
    assert PushService(sessions, service).claim([(501, NOW.date()), (502, NOW.date())], NOW)
    _rate(service, service.start_item_session(ann, "c001", NOW, chat_id=501).session_id, 3)
    _rate(service, service.start_item_session(bob, "c001", NOW, chat_id=502).session_id, 3)
    post = groups.add_post(-600, "c002", NOW)
    groups.rate_post(post, -600, ann, 1, NOW)
    rated = groups.rate_post(post, -600, bob, 3, NOW)
    assert rated.tally is not None and rated.tally.names == ("Ann", "Bob")
    assert service.set_suspended(ann, "c003", True)  # a table added by another feature

    gone = account.forget_user(sessions, ann)
    assert {table: n for table, n in gone.items() if n} == {
        "pushes": 1,
        "chats": 1,
        "group_ratings": 1,
        "reviews": 2,
        "study_sessions": 1,
        "cards": 2,
        "item_marks": 1,
        "users": 1,
    }
    with sessions() as db:
        for column in (
            User.id,
            CardState.user_id,
            Review.user_id,
            StudySession.user_id,
            GroupRating.user_id,
        ):
            assert _count(db, column, ann) == 0, column
            assert _count(db, column, bob) > 0, column
        assert db.get(Chat, 501) is None and db.get(Chat, 502) is not None
        assert db.get(Chat, -600) is not None and db.get(GroupPost, post) is not None
        assert db.scalars(select(Push.chat_id)).all() == [502]
    with sessions() as db:
        assert [(r.first_name, r.rating) for r in group_rows.raters(db, post)] == [("Bob", 3)]
    assert account.forget_user(sessions, ann) == {}
    assert account.find_user(sessions, telegram_id=501) is None
