"""The Telegram edge: build the Application (builder, Defaults, rate limiter, handlers), run it."""

from __future__ import annotations

import gc
import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings, Webhook
from bot.services.container import open_services
from bot.telegram import handlers
from bot.telegram.deps import Deps, deps_of
from bot.telegram.handlers.basic import COMMANDS
from bot.telegram.jobs import restore_jobs
from bot.telegram.ratelimit import FloodLimiter
from bot.telegram.request import BotApiRequest, env_proxy

logger = logging.getLogger(__name__)
# A pause between two getUpdates calls: while people are busy, each call then brings the updates
# of those 10 ms together instead of one or two (each call and its parsing cost about as much as
# an answer); an idle bot waits in its long poll as before.
POLL_INTERVAL = 0.01
REDACTED = "<token>"


class RedactToken(logging.Filter):
    """Replace the bot token in every record (message, arguments and traceback).

    httpx logs request URLs and PTB's debug lines show the base URL, both of which contain the
    token; a filter on the handlers catches them all, whichever logger they come from.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, REDACTED), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, REDACTED)
        if record.stack_info and self.token in record.stack_info:
            record.stack_info = record.stack_info.replace(self.token, REDACTED)
        return True


def install_redaction(token: str) -> RedactToken:
    """Attach the token filter to every handler of the root logger (and future records)."""
    flt = RedactToken(token)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flt)
    # Loggers that print URLs at INFO: keep them quiet, redaction stays as the safety net.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
    return flt


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    # The modules, the catalog and the daily jobs live as long as the process: once the jobs
    # exist, the collector need not look at them again (see run_bot).
    chats = await restore_jobs(app, then=gc.freeze)
    logger.info("daily push scheduled for %d chat(s)", chats)
    logger.info("bot @%s started", app.bot.username)


async def _post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
    deps_of(app).shutdown()


def build_application(settings: Settings, deps: Deps) -> Application:  # type: ignore[type-arg]
    """Wire the Application: base URL, HTML defaults, rate limiter, handlers, deps."""
    assert settings.token
    proxy = env_proxy(settings.base_url)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # aiohttp instead of PTB's httpx (bot/telegram/request.py says why): one instance for the
        # bot's calls and one of a single connection for getUpdates, as PTB's builder makes them.
        .request(BotApiRequest(connection_pool_size=32, proxy=proxy))
        .get_updates_request(BotApiRequest(connection_pool_size=1, proxy=proxy))
        .concurrent_updates(True)
    )
    if settings.rate_limiter:
        # Telegram's limits, with people served before the daily push (see FloodLimiter).
        builder = builder.rate_limiter(FloodLimiter(max_retries=5))  # type: ignore[arg-type]
    app = builder.build()
    app.bot_data["deps"] = deps
    handlers.register(app)
    return app


def make_deps(settings: Settings) -> Deps:
    """Open the content and the database (migrating it) and build the services."""
    s = open_services(settings)
    return Deps(
        study=s.study,
        progress=s.progress,
        chats=s.chats,
        pushes=s.pushes,
        groups=s.groups,
        settings=settings,
        close_services=s.close,
    )


def run_bot(settings: Settings, webhook: Webhook | None = None) -> int:
    """Run until SIGINT/SIGTERM, by long polling or as a webhook server; return the exit code.

    In webhook mode PTB's server answers 403 to any request without the right
    X-Telegram-Bot-Api-Secret-Token header and does not process it. Several webhook processes
    can share one PostgreSQL database behind a load balancer: handlers keep no state that
    matters between updates, and the push claim is in the database.
    """
    assert settings.token
    install_redaction(settings.token)
    if webhook is not None:
        install_redaction(webhook.secret)
    # Garbage collection: a push allocates over a million short-lived objects (130 cards per
    # learner), and with the default thresholds the collector ran 30 full passes over everything
    # the bot holds (10,000 daily jobs among it) during a push to 10,000 chats: 14% of its CPU.
    # These objects are freed by reference counting; a larger first generation and rarer older
    # passes leave the collector 3% (bench/run.py). What lives for the whole run is moved out of
    # its way once the daily jobs exist (gc.freeze once the daily jobs exist, _post_init).
    gc.set_threshold(10_000, 50, 100)
    app = build_application(settings, make_deps(settings))
    if webhook is None:
        app.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=POLL_INTERVAL)
    else:
        logger.info(
            "webhook mode: listening on %s:%s/%s", webhook.listen, webhook.port, webhook.path
        )
        app.run_webhook(
            listen=webhook.listen,
            port=webhook.port,
            url_path=webhook.path,
            webhook_url=webhook.url,
            secret_token=webhook.secret,
            allowed_updates=Update.ALL_TYPES,
        )
    logger.info("bot stopped")
    return 0
