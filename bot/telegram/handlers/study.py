"""/study, /cancel, typed answers and the study buttons: question -> Show answer (or a typed
answer) -> key points ticked -> rating -> next item."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.core.content import TYPE_ALIASES
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import plural, sentence
from bot.services.study import Current, Started
from bot.telegram.deps import Deps, deps, user_id_of
from bot.telegram.group_messages import post_items
from bot.telegram.handlers.basic import pressed_message
from bot.telegram.handlers.groups import group_study
from bot.telegram.keyboards import (
    change_keyboard,
    done_keyboard,
    rating_label,
    retick,
    session_choice_keyboard,
    without_full,
)
from bot.telegram.messages import (
    REFUSALS,
    answer_query,
    clear_buttons,
    escape,
    full_answer_parts,
    present,
    send_parts,
    send_question,
    send_summary,
    set_markup,
    show_reveal,
)

logger = logging.getLogger(__name__)
MAX_ITEMS = 50
DEFAULT_ITEMS = 10
USAGE = (
    "Usage: /study [N] [type], e.g. /study 20 quiz (N 1-50; types: concepts, quiz, deep, derive)"
)
NO_SESSION_HINT = "Send /study to start a session, or /help to see everything I can do."


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
                notice = f"A session has at most {MAX_ITEMS} items."
                n = MAX_ITEMS
        elif low in TYPE_ALIASES and item_type is None:
            item_type = TYPE_ALIASES[low]
        else:
            raise ValueError(f"I don't understand “{escape(arg[:30])}”. {USAGE}")
    return n, item_type, notice


def _wanted(n: int, item_type: str | None) -> str:
    """A session asked for, as the data of a [Start new] button: "10" or "10-quiz"."""
    return f"{n}-{item_type}" if item_type else str(n)


async def study_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/study [N] [type]: start a session of N items (default 10); with one open, ask first."""
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
    cur = await d.run(d.study.open_current, user_id, chat.id)
    if cur is not None:
        left = cur.total - cur.number + 1
        await message.reply_text(
            f"You have a session open: {plural(left, 'item')} left of {cur.total}.",
            reply_markup=session_choice_keyboard(cur.session_id, left, _wanted(n, item_type)),
        )
        return
    await start_study(context, chat.id, user_id, n, item_type, notice)


async def start_study(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    user_id: int,
    n: int,
    item_type: str | None = None,
    notice: str = "",
) -> None:
    """Open a session in a private chat (ending the open one there) and send its first item."""
    d = deps(context)
    started = await d.run(
        d.study.start_session, user_id, n, d.clock(), d.tz(chat_id), item_type=item_type,
        chat_id=chat_id,
    )  # fmt: skip
    await end_buttons(context, started)
    notes = " ".join(sentence(escape(x)) for x in (notice, started.notice) if x)
    if notes:
        await context.bot.send_message(chat_id, notes)
    if not started.session_id:
        await context.bot.send_message(
            chat_id,
            "Nothing to study right now: nothing is due and no new items are left. "
            "Come back tomorrow!",
        )
        return
    await present(context.bot, chat_id, started.session_id, d)


async def end_buttons(context: ContextTypes.DEFAULT_TYPE, started: Started) -> None:
    """Take the buttons off the messages of the sessions a new one replaced."""
    for ended in started.ended:
        await clear_buttons(context.bot, ended.chat_id, ended.message_id)


async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel: end the current session here (ratings given so far are kept)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    cur = await d.run(d.study.open_current, user_id, chat.id)
    session_id = cur.session_id if cur else await d.run(d.study.active_session, user_id, chat.id)
    if not session_id:
        await message.reply_text("No session in progress. Send /study to start one.")
        return
    await d.run(d.study.close, session_id, d.clock())
    if cur is not None:
        await clear_buttons(context.bot, chat.id, cur.message_id)
    summary = await d.run(d.study.summary, session_id, d.clock(), d.tz(chat.id))
    if not summary.reviewed:
        await message.reply_text("Cancelled. Nothing was recorded.")
        return
    await send_summary(context.bot, chat.id, session_id, d, "Session ended early")


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
    await end_buttons(context, started)
    await present(context.bot, chat.id, started.session_id, d)
    return True


async def typed_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text in a private chat: during a session, before the reveal, an answer attempt (which
    key points it covered, then the answer with the suggested rating marked); after the
    reveal, a pointer to the buttons; outside a session, the /study hint."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    typed = await d.run(d.study.typed_answer, user_id, chat.id, message.text or "", d.clock())
    if typed.status == "none":
        await message.reply_text(NO_SESSION_HINT)
        return
    if typed.status == "revealed" or typed.current is None or typed.attempt is None:
        await message.reply_text("Rate with the buttons above, or /cancel.")
        return
    cur, attempt = typed.current, typed.attempt
    ticks = sum(1 << k for k, hit in enumerate(attempt.covered) if hit)
    await show_reveal(context.bot, chat.id, cur.message_id, cur, d, ticks)
    await message.reply_text(coverage_line(attempt.covered))


def coverage_line(covered: tuple[bool, ...]) -> str:
    """ "You covered 2 of 5 key points (1, 3); missed 2, 4, 5. The answer is above: …"."""
    hit = [str(k) for k, c in enumerate(covered, start=1) if c]
    missed = [str(k) for k, c in enumerate(covered, start=1) if not c]
    if not covered:
        return "The answer is above: rate yourself with its buttons."
    if not hit:
        said = f"Your answer matched none of the {len(covered)} key points."
    elif not missed:
        said = f"You covered all {len(covered)} key points."
    else:
        said = (
            f"You covered {len(hit)} of {plural(len(covered), 'key point')} "
            f"({', '.join(hit)}); missed {', '.join(missed)}."
        )
    return f"{said} The answer is above; 👉 marks the rating this suggests."


