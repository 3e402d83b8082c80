"""The one error handler: log with the traceback, tell the user briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden
from telegram.ext import ContextTypes

logger = logging.getLogger(__name__)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log first; then, where possible, say that something went wrong."""
    if isinstance(context.error, Forbidden):  # the user blocked the bot: nothing to say
        logger.info("forbidden while handling an update: %s", context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, "Sorry, something went wrong. Please try again."
            )
        except Exception:  # the error may be that we cannot send at all
            logger.warning("could not tell chat %s about the error", update.effective_chat.id)
