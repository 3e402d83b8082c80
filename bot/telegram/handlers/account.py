"""/export and /forget_me: a learner's own data, handled in private chats only."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.core.text import plural
from bot.services import privacy as account
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers import links
from bot.telegram.jobs import job_name
from bot.telegram.keyboards import forget_keyboard
from bot.telegram.messages import answer_query


async def _in_private(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> bool:
    """True in a private chat. In a group (where registration answers these commands in
    private instead: see links.in_private) only a link to the private chat: never data."""
    chat = update.effective_chat
    assert chat is not None
    if chat.type == ChatType.PRIVATE:
        return True
    await links.send_pointer(update, context, command)
    return False


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: your review history as a CSV document."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not await _in_private(update, context, "export"):
        return
    d = deps(context)
    user_id = await d.run(account.find_user, d.study.sessions, telegram_id=user.id)
    rows = (
        []
        if user_id is None
        else await d.read(account.export_rows, d.study.sessions, d.study.catalog, user_id)
    )
    if not rows:
        await message.reply_text("Nothing to export yet: you have no reviews. Send /study.")
        return
    await message.reply_document(
        account.export_csv(rows).encode(),
        filename=f"studybot-reviews-{d.clock():%Y-%m-%d}.csv",
        caption=f"Your review history: {plural(len(rows), 'review')}, times in UTC.",
    )


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget_me: ask for confirmation with buttons."""
    message = update.effective_message
    assert message is not None
    if not await _in_private(update, context, "forget_me"):
        return
    # Registering the person here means a confirmed press always has a learner to delete,
    # also when they only ever changed settings.
    await user_id_of(update, context)
    await message.reply_text(
        "Delete everything I store about you: progress, reviews, sessions, settings and your "
        "ratings in groups (your name leaves their tallies)? This cannot be undone.",
        reply_markup=forget_keyboard(),
    )


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The answer to /forget_me's buttons: delete the presser's own data, once."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    if chat.type != ChatType.PRIVATE:
        await answer_query(query, "This button is no longer valid.", show_alert=True)
        return
    if Callback.from_match(context.match).arg != "y":
        await answer_query(query)
        await query.edit_message_text("Nothing deleted.")
        return
    d = deps(context)
    user_id = await d.run(account.find_user, d.study.sessions, telegram_id=user.id)
    gone = {} if user_id is None else await d.run(account.forget_user, d.study.sessions, user_id)
    if not gone:
        await answer_query(query, "Already done: nothing about you is stored.")
        return
    # The chat's row went with the rest: stop its daily push, and let the next message
    # register the chat afresh.
    assert context.job_queue is not None
    for job in context.job_queue.get_jobs_by_name(job_name(chat.id)):
        job.schedule_removal()
    d.zones.pop(chat.id, None)
    await answer_query(query, "Deleted.")
    await query.edit_message_text(
        f"Everything I stored about you is deleted ({plural(gone['reviews'], 'review')}, "
        f"{plural(gone['cards'], 'item schedule')}, your sessions, settings and group ratings). "
        "Write to me any time "
        "to start afresh."
    )
