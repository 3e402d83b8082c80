"""Deep links into a person's private chat with the bot, and personal commands sent in a group.

A group sees nothing personal: [Full answer] under a group post and a member's /weak, /export...
in a group are answered in the member's private chat. Where the bot has not met the member
there, a ``t.me/<bot>?start=<payload>`` link starts that chat, and the /start it sends (with the
payload) opens what was asked, after the start screen for someone new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram import Bot, Chat, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler, ContextTypes, filters
from telegram.helpers import create_deep_linked_url

from bot.core.content import answer_markdown
from bot.core.inputs import category_label
from bot.core.render import render_html
from bot.telegram.deps import deps
from bot.telegram.handlers.settings import may_change
from bot.telegram.keyboards import link_keyboard
from bot.telegram.messages import TEXT_LIMIT, escape, send_parts

logger = logging.getLogger(__name__)

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
FULL_ANSWER = "full-"  # payload prefix: the item id follows
# bot_data keys: what a payload opens (set up by ``register``).
_START = "links.start"
_PERSONAL = "links.personal"


def start_url(bot: Bot, payload: str) -> str:
    """The ``t.me`` link that starts the private chat with the bot and sends /start payload."""
    assert bot.username is not None  # known once the Application is initialised (getMe)
    return create_deep_linked_url(bot.username, payload)


def full_answer_url(bot: Bot, item_id: str) -> str:
    """The [Full answer] link of an item (item ids fit a payload: letters, digits, dashes)."""
    return start_url(bot, FULL_ANSWER + item_id)


def register(
    app: Application,  # type: ignore[type-arg]
    start: Callback,
    personal: Mapping[str, Callback],
    command_filter: filters.BaseFilter,
    group_settings: frozenset[str] = frozenset(),
) -> None:
    """Add the personal commands' handlers (answered in private when sent in a group) and
    remember what the payloads open: ``start`` is the plain /start (the start screen)."""
    app.bot_data[_START] = start
    app.bot_data[_PERSONAL] = dict(personal)
    for command, callback in personal.items():
        wrapped = in_private(command, callback, admins_keep=command in group_settings)
        app.add_handler(CommandHandler(command, wrapped, filters=command_filter))


def in_private(command: str, callback: Callback, *, admins_keep: bool = False) -> Callback:
    """``callback`` for a personal command: in a group it answers in the member's private
    chat instead (the handler itself unchanged); ``admins_keep``: a group admin's is the
    group's own (settings)."""

    async def personal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        in_group = chat is not None and chat.type != ChatType.PRIVATE
        if not in_group or update.effective_user is None:
            await callback(update, context)
        elif admins_keep and await may_change(update, context):
            await callback(update, context)  # the group's own settings
        else:
            await answer_in_private(update, context, command, callback)

    personal.__doc__ = callback.__doc__
    return personal


async def answer_in_private(
    update: Update, context: ContextTypes.DEFAULT_TYPE, command: str, callback: Callback
) -> None:
    """Run a group member's personal command as if sent in their private chat; the group gets
    one line, or a link to start that chat when the bot cannot write there."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    d = deps(context)
    known = await d.run(d.chats.get, user.id)
    if known is not None and known.active:
        d.remember(known)
        private = _in_private_chat(update, context.bot)
        try:
            await callback(private, context)
        except (Forbidden, BadRequest) as exc:  # blocked since, or never really started
            logger.info("cannot answer /%s in private: %s", command, exc.message)
        else:
            await message.reply_text("Sent to you in private.")
            return
    await send_pointer(update, context, command)


async def send_pointer(update: Update, context: ContextTypes.DEFAULT_TYPE, command: str) -> None:
    """A one-line pointer from a group to the private chat, where /``command`` is answered."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        f"/{escape(command)} is personal: I answer it in a private chat.",
        reply_markup=link_keyboard("Open a private chat", start_url(context.bot, command)),
    )


def _in_private_chat(update: Update, bot: Bot) -> Update:
    """The update as if its message had been sent in the sender's private chat: a handler's
    ``reply_text`` then goes there (unquoted: the group's message is not in that chat)."""
    user = update.effective_user
    assert user is not None and update.message is not None
    chat = Chat(
        user.id,
        ChatType.PRIVATE,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
    )
    data = update.to_dict()
    data["message"]["chat"] = chat.to_dict()
    private = Update.de_json(data, bot)
    assert private is not None
    return private


async def open_start_payload(
    update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str
) -> bool:
    """/start with a payload (a ``t.me`` link's) in a private chat: open what it names, after
    the start screen for someone the bot has not met. False for a payload that names nothing:
    the plain /start answers then."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or message is None or chat.type != ChatType.PRIVATE:
        return False
    d = deps(context)
    personal: Mapping[str, Callback] = context.bot_data.get(_PERSONAL, {})
    if payload.startswith(FULL_ANSWER):
        item = d.study.catalog.get(payload.removeprefix(FULL_ANSWER))
    elif payload in personal:
        item = None
    else:
        return False
    context.args = []  # what follows sees a bare command, not the payload
    current = await d.run(d.chats.get, chat.id)
    # touch_chat made the row; only a push schedule (/start, /daily) shows the person has
    # been here before.
    if current is None or (current.schedule_from is None and not current.subscribed):
        start: Callback = context.bot_data[_START]
        await start(update, context)
    if payload in personal:
        await personal[payload](update, context)
        return True
    if item is None:
        await message.reply_text("That item is no longer available. Send /study for others.")
        return True
    category = escape(category_label(item.category))
    head = f"<i>{item.type} · {category}</i>\n<b>{escape(item.title)}</b>"
    parts = render_html(item.question, TEXT_LIMIT, prefix=head)
    parts += render_html(answer_markdown(item), TEXT_LIMIT)
    await send_parts(context.bot, chat.id, parts, d)
    return True
