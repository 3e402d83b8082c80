"""Webhook mode: a small aiohttp server that hands Telegram's updates to the Application.

Why not PTB's ``run_webhook``: its tornado server reads a request's whole body (up to 100 MiB)
before it looks at the secret header, so anyone who can reach the port can make the process
buffer that much per request. As PTB's ``examples/customwebhookbot.py`` does, the Application
is started by hand instead (``run_bot``) and this server puts each update into
``application.update_queue``. It checks the ``X-Telegram-Bot-Api-Secret-Token`` header before
it reads a byte of the body, and refuses a body over :data:`MAX_BODY_SIZE`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import Webhook

logger = logging.getLogger(__name__)

# Telegram's updates are a few KiB (a message is at most 4096 characters, with its entities and
# the message it replies to): 1 MiB leaves room for any of them and none for a flood.
MAX_BODY_SIZE: Final = 1024 * 1024
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"


def _refusal(request: web.BaseRequest, secret: bytes) -> web.HTTPException | None:
    """Why ``request`` is refused before its body is read; None when it may be read."""
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(given, secret):  # in constant time: no guessing it bit by bit
        return web.HTTPForbidden()
    length = request.content_length
    if length is not None and length > MAX_BODY_SIZE:
        return web.HTTPRequestEntityTooLarge(max_size=MAX_BODY_SIZE, actual_size=length)
    return None


def webhook_app(application: Application, webhook: Webhook) -> web.Application:  # type: ignore[type-arg]
    """The web application: a POST to the webhook's path with the secret -> the update queue."""
    secret = webhook.secret.encode()

    async def receive(request: web.Request) -> web.Response:
        """Check the secret and the declared size, then read the update and queue it."""
        refusal = _refusal(request, secret)
        if refusal is not None:
            logger.debug("webhook request refused: %s", refusal.reason)
            raise refusal
        try:
            # Past client_max_size (a body sent without Content-Length) this raises 413.
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except web.HTTPException:
            raise
        except Exception:  # what was sent is people's messages: it is not logged
            logger.warning("webhook request with the right secret but no valid update: refused")
            raise web.HTTPBadRequest() from None
        if not application.running:
            # Stopping: an update queued now would never be handled. Telegram sends it again
            # later (to this process once restarted, or to another one).
            raise web.HTTPServiceUnavailable()
        await application.update_queue.put(update)
        return web.Response()

    app = web.Application(client_max_size=MAX_BODY_SIZE)
    app.router.add_post("/" + webhook.path, receive)
    return app


@asynccontextmanager
async def serving_webhook(
    application: Application,  # type: ignore[type-arg]
    webhook: Webhook,
) -> AsyncIterator[None]:
    """Listen on the webhook's address (and stop listening on exit).

    Updates are queued only while ``application`` is running; the caller registers the URL
    with Telegram (``set_webhook``) once it is.
    """
    runner = web.AppRunner(
        webhook_app(application, webhook),
        access_log=None,  # a line per update says nothing; refusals are logged at DEBUG
        # A refused request's connection is closed at once, rather than its body read and
        # thrown away for up to 10 s (aiohttp's default "lingering").
        lingering_time=0,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, webhook.listen, webhook.port).start()
        logger.info(
            "webhook mode: listening on %s:%s/%s", webhook.listen, webhook.port, webhook.path
        )
        yield
    finally:
        await runner.cleanup()
