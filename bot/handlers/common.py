"""What every handler shares: the dependencies, the clock, sending rendered parts."""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ParamSpec, TypeVar

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest
from telegram.ext import ContextTypes
from telegram.warnings import PTBUserWarning

from bot.charts import FormulaError, formula_png
from bot.chats import ChatService, ChatSettings
from bot.config import Settings
from bot.render import Formula
from bot.services import StudyService

logger = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH


@dataclass
class Deps:
    """Services and state the handlers use; stored in ``application.bot_data["deps"]``."""

    service: StudyService
    chats: ChatService
    settings: Settings
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    photo_ids: dict[tuple[str, bool], str] = field(default_factory=dict)
    stats_asked: dict[int, float] = field(default_factory=dict)
    zones: dict[int, tzinfo] = field(default_factory=dict)  # chats seen active, with their zone

    _db_threads: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run database work in the database thread(s), off the event loop.

        SQLite takes one writer at a time, and a writer that finds the database locked sleeps
        (1, 2, 5, 10 ms...) before it tries again: transactions from several threads of one
        process mostly wait on each other that way. So with SQLite the bot's database work
        runs in one thread, one transaction after the other; PostgreSQL gets four.
        """
        if self._db_threads is None:
            sqlite = self.settings.database_url.startswith("sqlite")
            self._db_threads = ThreadPoolExecutor(1 if sqlite else 4, thread_name_prefix="db")
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_threads, call)

    async def draw(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run slow work that is not the database's (drawing) in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def tz(self, chat_id: int) -> tzinfo:
        """The chat's time zone (UTC until the chat sets one)."""
        return self.zones.get(chat_id, UTC)

    def remember(self, chat: ChatSettings) -> None:
        if chat.active:
            self.zones[chat.chat_id] = chat.tz
        else:
            self.zones.pop(chat.chat_id, None)


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    found = context.application.bot_data["deps"]
    assert isinstance(found, Deps)
    return found


async def touch_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: registers the chat, reactivates it after a block/removal."""
    chat = update.effective_chat
    if chat is None:
        return
    d = deps(context)
    if chat.id in d.zones:
        return
    title = chat.title or chat.full_name or ""
    settings = await d.run(d.chats.ensure, chat.id, chat.type, title, d.clock())
    d.remember(settings)


async def user_id_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The learner id of whoever sent this update (registered on first contact)."""
    user = update.effective_user
    assert user is not None
    d = deps(context)
    return await d.run(d.service.telegram_user, user.id, user.first_name or "", d.clock())


async def answer_query(
    query: CallbackQuery, text: str | None = None, show_alert: bool = False
) -> None:
    """Answer a button press; a press delivered twice can only be answered once, so a second
    answer's "query is too old" is expected and ignored."""
    kwargs: dict[str, Any] = {"callback_query_id": query.id}
    if text:
        kwargs["text"] = text
    if show_alert:
        kwargs["show_alert"] = True
    try:  # as query.answer() would send it (see send_text for why not through it)
        await query.get_bot().do_api_request("answerCallbackQuery", api_kwargs=kwargs)
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
    kwargs: dict[str, Any] = {
        "chat_id": chat_id,
        "photo": photo,
        "caption": escape(formula.text[: CAPTION_LIMIT - 24]),
        "parse_mode": "HTML",
    }
    if markup is not None:
        kwargs["reply_markup"] = markup
    result = await bot.do_api_request("sendPhoto", api_kwargs=kwargs)
    sizes = result.get("photo") if isinstance(result, dict) else None
    if sizes:  # Telegram keeps the photo: later sends name it by its file_id
        d.photo_ids[key] = str(sizes[-1]["file_id"])


# The calls the bot makes most (a question or formula sent, an item's buttons replaced) go through
# Bot.do_api_request: the bot never reads the message that Telegram sends back, and building a
# telegram.Message from it (every entity of the text an object) costs more CPU than the whole
# request. PTB suggests the named method whenever one exists; here that is on purpose.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.\w+' instead of 'Bot\.do_api_request",
    category=PTBUserWarning,
)
# What the bot's Defaults add to a named call; do_api_request does not apply them.
_DEFAULTS: dict[str, Any] = {"parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}


async def send_text(
    bot: Any, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> int:
    """``sendMessage`` as ``bot.send_message`` would send it; returns the message id."""
    kwargs: dict[str, Any] = {"chat_id": chat_id, "text": text, **_DEFAULTS}
    if markup is not None:
        kwargs["reply_markup"] = markup
    result = await bot.do_api_request("sendMessage", api_kwargs=kwargs)
    return int(result["message_id"])


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
        if message.text is not None:  # without building a Message from the answer
            kwargs: dict[str, Any] = {
                "chat_id": message.chat_id,
                "message_id": message.message_id,
                "text": text,
                **_DEFAULTS,
            }
            if markup is not None:
                kwargs["reply_markup"] = markup
            await message.get_bot().do_api_request("editMessageText", api_kwargs=kwargs)
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
    kwargs: dict[str, Any] = {"chat_id": message.chat_id, "message_id": message.message_id}
    if markup is not None:
        kwargs["reply_markup"] = markup
    try:
        await message.get_bot().do_api_request("editMessageReplyMarkup", api_kwargs=kwargs)
    except BadRequest as exc:
        reason = exc.message.lower()
        if not ("not modified" in reason or "not found" in reason or "can't be edited" in reason):
            raise
