"""The daily push on PTB's JobQueue: one job per chat, rebuilt from the database at start-up.

Exactly once per chat and local day: ``ChatService.claim_push`` inserts a row that is unique on
(chat, local date) before anything is sent, so a restart, a retried job or a second bot process
never sends a push twice. The price is at-most-once: a crash between the claim and the send
loses that one chat's push for the day rather than risk a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, JobQueue

from bot.chats import ChatSettings

logger = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (1.0, 3.0, 9.0)


def job_name(chat_id: int) -> str:
    return f"push:{chat_id}"


def schedule_chat(job_queue: JobQueue[Any], chat: ChatSettings) -> None:
    """Replace the chat's daily job (remove, then add when subscribed and active)."""
    for job in job_queue.get_jobs_by_name(job_name(chat.chat_id)):
        job.schedule_removal()
    if chat.subscribed and chat.active:
        hours, minutes = chat.push_clock.hour, chat.push_clock.minute
        job_queue.run_daily(
            push_job,
            time=time(hours, minutes, tzinfo=chat.tz),
            name=job_name(chat.chat_id),
            chat_id=chat.chat_id,
            job_kwargs={"misfire_grace_time": 3600, "coalesce": True},
        )


async def restore_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """At start-up: one job per subscribed chat; today's missed pushes are sent now.

    A push is owed when today's push time has passed (on the chat's own calendar) and nobody
    finished it: never claimed (the bot was down) or claimed by a process that died mid-push
    (taken over when its lease runs out).
    """
    from bot.handlers.common import Deps

    d = app.bot_data["deps"]
    assert isinstance(d, Deps) and app.job_queue is not None
    chats = await d.run(d.chats.subscribed)
    now = d.clock()
    claims = await d.run(d.chats.recent_claims, (now - timedelta(days=2)).date())
    missed: list[int] = []
    retry_at: dict[int, datetime] = {}
    for chat in chats:
        schedule_chat(app.job_queue, chat)
        if not chat.owes_push(now):
            continue
        claim = claims.get((chat.chat_id, chat.local_date(now)))
        if claim is None:
            missed.append(chat.chat_id)
        elif claim[0] == "claimed":
            retry_at[chat.chat_id] = claim[1]
    if missed:
        logger.info(
            "%d chat(s) missed today's push while the bot was down; sending now", len(missed)
        )
        app.job_queue.run_once(catch_up_job, when=0.5, data=missed, name="push:catch-up")
    for chat_id, lease_end in retry_at.items():
        wait = max((lease_end - now).total_seconds(), 0.0) + 0.5
        app.job_queue.run_once(
            catch_up_job, when=wait, data=[chat_id], name=f"push:retry:{chat_id}"
        )
    return len(chats)


async def push_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily job of one chat."""
    assert context.job is not None and context.job.chat_id is not None
    await push_chat(context.application, context.job.chat_id)


async def catch_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the pushes missed while the bot was down (claims keep it at one per day)."""
    assert context.job is not None
    chat_ids: list[int] = list(context.job.data or [])  # type: ignore[call-overload]
    await asyncio.gather(*(push_chat(context.application, c) for c in chat_ids))


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Retry a Bot API call on time-outs, network errors and 429s, with backoff."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return await call()
        except RetryAfter as exc:
            if delay is None:
                raise
            wait = exc.retry_after
            await asyncio.sleep(
                wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            )
        except (TimedOut, NetworkError) as exc:
            if delay is None or isinstance(exc, (BadRequest, Forbidden)):
                raise
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


class RetryingBot:
    """The two sending calls of a Bot, retried (used for pushes, where nobody is waiting)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_message(chat_id, text, **kwargs))

    async def send_photo(self, chat_id: int, photo: Any, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_photo(chat_id, photo, **kwargs))


async def push_chat(
    app: Application[Any, Any, Any, Any, Any, Any], chat_id: int, now: datetime | None = None
) -> str:
    """Push today's items to one chat, once per local day; return what happened."""
    from bot.handlers.common import Deps
    from bot.handlers.groups import post_items
    from bot.handlers.study import present

    d = app.bot_data["deps"]
    assert isinstance(d, Deps)
    chat = await d.run(d.chats.get, chat_id)
    now = now or d.clock()
    if chat is None or not chat.owes_push(now):
        return "not due"
    day = chat.local_date(now)
    if not await d.run(d.chats.claim_push, chat_id, day, now):
        return "already pushed"
    bot = RetryingBot(app.bot)
    try:
        if chat.is_group:
            # A push cut off by a crash resumes: only the items it did not post yet.
            done = await d.run(d.chats.push_posts, chat_id, day)
            item_ids = await d.run(d.chats.pick_group_items, chat_id, chat.group_items - done, now)
            sent = done + await post_items(
                bot, chat_id, item_ids, d, push_date=day, header="" if done else "Today's items"
            )
        else:
            # One message: the due line and the first item, so a push is all-or-nothing.
            plan = await d.run(d.chats.plan_private_push, chat, now)
            sent = plan.size
            if plan.size:
                await present(bot, chat_id, plan.session_id, d)
        await d.run(d.chats.finish_push, chat_id, day, "sent" if sent else "empty", sent)
        return "sent" if sent else "empty"
    except Forbidden as exc:
        await d.run(d.chats.deactivate, chat_id)
        await d.run(d.chats.finish_push, chat_id, day, "failed", 0, str(exc))
        logger.info(
            "chat %s blocked the bot or removed it; pushes stop until it writes again", chat_id
        )
        return "forbidden"
    except Exception as exc:  # one chat's failure never stops the others
        await d.run(d.chats.finish_push, chat_id, day, "failed", 0, repr(exc))
        logger.warning("push to chat %s failed: %r", chat_id, exc)
        return "failed"
