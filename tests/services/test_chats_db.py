"""Chats, pushes and groups on real SQLite and PostgreSQL databases: settings, the once-a-day
push claim (also raced by two processes), group posts, members' ratings, the pick of items and
group stats."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import load_catalog
from bot.core.schedule import zone
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.progress import ProgressService
from bot.services.push import NUDGE_AFTER, PUSH_LEASE, PushService
from bot.services.study import SessionRequest, Started, StudyService
from bot.storage.db import open_database
from bot.storage.models import CardState, Push, Review, StudySession
from bot.storage.repo import groups as group_rows
from tests.conftest import NOW

pytestmark = pytest.mark.backends("sqlite", "postgresql")
GROUP = -1_001_234_567_890  # supergroup ids and user ids need 64-bit columns
ANN, BOB = 7_000_000_001, 7_000_000_002
TODAY = NOW.date()


def test_ensure_update_and_subscribed(chats: ChatService) -> None:
    created = chats.ensure(GROUP, "supergroup", "Reading club", NOW)
    assert created.chat_id == GROUP and created.is_group and created.active
    assert not created.subscribed
    assert (created.push_time, created.timezone, created.daily_size) == ("09:00", "UTC", 10)
    assert chats.ensure(GROUP, "supergroup", "Renamed club", NOW).title == "Renamed club"
    chats.ensure(ANN, "private", "", NOW)
    assert chats.subscribed() == []

    since = NOW - timedelta(days=1)
    chats.update(GROUP, subscribed=True, push_time="07:30", timezone="Europe/Berlin")
    chats.update(ANN, subscribed=True, schedule_from=since)
    got = chats.get(ANN)
    assert got is not None and got.schedule_from == since and got.schedule_from.tzinfo is UTC
    assert sorted(c.chat_id for c in chats.subscribed()) == [GROUP, ANN]

    chats.deactivate(GROUP)  # blocked: no pushes until someone writes again
    assert [c.chat_id for c in chats.subscribed()] == [ANN]
    assert chats.ensure(GROUP, "supergroup", "", NOW).active
    assert len(chats.subscribed()) == 2
    assert chats.get(12345) is None
    with pytest.raises(KeyError):
        chats.update(12345, subscribed=True)
    with pytest.raises(ValueError, match="unknown settings"):
        chats.update(ANN, colour="blue")


def test_push_claim_is_won_once_and_taken_over_after_its_lease(pushes: PushService) -> None:
    assert pushes.claim([(ANN, TODAY)], NOW) == {ANN}
    assert not pushes.claim([(ANN, TODAY)], NOW + timedelta(seconds=1))  # held by its owner
    tomorrow = TODAY + timedelta(days=1)
    assert pushes.claim([(ANN, tomorrow)], NOW) == {ANN}  # another day, another claim
    later = NOW + PUSH_LEASE + timedelta(seconds=1)
    assert pushes.claim([(ANN, TODAY)], later) == {ANN}  # the owner died mid-push: taken over
    assert not pushes.claim([(ANN, TODAY)], later)
    claims = pushes.recent_claims(TODAY)
    assert claims[(ANN, TODAY)] == ("claimed", later + PUSH_LEASE)
    assert claims[(ANN, TODAY)][1].tzinfo is UTC
    pushes.finish([(ANN, TODAY, "sent", 5, "")])
    assert not pushes.claim([(ANN, TODAY)], later + timedelta(days=1))  # sent: never again
    assert pushes.recent_claims(tomorrow) == {(ANN, tomorrow): ("claimed", NOW + PUSH_LEASE)}
    assert pushes.recent_claims(TODAY)[(ANN, TODAY)][0] == "sent"
    # A batch: the chats whose claim is free are won, the others not.
    assert pushes.claim([(ANN, TODAY), (BOB, TODAY), (GROUP, TODAY)], later) == {BOB, GROUP}


def test_group_posts_reveal_and_ratings_that_change(
    chats: ChatService,
    groups: GroupService,
    service: StudyService,
    sessions: sessionmaker[Session],
) -> None:
    chats.ensure(GROUP, "supergroup", "Club", NOW)
    ann = service.telegram_user(ANN, "Ann", NOW)
    bob = service.telegram_user(BOB, "Bob", NOW)
    item = groups.catalog.in_curriculum_order()[0]
    post = groups.add_post(GROUP, item.id, NOW, push_date=TODAY)
    assert groups.push_posts(GROUP, TODAY) == 1
    assert groups.push_posts(GROUP, TODAY - timedelta(days=1)) == 0
    assert groups.reveal_post(post, GROUP - 1) == ("unknown", None)  # another chat's post
    assert groups.reveal_post(post, GROUP) == ("", item)
    assert groups.reveal_post(post, GROUP) == ("revealed", item)

    rated = groups.rate_post(post, GROUP, ann, 3, NOW)
    assert rated.status == "recorded" and rated.tally is not None
    assert (rated.tally.counts, rated.tally.names) == ({1: 0, 2: 0, 3: 1}, ("Ann",))
    assert groups.rate_post(post, GROUP, ann, 3, NOW).status == "same"
    groups.rate_post(post, GROUP, bob, 2, NOW + timedelta(minutes=1))
    with sessions() as db:
        got_it_due = db.get(CardState, (ann, item.id))
        assert got_it_due is not None
        got_it_due_at = got_it_due.due

    changed = groups.rate_post(post, GROUP, ann, 1, NOW + timedelta(minutes=2))
    assert changed.status == "changed" and changed.tally is not None
    assert changed.tally.counts == {1: 1, 2: 1, 3: 0}
    assert changed.tally.names == ("Bob", "Ann")  # in the order of their last press
    with sessions() as db:  # one review, its rating replaced; the card rebuilt from it
        ratings = db.scalars(select(Review.rating).where(Review.user_id == ann)).all()
        assert ratings == [1]
        card = db.get(CardState, (ann, item.id))
        assert card is not None and card.due < got_it_due_at
    with sessions() as db:
        assert len(group_rows.raters(db, post)) == 2
    assert groups.rate_post(post + 100, GROUP, ann, 3, NOW).status == "unknown"


def test_pick_group_items_prefers_members_due_items_and_skips_recent_posts(
    groups: GroupService, service: StudyService
) -> None:
    order = [i.id for i in groups.catalog.in_curriculum_order()]
    assert groups.pick_items(GROUP, 3, NOW) == order[:3]  # nothing posted: curriculum
    posts = {item_id: groups.add_post(GROUP, item_id, NOW) for item_id in order[:3]}
    day = NOW + timedelta(days=1)
    assert groups.pick_items(GROUP, 3, day) == order[3:6]  # posted in the last 3 days
    ann = service.telegram_user(ANN, "Ann", NOW)
    groups.rate_post(posts[order[1]], GROUP, ann, 1, NOW)  # due for Ann again tomorrow
    later = NOW + timedelta(days=4)
    assert groups.pick_items(GROUP, 2, later) == [order[1], order[3]]
    for k, item_id in enumerate(order):
        groups.add_post(GROUP, item_id, later + timedelta(minutes=k))
    assert groups.pick_items(GROUP, 2, later + timedelta(hours=1)) == []  # all too recent
    # Once nothing is new, the items posted longest ago come round again.
    assert groups.pick_items(GROUP, 2, later + timedelta(days=4)) == [order[1], order[0]]


def test_group_stats_leaderboard_and_progress(groups: GroupService, service: StudyService) -> None:
    order = [i.id for i in groups.catalog.in_curriculum_order()]
    ann = service.telegram_user(ANN, "Ann", NOW)
    bob = service.telegram_user(BOB, "Bob", NOW)
    first = groups.add_post(GROUP, order[0], NOW - timedelta(days=1))
    second = groups.add_post(GROUP, order[1], NOW)
    again = groups.add_post(GROUP, order[0], NOW)
    for post in (first, second, again):
        groups.rate_post(post, GROUP, ann, 3, NOW - timedelta(hours=1))
    groups.rate_post(first, GROUP, bob, 2, NOW - timedelta(days=1))
    groups.rate_post(second, GROUP, bob, 3, NOW)
    groups.add_post(GROUP - 1, order[2], NOW)  # another group's post counts for nothing here
    stats = groups.group_stats(GROUP, NOW, UTC)
    assert [(r.name, r.reviews, r.got_it_share) for r in stats.leaderboard] == [
        ("Ann", 3, 1.0),
        ("Bob", 2, 0.5),
    ]
    assert [r.streak for r in stats.leaderboard] == [1, 2]
    assert (stats.posts, stats.items_posted, stats.ratings, stats.members) == (3, 2, 5, 2)
    assert stats.total_items == len(groups.catalog)


def _claim_all(
    db_url: str, content: str, pairs: list[tuple[int, date]], start: Any, results: Any
) -> None:
    """One bot process's push loop: claim every pair at the same moment as the other."""
    engine, sessions = open_database(db_url)
    catalog = load_catalog([Path(content)])
    pushes = PushService(sessions, StudyService(sessions, catalog))
    start.wait(60)
    results.put([pair for pair in pairs if pushes.claim([pair], NOW)])
    engine.dispose()


