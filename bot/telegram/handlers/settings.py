"""/daily, /size, /timezone and /settings: each chat's push time, zone, size and quiet hours,
and in a learner's own chat their interview date.

In groups only administrators may change settings (checked with getChatMember). Every
confirmation says when the next push really comes, in the chat's zone, or that it is off.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import ForceReply, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.core.inputs import parse_exam_date
from bot.core.schedule import (
    MAX_DAILY_SIZE,
    QUIET_HOURS,
    AmbiguousZone,
    ChatSettings,
    parse_zone,
    split_time,
    utc_offset,
    when,
    zone_label,
)
from bot.core.text import long_day, plural
from bot.services.chats import ChatView
from bot.telegram.callbacks import Callback
from bot.telegram.deps import deps, user_id_of
from bot.telegram.jobs import schedule_chat
from bot.telegram.keyboards import quiz_polls_row, settings_keyboard, zone_choice_keyboard
from bot.telegram.messages import answer_query, escape

TIME_EXAMPLE = (
    "Example: /daily 08:30 Europe/Berlin (or /daily 8am, /daily 8:30 pm new york, "
    "/daily 20h +05:30, /daily off)"
)
ZONE_EXAMPLE = (
    "Example: /timezone Europe/Berlin (or a city: /timezone sao paulo, "
    "an abbreviation: /timezone CET, an offset: /timezone +05:30)"
)
ZONE_PROMPT = (
    "Which time zone? Type a city (Berlin, New York), a zone name (CET) or an offset (+05:30)."
)
EXAM_PROMPT = "When is your interview? E.g. 2027-01-20, 20 Jan, in 3 weeks, next friday."
ADMINS = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
ADMINS_ONLY = "Only the group's administrators can change its settings."
# A question /settings asked ("type a city"), waiting for the text that answers it.
PENDING = "settings_pending"
PENDING_FOR = timedelta(minutes=10)


@dataclass(frozen=True)
class Pending:
    """What the next text of ``user_id`` in this chat is taken as, until ``until``."""

    what: str  # "zone" or "exam"
    user_id: int  # Telegram's: in a group, only the administrator who asked answers
    until: datetime


def next_push_line(chat: ChatSettings, at: datetime | None, now: datetime) -> str:
    """ "Next push: tomorrow 08:00 (Europe/Berlin)", or that the push is off."""
    if at is None:
        return "Daily push: off."
    return f"Next push: {when(at, now, chat.tz)} ({escape(chat.timezone)})"


def describe(view: ChatView, now: datetime, *, personal: bool = False) -> str:
    """Everything /settings shows, a line per setting."""
    chat = view.settings
    size = (
        f"{plural(chat.group_items, 'item')} per push"
        if chat.is_group
        else f"up to {plural(chat.daily_size, 'item')} per push"
    )
    offset = utc_offset(chat.timezone, now)
    zone = escape(chat.timezone) + (f", now {offset}" if offset != chat.timezone else "")
    lines = ["<b>Settings</b>"]
    if view.next_push is None:
        lines.append(f"Daily push: off (set for {chat.push_time})")
    else:
        lines += [
            f"Daily push: on, at {chat.push_time} ({escape(chat.timezone)})",
            next_push_line(chat, view.next_push, now),
        ]
    lines += [
        f"Time zone: {zone}",
        f"Size: {size}",
        f"Quiet hours: {chat.quiet or 'none'}",
    ]
    if personal:
        exam = view.exam
        lines.append(
            f"Interview date: {f'{exam:%a} {exam.day} {exam:%b %Y}' if exam else 'not set'}"
        )
    return "\n".join(lines)


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Private chats: always. Groups: administrators only."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMINS


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


def _personal(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def chat_view(update: Update, context: ContextTypes.DEFAULT_TYPE) -> ChatView:
    """The chat's settings and next push, with the learner's interview date in their own
    chat."""
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context) if _personal(update) else None
    return await d.run(d.chats.view, chat.id, d.clock(), user_id)


async def settings_reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[str, InlineKeyboardMarkup]:
    """The /settings message and its buttons, as they are now."""
    view = await chat_view(update, context)
    personal = _personal(update)
    d = deps(context)
    text = describe(view, d.clock(), personal=personal)
    keyboard = settings_keyboard(view.settings, personal=personal, exam=view.exam)
    if view.settings.is_group:  # quiz polls: handlers/groups.py
        polls = await d.run(d.groups.quiz_polls, view.settings.chat_id)
        keyboard = InlineKeyboardMarkup([*keyboard.inline_keyboard, quiz_polls_row(polls)])
    return text, keyboard


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE, head: str = "") -> None:
    """Answer a change with ``head`` and the settings now (the next push among them)."""
    message = update.effective_message
    assert message is not None
    text, keyboard = await settings_reply(update, context)
    await message.reply_text(f"{head}\n\n{text}" if head else text, reply_markup=keyboard)


async def next_push_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """ "Next push: tomorrow 08:00 (Europe/Berlin)" for this chat, or that the push is off."""
    view = await chat_view(update, context)
    return next_push_line(view.settings, view.next_push, deps(context).clock())


async def _ask_which_zone(
    context: ContextTypes.DEFAULT_TYPE,
    message: Message,
    ambiguous: AmbiguousZone,
    push_time: str = "",
) -> None:
    """Offer a button per zone an abbreviation may mean (``push_time`` is set with it)."""
    now = deps(context).clock()
    choices = ", ".join(f"{zone_label(z)} ({utc_offset(z, now)})" for z in ambiguous.choices)
    await message.reply_text(
        f"{escape(ambiguous.text)} may mean several zones: {escape(choices)}. Which one?",
        reply_markup=zone_choice_keyboard(ambiguous.choices, push_time),
    )


async def daily_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/daily TIME [ZONE] | on | off."""
    message = update.effective_message
    assert message is not None
    text = " ".join(context.args or [])
    if not await may_change_or_say(update, context):
        return
    if not text:
        await message.reply_text(
            f"Usage: /daily TIME [ZONE], /daily on, /daily off. {TIME_EXAMPLE}"
        )
        return
    if text.lower() in ("on", "off"):
        await apply_changes(update, context, subscribed=text.lower() == "on")
        await confirm(update, context)
        return
    try:
        push_time, rest = split_time(text)
    except ValueError:
        await message.reply_text(f"I can't read “{escape(text)}” as a time. {TIME_EXAMPLE}")
        return
    try:
        zone_name = parse_zone(rest) if rest else None
    except AmbiguousZone as ambiguous:
        await _ask_which_zone(context, message, ambiguous, push_time)
        return
    except ValueError:
        await message.reply_text(f"I don't know the time zone “{escape(rest)}”. {TIME_EXAMPLE}")
        return
    changes: dict[str, object] = {"push_time": push_time, "subscribed": True}
    if zone_name:
        changes["timezone"] = zone_name
    await apply_changes(update, context, **changes)
    await confirm(update, context)


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
    await apply_changes(update, context, **{field: int(args[0])})
    await confirm(update, context)


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone ZONE: an IANA name, a city, an abbreviation or an offset."""
    message = update.effective_message
    assert message is not None
    text = " ".join(context.args or [])
    if not await may_change_or_say(update, context):
        return
    if not text:
        await message.reply_text(f"Usage: /timezone ZONE. {ZONE_EXAMPLE}")
        return
    try:
        zone_name = parse_zone(text)
    except AmbiguousZone as ambiguous:
        await _ask_which_zone(context, message, ambiguous)
        return
    except ValueError:
        await message.reply_text(f"I don't know the time zone “{escape(text)}”. {ZONE_EXAMPLE}")
        return
    await apply_changes(update, context, timezone=zone_name)
    await confirm(update, context)


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/settings: everything, with buttons to change each."""
    message = update.effective_message
    assert message is not None
    text, keyboard = await settings_reply(update, context)
    await message.reply_text(text, reply_markup=keyboard)


