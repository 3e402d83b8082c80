"""Group study: items posted for everyone, revealed once, rated by each member for themselves."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.core.content import Item
from bot.core.render import Formula
from bot.core.srs import GRADE_LABELS, Grade
from bot.services.groups import Tally
from bot.telegram.callbacks import Action
from bot.telegram.deps import deps, user_id_of
from bot.telegram.group_messages import NAME_CHARS, group_answer, post_items, tally_line
from bot.telegram.handlers.basic import pressed_message
from bot.telegram.keyboards import rating_keyboard
from bot.telegram.messages import answer_query, edit_or_send, escape, send_parts, set_markup

logger = logging.getLogger(__name__)


async def group_study(update: Update, context: ContextTypes.DEFAULT_TYPE, n: int) -> None:
    """/study N in a group: post N items the same way as the daily push."""
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    item_ids = await d.run(d.groups.pick_items, chat.id, n, d.clock())
    if not item_ids:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Nothing left to post right now.")
        return
    await post_items(context.bot, chat.id, item_ids, d)


async def _edit_tally(message: Message, item: Item, tally: Tally, post_id: int) -> None:
    last = group_answer(item)[-1]
    markup = rating_keyboard(Action.GROUP_RATE, post_id)
    try:
        if isinstance(last, Formula) or message.text is None:
            caption = escape(last.text if isinstance(last, Formula) else "")[:600]
            await message.edit_caption(f"{caption}\n{tally_line(tally)}", reply_markup=markup)
        else:
            await message.edit_text(f"{last}\n\n{tally_line(tally)}", reply_markup=markup)
    except BadRequest as exc:  # deleted, or two presses gave the same tally
        logger.debug("tally not updated: %s", exc.message)


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
    parts = group_answer(item)
    rating = rating_keyboard(Action.GROUP_RATE, post_id)
    first = parts[0]
    if isinstance(first, str) and message.text is not None:
        rest = parts[1:]
        await edit_or_send(message, first, context.bot, chat_id, None if rest else rating)
        if rest:
            await send_parts(context.bot, chat_id, rest, d, rating)
    else:
        await set_markup(message, None)
        await send_parts(context.bot, chat_id, parts, d, rating)


async def group_rate_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A rating under a group post's answer: the presser's own, and the post's tally."""
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
    assert result.tally is not None
    await _edit_tally(message, result.item, result.tally, cb.id)


async def group_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats in a group: the last 7 days' leaderboard and the group's progress."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    st = await d.run(d.groups.group_stats, chat.id, d.clock(), d.tz(chat.id))
    lines = ["<b>Leaderboard, last 7 days</b>"]
    if not st.leaderboard:
        lines.append("No ratings yet this week: press a rating under a posted item.")
    for rank, row in enumerate(st.leaderboard[:15], start=1):
        lines.append(
            f"{rank}. {escape(row.name[:NAME_CHARS])} — {row.reviews} reviews, "
            f"{row.got_it_share:.0%} got it, streak {row.streak} d"
        )
    lines.append(
        f"\n<b>Group progress</b>\n{st.items_posted} of {st.total_items} items posted "
        f"({st.posts} posts), {st.ratings} ratings by {st.members} member"
        f"{'s' if st.members != 1 else ''}."
    )
    await message.reply_text("\n".join(lines))
