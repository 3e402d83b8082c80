"""Services on real SQLite and PostgreSQL databases: sessions, ratings, the retry, idempotency,
stats."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.services import privacy
from bot.services.progress import ProgressService
from bot.services.study import StudyService
from bot.storage.models import CardState, Review, StudySession
from tests.conftest import NOW

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _run(service: StudyService, session_id: int, ratings: list[int]) -> list[str]:
    seen = []
    for r in ratings:
        cur = service.current(session_id)
        assert cur is not None
        seen.append(cur.item.id)
        service.reveal(session_id, cur.position)
        service.reveal(session_id, cur.position)
        assert service.answer(session_id, cur.position, r, NOW).recorded
    return seen


def test_every_rating_is_committed_and_a_1_comes_back_once(
    service: StudyService, sessions: sessionmaker[Session]
) -> None:
    user = service.local_user("ann", NOW)
    started = service.start_session(user, 3, NOW, UTC, item_type="concept")
    assert started.size == 3
    first = service.current(started.session_id)
    assert first is not None and (first.number, first.total) == (1, 3)
    seen = _run(service, started.session_id, [1, 3, 2])
    retry = service.current(started.session_id)
    assert retry is not None and retry.retry and retry.item.id == seen[0]
    assert (retry.number, retry.total) == (4, 4)
    # A second 1 on the retry does not add another round.
    service.reveal(started.session_id, retry.position)
    assert service.answer(started.session_id, retry.position, 1, NOW).retry_added is False
    assert service.current(started.session_id) is None
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Review)) == 4
        assert db.scalar(select(func.count()).select_from(CardState)) == 3
        row = db.get(StudySession, started.session_id)
        assert row is not None and row.status == "finished"
    summary = service.summary(started.session_id, NOW, UTC)
    assert summary.ratings == {1: 2, 2: 1, 3: 1}
    assert summary.due_tomorrow == 2  # the 1 and the 2 are due tomorrow; the 3 in 2 days


def test_same_press_twice_records_one_review(
    service: StudyService, sessions: sessionmaker[Session]
) -> None:
    user = service.local_user("bob", NOW)
    started = service.start_session(user, 2, NOW, UTC)
    cur = service.current(started.session_id)
    assert cur is not None
    assert service.answer(started.session_id, cur.position, 3, NOW).reason == "hidden"
    assert service.reveal(started.session_id, cur.position).refusal == ""
    # Pressed again (or redelivered): shown again, nothing recorded.
    again_shown = service.reveal(started.session_id, cur.position)
    assert again_shown.refusal == "" and again_shown.again
    assert service.answer(started.session_id, cur.position, 3, NOW).recorded
    again = service.answer(started.session_id, cur.position, 3, NOW)
    assert (again.recorded, again.reason) == (False, "duplicate")
    later = service.answer(started.session_id, cur.position + 5, 3, NOW)
    assert (later.recorded, later.reason) == (False, "stale")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Review)) == 1


def test_press_on_finished_or_replaced_session_records_nothing(service: StudyService) -> None:
    user = service.local_user("cy", NOW)
    old = service.start_session(user, 2, NOW, UTC)
    new = service.start_session(user, 2, NOW, UTC)  # starting again closes the old one
    assert service.answer(old.session_id, 0, 3, NOW).reason == "finished"
    service.reveal(new.session_id, 0)
    assert service.answer(new.session_id, 0, 3, NOW).recorded


def test_new_item_cap_per_local_day(service: StudyService) -> None:
    service.scheduling = service.scheduling.__class__(fuzzing=False, new_per_day=4)
    user = service.local_user("dee", NOW)
    first = service.start_session(user, 3, NOW, UTC, item_type="concept")
    _run(service, first.session_id, [3, 3, 3])
    push = service.start_session(user, 5, NOW, UTC, item_type="concept", kind="push")
    assert push.size == 1  # one new item left today, and a push never goes past the cap
    asked = service.start_session(user, 5, NOW, UTC, item_type="concept")
    assert asked.size == 5 and asked.selection.past_cap == 4
    assert asked.notice == ""  # the learner asked for 5 and never set a limit: no note
    tomorrow = service.start_session(
        user, 5, NOW + timedelta(days=1), UTC, item_type="quiz", kind="push"
    )
    # A new day, a new allowance; in week 1 of the plan new items come from foundations and
    # transformers only, which have 3 of the 4 quiz items.
    assert tomorrow.size == 3


def test_due_items_come_back_first(service: StudyService) -> None:
    user = service.local_user("eve", NOW)
    s = service.start_session(user, 2, NOW, UTC, item_type="concept")
    seen = _run(service, s.session_id, [2, 3])
    later = service.start_session(
        user, 3, NOW + timedelta(days=1, hours=1), UTC, item_type="concept"
    )
    cur = service.current(later.session_id)
    assert cur is not None and cur.item.id == seen[0]  # the "partial" is due after a day
    assert later.selection.due == 1


def test_stats_reflect_reviews_and_reset_clears_them(
    service: StudyService, progress: ProgressService
) -> None:
    user = service.local_user("fay", NOW)
    s = service.start_session(user, 3, NOW, UTC)
    _run(service, s.session_id, [3, 2, 3])
    st = progress.stats(user, NOW, UTC)
    assert (st.studied, st.reviews, st.sessions, st.total_items) == (3, 3, 1, 20)
    assert st.recent[0].ratings == {1: 0, 2: 1, 3: 2}
    assert st.streak.current == 1
    assert sum(day[3] for day in st.daily.values()) == 2
    assert privacy.reset(service.sessions, user) == 3
    assert progress.stats(user, NOW, UTC).reviews == 0


def test_removed_item_keeps_history_and_is_passed_over(
    service: StudyService, progress: ProgressService, sessions: sessionmaker[Session]
) -> None:
    user = service.local_user("gus", NOW)
    s = service.start_session(user, 3, NOW, UTC, item_type="concept")
    first = service.current(s.session_id)
    assert first is not None
    service.reveal(s.session_id, first.position)
    service.answer(s.session_id, first.position, 3, NOW)
    nxt = service.current(s.session_id)
    assert nxt is not None
    nxt.item.path.unlink()
    service.catalog.refresh()
    after = service.current(s.session_id)
    assert after is not None and after.item.id != nxt.item.id
    first.item.path.unlink()
    service.catalog.refresh()
    with sessions() as db:  # the removed item's review and card stay in the database
        assert (
            db.scalar(
                select(func.count()).select_from(Review).where(Review.item_id == first.item.id)
            )
            == 1
        )
    assert progress.stats(user, NOW, UTC).reviews == 1


def test_someone_elses_session_is_refused(service: StudyService) -> None:
    owner = service.local_user("own", NOW)
    intruder = service.local_user("intr", NOW)
    s = service.start_session(owner, 1, NOW, UTC)
    assert service.reveal(s.session_id, 0, user_id=intruder).refusal == "foreign"
    assert service.reveal(s.session_id, 0, user_id=owner).refusal == ""
    assert service.answer(s.session_id, 0, 3, NOW, user_id=intruder).reason == "foreign"
    assert service.skip(s.session_id, 0, NOW, intruder) == "foreign"
    assert service.answer(s.session_id, 0, 3, NOW, user_id=owner).recorded


def test_presses_by_telegram_id_reveal_rate_and_return_the_next_item(
    service: StudyService, sessions: sessionmaker[Session]
) -> None:
    """reveal and answer by Telegram id (the bot's two presses): one transaction each, the
    owner checked by Telegram id, the next item (and a 1's retry) returned with the rating."""
    ann, bob = 5_000_000_001, 5_000_000_002
    owner = service.telegram_user(ann, "Ann", NOW)
    service.telegram_user(bob, "Bob", NOW)
    s = service.start_session(owner, 2, NOW, UTC, item_type="quiz", chat_id=ann)
    first = service.current(s.session_id)
    assert first is not None
    assert service.answer(s.session_id, 0, 3, NOW, telegram_id=ann).reason == "hidden"
    assert service.reveal(s.session_id, 0, telegram_id=bob).refusal == "foreign"
    assert service.reveal(s.session_id, 1, telegram_id=ann).refusal == "stale"
    refusal, shown, again = service.reveal(s.session_id, 0, NOW, telegram_id=ann)
    assert refusal == "" and not again and shown is not None and shown.item == first.item
    assert shown.intervals and shown.again_today
    assert service.reveal(s.session_id, 0, telegram_id=ann).again
    assert service.answer(s.session_id, 0, 3, NOW, telegram_id=bob).reason == "foreign"
    answered = service.answer(s.session_id, 0, 1, NOW, telegram_id=ann)
    after = answered.next
    assert answered.recorded and answered.retry_added
    assert service.answer(s.session_id, 0, 1, NOW, telegram_id=ann).reason == "duplicate"
    assert after is not None and after == service.current(s.session_id)
    assert (after.position, after.number, after.total, after.retry) == (1, 2, 3, False)
    # The second item, then the retry of the first: the next item is the rated one's twin.
    service.reveal(s.session_id, 1, telegram_id=ann)
    retry = service.answer(s.session_id, 1, 3, NOW, telegram_id=ann).next
    assert retry is not None and retry.retry and retry.item == first.item
    assert retry == service.current(s.session_id)
    service.reveal(s.session_id, 2, telegram_id=ann)
    last = service.answer(s.session_id, 2, 3, NOW, telegram_id=ann)
    none = last.next
    assert last.recorded and none is None and service.current(s.session_id) is None
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Review)) == 3
        row = db.get(StudySession, s.session_id)
        assert row is not None and row.status == "finished" and row.position == 3
