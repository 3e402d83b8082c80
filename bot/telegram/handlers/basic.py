"""/start, /help, /reset, and the answers to unknown commands, plain text and unknown buttons."""

from __future__ import annotations

from typing import NamedTuple

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.core.text import plural
from bot.services import privacy
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers import links
from bot.telegram.handlers.settings import next_push_text, subscribe
from bot.telegram.keyboards import reset_keyboard, start_keyboard
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
    "<b>Study</b>\n"
    "/study [N] [type] — N items now (default 10, at most 50); types: concepts, quiz, deep, "
    "derive, e.g. <code>/study 20 quiz</code>\n"
    "/cancel — end the session (ratings so far are kept)\n"
    "/find WORDS — find items, e.g. <code>/find rotary embeddings</code> · "
    "/item ID — one item, e.g. <code>/item c014</code>\n"
    "/drill CATEGORY [N] — one category now, e.g. <code>/drill llm architecture</code>\n"
    "/weak — your weakest categories and items · /suspended — items you know cold\n\n"
    "<b>Progress</b>\n"
    "/stats — streak, due counts, progress per category, a chart\n"
    "/exam DATE — interview countdown, e.g. <code>/exam next friday</code> · "
    "/plan — where you are\n\n"
    "<b>Daily push</b>\n"
    "/settings — time, zone, size, quiet hours, exam date, with buttons\n"
    "/daily TIME [zone] — e.g. <code>/daily 8am berlin</code>; <code>/daily off</code> · "
    "/size N · /timezone ZONE · /quiet 22:00-07:00\n\n"
    "<b>Your data</b>\n"
    "/export — your reviews as CSV · /reset — delete your progress · "
    "/forget_me — delete everything about you\n\n"
    "<b>In a group</b>\n"
    "An admin's /daily subscribes the group; /study N posts N items. Anyone can reveal an "
    "answer; everyone rates for themselves.\n\n"
)
HOW = (
    "<b>How it works</b>\n"
    "Each item shows a question. Answer it in your head, or type your answer. "
    "<b>Show answer</b> turns the question into the short answer and its key points: tick "
    "the ones you recalled and I suggest a rating. <b>Full answer</b> has the whole "
    "explanation.\n\n"
    "Rate honestly: <b>1</b> no idea (it comes back at the end of the session), <b>2</b> "
    "partial, <b>3</b> got it. Each button says when the item comes back; FSRS spaced "
    "repetition picks the day, just before you would forget. <b>Change rating</b> stays for "
    "10 minutes; <b>Skip</b> brings an item back tomorrow; <b>Know it cold</b> puts it away."
)
START = (
    "<b>Hi! I help you prepare for ML and LLM interviews.</b>\n"
    "{items} items: concept questions, quick quizzes, deep explanations and derivations, "
    "spaced so each one comes back just before you would forget it.\n\n"
    "Every day I send what is due. {push}\n\n"
    "Try 10 now, or send /help for every command."
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot does and how to use it; subscribes a private chat."""
    if context.args and await links.open_start_payload(update, context, context.args[0]):
        return
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    await user_id_of(update, context)
    d = deps(context)
    current = await d.run(d.chats.get, chat.id)
    if chat.type == ChatType.PRIVATE and (current is None or not current.subscribed):
        await subscribe(update, context)
    push = await next_push_text(update, context)  # HTML already
    text = START.format(items=len(d.study.catalog), push=push)
    await message.reply_text(text, reply_markup=start_keyboard())


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: the commands."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(HELP + HOW)


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
        f"Your progress was deleted ({plural(deleted, 'review')}). Send /study to start afresh."
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any command the bot does not know."""
    message = update.effective_message
    if message is not None:
        await message.reply_text("I don't know that command. /help lists what I can do.")


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
