"""The daily push when Telegram's answer is late, cut off, a 429, or the server is unreachable.

A request is sent again only when it certainly did not reach the server (no connection) or was
refused with a 429. One that reached it and whose answer never came may have been carried out
(the stand-in carries it out): the push reaches the chat once, is recorded "unknown", and no
later run, catch-up or restart sends it again. The real bot against the stand-in, real HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram import push
from bot.telegram.jobs import restore_jobs
from bot.telegram.push import push_chat
from tests.botapi import BotApiStandIn, Chat, StoredMessage, User
from tests.harness import RunningBot, running_bot

NOW = datetime(2026, 6, 1, 9, 0, 30, tzinfo=UTC)  # 30 s after the default push time
READ_TIMEOUT = 1.0  # the bot's, in these tests: an answer later than this is lost
LATE = READ_TIMEOUT + 0.5  # how late the stand-in answers a delayed call


def _pushes(api: BotApiStandIn, chat_id: int) -> list[StoredMessage]:
    return [m for m in api.messages(chat_id) if "due today" in (m.text or "")]


def _push_rows(bot: RunningBot, chat_id: int) -> list[tuple[str, str]]:
    return bot.rows("SELECT status, detail FROM pushes WHERE chat_id = ?", chat_id)


async def _learner(api: BotApiStandIn, bot: RunningBot, user_id: int) -> tuple[User, Chat]:
    """A learner who pressed Start an hour before today's push (09:00 UTC), which is now owed."""
    user = api.user(user_id, f"U{user_id}")
    chat = api.private_chat(user)
    bot.set_clock(NOW - timedelta(hours=1))
    api.send_text(chat, user, "/start")
    await api.wait_for(lambda: api.messages(chat.id), timeout=10)
    bot.set_clock(NOW)
    return user, chat


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == push.__name__ and r.levelno >= logging.WARNING
    ]


async def test_a_push_answered_after_the_read_timeout_arrives_once_and_is_unknown(
    api: BotApiStandIn, tmp_path: Path, content_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=push.__name__)
    async with running_bot(api, tmp_path, content=content_dir, read_timeout=READ_TIMEOUT) as bot:
        user, chat = await _learner(api, bot, 7001)
        api.delay_next("sendMessage", seconds=LATE)
        assert await push_chat(bot.app, chat.id) == "unknown"
        await asyncio.sleep(LATE - READ_TIMEOUT + 0.2)  # the late answer has come by now
        [pushed] = _pushes(api, chat.id)  # once: every sendMessage the stand-in got is a message
        [(status, detail)] = _push_rows(bot, chat.id)
        assert status == "unknown" and "TimedOut" in detail
        # Logged once, without the message or the token.
        [warning] = _warnings(caplog)
        assert str(chat.id) in warning and "not sent again" in warning
        assert api.token not in warning and (pushed.text or "")[:40] not in warning
        # The claim is spent: not pushed again today.
        assert await push_chat(bot.app, chat.id) == "already pushed"
        assert len(_pushes(api, chat.id)) == 1
        # The session exists: the learner goes on from the message that did arrive.
        api.press_button(chat, user, "Show answer", pushed.message_id)
        await api.wait_for(
            lambda: any(
                any(b.startswith("3 · Got it") for b in row)
                for m in api.messages(chat.id)
                for row in m.button_texts
            ),
            timeout=10,
        )


async def test_a_push_cut_mid_answer_arrives_once_and_no_restart_sends_it_again(
    api: BotApiStandIn, tmp_path: Path, content_dir: Path
) -> None:
    # Real time: the restarted bot decides on its own clock which pushes it owes.
    now = datetime.now(UTC)
    owed = {"push_time": "00:00", "schedule_from": now - timedelta(days=1)}
    ann, bob = api.user(7101, "Ann"), api.user(7102, "Bob")
    chats = {user.id: api.private_chat(user) for user in (ann, bob)}
    # A lease of 1 s: a push left "claimed" would be taken over within the test.
    async with running_bot(api, tmp_path, content=content_dir, push_lease_seconds=1) as bot:
        for user in (ann, bob):
            api.send_text(chats[user.id], user, "/start")
        await api.wait_for(lambda: all(api.messages(c.id) for c in chats.values()), timeout=10)
        for user in (ann, bob):
            bot.deps.chats.update(user.id, **owed)
        api.cut_next("sendMessage")
        assert await push_chat(bot.app, ann.id) == "unknown"
        assert len(_pushes(api, ann.id)) == 1
        [(status, detail)] = _push_rows(bot, ann.id)
        assert status == "unknown" and "NetworkError" in detail
    # The restart catches up on Bob's missed push, and leaves Ann's alone.
    async with running_bot(api, tmp_path, content=content_dir, push_lease_seconds=1) as bot:
        await api.wait_for(lambda: _pushes(api, bob.id), timeout=15)
        await asyncio.sleep(2.0)  # a lease run out, and a catch-up of it, would have come by now
        assert len(_pushes(api, ann.id)) == 1
        assert [s for s, _ in _push_rows(bot, ann.id)] == ["unknown"]
        # The learner still gets the items at the next /study: the push's session is open
        # (its message may have arrived), so /study offers to continue it.
        api.send_text(chats[ann.id], ann, "/study")
        await api.wait_for(
            lambda: "session open" in (api.messages(ann.id)[-1].text or ""), timeout=10
        )
        before = len(api.messages(ann.id))
        api.press_button(chats[ann.id], ann, "Continue (")
        await api.wait_for(
            lambda: any(
                ["Show answer", "Skip", "Know it cold"] in m.button_texts
                for m in api.messages(ann.id)[before:]
            ),
            timeout=10,
        )


