"""Messages: an item's question and answer as Telegram parts, and the send and edit helpers
that the handlers and the daily push share."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest, TelegramError

from bot.core.content import full_answer_markdown
from bot.core.formulas import FormulaError
from bot.core.inputs import category_label
from bot.core.render import Formula, html_length, render_compact, render_html
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import duration, plural
from bot.services.study import Current
from bot.telegram.deps import Deps
from bot.telegram.keyboards import answer_keyboard, question_keyboard, summary_keyboard

logger = logging.getLogger(__name__)
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH
# A revealed answer is one message a phone shows whole: question, short answer, key points.
REVEAL_LIMIT = 1500
REFUSALS = {
    "unknown": "This button is no longer valid.",
    "foreign": "This button belongs to someone else's session.",
    "finished": "This session has ended. Send /study to start a new one.",
    "stale": "That item is not the current one.",
    "duplicate": "Already recorded.",
    "revealed": "The answer is already shown.",
    "hidden": "Show the answer first.",
    "sent": "The full answer is already below.",
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
) -> int:
    """A display formula as a photo (cached by formula), its Unicode form as the caption;
    returns the message id.

    A formula that mathtext cannot draw is sent as Unicode text in <code> instead. One that is
    in neither the memory nor the disk cache is drawn (50 ms, or over a second in a process
    that has not drawn yet): "sending a photo..." shows in the chat meanwhile.
    """
    key = (formula.latex, formula.boxed)
    file_id = d.photo_ids.get(key)
    photo: str | InputFile
    if file_id is not None:
        photo = file_id
    else:
        try:
            png = await d.cached_formula(formula.latex, formula.boxed)
            if png is None:
                try:
                    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
                except TelegramError as exc:  # only a courtesy: the photo still goes
                    logger.debug("chat action in %s not sent: %s", chat_id, exc)
                png = await d.draw_formula(formula.latex, formula.boxed)
        except FormulaError:
            return await send_text(bot, chat_id, f"<code>{escape(formula.text)}</code>", markup)
        photo = InputFile(png, filename="formula.png")
    caption = escape(formula.text[: CAPTION_LIMIT - 24])
    message = await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup)
    if message.photo:  # Telegram keeps the photo: later sends name it by its file_id
        d.photo_ids[key] = message.photo[-1].file_id
    return int(message.message_id)


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
) -> int:
    """Send messages and formula photos in order; the keyboard goes on the last one, whose
    message id is returned (0 when there was nothing to send)."""
    last = 0
    for k, part in enumerate(parts):
        keyboard = markup if k == len(parts) - 1 else None
        if isinstance(part, Formula):
            last = await send_formula(bot, chat_id, part, d, keyboard)
        else:
            last = await send_text(bot, chat_id, part, keyboard)
    return last


def edit_refused(exc: BadRequest) -> str:
    """Why Telegram refused an edit when that is nobody's fault: "unchanged" (the message shows
    that already), "gone" (deleted, too old to edit, or without text to edit), else ""."""
    reason = exc.message.lower()
    if "not modified" in reason:
        return "unchanged"
    if "not found" in reason or "can't be edited" in reason or "no text" in reason:
        return "gone"
    return ""


async def set_markup(message: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Replace a message's buttons; a deleted or unchanged message is not an error."""
    try:
        await message.edit_reply_markup(reply_markup=markup)
    except BadRequest as exc:
        if not edit_refused(exc):
            raise


def _head(cur: Current, *, lead: bool = True) -> str:
    """ "3/10 · concept · Transformers · difficulty 3/5" and the title (and, above them, a
    push's opening line and a leech's hint)."""
    item = cur.item
    again = " · once more" if cur.retry else ""
    top = f"<b>{escape(cur.lead)}</b>\n\n" if cur.lead and lead else ""
    if cur.hint:
        top += f"⚠️ <i>{escape(cur.hint)}</i>\n\n"
    category = escape(category_label(item.category))
    return (
        f"{top}<i>{cur.number}/{cur.total} · {item.type} · {category} · "
        f"difficulty {item.difficulty}/5{again}</i>\n<b>{escape(item.title)}</b>"
    )


def question_parts(cur: Current) -> list[str | Formula]:
    return render_html(cur.item.question, TEXT_LIMIT, prefix=_head(cur))


