"""The daily push on PTB's JobQueue: one job per chat, rebuilt from the database at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from telegram.ext import Application, ContextTypes, Job, JobQueue

from bot.core.schedule import ChatSettings
from bot.telegram.deps import deps_of
from bot.telegram.push import PushQueue, push_chats

logger = logging.getLogger(__name__)
RESTORE_SLICE = 500  # daily jobs created at start-up between two turns of the event loop


def job_name(chat_id: int) -> str:
    return f"push:{chat_id}"


def schedule_chat(job_queue: JobQueue[Any], chat: ChatSettings) -> None:
    """Replace the chat's daily job (remove, then add when subscribed and active)."""
    jobs = _daily_jobs(job_queue)
    old = jobs.pop(chat.chat_id, None)
    if old is not None and not old.removed:
        old.schedule_removal()
    if chat.subscribed and chat.active:
        clock = chat.push_clock
        jobs[chat.chat_id] = job_queue.run_custom(
            push_job,
            job_kwargs={
                "trigger": _daily(clock.hour, clock.minute, chat.tz),
                "misfire_grace_time": 3600,
                "coalesce": True,
            },
            name=job_name(chat.chat_id),
            chat_id=chat.chat_id,
        )


def _daily_jobs(job_queue: JobQueue[Any]) -> dict[int, Job[Any]]:
    """Chat id -> its daily job: finding a job by name would look through all of them."""
    jobs: dict[int, Job[Any]] = job_queue.application.bot_data.setdefault("daily_jobs", {})
    return jobs


@cache
def _daily(hour: int, minute: int, tz: tzinfo) -> CronTrigger:
    """Every day at hour:minute in tz: one trigger for all the chats that share that time."""
    return CronTrigger(hour=hour, minute=minute, second=0, timezone=tz)


async def restore_jobs(
    app: Application[Any, Any, Any, Any, Any, Any], then: Callable[[], None] | None = None
) -> int:
    """At start-up: one job per subscribed chat; today's missed pushes are sent now.

    A push is owed when today's push time has passed (on the chat's own calendar) and nobody
    finished it: never claimed (the bot was down) or claimed by a process that died mid-push
    (taken over when its lease runs out). The jobs are made by a job that runs once the bot
    polls: for thousands of chats that takes a second, which its first answers need not wait
    for. ``then`` is called when they exist. Returns how many chats get a daily push.
    """
    d = deps_of(app)
    assert app.job_queue is not None
    app.job_queue.run_once(_restore_job, when=0, data=then, name="push:restore")
    return await d.run(d.chats.count_subscribed)


async def _restore_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The work of ``restore_jobs``, between the bot's first answers."""
    app, job_queue = context.application, context.job_queue
    assert job_queue is not None
    d = deps_of(app)
    # Every subscribed chat and its recent claims (a quarter of a second with 10,000 chats):
    # the bot's first getUpdates and answers go on meanwhile.
    chats = await d.read(d.chats.subscribed)
    now = d.clock()
    claims = await d.read(d.pushes.recent_claims, (now - timedelta(days=2)).date())
    missed: list[int] = []
    retry_at: dict[int, datetime] = {}
    for chat in chats:
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
        job_queue.run_once(catch_up_job, when=0.5, data=missed, name="push:catch-up")
    for chat_id, lease_end in retry_at.items():
        wait = max((lease_end - now).total_seconds(), 0.0) + 0.5
        job_queue.run_once(catch_up_job, when=wait, data=[chat_id], name=f"push:retry:{chat_id}")
    # Creating a job takes APScheduler about 0.2 ms: a slice at a time, and the bot answers in
    # between. A chat whose settings changed meanwhile has its new job already: it is kept.
    jobs = _daily_jobs(job_queue)
    for lo in range(0, len(chats), RESTORE_SLICE):
        for chat in chats[lo : lo + RESTORE_SLICE]:
            if chat.chat_id not in jobs:
                schedule_chat(job_queue, chat)
        await asyncio.sleep(0)
    then = context.job.data if context.job is not None else None
    if callable(then):
        then()


async def push_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily job of one chat: it joins the push run of every chat due with it."""
    assert context.job is not None and context.job.chat_id is not None
    await PushQueue.of(context.application).push(context.job.chat_id)


async def catch_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the pushes missed while the bot was down (claims keep it at one per day)."""
    assert context.job is not None
    chat_ids: list[int] = list(context.job.data or [])  # type: ignore[call-overload]
    await push_chats(context.application, chat_ids)