def test_two_processes_race_for_the_same_claims_and_each_is_won_once(
    pushes: PushService, db_url: str, content_dir: Path, sessions: sessionmaker[Session]
) -> None:
    pairs = [(GROUP - k, TODAY + timedelta(days=d)) for k in range(25) for d in range(2)]
    for pair in pairs[::2]:  # half were left "claimed" by a process that died an hour ago
        assert pushes.claim([pair], NOW - timedelta(hours=1))
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_claim_all, args=(db_url, str(content_dir), pairs, start, results))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    won = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert sorted(won[0] + won[1]) == sorted(pairs)  # every pair won, none twice
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Push)) == len(pairs)


def _study(service: StudyService, user: int, n: int, at: Any, ratings: list[int]) -> None:
    """A session of ``n`` items at ``at`` with these ratings (the rest left unrated)."""
    started = service.start_session(user, n, at, UTC, chat_id=None)
    for rating in ratings:
        cur = service.current(started.session_id)
        assert cur is not None
        service.reveal(started.session_id, cur.position)
        assert service.answer(started.session_id, cur.position, rating, at).recorded


def _daily(
    service: StudyService, tids: list[int], now: Any, tz: Any, nudge_after: Any = None
) -> dict[int, Started]:
    """The daily-push sessions of these private chats, planned at once."""
    requests = [SessionRequest(10, tz, telegram_id=t, chat_id=t, kind="push") for t in tids]
    return dict(zip(tids, service.start_sessions(requests, now, nudge_after), strict=True))


