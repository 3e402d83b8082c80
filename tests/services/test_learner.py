"""Beyond flashcards: interview date phases, plan, skip/suspend, change rating, weak spots,
drills, quiet hours and the nudge — service level and end to end over the stand-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.core.plan import exam_phase, plan_phase
from bot.core.schedule import ChatSettings, parse_quiet
from bot.services.progress import ProgressService
from bot.services.study import StudyService
from bot.storage.repo import cards
from bot.telegram.push import push_chat
from tests.botapi import BotApiStandIn
from tests.conftest import NOW
from tests.harness import RunningBot

RATINGS = ["1 · No idea", "2 · Partial", "3 · Got it"]


def _study(
    service: StudyService, user: int, n: int, rating: int, now: datetime, **kw: object
) -> list[str]:
    started = service.start_session(user, n, now, UTC, **kw)  # type: ignore[arg-type]
    seen = []
    while (cur := service.current(started.session_id)) is not None:
        seen.append(cur.item.id)
        service.reveal(started.session_id, cur.position)
        service.answer(started.session_id, cur.position, rating, now)
    return seen


@pytest.mark.parametrize(
    ("days", "key", "label"),
    [
        (30, "cover", "today: the normal mix, covering every concept"),
        (14, "review", "today: concepts and quiz, 30-60 minutes"),
        (8, "review", "today: concepts and quiz, 30-60 minutes"),
        (7, "deep", "today: deep explanations and derivations"),
        (3, "deep", "today: deep explanations and derivations"),
        (2, "rapid", "today: rapid quiz review"),
        (1, "rapid", "today: rapid quiz review"),
        (0, "day", "today: a light review of key concepts, nothing new"),
    ],
)
def test_exam_phases(days: int, key: str, label: str) -> None:
    today = date(2026, 3, 1)
    phase = exam_phase(today + timedelta(days=days), today)
    assert phase is not None and (phase.key, phase.label, phase.days_left) == (key, label, days)
    assert exam_phase(today - timedelta(days=1), today) is None


def test_plan_weeks() -> None:
    assert plan_phase(0).new_categories == ("foundations", "transformers")
    assert plan_phase(20).new_categories == ("llm_architecture", "training")
    assert plan_phase(35).extra["week"] == "6"
    assert plan_phase(60).key == "maintain"


def test_exam_mix_across_the_phases(service: StudyService, progress: ProgressService) -> None:
    user = service.local_user("exam", NOW)
    exam = (NOW + timedelta(days=20)).date()
    progress.set_exam(user, exam, NOW, UTC)
    with pytest.raises(ValueError, match="past"):
        progress.set_exam(user, date(2020, 1, 1), NOW, UTC)
    types = {i.id: i.type for i in service.catalog.in_curriculum_order()}

    def mix(days_left: int, n: int = 10) -> list[str]:
        now = datetime.combine(exam - timedelta(days=days_left), time(9), tzinfo=UTC)
        started = service.start_session(user, n, now, UTC, kind="push")
        ids = list(started.selection.item_ids)
        service.close(started.session_id, now) if started.session_id else None
        return [types[i] for i in ids]

    assert mix(1) == ["quiz"] * 4  # rapid review: quiz only (the tiny catalog has four)
    deep_phase = mix(5)
    assert deep_phase.count("deep") + deep_phase.count("derive") >= 4
    assert set(mix(10)) <= {"concept", "quiz"}
    # More than 14 days out: extra new items so every concept is seen 14 days before.
    cover = service.start_session(user, 12, NOW, UTC, kind="push")
    assert cover.size == 12 and "20 days to go" in cover.notice
    service.close(cover.session_id, NOW)
    # On the day: only concepts already seen, the least known first, nothing new.
    _study(service, user, 3, 2, NOW, item_type="concept")
    day = datetime.combine(exam, time(8), tzinfo=UTC)
    started = service.start_session(user, 20, day, UTC)
    assert 1 <= started.size <= 10
    assert all(types[i] == "concept" for i in started.selection.item_ids)
    assert started.selection.new == 0


def test_no_interval_reaches_past_the_interview(
    service: StudyService, progress: ProgressService
) -> None:
    user = service.local_user("cap", NOW)
    progress.set_exam(user, (NOW + timedelta(days=3)).date(), NOW, UTC)
    started = service.start_session(user, 1, NOW, UTC)
    service.reveal(started.session_id, 0)
    result = service.answer(started.session_id, 0, 3, NOW)
    assert result.recorded and result.interval_days <= 3


def test_skip_brings_the_item_back_tomorrow_and_suspend_keeps_it_away(
    service: StudyService,
) -> None:
    user = service.local_user("skip", NOW)
    first = service.start_session(user, 2, NOW, UTC, item_type="concept")
    skipped = service.current(first.session_id)
    assert skipped is not None
    assert service.skip(first.session_id, 0, NOW, user, UTC) == ""
    suspended = service.current(first.session_id)
    assert suspended is not None
    assert service.skip(first.session_id, 1, NOW, user, UTC, suspend=True) == ""
    later = service.start_session(user, 5, NOW + timedelta(hours=2), UTC, item_type="concept")
    assert skipped.item.id not in later.selection.item_ids
    assert suspended.item.id not in later.selection.item_ids
    service.close(later.session_id, NOW)
    tomorrow = service.start_session(user, 5, NOW + timedelta(days=1), UTC, item_type="concept")
    assert skipped.item.id in tomorrow.selection.item_ids
    assert suspended.item.id not in tomorrow.selection.item_ids
    assert [i.id for i in service.suspended_items(user)] == [suspended.item.id]
    assert service.set_suspended(user, suspended.item.id, False)
    assert not service.set_suspended(user, "nope", False)
    assert service.suspended_items(user) == []


def test_change_rating_rebuilds_the_card_within_ten_minutes(service: StudyService) -> None:
    user = service.local_user("chg", NOW)
    started = service.start_session(user, 1, NOW, UTC)
    service.reveal(started.session_id, 0)
    result = service.answer(started.session_id, 0, 1, NOW)
    assert service.change_rating(result.review_id, user, 1, NOW) == "same"
    assert service.change_rating(result.review_id, user + 1, 3, NOW) == "unknown"
    assert service.change_rating(result.review_id, user, 3, NOW + timedelta(minutes=2)) == ""
    with service.sessions() as db:
        item_id = started.selection.item_ids[0]
        card = cards.read(db, [user], [item_id])[user].get(item_id)
    assert card is not None and card.lapses == 0 and card.streak == 1
    assert card.due - NOW == timedelta(days=2)  # as if rated "got it" in the first place
    assert (
        service.change_rating(result.review_id, user, 2, NOW + timedelta(minutes=11)) == "expired"
    )


def test_weak_spots_and_drill(service: StudyService, progress: ProgressService) -> None:
    user = service.local_user("weak", NOW)
    _study(service, user, 6, 1, NOW, item_type="concept")
    categories, items = progress.weak_spots(user, NOW + timedelta(days=3))
    assert categories and len(items) == 6
    assert items[0][1] <= items[-1][1]
    drill = service.start_session(
        user, 4, NOW + timedelta(hours=1), UTC, kind="drill", category="transformers"
    )
    assert drill.size == 4
    assert {
        service.catalog.get(i).category
        for i in drill.selection.item_ids  # type: ignore[union-attr]
    } == {"transformers"}


def test_quiet_hours_move_the_push_time() -> None:
    chat = ChatSettings(
        1, "private", "", True, True, "23:00", "UTC", 10, 3, quiet=parse_quiet("22:00-07:00")
    )
    assert chat.push_clock == time(7, 0)
    assert chat.is_quiet(datetime(2026, 1, 1, 23, 30, tzinfo=UTC))
    assert not chat.is_quiet(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    day = ChatSettings(1, "private", "", True, True, "12:00", "UTC", 10, 3, quiet="13:00-14:00")
    assert day.push_clock == time(12, 0)
    with pytest.raises(ValueError):
        parse_quiet("22:00")


async def _texts(api: BotApiStandIn, chat_id: int, count: int) -> list[str]:
    await api.wait_for(lambda: len(api.messages(chat_id)) >= count, timeout=15)
    return [m.text or "" for m in api.messages(chat_id)]


async def test_exam_and_plan_commands(api: BotApiStandIn, bot: RunningBot) -> None:
    ann = api.user(8001, "Ann")
    chat = api.private_chat(ann)
    bot.set_clock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    for k, (command, expected) in enumerate(
        [
            ("/plan", "Six-week plan: week 1 of 6"),
            ("/exam 2025-01-01", "in the past"),
            ("/exam someday", "I can't read “someday” as a date"),
            ("/exam 2026-03-08", "6 days to go · today: deep explanations and derivations"),
            ("/plan", "6 days to go"),
            ("/exam off", "Interview date cleared"),
        ],
        start=1,
    ):
        api.send_text(chat, ann, command)
        assert expected in (await _texts(api, chat.id, k))[-1], command


async def test_push_header_shows_the_countdown_and_nudge(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    bea = api.user(8002, "Bea")
    chat = api.private_chat(bea)
    bot.set_clock(datetime(2026, 3, 1, 8, tzinfo=UTC))
    api.send_text(chat, bea, "/daily 09:00")
    api.send_text(chat, bea, "/exam 2026-03-07")
    await _texts(api, chat.id, 2)
    bot.set_clock(datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC))
    assert await push_chat(bot.app, chat.id) == "sent"
    pushed = api.messages(chat.id)[-1].text or ""
    assert pushed.startswith("6 days to go · today: deep explanations and derivations\n")
    # Study the first item, then stay away for two days: the next push nudges, once.
    api.press_button(chat, bea, "Show answer")
    await api.wait_for(
        lambda: any(
            any(b.startswith("1 · No idea") for b in r)
            for m in api.messages(chat.id)
            for r in m.button_texts
        ),
        timeout=10,
    )
    api.press_button(chat, bea, "1 · No idea")
    await api.wait_for(lambda: bot.stats(bea.id).reviews == 1, timeout=10)
    for day, nudged in [(3, True), (4, False)]:
        bot.set_clock(datetime(2026, 3, day, 9, 0, 5, tzinfo=UTC))
        assert await push_chat(bot.app, chat.id) == "sent"
        text = api.messages(chat.id)[-1].text or ""
        assert ("since your last review" in text) is nudged, text[:200]


async def test_know_it_cold_suspended_and_change_rating(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    cy = api.user(8003, "Cy")
    chat = api.private_chat(cy)
    api.send_text(chat, cy, "/study 2")
    await _texts(api, chat.id, 1)
    first = api.messages(chat.id)[-1]
    api.press_button(chat, cy, "Know it cold", first.message_id)
    await api.wait_for(lambda: len(api.messages(chat.id)) >= 2, timeout=10)
    assert api.message(chat.id, first.message_id).button_texts == [["Know it cold"]]
    api.send_text(chat, cy, "/suspended")
    await api.wait_for(lambda: "Suspended" in (api.messages(chat.id)[-1].text or ""), timeout=10)
    listing = api.messages(chat.id)[-1]
    assert listing.button_texts[0][0].startswith("Bring back c001")
    press = api.press(
        chat, cy, listing.message_id, listing.callback_data(listing.button_texts[0][0])
    )
    await api.wait_for(lambda: api.callback_queries[press.query_id].answered, timeout=10)
    assert bot.deps.study.suspended_items(bot.learner(cy.id)) == []
    # Rate the second item, then change the rating.
    second = api.messages(chat.id)[-2]
    api.press_button(chat, cy, "Show answer", second.message_id)
    await api.wait_for(
        lambda: any(
            any(b.startswith("2 · Partial") for b in r)
            for m in api.messages(chat.id)
            for r in m.button_texts
        ),
        timeout=10,
    )
    rated = next(
        m
        for m in api.messages(chat.id)
        if any(any(b.startswith("2 · Partial") for b in r) for r in m.button_texts)
    )
    api.press_button(chat, cy, "2 · Partial", rated.message_id)
    await api.wait_for(
        lambda: any(
            row[0].startswith("✓ 2 · Partial") and row[1:] == ["Change rating"]
            for row in api.message(chat.id, rated.message_id).button_texts
        ),
        timeout=10,
    )
    api.press_button(chat, cy, "Change rating", rated.message_id)
    await api.wait_for(
        lambda: any(
            any(b.startswith("3 · Got it") for b in r)
            for r in api.message(chat.id, rated.message_id).button_texts
        ),
        timeout=10,
    )
    api.press_button(chat, cy, "3 · Got it", rated.message_id)
    await api.wait_for(lambda: bot.rows("SELECT rating FROM reviews") == [(3,)], timeout=10)
    assert bot.rows("SELECT streak FROM cards") == [(1,)]


async def test_weak_drill_quiet_and_bad_input(api: BotApiStandIn, bot: RunningBot) -> None:
    dee = api.user(8004, "Dee")
    chat = api.private_chat(dee)
    for k, (command, expected) in enumerate(
        [
            ("/weak", "Nothing studied yet"),
            ("/drill", "Usage: /drill CATEGORY"),
            ("/drill cooking", "Usage: /drill CATEGORY"),
            ("/drill rlhf 99", "Usage: /drill CATEGORY"),
            ("/quiet 22:00", "Usage: /quiet 22:00-07:00"),
            ("/quiet 22:00-07:00", "Quiet hours 22:00-07:00"),
            ("/quiet off", "Quiet hours off"),
            ("/suspended", "No suspended items"),
        ],
        start=1,
    ):
        api.send_text(chat, dee, command)
        assert expected in (await _texts(api, chat.id, k))[-1], command
    api.send_text(chat, dee, "/drill rlhf 2")
    await api.wait_for(lambda: "RLHF" in (api.messages(chat.id)[-1].text or ""), timeout=10)
    assert bot.rows("SELECT kind FROM study_sessions") == [("drill",)]


async def test_exam_mix_over_the_stand_in_across_the_phases(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    """The daily push of one learner from 10 days out to the interview day."""
    eve = api.user(8005, "Eve")
    chat = api.private_chat(eve)
    bot.set_clock(datetime(2026, 4, 1, 8, tzinfo=UTC))
    api.send_text(chat, eve, "/daily 09:00")
    api.send_text(chat, eve, "/exam 2026-04-11")
    await _texts(api, chat.id, 2)
    types = {i.id: i.type for i in bot.deps.study.catalog.in_curriculum_order()}
    mixes: dict[int, list[str]] = {}
    for days_left in (10, 5, 2, 0):
        day = 11 - days_left
        if days_left == 0:  # the day itself reviews known concepts: study a few first
            bot.set_clock(datetime(2026, 4, day - 1, 20, tzinfo=UTC))
            api.send_text(chat, eve, "/study 3 concepts")
            # The day's push left a session open: /study asks, and a new one is started.
            await api.wait_for(
                lambda: "session open" in (api.messages(chat.id)[-1].text or ""), timeout=10
            )
            api.press_button(chat, eve, "Start new")
            for k in range(3):
                await api.wait_for(
                    lambda k=k: (
                        (api.messages(chat.id)[-1].text or "")  # type: ignore[misc]
                        .startswith(f"{k + 1}/3 ")
                    ),
                    timeout=10,
                )
                api.press_button(chat, eve, "Show answer")
                await api.wait_for(
                    lambda: any(
                        b.startswith(RATINGS[1])
                        for row in api.messages(chat.id)[-1].button_texts
                        for b in row
                    ),
                    timeout=10,
                )
                before = bot.stats(eve.id).reviews
                api.press_button(chat, eve, "2 · Partial")
                await api.wait_for(
                    lambda b=before: bot.stats(eve.id).reviews == b + 1,  # type: ignore[misc]
                    timeout=10,
                )
            # The summary follows the last rating: let it arrive before the push, which
            # must be the last message.
            await api.wait_for(
                lambda: "Session complete" in (api.messages(chat.id)[-1].text or ""), timeout=10
            )
        bot.set_clock(datetime(2026, 4, day, 9, 0, 5, tzinfo=UTC))
        assert await push_chat(bot.app, chat.id) == "sent"
        [(queue,)] = bot.rows(
            "SELECT queue FROM study_sessions WHERE kind = 'push' ORDER BY id DESC LIMIT 1"
        )
        mixes[days_left] = [types[i] for i in queue.split(",")]
        header = (api.messages(chat.id)[-1].text or "").splitlines()[0]
        assert header.startswith(
            ("10 days to go", "5 days to go", "2 days to go", "Interview today")
        ), header
    assert set(mixes[10]) <= {"concept", "quiz"}
    assert mixes[5].count("deep") + mixes[5].count("derive") >= 5
    assert set(mixes[2]) == {"quiz"}
    assert set(mixes[0]) == {"concept"} and len(mixes[0]) <= 3  # only the concepts seen


def test_a_drill_never_pushes_a_review_from_today_later(service: StudyService) -> None:
    user = service.local_user("drill", NOW)
    seen = _study(service, user, 1, 1, NOW, item_type="concept")  # due tomorrow
    with service.sessions() as db:
        before = cards.read(db, [user], [seen[0]])[user].get(seen[0])
    assert before is not None
    category = service.catalog.get(seen[0]).category  # type: ignore[union-attr]
    drill = service.start_session(
        user, 1, NOW + timedelta(hours=1), UTC, kind="drill", category=category
    )
    assert drill.selection.item_ids == (seen[0],)
    service.reveal(drill.session_id, 0)
    assert service.answer(drill.session_id, 0, 3, NOW + timedelta(hours=1)).recorded
    with service.sessions() as db:
        after = cards.read(db, [user], [seen[0]])[user].get(seen[0])
    assert after is not None and after.due == before.due and after.reps == before.reps + 1
