"""/daily, /size, /timezone and /settings: each chat's push time, zone and size.

In groups only administrators may change settings (checked with getChatMember).
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.core.schedule import MAX_DAILY_SIZE, ChatSettings, parse_time, parse_zone
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps
from bot.telegram.jobs import schedule_chat
from bot.telegram.keyboards import settings_keyboard
from bot.telegram.messages import answer_query, escape

TIME_EXAMPLE = "Example: /daily 08:30 Europe/Berlin (or /daily 08:30 UTC+5:30, /daily off)"
ZONE_EXAMPLE = "Example: /timezone Europe/Berlin, or /timezone UTC+5:30"
ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def describe(chat: ChatSettings) -> str:
    state = "on" if chat.subscribed and chat.active else "off"
    size = (
        f"{chat.group_items} items per push"
        if chat.is_group
        else f"up to {chat.daily_size} items per push"
    )
    return (
        f"<b>Settings</b>\nDaily push: {state}, at {chat.push_time} "
        f"({escape(chat.timezone)})\nSize: {size}"
    )


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats: always. Groups: administrators only."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMINS


ADMINS_ONLY = "Only the group's administrators can change its settings."


async def may_change_or_say(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """``may_change``, answering the refusal itself when not."""
    if await may_change(update, context):
        return True
    message = update.effective_message
    if message is not None:
        await message.reply_text(ADMINS_ONLY)
    return False


async def apply_changes(
    update: Update, context: ContextTypes.DEFAULT_TYPE, **changes: object
) -> ChatSettings:
    """Change this chat's settings and reschedule its daily push."""
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    if {"subscribed", "push_time", "timezone", "quiet"} & set(changes):
        changes["schedule_from"] = d.clock()  # a new schedule owes nothing before now
    settings = await d.run(d.chats.update, chat.id, **changes)
    d.remember(settings)
    assert context.job_queue is not None
    schedule_chat(context.job_queue, settings)
    return settings


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ChatSettings:
    """Turn the daily push on for this chat (first push at the next push time)."""
    return await apply_changes(update, context, subscribed=True)


async def daily_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/daily HH:MM [zone] | on | off."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if not await may_change_or_say(update, context):
        return
    if not args:
        await message.reply_text(
            f"Usage: /daily HH:MM [zone], /daily on, /daily off. {TIME_EXAMPLE}"
        )
        return
    word = args[0].lower()
    if word in ("on", "off") and len(args) == 1:
        settings = await apply_changes(update, context, subscribed=word == "on")
        await message.reply_text(describe(settings))
        return
    try:
        push_time = parse_time(args[0])
        zone_name = parse_zone(args[1]) if len(args) > 1 else None
        if len(args) > 2:
            raise ValueError("too many words")
    except ValueError:
        await message.reply_text(f"I couldn't read that time or zone. {TIME_EXAMPLE}")
        return
    changes: dict[str, object] = {"push_time": push_time, "subscribed": True}
    if zone_name:
        changes["timezone"] = zone_name
    settings = await apply_changes(update, context, **changes)
    await message.reply_text(
        describe(settings) + "\nThe first push comes at the next push "
        "time (today if it is still ahead, otherwise tomorrow)."
    )


async def size_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/size N: items per push (1-50)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    args = context.args or []
    if not await may_change_or_say(update, context):
        return
    if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_DAILY_SIZE:
        await message.reply_text(f"Usage: /size N with N from 1 to {MAX_DAILY_SIZE}, e.g. /size 15")
        return
    field = "group_items" if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) else "daily_size"
    settings = await apply_changes(update, context, **{field: int(args[0])})
    await message.reply_text(describe(settings))


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone ZONE."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if not await may_change_or_say(update, context):
        return
    try:
        if len(args) != 1:
            raise ValueError("one zone expected")
        zone_name = parse_zone(args[0])
    except ValueError:
        await message.reply_text(f"I don't know that time zone. {ZONE_EXAMPLE}")
        return
    settings = await apply_changes(update, context, timezone=zone_name)
    await message.reply_text(describe(settings))


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: everything, with buttons for the common changes."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    settings = await d.run(d.chats.get, chat.id)
    assert settings is not None
    await message.reply_text(
        describe(settings), reply_markup=settings_keyboard(settings.subscribed)
    )


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The /settings buttons."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    if not await may_change(update, context):
        await answer_query(query, ADMINS_ONLY, show_alert=True)
        return
    d = deps(context)
    current = await d.run(d.chats.get, chat.id)
    assert current is not None
    hours, minutes = current.push_clock.hour, current.push_clock.minute
    size_field = "group_items" if current.is_group else "daily_size"
    size = current.group_items if current.is_group else current.daily_size
    options: dict[str, dict[str, object]] = {
        "on": {"subscribed": True},
        "off": {"subscribed": False},
        "h-": {"push_time": f"{(hours - 1) % 24:02d}:{minutes:02d}"},
        "h+": {"push_time": f"{(hours + 1) % 24:02d}:{minutes:02d}"},
        "s-": {size_field: max(1, size - 1)},
        "s+": {size_field: min(MAX_DAILY_SIZE, size + 1)},
    }
    changes = options[Callback.from_match(context.match).arg]
    settings = await apply_changes(update, context, **changes)
    await answer_query(query, "Saved.")
    await query.edit_message_text(
        describe(settings), reply_markup=settings_keyboard(settings.subscribed)
    )
