"""The buttons under /start and a session's summary: [Daily push…], [How it works], [Stats]."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.handlers.basic import HOW, pressed_message
from bot.telegram.handlers.settings import settings_command
from bot.telegram.handlers.stats import stats_command
from bot.telegram.messages import answer_query


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Each button does what its command does, in the chat it was pressed in."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    await answer_query(query)
    if cb.arg == "stats":
        await stats_command(update, context)
    elif cb.arg == "daily":
        await settings_command(update, context)
    else:
        await message.reply_text(HOW)