def reveal_text(cur: Current) -> str:
    """What "Show answer" turns the question into: one message of at most REVEAL_LIMIT
    characters with the question, the short answer and the numbered key points (formulas in
    their Unicode form). A question too long to leave room folds into an expandable quote;
    an item without a short answer points to [Full answer]."""
    item = cur.item
    question = render_compact(item.question)
    parts = []
    if item.short_answer:
        parts.append(f"<b>Short answer</b>\n{render_compact(item.short_answer)}")
    if item.key_points:
        points = "\n".join(
            f"{k}. {render_compact(p)}" for k, p in enumerate(item.key_points, start=1)
        )
        parts.append(f"<b>Key points</b> <i>(tick the ones you recalled)</i>\n{points}")
    if not parts:
        parts.append("<i>The answer is under Full answer.</i>")
    body = "\n\n".join(parts)
    text = f"{_head(cur, lead=False)}\n{question}\n\n{body}"
    if html_length(text) > REVEAL_LIMIT:
        text = f"{_head(cur, lead=False)}\n<blockquote expandable>{question}</blockquote>\n{body}"
    return text


def full_answer_parts(cur: Current) -> list[str | Formula]:
    """[Full answer]: the answer and the follow-up questions, formulas as images."""
    item = cur.item
    return render_html(full_answer_markdown(item, f"**Full answer · {item.title}**"), TEXT_LIMIT)


async def send_question(bot: Any, chat_id: int, cur: Current, d: Deps) -> None:
    """An item's question, with its buttons under the last part."""
    keyboard = question_keyboard(cur.session_id, cur.position)
    message_id = await send_parts(bot, chat_id, question_parts(cur), d, keyboard)
    await d.run(d.study.presented, cur.session_id, cur.position, message_id or None)


async def show_reveal(
    bot: Any, chat_id: int, message_id: int | None, cur: Current, d: Deps, ticks: int = 0
) -> None:
    """Turn the question message into the revealed answer with its buttons (ticks: the key
    points already ticked); a question message that is gone (or a photo) gets the answer sent
    below instead. Records where the buttons are."""
    text, markup = reveal_text(cur), answer_keyboard(cur, ticks)
    shown = await edit_text(bot, chat_id, message_id, text, markup)
    if shown != message_id:
        await d.run(d.study.moved_buttons, cur.session_id, shown)


async def edit_text(
    bot: Any, chat_id: int, message_id: int | None, text: str, markup: InlineKeyboardMarkup | None
) -> int:
    """Edit a text message; when it cannot be (deleted, too old, a photo), take its buttons
    away and send the text as a new message. Returns the id of the message that shows it."""
    if message_id:
        try:
            await bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
            return message_id
        except BadRequest as exc:
            refused = edit_refused(exc)
            if refused == "unchanged":
                return message_id
            if not refused:
                raise
            await clear_buttons(bot, chat_id, message_id)
    return await send_text(bot, chat_id, text, markup)


async def clear_buttons(bot: Any, chat_id: int | None, message_id: int | None) -> None:
    """Take the buttons off a message (a session that ended); nothing to do is no error."""
    if not (chat_id and message_id):
        return
    try:
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except BadRequest as exc:
        if not edit_refused(exc):
            raise


async def present(bot: Any, chat_id: int, session_id: int, d: Deps) -> None:
    """Send the session's current item, or its summary when it is over."""
    cur = await d.run(d.study.current, session_id)
    if cur is not None:
        await send_question(bot, chat_id, cur, d)
        return
    await d.run(d.study.close, session_id, d.clock())
    await send_summary(bot, chat_id, session_id, d, "Session complete")


async def send_summary(bot: Any, chat_id: int, session_id: int, d: Deps, title: str) -> None:
    """A session's summary, with [10 more] [Stats]."""
    s = await d.run(d.study.summary, session_id, d.clock(), d.tz(chat_id))
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {s.ratings[g]}" for g in (1, 2, 3))
    due = f"{s.due_tomorrow} due tomorrow" if s.due_tomorrow else "nothing due tomorrow"
    await bot.send_message(
        chat_id,
        f"<b>{escape(title)}</b>\nRated {plural(s.reviewed, 'item')}: {counts}\n"
        f"Time: {duration(s.seconds)} · {due} · streak: {plural(s.streak_days, 'day')}",
        reply_markup=summary_keyboard(),
    )
    await d.run(d.study.presented, session_id, s.position)
