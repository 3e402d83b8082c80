"""Daily push, chat settings and groups: the real Application against the stand-in."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.schedule import ChatSettings
from bot.telegram.jobs import job_name
from bot.telegram.push import push_chat
from tests.botapi import BotApiStandIn
from tests.harness import RunningBot

# Set STUDYBOT_TRANSCRIPTS=DIR to keep the conversations these tests record.
TRANSCRIPTS = (
    Path(os.environ.get("STUDYBOT_TRANSCRIPTS", ""))
    if os.environ.get("STUDYBOT_TRANSCRIPTS")
    else None
)


async def _reply(api: BotApiStandIn, chat_id: int, count: int) -> str:
    await api.wait_for(lambda: len(api.messages(chat_id)) >= count, timeout=15)
    return api.messages(chat_id)[count - 1].text or ""


def _settings(bot: RunningBot, chat_id: int) -> ChatSettings:
    settings = bot.deps.chats.get(chat_id)
    assert settings is not None, f"no chat {chat_id}"
    return settings


def _next_fire(bot: RunningBot, chat_id: int, after: datetime) -> datetime:
    assert bot.app.job_queue is not None
    [job] = bot.app.job_queue.get_jobs_by_name(job_name(chat_id))
    fire: datetime = job.job.trigger.get_next_fire_time(None, after)
    return fire.astimezone(UTC)


async def test_settings_commands_and_bad_input(api: BotApiStandIn, bot: RunningBot) -> None:
    ann = api.user(3001, "Ann")
    chat = api.private_chat(ann)
    api.send_text(chat, ann, "/start")
    assert "I help you prepare" in await _reply(api, chat.id, 1)
    settings = _settings(bot, chat.id)
    assert (settings.subscribed, settings.push_time, settings.timezone) == (True, "09:00", "UTC")
    for k, (command, expected) in enumerate(
        [
            ("/daily 25:00", "Example: /daily 08:30 Europe/Berlin"),
            ("/daily 08:30 Mars/Olympus", "Example: /daily 08:30 Europe/Berlin"),
            ("/timezone nowhere", "Example: /timezone Europe/Berlin"),
            ("/size 0", "Usage: /size N with N from 1 to 50"),
            ("/size 51", "Usage: /size N"),
            ("/daily 07:45 UTC+5:30", "at 07:45 (UTC+05:30)"),
            ("/size 15", "up to 15 items per push"),
            ("/timezone Europe/Berlin", "(Europe/Berlin)"),
            ("/daily off", "Daily push: off"),
            ("/daily on", "Daily push: on"),
        ],
        start=2,
    ):
        api.send_text(chat, ann, command)
        assert expected in await _reply(api, chat.id, k), command
    settings = _settings(bot, chat.id)
    assert settings.subscribed and settings.daily_size == 15
    assert (settings.push_time, settings.timezone) == ("07:45", "Europe/Berlin")
    api.send_text(chat, ann, "/settings")
    text = await _reply(api, chat.id, 12)
    assert "Daily push: on, at 07:45 (Europe/Berlin)" in text
    api.press_button(chat, ann, "Time +1 h")
    await api.wait_for(lambda: "08:45" in (api.messages(chat.id)[-1].text or ""), timeout=10)
    api.press_button(chat, ann, "Turn daily push off")
    await api.wait_for(lambda: "push: off" in (api.messages(chat.id)[-1].text or ""), timeout=10)
    assert not bot.app.job_queue.get_jobs_by_name(job_name(chat.id))


async def test_push_follows_the_zone_and_daylight_saving(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    berlin_user, ny_user = api.user(3002, "Bea"), api.user(3003, "Ned")
    berlin, new_york = api.private_chat(berlin_user), api.private_chat(ny_user)
    bot.set_clock(datetime(2026, 3, 20, 12, tzinfo=UTC))
    api.send_text(berlin, berlin_user, "/daily 09:00 Europe/Berlin")
    api.send_text(new_york, ny_user, "/daily 07:30 America/New_York")
    await _reply(api, berlin.id, 1)
    await _reply(api, new_york.id, 1)
    # Europe: summer time starts on 29 March 2026 (UTC+1 -> UTC+2).
    before = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert _next_fire(bot, berlin.id, before) == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert _next_fire(bot, berlin.id, datetime(2026, 3, 27, 12, tzinfo=UTC)) == datetime(
        2026, 3, 28, 8, tzinfo=UTC
    )
    # US: summer time ends on 1 November 2026 (UTC-4 -> UTC-5).
    assert _next_fire(bot, new_york.id, datetime(2026, 10, 31, 12, tzinfo=UTC)) == datetime(
        2026, 11, 1, 12, 30, tzinfo=UTC
    )
    assert _next_fire(bot, new_york.id, datetime(2026, 10, 30, 12, tzinfo=UTC)) == datetime(
        2026, 10, 31, 11, 30, tzinfo=UTC
    )
    # The push itself runs on the chat's calendar day: 09:00 Berlin on the DST day.
    on_time = datetime(2026, 3, 29, 9, 0, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    bot.set_clock(on_time - timedelta(minutes=2))
    assert await push_chat(bot.app, berlin.id) == "not due"
    bot.set_clock(on_time)
    assert await push_chat(bot.app, berlin.id) == "sent"
    assert await push_chat(bot.app, berlin.id) == "already pushed"
    pushed = [m for m in api.messages(berlin.id) if "due today" in (m.text or "")]
    assert len(pushed) == 1  # one message: the due line and the first item of the session
    assert (pushed[0].text or "").startswith("Nothing due today, 10 new.\n\n1/10 · ")
    assert pushed[0].button_texts == [["Show answer", "Skip", "Know it cold"]]
    assert bot.rows("SELECT local_date, status, items FROM pushes") == [("2026-03-29", "sent", 10)]


async def test_subscribing_late_never_pushes_by_itself(api: BotApiStandIn, bot: RunningBot) -> None:
    cy = api.user(3004, "Cy")
    chat = api.private_chat(cy)
    bot.set_clock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
    api.send_text(chat, cy, "/daily 09:00")  # an hour ago: the first push is tomorrow
    await _reply(api, chat.id, 1)
    assert await push_chat(bot.app, chat.id) == "not due"
    bot.set_clock(datetime(2026, 5, 5, 9, 0, 1, tzinfo=UTC))
    assert await push_chat(bot.app, chat.id) == "sent"


async def test_blocked_removed_and_429_storm(
    api: BotApiStandIn, bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)
    users = [api.user(3100 + k, f"U{k}") for k in range(4)]
    chats = [api.private_chat(u) for u in users]
    admin = api.user(3200, "Admin")
    group = api.group(-3300, "Study group")
    api.set_member_status(group, admin, "administrator")
    bot.set_clock(now - timedelta(hours=1))
    for user, chat in zip(users, chats, strict=True):
        api.send_text(chat, user, "/start")
    api.send_text(group, admin, "/daily 09:00")
    for chat in chats:
        await _reply(api, chat.id, 1)
    await _reply(api, group.id, 1)
    api.block(chats[0])
    api.block(group)  # removed from the group
    api.fail_next(6, error_code=429, retry_after=1)
    bot.set_clock(now)
    results = [await push_chat(bot.app, c.id) for c in [*chats, group]]
    assert results == ["forbidden", "sent", "sent", "sent", "forbidden"]
    assert api.rate_limited_count == 0 and api.injected_failure_count == 6
    for chat in chats[1:]:
        assert sum("due today" in (m.text or "") for m in api.messages(chat.id)) == 1
    inactive = [c.id for c in [*chats, group] if not _settings(bot, c.id).active]
    assert inactive == [3100, -3300]
    # Blocked chats are not pushed again; writing to the bot makes a chat active again.
    bot.set_clock(now + timedelta(days=1))
    bot.deps.zones.clear()
    assert await push_chat(bot.app, chats[0].id) == "not due"
    api.unblock(chats[0])
    api.send_text(chats[0], users[0], "/help")
    await api.wait_for(lambda: _settings(bot, chats[0].id).active, timeout=10)
    assert await push_chat(bot.app, chats[0].id) == "sent"


async def test_group_members_rate_for_themselves(api: BotApiStandIn, bot: RunningBot) -> None:
    group = api.group(-4001, "ML interview prep", type="supergroup")
    ann, bob, cy = api.user(4101, "Ann"), api.user(4102, "Bob"), api.user(4103, "Cy")
    api.set_member_status(group, ann, "administrator")
    bot.set_clock(datetime(2026, 6, 1, 12, tzinfo=UTC))
    api.send_text(group, bob, "/daily 08:00")  # not an admin
    assert "Only the group's administrators" in await _reply(api, group.id, 1)
    api.send_text(group, ann, "/daily 08:00 Europe/Berlin")
    assert "Daily push: on, at 08:00 (Europe/Berlin)" in await _reply(api, group.id, 2)
    bot.set_clock(datetime(2026, 6, 2, 6, 0, 10, tzinfo=UTC))  # 08:00 in Berlin (summer)
    bot.deps.groups.set_quiz_polls(group.id, False)  # the reveal flow (polls: test_polls.py)
    assert await push_chat(bot.app, group.id) == "sent"
    await api.wait_for(lambda: len(api.messages(group.id)) == 6, timeout=10)  # header + 3 items
    first = api.messages(group.id)[3]
    assert first.button_texts == [["Show answer"]]
    api.press_button(group, bob, "Show answer", first.message_id)

    def rating_message() -> object:
        return next(
            (
                m
                for m in api.messages(group.id)
                if any("3 · Got it" in row for row in m.button_texts)
            ),
            None,
        )

    rated = await api.wait_for(rating_message, timeout=10)
    for user, label in [(ann, "1 · No idea"), (bob, "2 · Partial"), (cy, "3 · Got it")]:
        api.press_button(group, user, label, rated.message_id)
        await api.wait_for(
            lambda u=user: (
                bot.rows(  # type: ignore[misc]
                    "SELECT count(*) FROM reviews r JOIN users u ON u.id = r.user_id "
                    "WHERE u.telegram_id = ?",
                    u.id,
                )
                == [(1,)]
            ),
            timeout=10,
        )
    await api.wait_for(
        lambda: "Rated by 3" in (api.message(group.id, rated.message_id).text or ""), timeout=10
    )
    tally = api.message(group.id, rated.message_id).text or ""
    assert "Rated by 3 · No idea 1 · Partial 1 · Got it 1" in tally
    assert "Ann, Bob, Cy" in tally
    cards = bot.rows(
        "SELECT u.first_name, c.reps, c.lapses, c.streak FROM cards c "
        "JOIN users u ON u.id = c.user_id ORDER BY u.first_name"
    )
    assert [name for name, *_ in cards] == ["Ann", "Bob", "Cy"]
    assert [streak for *_, streak in cards] == [0, 0, 1]
    due = dict(bot.rows("SELECT u.first_name, c.due FROM cards c JOIN users u ON u.id = c.user_id"))
    assert due["Ann"] < due["Cy"]  # each member's own schedule
    # Bob changes his mind: still one review, the last press counts, the card is rebuilt.
    api.press_button(group, bob, "3 · Got it", rated.message_id)
    await api.wait_for(
        lambda: "Partial 0 · Got it 2" in (api.message(group.id, rated.message_id).text or ""),
        timeout=10,
    )
    assert bot.rows(
        "SELECT count(*), max(rating) FROM reviews r JOIN users u ON "
        "u.id = r.user_id WHERE u.first_name = 'Bob'"
    ) == [(1, 3)]
    assert bot.rows(
        "SELECT c.streak FROM cards c JOIN users u ON u.id = c.user_id WHERE u.first_name = 'Bob'"
    ) == [(1,)]
    # Pressing the same rating again changes nothing.
    again = api.press_button(group, cy, "3 · Got it", rated.message_id)
    await api.wait_for(lambda: api.callback_queries[again.query_id].answered, timeout=10)
    assert api.callback_queries[again.query_id].text == "Already recorded: Got it."
    assert sum(bot.stats(user.id).reviews for user in (ann, bob, cy)) == 3
    # A member's private /stats includes their group reviews; the group's /stats ranks them.
    api.send_text(group, ann, "/stats")
    board = await _reply(api, group.id, len(api.messages(group.id)) + 1)
    total = len(bot.deps.study.catalog)
    assert "Leaderboard: items known" in board and f"3 of {total} items posted" in board
    if TRANSCRIPTS is not None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / "group_push.txt").write_text(api.transcript(group.id), encoding="utf-8")


async def test_group_study_posts_items_not_repeated_within_three_days(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    group = api.group(-4002, "Reading club")
    dan = api.user(4201, "Dan")
    bot.set_clock(datetime(2026, 6, 3, 12, tzinfo=UTC))
    api.send_text(group, dan, "/study 2")
    await api.wait_for(lambda: len(api.messages(group.id)) == 3, timeout=10)  # header, 2 posts
    first = {row[0] for row in bot.rows("SELECT item_id FROM group_posts")}
    api.send_text(group, dan, "/study 2")
    await api.wait_for(lambda: len(api.messages(group.id)) == 6, timeout=10)
    ids = [row[0] for row in bot.rows("SELECT item_id FROM group_posts ORDER BY id")]
    assert len(set(ids)) == 4 and first == set(ids[:2])
