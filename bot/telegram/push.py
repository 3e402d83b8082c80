"""The daily push pipeline: claim and plan a batch of chats, send, record each outcome.

Exactly once per chat and local day: ``ChatService.claim_pushes`` inserts a row that is unique on
(chat, local date) before anything is sent, so a restart, a retried job or a second bot process
never sends a push twice. The price is at-most-once: a crash between the claim and the send
loses those chats' pushes (a batch is claimed at once) until their claims' lease runs out and a
restart takes them over, rather than risk a duplicate.

A request is sent again only when it certainly did not reach Telegram (:exc:`NotSent`: no
connection could be had) or Telegram refused it with a 429 (``RetryAfter``). A request that
was written but whose answer never came (a read timeout, a connection cut mid-answer, a 5xx)
may have been carried out: the push stops there and is recorded "unknown", and it is not sent
again that day, neither by this run nor by a restart (only "claimed" rows are taken over). The
learner's session exists all the same: its items come at the next /study.

Many chats share a push time, so pushes are sent by one pipeline (``push_chats``) rather than a
task per chat: chats are claimed and their sessions planned a batch at a time, a few senders
send them, and the outcomes are written in batches. The daily jobs that fire together join one
such run (``PushQueue``). Push requests wait behind people's in the rate limiter
(``FloodLimiter``), so the bot answers quickly while it pushes at Telegram's ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application

from bot.core.render import Formula
from bot.services.push import PlannedPush
from bot.services.study import Current
from bot.telegram.deps import Deps, deps_of
from bot.telegram.group_sessions import run_session
from bot.telegram.keyboards import question_keyboard
from bot.telegram.messages import clear_buttons, present, question_parts, send_parts
from bot.telegram.ratelimit import PUSHING, retry_seconds
from bot.telegram.request import NotSent

logger = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (1.0, 3.0, 9.0)
PUSH_BATCH = 16  # chats claimed and planned per database call
PUSH_SENDERS = 8  # pushes on their way at once: enough to hide the round trips, no more


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Send a Bot API call again, with backoff, only while it certainly did not reach Telegram
    (:exc:`NotSent`) or Telegram answered 429 (after its ``retry_after``); any other error is
    raised at once: a call that may have been carried out is never sent twice."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return await call()
        except RetryAfter as exc:
            if delay is None:
                raise
            await asyncio.sleep(retry_seconds(exc))
        except NotSent as exc:
            if delay is None:
                raise
            logger.debug("a push request was not sent (%s); again in %g s", exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _outcome_unknown(exc: BaseException) -> bool:
    """Whether a Bot API call that raised ``exc`` may all the same have been carried out: it
    was written, and its answer was late, cut off or a server error. Not for :exc:`NotSent`
    (never reached Telegram) nor the answers that say it was refused (400, 403, 429...)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, (NotSent, BadRequest))


