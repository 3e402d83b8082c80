"""A bot killed between a rating's commit and its reply: after the restart the learner gets the
next question (once), through the press redelivered or pressed again; a double tap never sends
a question twice."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from tests.botapi import BotApiStandIn, StoredMessage, User
from tests.botapi.state import Chat, Press
from tests.processes import start_bot_process

ANN = 2101
PRESENT_LEASE_SECONDS = 5.0  # bot.services.study.PRESENT_LEASE


def _reviews(tmp_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(tmp_path / "proc.db") as conn:
        return list(conn.execute("SELECT item_id, rating FROM reviews ORDER BY id"))


def _has_button(message: StoredMessage, label: str) -> bool:
    return any(b.startswith(label) for row in message.button_texts for b in row)


async def _press_and_kill(
    api: BotApiStandIn,
    proc: asyncio.subprocess.Process,
    chat: Chat,
    user: User,
    message_id: int,
    data: str,
) -> Press:
    """Press a button and kill the bot (SIGKILL) while it waits for the press's answer: what
    the press committed stands, nothing after it reached the chat. The answer is let through
    once the bot is dead."""
    api.hold("answerCallbackQuery")
    press = api.press(chat, user, message_id, data)
    await api.wait_for(lambda: api.held["answerCallbackQuery"] == 1, timeout=20)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    api.release("answerCallbackQuery")
    return press


async def _ended(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def _questions(api: BotApiStandIn, chat_id: int, header: str) -> int:
    return sum(header in (m.text or "") for m in api.messages(chat_id))


async def _first_question(api: BotApiStandIn, chat: Chat, ann: User) -> None:
    """Once the bot polls: /study 2 quiz, and its first question is in the chat."""
    await api.wait_for_call("getUpdates", timeout=30)
    api.send_text(chat, ann, "/study 2 quiz")
    await api.wait_for(lambda: _questions(api, chat.id, "1/2") == 1, timeout=20)


async def test_killed_after_a_rating_commit_the_next_question_comes_after_the_restart(
    tmp_path: Path,
) -> None:
    async with BotApiStandIn() as api:
        ann = api.user(ANN, "Ann")
        chat = api.private_chat(ann)
        proc = await start_bot_process(api, tmp_path)
        try:
            await _first_question(api, chat, ann)
            api.press_button(chat, ann, "Show answer")
            await api.wait_for(lambda: _has_button(api.messages(chat.id)[-1], "3 · Got it"))
            rated = api.messages(chat.id)[-1]
            # The rating is committed before the press is answered: hold the answer, and kill
            # the bot while it waits for it, before anything reached the chat.
            data = rated.callback_data("3 · Got it")
            press = await _press_and_kill(api, proc, chat, ann, rated.message_id, data)
        finally:
            await _ended(proc)
        assert len(_reviews(tmp_path)) == 1
        assert _questions(api, chat.id, "2/2") == 0  # stuck, as the learner would be

        proc = await start_bot_process(api, tmp_path, log_name="bot2.log")
        try:
            await api.wait_for_call("getUpdates", count=2, timeout=30)
            # The crashed handling's claim to send stands a few seconds, then the same press,
            # redelivered, sends what the chat is missing: the next question, once.
            await asyncio.sleep(PRESENT_LEASE_SECONDS + 0.5)
            api.replay(press.update_id)
            await api.wait_for(lambda: _questions(api, chat.id, "2/2") == 1, timeout=20)
            assert _has_button(api.message(chat.id, rated.message_id), "Change rating")
            # Pressed again (the buttons are gone now; a client that still shows them): the
            # rating is on record and the next question is in the chat: nothing more is sent.
            api.press(chat, ann, rated.message_id, data, strict=False)
            await api.wait_for_call("answerCallbackQuery", count=3, timeout=20)
            await asyncio.sleep(0.5)
            assert _questions(api, chat.id, "2/2") == 1
            assert len(_reviews(tmp_path)) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)


async def test_killed_after_a_reveal_commit_the_answer_shows_after_the_restart(
    tmp_path: Path,
) -> None:
    """The reveal is claimed (committed) before the question is edited into the answer: killed
    in between, the redelivered press (or the same button pressed again) shows the answer."""
    async with BotApiStandIn() as api:
        ann = api.user(ANN, "Ann")
        chat = api.private_chat(ann)
        proc = await start_bot_process(api, tmp_path)
        try:
            await _first_question(api, chat, ann)
            question = api.messages(chat.id)[-1]
            data = question.callback_data("Show answer")
            press = await _press_and_kill(api, proc, chat, ann, question.message_id, data)
        finally:
            await _ended(proc)
        with sqlite3.connect(tmp_path / "proc.db") as conn:
            assert list(conn.execute("SELECT revealed FROM study_sessions")) == [(0,)]
        assert not _has_button(api.message(chat.id, question.message_id), "3 · Got it")

        proc = await start_bot_process(api, tmp_path, log_name="bot2.log")
        try:
            await api.wait_for_call("getUpdates", count=2, timeout=30)
            api.replay(press.update_id)
            await api.wait_for(
                lambda: _has_button(api.message(chat.id, question.message_id), "3 · Got it"),
                timeout=20,
            )
            assert "Short answer" in (api.message(chat.id, question.message_id).text or "")
            # Pressed once more (a client that still showed the question): the same answer,
            # in the same message, and nothing new in the chat.
            count = len(api.messages(chat.id))
            api.press(chat, ann, question.message_id, data, strict=False)
            await api.wait_for_call("answerCallbackQuery", count=3, timeout=20)
            await asyncio.sleep(0.5)
            assert len(api.messages(chat.id)) == count
            assert _has_button(api.message(chat.id, question.message_id), "3 · Got it")
            # And the session goes on from there.
            api.press_button(chat, ann, "3 · Got it", question.message_id)
            await api.wait_for(lambda: _questions(api, chat.id, "2/2") == 1, timeout=20)
            assert len(_reviews(tmp_path)) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)


async def test_a_double_tap_on_a_rating_sends_the_next_question_once(tmp_path: Path) -> None:
    async with BotApiStandIn() as api:
        ann = api.user(ANN, "Ann")
        chat = api.private_chat(ann)
        proc = await start_bot_process(api, tmp_path)
        try:
            await _first_question(api, chat, ann)
            api.press_button(chat, ann, "Show answer")
            await api.wait_for(lambda: _has_button(api.messages(chat.id)[-1], "3 · Got it"))
            rated = api.messages(chat.id)[-1]
            data = rated.callback_data("3 · Got it")
            api.press(chat, ann, rated.message_id, data)
            api.press(chat, ann, rated.message_id, data)
            await api.wait_for(lambda: _questions(api, chat.id, "2/2") == 1, timeout=20)
            await api.wait_for_call("answerCallbackQuery", count=3, timeout=20)
            await asyncio.sleep(0.5)
            assert _questions(api, chat.id, "2/2") == 1
            assert len(_reviews(tmp_path)) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