def test_daily_sessions_planned_at_once_match_one_at_a_time(
    progress: ProgressService, service: StudyService, sessions: sessionmaker[Session]
) -> None:
    """The batched planning of the daily push chooses what a batch of one chooses, learner by
    learner: new, with items due, with an interview date, suspended and skipped items."""
    berlin = zone("Europe/Berlin")
    fresh, due, exam, never_met = ANN, BOB, 7_000_000_003, 7_000_000_004
    users = {tid: service.telegram_user(tid, f"u{tid}", NOW) for tid in (fresh, due, exam)}
    for tid in (due, exam):
        _study(service, users[tid], 8, NOW - timedelta(days=6), [1, 2, 3, 3, 2, 1, 3, 2])
        _study(service, users[tid], 3, NOW - timedelta(days=3), [2, 3, 1])
    progress.set_exam(users[exam], TODAY + timedelta(days=5), NOW, UTC)
    with sessions.begin() as db:
        mine = select(CardState.item_id).where(CardState.user_id == users[exam])
        studied = sorted(db.scalars(mine))
    suspend_started = service.start_item_session(users[exam], studied[0], NOW)
    assert service.skip(suspend_started.session_id, 0, NOW, users[exam], suspend=True) == ""
    snooze_started = service.start_item_session(users[exam], studied[1], NOW)
    assert service.skip(snooze_started.session_id, 0, NOW, users[exam]) == ""

    expected = {}
    for tid in (fresh, due, exam):
        one = service.start_session(users[tid], 10, NOW, berlin, chat_id=tid, kind="push")
        expected[tid] = (one.selection, one.notice)
    daily = _daily(service, [fresh, due, exam, never_met], NOW, berlin, timedelta(days=30))
    for tid, (selection, notice) in expected.items():
        got = daily[tid]
        assert got.user_id == users[tid]
        assert got.selection == selection, tid
        assert got.notice == notice
        assert got.size == len(selection.item_ids) > 0
        assert got.first == service.current(got.session_id)
    assert studied[0] not in daily[exam].selection.item_ids  # suspended
    assert studied[1] not in daily[exam].selection.item_ids  # skipped until tomorrow
    assert daily[exam].notice.startswith("5 days")  # the interview countdown
    # A chat whose user the bot never met gets one, and new items like any newcomer.
    assert daily[never_met].selection == expected[fresh][0]
    assert daily[never_met].user_id == service.telegram_user(never_met, "", NOW)
    with sessions.begin() as db:
        for tid in (fresh, due, exam):  # the one-at-a-time session was replaced
            active = db.scalars(
                select(StudySession).where(
                    StudySession.chat_id == tid, StudySession.status == "active"
                )
            ).all()
            assert [s.id for s in active] == [daily[tid].session_id]
            assert active[0].kind == "push" and active[0].notice == daily[tid].notice
            assert active[0].queue == ",".join(daily[tid].selection.item_ids)


