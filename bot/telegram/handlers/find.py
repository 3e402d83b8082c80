"""/find WORDS, /item ID and the buttons that open an item: look items up, study one now."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.core.search import FIND_LIMIT
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps
from bot.telegram.handlers.study import open_item
from bot.telegram.keyboards import found_keyboard
from bot.telegram.messages import answer_query, escape

FIND_USAGE = "Usage: /find WORDS, e.g. /find rotary embeddings"
ITEM_USAGE = "Usage: /item ID, e.g. /item c014 (/find WORDS shows ids)"


async def find_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/find WORDS: up to 10 items matching every word, as buttons that open them."""
    message = update.effective_message
    assert message is not None
    words = context.args or []
    if not words:
        await message.reply_text(FIND_USAGE)
        return
    d = deps(context)
    items = await d.run(d.study.find, words, FIND_LIMIT + 1)  # one more tells "there is more"
    asked = escape(" ".join(words)[:60])
    if not items:
        await message.reply_text(f"Nothing found for “{asked}”. Try fewer or other words.")
        return
    more = (
        f" (the best {FIND_LIMIT}: add words to narrow it down)" if len(items) > FIND_LIMIT else ""
    )
    await message.reply_text(
        f"Found for “{asked}”{more}; press one to study it now:",
        reply_markup=found_keyboard(items[:FIND_LIMIT]),
    )


async def item_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/item ID: study that one item now."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if len(args) != 1:
        await message.reply_text(ITEM_USAGE)
        return
    if not await open_item(update, context, args[0]):
        await message.reply_text(f"There is no item “{escape(args[0][:40])}”. {ITEM_USAGE}")


async def open_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A found (or weak) item's button: study that one item now."""
    query = update.callback_query
    assert query is not None
    if await open_item(update, context, Callback.from_match(context.match).arg):
        await answer_query(query)
    else:
        await answer_query(query, "This item is no longer available.", show_alert=True)
