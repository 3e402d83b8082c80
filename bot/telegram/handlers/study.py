"""/study, /cancel and the study buttons: question -> Show answer -> rating -> next item."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.core.content import TYPE_ALIASES, answer_markdown
from bot.core.render import render_html
from bot.core.srs import GRADE_LABELS, Grade
from bot.telegram.callbacks import Action
from bot.telegram.deps import deps, user_id_of
from bot.telegram.group_messages import post_items
from bot.telegram.handlers.basic import pressed_message
from bot.telegram.handlers.groups import group_study
from bot.telegram.keyboards import change_keyboard, done_keyboard, rating_keyboard
from bot.telegram.messages import (
    REFUSALS,
    TEXT_LIMIT,
    answer_query,
    edit_or_send,
    escape,
    present,
    question_parts,
    send_parts,
    send_question,
    set_markup,
)

logger = logging.getLogger(__name__)
MAX_ITEMS = 50
DEFAULT_ITEMS = 10
USAGE = (
    "Usage: /study [N] [type], e.g. /study 20 quiz (N 1-50; types: concepts, quiz, deep, derive)"
)


def parse_study_args(args: list[str]) -> tuple[int, str | None, str]:
    """(count, type, notice) from ``/study`` arguments.

    Raises:
        ValueError: with the one-line usage answer.
    """
    n, item_type, notice = DEFAULT_ITEMS, None, ""
    if len(args) > 2:
        raise ValueError(USAGE)
    for arg in args:
        low = arg.strip().lower()
        if low.lstrip("+-").isdigit():
            n = int(low)
            if n < 1:
                raise ValueError(f"Choose at least 1 item. {USAGE}")
            if n > MAX_ITEMS:
                notice = f"{n} is more than {MAX_ITEMS}; studying {MAX_ITEMS}."
                n = MAX_ITEMS
        elif low in TYPE_ALIASES and item_type is None:
            item_type = TYPE_ALIASES[low]
        else:
            raise ValueError(f"I don't understand “{escape(arg[:30])}”. {USAGE}")
    return n, item_type, notice


async def study_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/study [N] [type]: start a session of N items (default 10)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    try:
        n, item_type, notice = parse_study_args(context.args or [])
    except ValueError as exc:
        await message.reply_text(str(exc))
        return
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await group_study(update, context, n if context.args else 3)
        return
    d = deps(context)
    user_id = await user_id_of(update, context)
    started = await d.run(
        d.study.start_session,
        user_id,
        n,
        d.clock(),
        d.tz(chat.id),
        item_type=item_type,
        chat_id=chat.id,
    )
    notes = [x for x in (notice, started.notice) if x]
    if notes:
        await message.reply_text("Note: " + "; ".join(escape(x) for x in notes) + ".")
    if not started.session_id:
        await message.reply_text(
            "Nothing to study right now: nothing is due and no new items "
            "are left. Come back tomorrow!"
        )
        return
    await present(context.bot, chat.id, started.session_id, d)


async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: end the current session here (ratings given so far are kept)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    session_id = await d.run(d.study.active_session, user_id, chat.id)
    if not session_id:
        await message.reply_text("No session in progress. Send /study to start one.")
        return
    await d.run(d.study.close, session_id, d.clock())
    await present(context.bot, chat.id, session_id, d)


async def open_item(update: Update, context: ContextTypes.DEFAULT_TYPE, item_id: str) -> bool:
    """Study one item now (/item, a /find result): a one-item session, in a group a post.

    Returns False, having changed nothing, when there is no item with that id.
    """
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    item = await d.run(d.study.item, item_id)
    if item is None:
        return False
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await post_items(context.bot, chat.id, [item.id], d)
        return True
    user_id = await user_id_of(update, context)
    started = await d.run(d.study.start_item_session, user_id, item.id, d.clock(), chat.id)
    await present(context.bot, chat.id, started.session_id, d)
    return True


# The two presses of every item (Show answer, a rating) each take one worker-thread call and one
# transaction; the session's owner is checked by Telegram id in the same query.
async def reveal_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Show answer] under a question: the answer, with the rating buttons under it."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id = message.chat_id
    d = deps(context)
    refusal, cur = await d.run(d.study.reveal, cb.id, cb.position, telegram_id=query.from_user.id)
    if refusal:
        await answer_query(query, REFUSALS[refusal], show_alert=refusal != "revealed")
        return
    await answer_query(query)
    if cur is None:
        return
    last_question = question_parts(cur)[-1]
    rating = rating_keyboard(Action.RATE, cb.id, cb.position)
    if isinstance(last_question, str):
        parts = render_html(answer_markdown(cur.item), TEXT_LIMIT, prefix=last_question)
        first, rest = parts[0], parts[1:]
        assert isinstance(first, str)
        await edit_or_send(message, first, context.bot, chat_id, None if rest else rating)
        if rest:
            await send_parts(context.bot, chat_id, rest, d, rating)
    else:
        await set_markup(message, None)
        await send_parts(
            context.bot, chat_id, render_html(answer_markdown(cur.item), TEXT_LIMIT), d, rating
        )


async def rate_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A rating under an answer: record it, then the next question or the summary."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id = message.chat_id
    d = deps(context)
    result = await d.run(
        d.study.answer,
        cb.id,
        cb.position,
        cb.grade,
        d.clock(),
        telegram_id=query.from_user.id,
        tz=d.tz(chat_id),
    )
    if not result.present:
        await answer_query(query, REFUSALS[result.reason], show_alert=result.reason != "duplicate")
        return
    label = GRADE_LABELS[Grade(result.rating)]
    if result.recorded:
        later = (
            "it comes back at the end of this session"
            if result.retry_added
            else f"next review in {max(1, round(result.interval_days))} day(s)"
        )
        await answer_query(query, f"Recorded: {label} — {later}.")
    else:  # recorded before, by a press whose reply never went out: it goes out now
        await answer_query(query, f"Already recorded: {label}.")
    await set_markup(message, change_keyboard(result.review_id, f"✓ {result.rating} · {label}"))
    if result.next is not None:
        await send_question(context.bot, chat_id, result.next, d)
    else:  # the session is over: its summary
        await present(context.bot, chat_id, cb.id, d)


async def skip_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Skip] under a question: the item comes back tomorrow; the next one now."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id = message.chat_id
    d = deps(context)
    user_id = await user_id_of(update, context)
    refusal = await d.run(d.study.skip, cb.id, cb.position, d.clock(), user_id, d.tz(chat_id))
    if refusal:
        await answer_query(query, REFUSALS[refusal], show_alert=refusal != "duplicate")
        return
    await answer_query(query, "Skipped: it comes back tomorrow.")
    await set_markup(message, done_keyboard("Skipped"))
    await present(context.bot, chat_id, cb.id, d)