@pytest.mark.parametrize("rate_limiter", [True, False], ids=["rate-limiter", "no-rate-limiter"])
async def test_a_push_refused_with_429_arrives_once_after_retry_after(
    api: BotApiStandIn, tmp_path: Path, content_dir: Path, rate_limiter: bool
) -> None:
    async with running_bot(api, tmp_path, content=content_dir, rate_limiter=rate_limiter) as bot:
        _, chat = await _learner(api, bot, 7201)
        api.fail_next(1, error_code=429, retry_after=1)
        assert await push_chat(bot.app, chat.id) == "sent"
        assert len(_pushes(api, chat.id)) == 1
        refused, sent = api.calls_of("sendMessage")[-2:]
        assert (refused.status, sent.status) == (429, 200)
        assert sent.ts - refused.ts >= 0.95
        assert [s for s, _ in _push_rows(bot, chat.id)] == ["sent"]


async def test_a_push_to_an_unreachable_server_is_sent_when_it_is_back(
    api: BotApiStandIn, tmp_path: Path, content_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=push.__name__)
    async with running_bot(api, tmp_path, content=content_dir) as bot:
        _, chat = await _learner(api, bot, 7301)
        await api.stop()  # connections refused: nothing can be sent
        pushing = asyncio.create_task(push_chat(bot.app, chat.id))
        await api.wait_for(
            lambda: any("was not sent" in r.getMessage() for r in caplog.records), timeout=10
        )
        await api.start()
        assert await pushing == "sent"
        assert len(_pushes(api, chat.id)) == 1
        assert [s for s, _ in _push_rows(bot, chat.id)] == ["sent"]


async def test_a_push_to_a_server_that_stays_unreachable_is_recorded_failed(
    api: BotApiStandIn,
    tmp_path: Path,
    content_dir: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(push, "RETRY_DELAYS", (0.1, 0.2))  # the retries, without their wait
    caplog.set_level(logging.DEBUG, logger=push.__name__)
    async with running_bot(api, tmp_path, content=content_dir) as bot:
        _, chat = await _learner(api, bot, 7401)
        await api.stop()
        try:
            assert await push_chat(bot.app, chat.id) == "failed"
        finally:
            await api.start()
        retries = [r for r in caplog.records if "was not sent" in r.getMessage()]
        assert len(retries) == 2
        [(status, detail)] = _push_rows(bot, chat.id)
        assert status == "failed" and "NotSent" in detail
        await asyncio.sleep(0.5)
        assert not _pushes(api, chat.id)


async def test_a_group_post_with_a_late_answer_stops_the_push_and_is_never_posted_again(
    api: BotApiStandIn, tmp_path: Path, content_dir: Path
) -> None:
    group = api.group(-7500, "Study group")
    admin = api.user(7501, "Admin")
    api.set_member_status(group, admin, "administrator")
    async with running_bot(
        api, tmp_path, content=content_dir, read_timeout=READ_TIMEOUT, push_lease_seconds=1
    ) as bot:
        bot.set_clock(NOW - timedelta(hours=1))
        api.send_text(group, admin, "/daily 09:00")
        await api.wait_for(lambda: api.messages(group.id), timeout=10)
        bot.set_clock(NOW)
        before = len(api.messages(group.id))
        # The header and the first post go through; the second post's answer comes late.
        api.delay_next("sendMessage", seconds=LATE, skip=2)
        assert await push_chat(bot.app, group.id) == "unknown"
        await asyncio.sleep(LATE - READ_TIMEOUT + 0.2)
        pushed = [m.text for m in api.messages(group.id)[before:]]
        assert pushed[0] is not None and pushed[0].startswith("Today's items")
        assert len(pushed) == 3 and len(set(pushed)) == 3  # header, two posts; none twice
        assert [s for s, _ in _push_rows(bot, group.id)] == ["unknown"]
        # The post whose answer never came counts as posted: a resumed push would skip it.
        assert bot.deps.groups.push_posts(group.id, NOW.date()) == 2
        # Neither another run nor the start-up catch-up resumes the group's push.
        assert await push_chat(bot.app, group.id) == "already pushed"
        await restore_jobs(bot.app)
        await asyncio.sleep(2.0)  # a resumed push (its lease is 1 s) would have come by now
        assert [m.text for m in api.messages(group.id)[before:]] == pushed


async def test_a_pushed_question_loses_its_buttons_when_a_new_session_replaces_it(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    """The push records which message carries its session's buttons (with its outcome), so
    a /study that starts anew takes them off."""
    user, chat = await _learner(api, bot, 7301)
    assert await push_chat(bot.app, chat.id) == "sent"
    pushed = api.messages(chat.id)[-1]
    assert pushed.button_texts == [["Show answer", "Skip", "Know it cold"]]
    api.send_text(chat, user, "/study 2")
    await api.wait_for(lambda: "session open" in (api.messages(chat.id)[-1].text or ""))
    api.press_button(chat, user, "Start new")
    await api.wait_for(lambda: (api.messages(chat.id)[-1].text or "").startswith("1/2"))
    await api.wait_for(lambda: api.message(chat.id, pushed.message_id).button_texts == [])