def test_daily_sessions_nudge_once_after_two_days_away(service: StudyService) -> None:
    user = service.telegram_user(ANN, "Ann", NOW)
    _study(service, user, 4, NOW - timedelta(days=5), [2, 2, 2, 2])
    nudge = "It's been 5 days since your last review"
    first = _daily(service, [ANN], NOW, UTC, NUDGE_AFTER)
    assert first[ANN].notice.startswith(nudge)
    assert first[ANN].first is not None and first[ANN].first.lead.startswith(nudge)
    later = NOW + timedelta(days=1)  # still away: no second nudge in a row
    second = _daily(service, [ANN], later, UTC, NUDGE_AFTER)
    assert second[ANN].selection.due and "since your last review" not in second[ANN].notice


def test_a_batch_that_fails_to_plan_is_planned_chat_by_chat_and_one_failure_stops_no_other(
    chats: ChatService,
    pushes: PushService,
    service: StudyService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for tid in (ANN, BOB):
        chats.ensure(tid, "private", "", NOW)
        chats.update(tid, subscribed=True, schedule_from=NOW - timedelta(days=1))

    planning = service.start_sessions

    def broken_for_bob(requests: list[SessionRequest], *args: Any) -> Any:
        if any(r.chat_id == BOB for r in requests):  # one chat whose planning fails
            raise RuntimeError("Bob's cards are unreadable")
        return planning(requests, *args)

    monkeypatch.setattr(service, "start_sessions", broken_for_bob)
    when = NOW.replace(hour=10, minute=0)
    planned, skipped = pushes.plan([ANN, BOB], when)
    assert skipped == {}
    ann, bob = planned
    assert ann.chat.chat_id == ANN and not ann.error and ann.started is not None
    assert ann.started.size and ann.started.first == service.current(ann.started.session_id)
    assert bob.chat.chat_id == BOB and "unreadable" in bob.error and bob.started is None
