"""The driver: transcripts, recording, waiting, and a real PTB Application playing along."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession
from telegram import Bot, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.botapi import BotApiStandIn
from tests.botapi.conftest import PNG, call, keyboard

# ------------------------------------------------------------------------------ recording


async def test_transcript(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    api.send_text(chat, alice, "/study 3")
    q = await bot.send_message(
        chat.id,
        "<b>Question 1/3</b>\nWhat is &lt;attention&gt;?",
        parse_mode="HTML",
        reply_markup=keyboard([("Show answer", "show"), ("Skip", "skip")], [("Stop", "stop")]),
    )
    press = api.press(chat, alice, q.message_id, "show")
    await bot.answer_callback_query(press.query_id, "Too early!", show_alert=True)
    await bot.edit_message_text(
        "<b>Question 1/3</b>\nAnswer: weights",
        chat.id,
        q.message_id,
        parse_mode="HTML",
        reply_markup=keyboard([("Again", "g:1"), ("Good", "g:3")]),
    )
    await bot.send_photo(chat.id, PNG, caption="Your week")
    gone = await bot.send_message(chat.id, "temporary")
    await bot.delete_message(chat.id, gone.message_id)
    assert api.transcript(chat.id) == "\n".join(
        [
            "> /study 3",
            "Question 1/3",
            "Answer: weights",
            "[ Again ] [ Good ]",
            "[pressed: Show answer]",
            "(alert: Too early!)",
            "[photo] Your week",
        ]
    )
    group = api.group(-7, "G")
    api.send_text(group, alice, "hi all")
    assert api.transcript(group) == "> Alice: hi all"


async def test_record_false_keeps_counters_only(http: ClientSession) -> None:
    async with BotApiStandIn(record=False) as api:
        chat = api.private_chat(api.user(1, "A"))
        for k in range(3):
            await call(http, api, "sendMessage", chat_id=chat.id, text=f"m{k}")
        await call(http, api, "editMessageText", chat_id=chat.id, message_id=1, text="new")
        assert api.calls == [] and len(api.call_times) == 4
        assert api.method_counts == {"sendMessage": 3, "editMessageText": 1}
        assert api.messages(chat.id)[0].text == "new" and api.messages(chat.id)[0].history == []
        assert api.transcript(chat.id) == ""


async def test_wait_for(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.private_chat(api.user(1, "A"))

    async def send_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(chat.id, "one")
        await bot.send_message(chat.id, "two")

    task = asyncio.create_task(send_later())
    messages = await api.wait_for_message(chat.id, count=2, timeout=5)
    await task
    assert [m.text for m in messages] == ["one", "two"]
    assert len(await api.wait_for_call("sendmessage", count=2)) == 2
    with pytest.raises(TimeoutError, match=r"(?i)3 bot message"):
        await api.wait_for_message(chat.id, count=3, timeout=0.1)


# ------------------------------------------------------------------------------ with PTB


async def test_a_real_application_polls_the_stand_in(api: BotApiStandIn) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(
            f"args={context.args}", reply_markup=keyboard([("Show answer", "show")])
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text("Answer: 42")

    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    alice = api.user(1001, "Alice")
    chat = api.private_chat(alice)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            api.send_text(chat, alice, f"/start@{api.bot.username} 3")
            [question] = await api.wait_for_message(chat.id, count=1)
            api.press_button(chat, alice, "Show answer", question.message_id)
            await api.wait_for(lambda: question.text == "Answer: 42", what="the edit")
        finally:
            await app.updater.stop()
            await app.stop()
    assert api.transcript(chat.id) == "\n".join(
        ["> /start@studybot_test_bot 3", "Answer: 42", "[pressed: Show answer]", "(toast: ok)"]
    )
    assert api.pending_updates == 0
    assert api.internal_errors == []