def _changes(arg: str, current: ChatSettings) -> dict[str, object] | None:
    """The settings a button changes (None: not a change of the chat's settings)."""
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
        "q0": {"quiet": ""},
        "q1": {"quiet": QUIET_HOURS},
    }
    if arg in options:
        return options[arg]
    if not arg.startswith("z:"):
        return None
    name, _, push_time = arg[2:].partition("@")
    changes: dict[str, object] = {"timezone": parse_zone(name)}  # forged data: ValueError
    if push_time:
        changes |= {"push_time": split_time(push_time)[0], "subscribed": True}
    return changes


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The /settings buttons (and the zones offered for an ambiguous one)."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and chat is not None and user is not None
    if not await may_change(update, context):
        await answer_query(query, ADMINS_ONLY, show_alert=True)
        return
    d = deps(context)
    arg = Callback.from_match(context.match).arg
    if arg in ("e?", "e0") and not _personal(update):  # the interview date is personal
        await answer_query(query, "This button is no longer valid.", show_alert=True)
        return
    if arg in ("z?", "e?"):
        await answer_query(query)
        await _ask(update, context, "zone" if arg == "z?" else "exam")
        return
    if arg == "e0":
        user_id = await user_id_of(update, context)
        await d.run(d.progress.set_exam, user_id, None, d.clock(), d.tz(chat.id))
    else:
        current = await d.run(d.chats.get, chat.id)
        assert current is not None
        try:
            changes = _changes(arg, current)
        except ValueError:
            changes = None
        if changes is None:
            await answer_query(query, "This button is no longer valid.", show_alert=True)
            return
        await apply_changes(update, context, **changes)
    await answer_query(query, "Saved.")
    text, keyboard = await settings_reply(update, context)
    if isinstance(query.message, Message):
        with contextlib.suppress(BadRequest):  # unchanged: the zone it had, the largest size
            await query.message.edit_text(text, reply_markup=keyboard)


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, what: str) -> None:
    """Ask for a zone or a date, and take the asker's next text in this chat as the answer."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None and context.chat_data is not None
    d = deps(context)
    context.chat_data[PENDING] = Pending(what, user.id, d.clock() + PENDING_FOR)
    prompt = ZONE_PROMPT if what == "zone" else EXAM_PROMPT
    if chat.type != ChatType.PRIVATE:
        # A bot in a group sees only the replies to its own messages: ForceReply makes one,
        # for the administrator it names (selective).
        prompt = f'<a href="tg://user?id={user.id}">{escape(user.first_name)}</a>: {prompt}'
    placeholder = "Berlin" if what == "zone" else "in 3 weeks"
    await context.bot.send_message(
        chat.id,
        prompt,
        reply_markup=ForceReply(selective=True, input_field_placeholder=placeholder),
    )


async def typed_setting(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The text that answers a question /settings asked (a zone, an interview date).

    Runs before every other handler for each text message; it takes the text only when a
    question waits for its sender in this chat (then no other handler sees it). A command, or
    ten minutes without an answer, drops the question.
    """
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    if message.chat_id not in context.application.chat_data:  # (reading would create it)
        return
    chat_data = context.chat_data
    assert chat_data is not None
    pending = chat_data.get(PENDING)
    if not isinstance(pending, Pending) or pending.user_id != user.id:
        return
    d = deps(context)
    if message.text.startswith("/") or pending.until < d.clock():
        del chat_data[PENDING]
        return
    text = message.text.strip()
    if pending.what == "zone":
        await _take_zone(update, context, text)
    else:
        await _take_exam(update, context, text)
    raise ApplicationHandlerStop


async def _take_zone(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    message = update.effective_message
    assert message is not None and context.chat_data is not None
    try:
        zone_name = parse_zone(text)
    except AmbiguousZone as ambiguous:
        context.chat_data.pop(PENDING, None)
        await _ask_which_zone(context, message, ambiguous)
        return
    except ValueError:
        await message.reply_text(
            f"I don't know the time zone “{escape(text)}”. Try a big city near you "
            "(Berlin, New York) or an offset (+05:30)."
        )
        return
    context.chat_data.pop(PENDING, None)
    await apply_changes(update, context, timezone=zone_name)
    await confirm(update, context)


async def _take_exam(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None and context.chat_data is not None
    d = deps(context)
    try:
        exam = parse_exam_date(text, d.clock(), d.tz(chat.id))
    except ValueError as exc:
        await message.reply_text(f"{escape(str(exc))}. {EXAM_PROMPT}")
        return
    context.chat_data.pop(PENDING, None)
    user_id = await user_id_of(update, context)
    await d.run(d.progress.set_exam, user_id, exam, d.clock(), d.tz(chat.id))
    await confirm(update, context, f"Interview on {long_day(exam)}.")
