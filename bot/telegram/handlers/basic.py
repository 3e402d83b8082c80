"""/start, /help, /reset, and the answers to unknown commands, plain text and unknown buttons."""

from __future__ import annotations

from typing import NamedTuple

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.services import privacy
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers.settings import subscribe
from bot.telegram.keyboards import reset_keyboard
from bot.telegram.messages import answer_query

COMMANDS = [
    ("study", "study now: /study [N] [type], e.g. /study 20 quiz"),
    ("stats", "your progress, with a chart"),
    ("find", "find items: /find rotary embeddings"),
    ("item", "study one item: /item c014"),
    ("exam", "interview date: /exam 2026-12-15, /exam off"),
    ("plan", "where you are in the plan or the countdown"),
    ("weak", "weakest categories and items, to drill"),
    ("drill", "study one category now: /drill transformers 5"),
    ("suspended", "items marked 'know it cold', to bring back"),
    ("quiet", "no pushes in these hours: /quiet 22:00-07:00"),
    ("daily", "daily push time: /daily 08:30 Europe/Berlin, /daily off"),
    ("settings", "push time, zone and size, with buttons"),
    ("cancel", "end the current session"),
    ("reset", "delete your progress (asks first)"),
    ("export", "your review history as a CSV file"),
    ("forget_me", "delete everything stored about you (asks first)"),
    ("help", "what I can do"),
]
HELP = (
    "<b>Commands</b>\n"
    "/study [N] [type] — N items now (default 10, at most 50); type is concepts, quiz, deep "
    "or derive, e.g. <code>/study 20 quiz</code>\n"
    "/stats — items studied, reviews, streak, due counts, progress per category, and a chart\n"
    "/find WORDS — up to 10 items by title, tags or question, e.g. "
    "<code>/find rotary embeddings</code>; press one to study it · /item ID — study one item, "
    "e.g. <code>/item c014</code>\n"
    "/daily HH:MM [zone] — the daily push of due items, e.g. "
    "<code>/daily 08:30 Europe/Berlin</code>; <code>/daily off</code>, <code>/daily on</code>\n"
    "/size N — items per daily push (1-50) · /timezone ZONE · /settings — all of them\n"
    "/exam YYYY-MM-DD — interview-date mode: the daily mix follows the countdown "
    "(<code>/exam off</code> to stop) · /plan — where you are\n"
    "/weak — your weakest categories and items, each with a drill button · "
    "/drill CATEGORY [N] — study one category now, due or not\n"
    "/suspended — items you marked <b>Know it cold</b>, to bring back · "
    "/quiet 22:00-07:00 — no pushes inside these hours\n"
    "/cancel — end the current session (ratings so far are kept)\n"
    "/reset — delete your progress\n"
    "/export — your review history as a CSV file · /forget_me — delete everything I store "
    "about you (both in a private chat)\n\n"
    "<b>In a group</b>\nAn admin's /daily subscribes the group; /study N posts N items for "
    "everyone. Anyone can reveal an answer, and every member rates for themselves.\n\n"
    "<b>How it works</b>\n"
    "Each item shows a question. Think of your answer, press <b>Show answer</b>, then rate "
    "yourself honestly: <b>1</b> no idea (it comes back at the end of the session and "
    "tomorrow), <b>2</b> partial, <b>3</b> got it (it comes back much later); "
    "<b>Change rating</b> stays for 10 minutes. <b>Skip</b> brings an item back tomorrow, "
    "<b>Know it cold</b> puts it away. The schedule is FSRS spaced repetition: due items "
    "first, then new ones in curriculum order."
)
START = (
    "<b>Hi! I help you prepare for ML and LLM interviews.</b>\n"
    "{items} items — concept Q&amp;As, quick quiz questions, deep explanations to practise aloud, "
    "and derivations for pen and paper — scheduled with spaced repetition so you review each "
    "one just before you would forget it.\n\n"
    "Send /study to begin with 10 items. Every day at 09:00 UTC I'll send you what is due; "
    "change the time with <code>/daily 08:30 Europe/Berlin</code>.\n\n"
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot does and how to use it; subscribes a private chat."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    await user_id_of(update, context)
    d = deps(context)
    if chat.type == ChatType.PRIVATE:
        current = await d.run(d.chats.get, chat.id)
        if current is None or not current.subscribed:
            await subscribe(update, context)
    await message.reply_text(START.format(items=len(d.study.catalog)) + HELP)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: the commands."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(HELP)


async def reset_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reset: ask for confirmation with buttons."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        "Delete all your study progress (reviews, schedule, sessions)? This cannot be undone.",
        reply_markup=reset_keyboard(),
    )


async def reset_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer to /reset's confirmation buttons (the presser's own progress only)."""
    query = update.callback_query
    assert query is not None
    if Callback.from_match(context.match).arg != "y":
        await answer_query(query)
        await query.edit_message_text("Nothing deleted.")
        return
    d = deps(context)
    user_id = await user_id_of(update, context)
    deleted = await d.run(privacy.reset, d.study.sessions, user_id)
    await answer_query(query, "Deleted.")
    await query.edit_message_text(
        f"Your progress was deleted ({deleted} reviews). Send /study to start afresh."
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any command the bot does not know."""
    message = update.effective_message
    if message is not None:
        await message.reply_text("I don't know that command. /help lists what I can do.")


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text that is not a command, in a private chat."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(
            "Send /study to start a session, or /help to see everything I can do."
        )


async def noop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inert button (a chosen rating, "Skipped"): only answered."""
    assert update.callback_query is not None
    await answer_query(update.callback_query)


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press whose data no button of this bot carries (forged, malformed, or no data)."""
    assert update.callback_query is not None
    await answer_query(update.callback_query, "This button isn't one of mine.", show_alert=True)


class Pressed(NamedTuple):
    """A button press: the query, the message its button is on, and the decoded button."""

    query: CallbackQuery
    message: Message
    button: Callback


async def pressed_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Pressed | None:
    """The press, the message its button is on and the button's data (matched by the handler's
    pattern); None, the press answered, when that message is too old to be edited."""
    query = update.callback_query
    assert query is not None
    if isinstance(query.message, Message):
        return Pressed(query, query.message, Callback.from_match(context.match))
    await answer_query(query, "This button is no longer valid.", show_alert=True)
    return None


async def touch_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: registers the chat, reactivates it after a block/removal."""
    chat = update.effective_chat
    if chat is None:
        return
    d = deps(context)
    if chat.id in d.zones:
        return
    title = chat.title or chat.full_name or ""
    settings = await d.run(d.chats.ensure, chat.id, chat.type, title, d.clock())
    d.remember(settings)
