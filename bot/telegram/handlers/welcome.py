"""The welcome when the bot is added to a group, and its [Try 3 items now]."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.telegram.handlers.basic import pressed_message
from bot.telegram.handlers.groups import group_study
from bot.telegram.keyboards import welcome_keyboard
from bot.telegram.messages import answer_query, set_markup

TRY_ITEMS = 3
WELCOME = (
    "<b>Hi! I post ML and LLM interview questions for the group to study together.</b>\n"
    "Anyone can reveal an answer; everyone rates it for themselves, on their own spaced "
    "repetition schedule.\n\n"
    "An admin sets the daily post: <code>/daily HH:MM zone</code>, e.g. "
    "<code>/daily 09:00 Europe/Berlin</code>. /study 5 posts 5 items now, /help lists the rest."
)
_OUT = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)
_IN = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)


async def bot_added(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot's membership changed: when it was just added to a group, one welcome."""
    change = update.my_chat_member
    if change is None or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    if change.old_chat_member.status in _OUT and change.new_chat_member.status in _IN:
        await context.bot.send_message(change.chat.id, WELCOME, reply_markup=welcome_keyboard())


async def try_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Try 3 items now] under the welcome: posts them as /study 3 does, once."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, _button = pressed
    assert context.chat_data is not None
    tried: set[int] = context.chat_data.setdefault("welcome_tried", set())
    if message.message_id in tried:
        await answer_query(query, "Already posted: scroll down.")
        return
    tried.add(message.message_id)
    await answer_query(query)
    await set_markup(message, None)
    await group_study(update, context, TRY_ITEMS)
