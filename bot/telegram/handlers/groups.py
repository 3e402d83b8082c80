"""Group study: items posted for everyone, revealed once, rated by each member for themselves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.core.content import Item
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import plural
from bot.telegram.callbacks import Action
from bot.telegram.deps import deps, user_id_of
from bot.telegram.group_messages import NAME_CHARS, group_answer, with_tally
from bot.telegram.group_sessions import run_session
from bot.telegram.handlers import links
from bot.telegram.handlers.basic import pressed_message
from bot.telegram.handlers.settings import ADMINS_ONLY, may_change
from bot.telegram.keyboards import group_answer_keyboard, quiz_polls_row
from bot.telegram.messages import answer_query, edit_refused, escape
from bot.telegram.ratelimit import Priority, with_priority

logger = logging.getLogger(__name__)


async def group_study(update: Update, context: ContextTypes.DEFAULT_TYPE, n: int) -> None:
    """/study N in a group: a group session of N items, as the daily push posts them."""
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    plan = await d.run(d.groups.start_session, chat.id, "study", n, d.clock())
    if plan is None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Nothing left to post right now.")
        return
    await run_session(context.bot, context.job_queue, chat.id, plan, d)


TALLY_EVERY = 10.0  # seconds: at most one tally edit of a post this often, however many rate


@dataclass(frozen=True)
class _TallyEdit:
    """A post's pending tally edit: where it goes and what the message shows above the tally."""

    post_id: int
    chat_id: int
    message_id: int
    text: str  # the message's text (HTML) as the last press saw it: an edit replaces its tally
    markup: InlineKeyboardMarkup | None


def _shown(message: Message) -> str:
    return message.text_html if message.text is not None else ""


def _last_edits(context: ContextTypes.DEFAULT_TYPE) -> dict[int, float]:
    """When each post of this group was last edited (its reveal or a tally), loop time.

    In memory: after a restart a post's first tally edit goes out without waiting.
    """
    edits: dict[int, float] = context.chat_data.setdefault("post_edits", {})  # type: ignore[union-attr]
    return edits


def _edited(context: ContextTypes.DEFAULT_TYPE, post_id: int) -> None:
    now = asyncio.get_running_loop().time()
    edits = _last_edits(context)
    for old in [p for p, at in edits.items() if at < now - TALLY_EVERY]:
        del edits[old]
    edits[post_id] = now


def _schedule_tally(context: ContextTypes.DEFAULT_TYPE, edit: _TallyEdit) -> None:
    """Coalesce tally edits: one per post per TALLY_EVERY at most, reading the tally when it
    goes out, so a burst of ratings costs the group's budget one message and the last state
    always lands (a rating after the edit read the tally schedules the next one)."""
    job_queue = context.job_queue
    assert job_queue is not None
    name = f"tally-{edit.chat_id}-{edit.post_id}"
    if job_queue.get_jobs_by_name(name):
        return  # the pending edit reads the tally when it goes out: this rating is in it
    last = _last_edits(context).get(edit.post_id)
    now = asyncio.get_running_loop().time()
    delay = 0.0 if last is None else max(0.0, last + TALLY_EVERY - now)
    job_queue.run_once(_edit_tally, delay, data=edit, name=name, chat_id=edit.chat_id)


async def _edit_tally(context: ContextTypes.DEFAULT_TYPE) -> None:
    """A post's coalesced tally edit, with the tally as it stands now."""
    assert context.job is not None
    edit = context.job.data
    assert isinstance(edit, _TallyEdit)
    _edited(context, edit.post_id)
    d = deps(context)
    tally = await d.run(d.groups.post_tally, edit.post_id)
    try:
        await context.bot.edit_message_text(
            with_tally(edit.text, tally),
            edit.chat_id,
            edit.message_id,
            reply_markup=edit.markup,
            **with_priority(context.bot, Priority.UPDATE),
        )
    except (BadRequest, Forbidden) as exc:  # deleted, unchanged, or the bot left the group
        logger.debug("tally not updated: %s", exc.message)


async def _reveal(
    context: ContextTypes.DEFAULT_TYPE, message: Message, item: Item, post_id: int
) -> None:
    """Edit the answer into the post, one message; where it cannot be (a photo, too long,
    deleted), the post loses its button and the answer follows as one new message."""
    bot, chat_id = context.bot, message.chat_id
    low = with_priority(bot, Priority.UPDATE)
    markup = group_answer_keyboard(post_id, links.full_answer_url(bot, item.id))
    text = group_answer(item, _shown(message)) if message.text is not None else None
    if text is not None:
        try:
            await bot.edit_message_text(
                text, chat_id, message.message_id, reply_markup=markup, **low
            )
            return
        except BadRequest as exc:
            refused = edit_refused(exc)
            if refused == "unchanged":
                return
            if not refused:
                raise
    else:
        with contextlib.suppress(BadRequest):  # deleted, or already without buttons
            await bot.edit_message_reply_markup(chat_id, message.message_id, **low)
    answer = group_answer(item) or escape(item.title)  # too long even on its own: the link
    await bot.send_message(chat_id, answer, reply_markup=markup, **low)