class RetryingBot:
    """The Bot methods a push sends with (through bot.telegram.messages), each retried while it
    was certainly not carried out (see ``with_retries``): pushes are sent where nobody is
    waiting."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.rate_limiter = getattr(bot, "rate_limiter", None)  # for ratelimit.with_priority

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_message(chat_id, text, **kwargs))

    async def send_photo(self, chat_id: int, photo: Any, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_photo(chat_id, photo, **kwargs))

    async def send_poll(
        self, chat_id: int, question: str, options: list[str], **kwargs: Any
    ) -> Message:
        return await with_retries(lambda: self.bot.send_poll(chat_id, question, options, **kwargs))


async def push_chat(
    app: Application[Any, Any, Any, Any, Any, Any], chat_id: int, now: datetime | None = None
) -> str:
    """Push today's items to one chat, once per local day; return what happened:
    "sent", "empty", "not due", "already pushed", "forbidden", "unknown" (sent, but no answer
    came: not sent again) or "failed"."""
    return (await push_chats(app, [chat_id], now))[chat_id]


# The pipeline ------------------------------------------------------------------------------


@dataclass
class _Push:
    """A claimed push on its way: the plan and, for a private chat, its first question."""

    planned: PlannedPush
    current: Current | None = None
    parts: list[str | Formula] | None = None


def _plan(d: Deps, chat_ids: Sequence[int], now: datetime) -> tuple[list[_Push], dict[int, str]]:
    """Database work (``Deps.run``): claim and plan a batch, and render each private push's
    question."""
    planned, skipped = d.pushes.plan(chat_ids, now)
    pushes = []
    for p in planned:
        push = _Push(p)
        if p.started is not None and p.started.size:
            try:
                push.current = p.started.first
                if push.current is not None:
                    push.parts = question_parts(push.current)
            except Exception:  # sent the slow way, and recorded, by _deliver
                push.current = push.parts = None
        pushes.append(push)
    return pushes, skipped


async def push_chats(
    app: Application[Any, Any, Any, Any, Any, Any],
    chat_ids: Sequence[int],
    now: datetime | None = None,
) -> dict[int, str]:
    """Push to many chats (each once per local day); return what happened to each.

    One database call claims and plans PUSH_BATCH chats while PUSH_SENDERS tasks send
    the batch before; outcomes are written in batches too, each sender waiting for its own.
    """
    d = deps_of(app)
    results: dict[int, str] = {}
    ready: asyncio.Queue[_Push | None] = asyncio.Queue(PUSH_BATCH)
    outcomes = _Outcomes(d)

    async def plan() -> None:
        try:
            for lo in range(0, len(chat_ids), PUSH_BATCH):
                batch = chat_ids[lo : lo + PUSH_BATCH]
                try:
                    pushes, skipped = await d.run(_plan, d, batch, now or d.clock())
                except Exception:  # e.g. the database is busy: the next batch may still go
                    logger.exception("planning the push of %d chat(s) failed", len(batch))
                    results.update(dict.fromkeys(batch, "failed"))
                    continue
                results.update(skipped)
                for push in pushes:
                    await ready.put(push)
        finally:
            for _ in range(PUSH_SENDERS):
                await ready.put(None)

    async def send() -> None:
        PUSHING.set(True)
        while (push := await ready.get()) is not None:
            chat_id = push.planned.chat.chat_id
            results[chat_id] = await _deliver(app, d, push, outcomes, now)

    await asyncio.gather(plan(), *(send() for _ in range(PUSH_SENDERS)))
    return results


async def _deliver(
    app: Application[Any, Any, Any, Any, Any, Any],
    d: Deps,
    push: _Push,
    outcomes: _Outcomes,
    now: datetime | None,
) -> str:
    """Send one claimed push and record how it went."""
    chat, day = push.planned.chat, push.planned.day
    bot = RetryingBot(app.bot)
    placed: tuple[int, int] | None = None  # the pushed session and the message of its buttons
    try:
        if push.planned.error:
            raise RuntimeError(push.planned.error)
        if chat.is_group:
            # A group session; a push cut off by a crash resumes it: only the items it did not
            # post yet. A post is recorded before it is sent, so one whose send may have
            # arrived counts as posted (never twice); one that stopped at an unknown answer is
            # not resumed at all. The group's last session gets its summary first, if owed.
            plan = await d.run(
                d.groups.push_session, chat.chat_id, chat.group_items, day, now or d.clock()
            )
            sent = 0
            if plan is not None:
                sent = plan.start + await run_session(
                    bot, app.job_queue, chat.chat_id, plan, d, push_date=day
                )
        else:
            # One message: the due line and the first item, so a push is all-or-nothing.
            assert push.planned.started is not None
            sent = push.planned.started.size
            session_id = push.planned.started.session_id
            if push.current is not None and push.parts is not None:
                keyboard = question_keyboard(session_id, push.current.position)
                shown = await send_parts(bot, chat.chat_id, push.parts, d, keyboard)
                placed = (session_id, shown) if shown else None
            elif sent:
                await present(bot, chat.chat_id, session_id, d)
            for ended in push.planned.started.ended:  # the session this push replaced
                with contextlib.suppress(Exception):
                    await clear_buttons(bot, ended.chat_id, ended.message_id)
        status = "sent" if sent else "empty"
        await outcomes.write(chat.chat_id, day, status, sent, placed=placed)
        return status
    except Forbidden as exc:
        await d.run(d.chats.deactivate, chat.chat_id)
        await outcomes.write(chat.chat_id, day, "failed", 0, str(exc))
        logger.info(
            "chat %s blocked the bot or removed it; pushes stop until it writes again",
            chat.chat_id,
        )
        return "forbidden"
    except Exception as exc:  # one chat's failure never stops the others
        status = "unknown" if _outcome_unknown(exc) else "failed"
        with contextlib.suppress(Exception):
            await outcomes.write(chat.chat_id, day, status, 0, repr(exc))
        if status == "unknown":
            logger.warning(
                "push to chat %s was sent but no answer came (%r): it may have arrived, so it "
                "is not sent again today",
                chat.chat_id,
                exc,
            )
        else:
            logger.warning("push to chat %s failed: %r", chat.chat_id, exc)
        return status


class _Outcomes:
    """Push outcomes written a batch at a time ("group commit").

    The first sender with an outcome writes everything waiting, again until nothing is; the
    others wait for the write that holds theirs. A crash loses nothing that was acknowledged
    to a sender, and a finished push is on record a few milliseconds after its message.
    """

    def __init__(self, d: Deps) -> None:
        self.d = d
        self.waiting: list[
            tuple[tuple[int, date, str, int, str], tuple[int, int] | None, asyncio.Future[None]]
        ] = []
        self.writing = False

    async def write(
        self,
        chat_id: int,
        day: date,
        status: str,
        items: int,
        detail: str = "",
        *,
        placed: tuple[int, int] | None = None,
    ) -> None:
        """Record a push's outcome (and ``placed``: its session and the message with the
        session's buttons) in the next batch; return once it is written."""
        done = asyncio.get_running_loop().create_future()
        self.waiting.append(((chat_id, day, status, items, detail), placed, done))
        if not self.writing:
            self.writing = True
            try:
                while self.waiting:
                    batch, self.waiting = self.waiting, []
                    rows = [row for row, _, _ in batch]
                    pairs = [p for _, p, _ in batch if p is not None]
                    try:
                        await self.d.run(self.d.pushes.finish, rows, pairs)
                    except Exception as exc:
                        for _, _, future in batch:
                            future.set_exception(exc)
                    else:
                        for _, _, future in batch:
                            future.set_result(None)
            finally:
                self.writing = False
        await done


class PushQueue:
    """The chats whose daily jobs fired, pushed by one ``push_chats`` run at a time.

    Thousands of chats share the default push time; their jobs fire in the same second. Each
    job waits here for its chat's outcome while a single run pushes them all, and the chats
    that arrive during a run go in the next one.
    """

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self.app = app
        self.waiting: dict[int, list[asyncio.Future[str]]] = {}
        self.running: asyncio.Task[None] | None = None

    @classmethod
    def of(cls, app: Application[Any, Any, Any, Any, Any, Any]) -> PushQueue:
        queue = app.bot_data.get("push_queue")
        if not isinstance(queue, cls):
            queue = app.bot_data["push_queue"] = cls(app)
        return queue

    async def push(self, chat_id: int) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(chat_id, []).append(future)
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._drain(), name="push:queue")
        return await future

    async def _drain(self) -> None:
        while self.waiting:
            batch, self.waiting = self.waiting, {}
            try:
                results = await push_chats(self.app, list(batch))
            except Exception:
                logger.exception("push to %d chat(s) failed", len(batch))
                results = {}
            for chat_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(results.get(chat_id, "failed"))
