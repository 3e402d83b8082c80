"""Messages: an item's question and answer as Telegram parts, and the send and edit helpers
that the handlers and the daily push share."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit
from telegram.error import BadRequest

from bot.core.formulas import FormulaError, formula_png
from bot.core.render import Formula, render_html
from bot.core.srs import GRADE_LABELS, Grade
from bot.services.study import Current
from bot.telegram.deps import Deps
from bot.telegram.keyboards import question_keyboard

logger = logging.getLogger(__name__)
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
REFUSALS = {
    "unknown": "This button is no longer valid.",
    "foreign": "This button belongs to someone else's session.",
    "finished": "This session has ended. Send /study to start a new one.",
    "stale": "That item is not the current one.",
    "duplicate": "Already recorded.",
    "revealed": "The answer is already shown.",
    "hidden": "Show the answer first.",
}


async def answer_query(
    query: CallbackQuery, text: str | None = None, show_alert: bool = False
) -> None:
    """Answer a button press; a press delivered twice can only be answered once, so a second
    answer's "query is too old" is expected and ignored."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as exc:
        if (
            "query is too old" not in exc.message.lower()
            and "query id is invalid" not in exc.message.lower()
        ):
            raise
        logger.debug("callback query %s already answered", query.id)


def escape(text: str) -> str:
    return html.escape(text, quote=False)


async def send_formula(
    bot: Any, chat_id: int, formula: Formula, d: Deps, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A display formula as a photo (cached by formula), its Unicode form as the caption.

    A formula that mathtext cannot draw is sent as Unicode text in <code> instead.
    """
    key = (formula.latex, formula.boxed)
    file_id = d.photo_ids.get(key)
    photo: str | InputFile
    if file_id is not None:
        photo = file_id
    else:
        try:
            png = await d.draw(formula_png, formula.latex, formula.boxed)
        except FormulaError:
            await send_text(bot, chat_id, f"<code>{escape(formula.text)}</code>", markup)
            return
        photo = InputFile(png, filename="formula.png")
    caption = escape(formula.text[: CAPTION_LIMIT - 24])
    message = await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup)
    if message.photo:  # Telegram keeps the photo: later sends name it by its file_id
        d.photo_ids[key] = message.photo[-1].file_id


async def send_text(
    bot: Any, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """Send one HTML message (the Application's Defaults); return its message id."""
    message = await bot.send_message(chat_id, text, reply_markup=markup)
    return int(message.message_id)


async def send_parts(
    bot: Any,
    chat_id: int,
    parts: Sequence[str | Formula],
    d: Deps,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send messages and formula photos in order; the keyboard goes on the last one."""
    for k, part in enumerate(parts):
        keyboard = markup if k == len(parts) - 1 else None
        if isinstance(part, Formula):
            await send_formula(bot, chat_id, part, d, keyboard)
        else:
            await send_text(bot, chat_id, part, keyboard)


async def edit_or_send(
    message: Message, text: str, bot: Bot, chat_id: int, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit a message's text; if the user deleted it, send the text as a new message."""
    try:
        if message.text is not None:
            await message.edit_text(text, reply_markup=markup)
        else:
            await message.edit_caption(text, reply_markup=markup)
    except BadRequest as exc:
        reason = exc.message.lower()
        if "not modified" in reason:
            return
        if "not found" in reason or "can't be edited" in reason:
            await bot.send_message(chat_id, text, reply_markup=markup)
            return
        raise


async def set_markup(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Replace a message's buttons; a deleted or unchanged message is not an error."""
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        reason = exc.message.lower()
        if not ("not modified" in reason or "not found" in reason or "can't be edited" in reason):
            raise


def question_parts(cur: Current) -> list[str | Formula]:
    item = cur.item
    again = " · once more" if cur.retry else ""
    lead = f"<b>{escape(cur.lead)}</b>\n\n" if cur.lead else ""
    if cur.hint:
        lead += f"⚠️ <i>{escape(cur.hint)}</i>\n\n"
    head = (
        f"{lead}<i>{cur.number}/{cur.total} · {item.type} · {escape(item.category)} · "
        f"difficulty {item.difficulty}/5{again}</i>\n<b>{escape(item.title)}</b>"
    )
    return render_html(item.question, TEXT_LIMIT, prefix=head)


async def send_question(bot: Any, chat_id: int, cur: Current, d: Deps) -> None:
    """An item's question, with its buttons under the last part."""
    keyboard = question_keyboard(cur.session_id, cur.position)
    await send_parts(bot, chat_id, question_parts(cur), d, keyboard)
    await d.run(d.study.presented, cur.session_id, cur.position)


async def present(bot: Any, chat_id: int, session_id: int, d: Deps) -> None:
    """Send the session's current item, or its summary when it is over."""
    cur = await d.run(d.study.current, session_id)
    if cur is not None:
        await send_question(bot, chat_id, cur, d)
        return
    await d.run(d.study.close, session_id, d.clock())
    s = await d.run(d.study.summary, session_id, d.clock(), d.tz(chat_id))
    minutes, secs = divmod(int(s.seconds), 60)
    spent = f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {s.ratings[g]}" for g in (1, 2, 3))
    await bot.send_message(
        chat_id,
        f"<b>Session complete</b>\nRated {s.reviewed}: {counts}\n"
        f"Time: {spent} · due tomorrow: {s.due_tomorrow} · streak: {s.streak_days} "
        f"day{'s' if s.streak_days != 1 else ''}\nSend /study for more, /stats for progress.",
    )
    await d.run(d.study.presented, session_id, s.position)