async def group_reveal_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Show answer] under a group post: the answer for everyone, with the rating buttons."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id, post_id = message.chat_id, cb.id
    d = deps(context)
    reason, item = await d.run(d.groups.reveal_post, post_id, chat_id)
    if reason == "revealed":
        await answer_query(query, "The answer is already shown.")
        return
    if reason or item is None:
        await answer_query(query, "This item is no longer available.", show_alert=True)
        return
    await answer_query(query)
    _edited(context, post_id)  # the first ratings' tally waits for the reveal's own budget
    await _reveal(context, message, item, post_id)


async def group_rate_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A rating under a group post's answer: the presser's own, and the post's tally (soon)."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    chat_id = message.chat_id
    d = deps(context)
    user_id = await user_id_of(update, context)
    result = await d.run(d.groups.rate_post, cb.id, chat_id, user_id, cb.grade, d.clock())
    if result.status in ("unknown", "removed") or result.item is None:
        await answer_query(query, "This item is no longer available.", show_alert=True)
        return
    label = GRADE_LABELS[Grade(cb.grade)]
    if result.status == "same":
        await answer_query(query, f"Already recorded: {label}.")
        return
    verb = "Changed to" if result.status == "changed" else "Recorded for you"
    await answer_query(query, f"{verb}: {label}.")
    edit = _TallyEdit(cb.id, chat_id, message.message_id, _shown(message), message.reply_markup)
    if message.text is not None:
        _schedule_tally(context, edit)


async def group_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats in a group: who knows most of the group's items, and the group's progress."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    st = await d.run(d.groups.group_stats, chat.id, d.clock(), d.tz(chat.id))
    lines = ["<b>Leaderboard: items known</b>"]
    if not st.leaderboard:
        lines.append("No ratings in the last 7 days: rate a posted item to join.")
    for rank, row in enumerate(st.leaderboard[:15], start=1):
        lines.append(
            f"{rank}. {escape(row.name[:NAME_CHARS])} — {row.known} known · "
            f"streak {plural(row.streak, 'day')} · {plural(row.reviews, 'review')}"
        )
    if st.leaderboard:
        lines.append(
            "<i>Known: recall above 90% a week from now. Members who rated in the last 7 days.</i>"
        )
    lines.append(
        f"\n<b>Group progress</b>\n{st.items_posted} of {st.total_items} items posted "
        f"({plural(st.posts, 'post')}), {plural(st.ratings, 'rating')} by "
        f"{plural(st.members, 'member')}."
    )
    await message.reply_text("\n".join(lines))


async def group_poll_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A member's answer to a quiz poll: their review (the correct option "Got it", a wrong
    one "No idea"). Telegram shows the result; the bot says nothing."""
    answer = update.poll_answer
    if answer is None or answer.user is None or not answer.option_ids:
        return  # an anonymous admin (voter_chat), or a retracted vote: nothing to record
    d = deps(context)
    user_id = await user_id_of(update, context)
    result = await d.run(
        d.groups.answer_poll, answer.poll_id, user_id, list(answer.option_ids), d.clock()
    )
    logger.debug("poll answer: %s", result.status)


async def quiz_polls_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The /settings row of a group: quiz items as quiz polls, on or off (admins only)."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    if message.chat.type == ChatType.PRIVATE:  # the row is a group's: forged data
        await answer_query(query, "This button is no longer valid.", show_alert=True)
        return
    if not await may_change(update, context):
        await answer_query(query, ADMINS_ONLY, show_alert=True)
        return
    d = deps(context)
    on = cb.arg == "on"
    await d.run(d.groups.set_quiz_polls, message.chat_id, on)
    await answer_query(query, "Quiz items come as quiz polls." if on else "Quiz polls are off.")
    markup = message.reply_markup
    rows = [list(row) for row in markup.inline_keyboard] if markup else []
    mine = [k for k, row in enumerate(rows) if any(_is_quiz_polls(b) for b in row)]
    if mine:
        rows[mine[0]] = quiz_polls_row(on)
    else:
        rows.append(quiz_polls_row(on))
    with contextlib.suppress(BadRequest):  # unchanged (two presses), or deleted
        await message.edit_reply_markup(InlineKeyboardMarkup(rows))


def _is_quiz_polls(button: InlineKeyboardButton) -> bool:
    data = button.callback_data
    return isinstance(data, str) and data.startswith(f"{Action.QUIZ_POLLS}:")
