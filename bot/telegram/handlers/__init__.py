"""Telegram handlers, one module per feature; ``register`` wires them into an Application.

Each button action has its own handler, routed by its pattern (``callbacks.pattern``).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    PollAnswerHandler,
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
    links,
    menu,
    settings,
    stats,
    study,
    welcome,
)
from bot.telegram.handlers.basic import touch_chat

# New messages only: an edited "/study 40" must not start another session.
NEW = filters.UpdateType.MESSAGE
# Commands about one person: sent in a group, they are answered in the sender's private chat
# (a group admin's /settings stays the group's own).
PERSONAL = {
    "reset": basic.reset_command,
    "settings": settings.settings_command,
    "export": account.export_command,
    "forget_me": account.forget_command,
    "exam": learner.exam_command,
    "weak": learner.weak_command,
    "drill": learner.drill_command,
}


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Add every handler, most specific first; the catch-alls come last."""
    # A zone or date that /settings asked for, typed next: taken before any other handler.
    app.add_handler(MessageHandler(NEW & filters.TEXT, settings.typed_setting), group=-2)
    app.add_handler(TypeHandler(Update, touch_chat), group=-1)
    app.add_handler(CommandHandler("start", basic.start, filters=NEW))
    app.add_handler(CommandHandler("help", basic.help_command, filters=NEW))
    app.add_handler(CommandHandler("study", study.study_command, filters=NEW))
    app.add_handler(CommandHandler("cancel", study.cancel_command, filters=NEW))
    app.add_handler(CommandHandler("stats", stats.stats_command, filters=NEW))
    # Personal commands: in a group, answered in the member's private chat (see links).
    links.register(app, basic.start, PERSONAL, NEW, group_settings=frozenset({"settings"}))
    app.add_handler(CommandHandler("daily", settings.daily_command, filters=NEW))
    app.add_handler(CommandHandler("size", settings.size_command, filters=NEW))
    app.add_handler(CommandHandler("timezone", settings.timezone_command, filters=NEW))
    app.add_handler(CommandHandler("find", find.find_command, filters=NEW))
    app.add_handler(CommandHandler("item", find.item_command, filters=NEW))
    app.add_handler(CommandHandler("plan", learner.plan_command, filters=NEW))
    app.add_handler(CommandHandler("suspended", learner.suspended_command, filters=NEW))
    app.add_handler(CommandHandler("quiet", learner.quiet_command, filters=NEW))
    # PTB hands a press without data to the first handler with a pattern: refuse those first.
    app.add_handler(CallbackQueryHandler(basic.unknown_button, game_pattern=""))
    app.add_handler(CallbackQueryHandler(study.reveal_button, pattern=pattern(Action.REVEAL)))
    app.add_handler(CallbackQueryHandler(study.rate_button, pattern=pattern(Action.RATE)))
    app.add_handler(CallbackQueryHandler(study.skip_button, pattern=pattern(Action.SKIP)))
    app.add_handler(CallbackQueryHandler(study.tick_button, pattern=pattern(Action.TICK)))
    app.add_handler(CallbackQueryHandler(study.full_button, pattern=pattern(Action.FULL)))
    app.add_handler(CallbackQueryHandler(study.continue_button, pattern=pattern(Action.CONTINUE)))
    app.add_handler(CallbackQueryHandler(study.study_button, pattern=pattern(Action.STUDY)))
    app.add_handler(CallbackQueryHandler(menu.menu_button, pattern=pattern(Action.MENU)))
    app.add_handler(CallbackQueryHandler(learner.suspend_button, pattern=pattern(Action.SUSPEND)))
    app.add_handler(
        CallbackQueryHandler(groups.group_reveal_button, pattern=pattern(Action.GROUP_REVEAL))
    )
    app.add_handler(
        CallbackQueryHandler(groups.group_rate_button, pattern=pattern(Action.GROUP_RATE))
    )
    app.add_handler(
        CallbackQueryHandler(groups.quiz_polls_button, pattern=pattern(Action.QUIZ_POLLS))
    )
    app.add_handler(PollAnswerHandler(groups.group_poll_answer))
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
    app.add_handler(CallbackQueryHandler(welcome.try_button, pattern=pattern(Action.TRY)))
    app.add_handler(CallbackQueryHandler(basic.unknown_button))  # forged or malformed data
    app.add_handler(MessageHandler(NEW & filters.COMMAND, basic.unknown_command))
    app.add_handler(MessageHandler(NEW & filters.TEXT & filters.ChatType.PRIVATE, study.typed_text))
    app.add_handler(ChatMemberHandler(welcome.bot_added, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(errors.error_handler)
