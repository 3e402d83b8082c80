"""The Telegram edge: build the Application (builder, Defaults, rate limiter, handlers), run it."""

from __future__ import annotations

import asyncio
import functools
import gc
import io
import logging
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import AsyncExitStack, redirect_stderr
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.config import Settings, Webhook
from bot.core.content import Catalog, answer_markdown
from bot.core.formulas import FormulaCache
from bot.core.render import Formula, split_display
from bot.services.container import open_services
from bot.telegram import handlers
from bot.telegram.deps import Deps, deps_of
from bot.telegram.handlers.basic import COMMANDS
from bot.telegram.jobs import restore_jobs
from bot.telegram.ratelimit import FloodLimiter
from bot.telegram.request import BotApiRequest, env_proxy
from bot.telegram.webhook import serving_webhook

logger = logging.getLogger(__name__)
# A pause between two getUpdates calls: while people are busy, each call then brings the updates
# of those 10 ms together instead of one or two (each call and its parsing cost about as much as
# an answer); an idle bot waits in its long poll as before.
POLL_INTERVAL = 0.01
REDACTED = "<token>"
REDACTED_SECRET = "<webhook-secret>"
# PTB's loggers that print what people wrote at DEBUG: the Bot's (ExtBot's) shows every call's
# parameters and answer, getUpdates' among them; the Application's "Processing update ..." shows
# the update; the Updater's webhook handler shows the data it received. They stay at INFO
# whatever LOG_LEVEL says.
PEOPLES_WORDS_AT_DEBUG = (
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",
    "telegram.ext.Updater",
)


class Redactor:
    """Replaces the bot token and the webhook secret in a text."""

    def __init__(self, token: str, webhook_secret: str | None = None) -> None:
        # The token's secret half on its own too: a URL-encoded token ("123%3AAA...") shows
        # only that.
        pairs = [(token, REDACTED), (token.partition(":")[2], REDACTED)]
        if webhook_secret:
            pairs.append((webhook_secret, REDACTED_SECRET))
        self._pairs = [(secret, mark) for secret, mark in pairs if secret]

    def __call__(self, text: str) -> str:
        for secret, mark in self._pairs:
            text = text.replace(secret, mark)
        return text


def redact_record(record: logging.LogRecord, redact: Redactor) -> None:
    """Clean a record's message, traceback and stack in place."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format: the handler reports it, as it would without us
        return
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info:
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        record.exc_text = redact(text)
        if record.exc_text != text:
            # Formatters print exc_text when it is set; without exc_info none can format the
            # traceback afresh, with the token in it.
            record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _printed_redacted(hook: Callable[..., Any], redact: Redactor) -> Callable[..., None]:
    """``hook`` (which prints to stderr) with its text cleaned before it reaches stderr."""

    def redacting_hook(*args: Any) -> None:
        text = io.StringIO()
        with redirect_stderr(text):
            hook(*args)
        sys.stderr.write(redact(text.getvalue()))

    return redacting_hook


def install_redaction(redact: Redactor) -> None:
    """Keep the token and the webhook secret out of every log line and printed traceback.

    A log record factory rather than a filter on the root logger's handlers: every record of
    every logger is made by the factory, so a handler added later, or one of a logger that does
    not propagate to the root, only ever sees cleaned records. Uncaught exceptions bypass
    logging: the interpreter prints them with sys.excepthook (threading.excepthook in a thread,
    sys.unraisablehook in a __del__), so each of those prints cleaned text too.
    """
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact_record(record, redact)
        return record

    logging.setLogRecordFactory(redacting_factory)
    sys.excepthook = _printed_redacted(sys.excepthook, redact)
    threading.excepthook = _printed_redacted(threading.excepthook, redact)
    sys.unraisablehook = _printed_redacted(sys.unraisablehook, redact)


def quiet_loggers() -> None:
    """Raise the loggers that would print people's messages or the token (see above)."""
    level = logging.getLogger().level
    for name in PEOPLES_WORDS_AT_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, level))
    # httpx (which PTB imports) prints request URLs, with the token in them, at INFO.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, level))


async def _post_init(app: Application) -> None:  # type: ignore[type-arg]
    await app.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])
    # The modules, the catalog and the daily jobs live as long as the process: once the jobs
    # exist, the collector need not look at them again (see run_bot).
    chats = await restore_jobs(app, then=gc.freeze)
    logger.info("daily push scheduled for %d chat(s)", chats)
    logger.info("bot @%s started", app.bot.username)
    d = deps_of(app)
    d.start_predraw(functools.partial(_catalog_formulas, d.study.catalog))


