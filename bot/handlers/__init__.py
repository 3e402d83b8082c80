"""Telegram handlers, one module per feature; ``register`` wires them into an Application."""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.handlers import basic, errors, stats, study


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Add every handler, most specific first; the catch-alls come last."""
    app.add_handler(CommandHandler("start", basic.start))
    app.add_handler(CommandHandler("help", basic.help_command))
    app.add_handler(CommandHandler("study", study.study_command))
    app.add_handler(CommandHandler("cancel", study.cancel_command))
    app.add_handler(CommandHandler("stats", stats.stats_command))
    app.add_handler(CommandHandler("reset", basic.reset_command))
    app.add_handler(CallbackQueryHandler(study.button))
    app.add_handler(MessageHandler(filters.COMMAND, basic.unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & filters.ChatType.PRIVATE, basic.plain_text))
    app.add_error_handler(errors.error_handler)