# A press is one transaction (Deps.run); the session's owner is checked by Telegram id in the
# same query.
async def reveal_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Show answer] under a question: the question becomes the short answer and key points,
    with the checklist, the ratings and [Full answer] under it."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    d = deps(context)
    refusal, cur, again = await d.run(
        d.study.reveal, cb.id, cb.position, d.clock(), telegram_id=query.from_user.id
    )
    if refusal or cur is None:
        await answer_query(query, REFUSALS[refusal or "unknown"], show_alert=True)
        return
    if again and cur.message_id not in (None, message.message_id):
        # shown already, and its buttons are further down (under the full answer)
        await answer_query(query, REFUSALS["revealed"])
        return
    await answer_query(query)
    # A repeated press (or one redelivered after a crash) shows the same again: the edit is
    # idempotent, so the chat ends up showing the answer whichever handling got there.
    await show_reveal(context.bot, message.chat_id, message.message_id, cur, d)


async def tick_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A key point ticked or unticked: the checklist and the suggested rating change (the
    buttons carry the state: nothing is stored)."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    await answer_query(query)
    if isinstance(message.reply_markup, InlineKeyboardMarkup):
        await set_markup(message, retick(message.reply_markup, int(cb.arg)))


async def full_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Full answer]: the full answer below (formulas as images); the checklist and the ratings
    move to its last message."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    d = deps(context)
    refusal, cur, _again = await d.run(
        d.study.claim_full_answer,
        cb.id,
        cb.position,
        message.message_id,
        telegram_id=query.from_user.id,
    )
    if refusal or cur is None:
        await answer_query(query, REFUSALS[refusal or "unknown"], show_alert=refusal != "sent")
        return
    await answer_query(query)
    markup = message.reply_markup
    keyboard = without_full(markup) if isinstance(markup, InlineKeyboardMarkup) else None
    last = await send_parts(context.bot, message.chat_id, full_answer_parts(cur), d, keyboard)
    await set_markup(message, None)
    await d.run(d.study.moved_buttons, cur.session_id, last or None)


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
    grade = Grade(result.rating)
    if result.recorded:
        interval = result.interval_days
        label = rating_label(grade, interval, result.retry_added)
        await answer_query(query, f"Recorded: {label}")
    else:  # recorded before, by a press whose reply never went out: it goes out now
        label = f"{int(grade)} · {GRADE_LABELS[grade]}"
        await answer_query(query, f"Already recorded: {label}")
    await set_markup(message, change_keyboard(result.review_id, f"✓ {label}"))
    if result.next is not None:
        await send_question(context.bot, chat_id, result.next, d)
    else:  # the session is over: its summary
        await present(context.bot, chat_id, cb.id, d)


async def skip_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Skip] under a question: the item comes back tomorrow; the next one now."""
    await set_aside(update, context, suspend=False)


async def set_aside(update: Update, context: ContextTypes.DEFAULT_TYPE, *, suspend: bool) -> None:
    """[Skip] or [Know it cold] (``suspend``: until the learner brings it back) under a
    question: the item is put aside, the next one comes now."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id = message.chat_id
    d = deps(context)
    user_id = await user_id_of(update, context)
    refusal = await d.run(
        d.study.skip, cb.id, cb.position, d.clock(), user_id, d.tz(chat_id), suspend
    )
    if refusal:
        await answer_query(query, REFUSALS[refusal], show_alert=refusal != "duplicate")
        return
    if suspend:
        await answer_query(
            query, "Suspended: it won't come back until you bring it back (/suspended)."
        )
    else:
        await answer_query(query, "Skipped: it comes back tomorrow.")
    await set_markup(message, done_keyboard("Know it cold" if suspend else "Skipped"))
    await present(context.bot, chat_id, cb.id, d)


async def continue_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Continue] (asked by /study with a session open): the open session's item again, here
    at the bottom of the chat; its old message loses its buttons."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    d = deps(context)
    user_id = await user_id_of(update, context)
    cur = await d.run(d.study.open_current, user_id, message.chat_id, d.clock())
    if cur is None or cur.session_id != cb.id:
        await answer_query(query, REFUSALS["finished"], show_alert=True)
        await set_markup(message, None)
        return
    await answer_query(query)
    await set_markup(message, None)
    await resume(context, message.chat_id, cur, d)


async def resume(context: ContextTypes.DEFAULT_TYPE, chat_id: int, cur: Current, d: Deps) -> None:
    """Show a session's current item anew at the bottom of the chat: its question, or its
    answer when that was shown; the old message loses its buttons."""
    await clear_buttons(context.bot, chat_id, cur.message_id)
    if cur.answer_shown:
        await show_reveal(context.bot, chat_id, None, cur, d)
    else:
        await send_question(context.bot, chat_id, cur, d)


async def study_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Study 10 now], [10 more], [Start new]: a new session of that size (and type)."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    try:  # the data is what /study would be given: checked the same way
        n, item_type, notice = parse_study_args([a for a in cb.arg.split("-") if a])
    except ValueError as exc:
        await answer_query(query, str(exc), show_alert=True)
        return
    await answer_query(query)
    if message.chat.type != ChatType.PRIVATE:
        return
    await set_markup(message, None)  # one press, one session
    user_id = await user_id_of(update, context)
    await start_study(context, message.chat_id, user_id, n, item_type, notice)