def _catalog_formulas(catalog: Catalog) -> list[tuple[str, bool]]:
    """Every display formula of the items, once each, in the order a new learner meets them."""
    found: dict[tuple[str, bool], None] = {}
    for item in catalog.in_curriculum_order():
        for text in (item.question, answer_markdown(item)):
            for part in split_display(text):
                if isinstance(part, Formula):
                    found.setdefault((part.latex, part.boxed))
    return list(found)


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
        .request(
            BotApiRequest(connection_pool_size=32, read_timeout=settings.read_timeout, proxy=proxy)
        )
        .get_updates_request(BotApiRequest(connection_pool_size=1, proxy=proxy))
        .concurrent_updates(True)
    )
    if settings.rate_limiter:
        # Telegram's limits, with people served before the daily push and, in a group, replies
        # before posts (see FloodLimiter; posts pass rate_limit_args, see ratelimit.Priority).
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
        formulas=FormulaCache(settings.cache_dir / "formulas" if settings.cache_dir else None),
    )


class StartFailed(Exception):
    """The bot could not start; the message says why in one line, without the token."""


def _why_not_started(exc: Exception) -> str:
    """One line for a failed start, from what failed."""
    if isinstance(exc, InvalidToken):
        # PTB's message shows the token; the server's answer ("Unauthorized" for a wrong token,
        # "Not Found" for a wrong TELEGRAM_BASE_URL) is its cause.
        answer = exc.__cause__ if isinstance(exc.__cause__, TelegramError) else exc
        return (
            f"the Bot API answered {answer.message!r}: check TELEGRAM_BOT_TOKEN "
            "(as @BotFather gave it) and TELEGRAM_BASE_URL"
        )
    if isinstance(exc, NetworkError):
        return f"cannot reach the Bot API ({exc.message}): check the network and TELEGRAM_BASE_URL"
    if isinstance(exc, TelegramError):
        return f"the Bot API refused to start the bot: {exc.message}"
    return f"cannot start: {exc}"  # the webhook's address: taken, or not this machine's


async def _start(
    app: Application,  # type: ignore[type-arg]
    webhook: Webhook | None,
    running: AsyncExitStack,
) -> None:
    """What run_polling or run_webhook does before it waits; each undoing goes on ``running``."""
    if webhook is not None:  # first: an address that is taken fails before anything starts
        await running.enter_async_context(serving_webhook(app, webhook))
    await running.enter_async_context(app)  # initialize: getMe checks the token and base URL
    if app.post_init:
        await app.post_init(app)
    await app.start()
    if app.post_stop:
        running.push_async_callback(app.post_stop, app)  # unwound after app.stop, as PTB does
    running.push_async_callback(app.stop)
    if webhook is None:
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=POLL_INTERVAL, allowed_updates=Update.ALL_TYPES
        )
        running.push_async_callback(app.updater.stop)
    else:
        # It stays registered at the stop, as with PTB's run_webhook: other processes behind a
        # load balancer may share it, and Telegram keeps the updates for the next start.
        await app.bot.set_webhook(
            webhook.url, secret_token=webhook.secret, allowed_updates=Update.ALL_TYPES
        )


async def _run(app: Application, webhook: Webhook | None) -> None:  # type: ignore[type-arg]
    """Start the bot, serve until SIGINT or SIGTERM, stop it.

    By hand rather than with run_polling/run_webhook, as PTB's customwebhookbot example does:
    the webhook needs a server of our own (bot/telegram/webhook.py), and a start that fails
    must end in one line, while PTB's run_* log the refused token in a traceback and leave the
    HTTP sessions open.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with AsyncExitStack() as running:
            try:
                await _start(app, webhook, running)
            except (TelegramError, OSError) as exc:
                raise StartFailed(_why_not_started(exc)) from None
            await stopping.wait()
    finally:
        await app.bot.shutdown()  # no-op unless getMe failed: then its sessions are still open
        if app.post_shutdown:
            await app.post_shutdown(app)


def run_bot(settings: Settings, webhook: Webhook | None = None) -> int:
    """Run until SIGINT/SIGTERM, by long polling or as a webhook server; return the exit code.

    A start that fails (the token refused, a wrong TELEGRAM_BASE_URL, no network, the webhook's
    address taken) ends with one line on stderr and exit code 2. Several webhook processes can
    share one PostgreSQL database behind a load balancer: handlers keep no state that matters
    between updates, and the push claim is in the database.
    """
    assert settings.token
    redact = Redactor(settings.token, webhook.secret if webhook else None)
    install_redaction(redact)
    quiet_loggers()
    # Garbage collection: a push allocates over a million short-lived objects (130 cards per
    # learner), and with the default thresholds the collector ran 30 full passes over everything
    # the bot holds (10,000 daily jobs among it) during a push to 10,000 chats: 14% of its CPU.
    # These objects are freed by reference counting; a larger first generation and rarer older
    # passes leave the collector 3% (bench/run.py). What lives for the whole run is moved out of
    # its way once the daily jobs exist (gc.freeze once the daily jobs exist, _post_init).
    gc.set_threshold(10_000, 50, 100)
    app = build_application(settings, make_deps(settings))
    try:
        asyncio.run(_run(app, webhook))
    except StartFailed as exc:
        print(f"studybot: {redact(str(exc))}", file=sys.stderr)
        return 2
    logger.info("bot stopped")
    return 0
