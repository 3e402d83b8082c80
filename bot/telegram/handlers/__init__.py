"""Telegram handlers, one module per feature; ``register`` wires them into an Application.

Each button action has its own handler, routed by its pattern (``callbacks.pattern``).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram.callbacks import Action, pattern
from bot.telegram.handlers import (
    account,
    basic,
    errors,
    find,
    groups,
    learner,
    settings,
    stats,
    study,
)
from bot.telegram.handlers.basic import touch_chat

# New messages only: an edited "/study 40" must not start another session.
NEW = filters.UpdateType.MESSAGE


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Add every handler, most specific first; the catch-alls come last."""
    app.add_handler(TypeHandler(Update, touch_chat), group=-1)
    app.add_handler(CommandHandler("start", basic.start, filters=NEW))
    app.add_handler(CommandHandler("help", basic.help_command, filters=NEW))
    app.add_handler(CommandHandler("study", study.study_command, filters=NEW))
    app.add_handler(CommandHandler("cancel", study.cancel_command, filters=NEW))
    app.add_handler(CommandHandler("stats", stats.stats_command, filters=NEW))
    app.add_handler(CommandHandler("reset", basic.reset_command, filters=NEW))
    app.add_handler(CommandHandler("daily", settings.daily_command, filters=NEW))
    app.add_handler(CommandHandler("size", settings.size_command, filters=NEW))
    app.add_handler(CommandHandler("timezone", settings.timezone_command, filters=NEW))
    app.add_handler(CommandHandler("settings", settings.settings_command, filters=NEW))
    app.add_handler(CommandHandler("find", find.find_command, filters=NEW))
    app.add_handler(CommandHandler("item", find.item_command, filters=NEW))
    app.add_handler(CommandHandler("export", account.export_command, filters=NEW))
    app.add_handler(CommandHandler("forget_me", account.forget_command, filters=NEW))
    app.add_handler(CommandHandler("exam", learner.exam_command, filters=NEW))
    app.add_handler(CommandHandler("plan", learner.plan_command, filters=NEW))
    app.add_handler(CommandHandler("weak", learner.weak_command, filters=NEW))
    app.add_handler(CommandHandler("drill", learner.drill_command, filters=NEW))
    app.add_handler(CommandHandler("suspended", learner.suspended_command, filters=NEW))
    app.add_handler(CommandHandler("quiet", learner.quiet_command, filters=NEW))
    # PTB hands a press without data to the first handler with a pattern: refuse those first.
    app.add_handler(CallbackQueryHandler(basic.unknown_button, game_pattern=""))
    app.add_handler(CallbackQueryHandler(study.reveal_button, pattern=pattern(Action.REVEAL)))
    app.add_handler(CallbackQueryHandler(study.rate_button, pattern=pattern(Action.RATE)))
    app.add_handler(CallbackQueryHandler(study.skip_button, pattern=pattern(Action.SKIP)))
    app.add_handler(CallbackQueryHandler(learner.suspend_button, pattern=pattern(Action.SUSPEND)))
    app.add_handler(
        CallbackQueryHandler(groups.group_reveal_button, pattern=pattern(Action.GROUP_REVEAL))
    )
    app.add_handler(
        CallbackQueryHandler(groups.group_rate_button, pattern=pattern(Action.GROUP_RATE))
    )
    app.add_handler(CallbackQueryHandler(learner.change_button, pattern=pattern(Action.CHANGE)))
    app.add_handler(
        CallbackQueryHandler(learner.change_to_button, pattern=pattern(Action.CHANGE_TO))
    )
    app.add_handler(CallbackQueryHandler(basic.noop_button, pattern=pattern(Action.NOOP)))
    app.add_handler(CallbackQueryHandler(basic.reset_button, pattern=pattern(Action.RESET)))
    app.add_handler(
        CallbackQueryHandler(settings.settings_button, pattern=pattern(Action.SETTINGS))
    )
    app.add_handler(CallbackQueryHandler(find.open_button, pattern=pattern(Action.OPEN)))
    app.add_handler(CallbackQueryHandler(account.forget_button, pattern=pattern(Action.FORGET)))
    app.add_handler(
        CallbackQueryHandler(learner.unsuspend_button, pattern=pattern(Action.UNSUSPEND))
    )
    app.add_handler(CallbackQueryHandler(learner.drill_button, pattern=pattern(Action.DRILL)))
    app.add_handler(CallbackQueryHandler(basic.unknown_button))  # forged or malformed data
    app.add_handler(MessageHandler(NEW & filters.COMMAND, basic.unknown_command))
    app.add_handler(MessageHandler(NEW & filters.TEXT & filters.ChatType.PRIVATE, basic.plain_text))
    app.add_error_handler(errors.error_handler)
