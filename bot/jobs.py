"""The daily push on PTB's JobQueue: one job per chat, rebuilt from the database at start-up.

Exactly once per chat and local day: ``ChatService.claim_pushes`` inserts a row that is unique on
(chat, local date) before anything is sent, so a restart, a retried job or a second bot process
never sends a push twice. The price is at-most-once: a crash between the claim and the send
loses those chats' pushes (a batch is claimed at once) until their claims' lease runs out and a
restart takes them over, rather than risk a duplicate.

Many chats share a push time, so pushes are sent by one pipeline (``push_chats``) rather than a
task per chat: chats are claimed and their sessions planned a batch at a time in a worker
thread, a few senders send them, and the outcomes are written in batches. The daily jobs that
fire together join one such run (``PushQueue``). Push requests wait behind people's in the rate
limiter (``FloodLimiter``), so the bot answers quickly while it pushes at Telegram's ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, BaseRateLimiter, ContextTypes, Job, JobQueue

from bot.chats import ChatSettings, PlannedPush
from bot.services import Current

if TYPE_CHECKING:
    from bot.handlers.common import Deps
    from bot.render import Formula

logger = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_DELAYS = (1.0, 3.0, 9.0)
PUSH_BATCH = 16  # chats claimed and planned per worker-thread call
PUSH_SENDERS = 8  # pushes on their way at once: enough to hide the round trips, no more
RESTORE_SLICE = 500  # daily jobs created at start-up between two turns of the event loop
# Set in the push's own tasks: the rate limiter serves everyone else first.
PUSHING: ContextVar[bool] = ContextVar("pushing", default=False)


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


def _deps(app: Application[Any, Any, Any, Any, Any, Any]) -> Deps:
    from bot.handlers.common import Deps

    d = app.bot_data["deps"]
    assert isinstance(d, Deps)
    return d


async def restore_jobs(app: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """At start-up: one job per subscribed chat; today's missed pushes are sent now.

    A push is owed when today's push time has passed (on the chat's own calendar) and nobody
    finished it: never claimed (the bot was down) or claimed by a process that died mid-push
    (taken over when its lease runs out). The jobs are made by a job that runs once the bot
    polls: for thousands of chats that takes a second, which its first answers need not wait
    for. Returns how many chats get a daily push.
    """
    d = _deps(app)
    assert app.job_queue is not None
    app.job_queue.run_once(_restore_job, when=0, name="push:restore")
    return await d.run(d.chats.count_subscribed)


async def _restore_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The work of ``restore_jobs``, between the bot's first answers."""
    app, job_queue = context.application, context.job_queue
    assert job_queue is not None
    d = _deps(app)
    chats = await d.run(d.chats.subscribed)
    now = d.clock()
    claims = await d.run(d.chats.recent_claims, (now - timedelta(days=2)).date())
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
    # The modules, the catalog and the daily jobs live as long as the process: the collector
    # need not look at them again (see app.run_bot).
    gc.freeze()


async def push_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The daily job of one chat: it joins the push run of every chat due with it."""
    assert context.job is not None and context.job.chat_id is not None
    await PushQueue.of(context.application).push(context.job.chat_id)


async def catch_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the pushes missed while the bot was down (claims keep it at one per day)."""
    assert context.job is not None
    chat_ids: list[int] = list(context.job.data or [])  # type: ignore[call-overload]
    await push_chats(context.application, chat_ids)


async def with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Retry a Bot API call on time-outs, network errors and 429s, with backoff."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return await call()
        except RetryAfter as exc:
            if delay is None:
                raise
            await asyncio.sleep(_seconds(exc))
        except (TimedOut, NetworkError) as exc:
            if delay is None or isinstance(exc, (BadRequest, Forbidden)):
                raise
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _seconds(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)


class RetryingBot:
    """The sending calls of a Bot, retried (used for pushes, where nobody is waiting)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def do_api_request(self, endpoint: str, api_kwargs: dict[str, Any]) -> Any:
        return await with_retries(lambda: self.bot.do_api_request(endpoint, api_kwargs=api_kwargs))

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_message(chat_id, text, **kwargs))

    async def send_photo(self, chat_id: int, photo: Any, **kwargs: Any) -> Message:
        return await with_retries(lambda: self.bot.send_photo(chat_id, photo, **kwargs))


async def push_chat(
    app: Application[Any, Any, Any, Any, Any, Any], chat_id: int, now: datetime | None = None
) -> str:
    """Push today's items to one chat, once per local day; return what happened:
    "sent", "empty", "not due", "already pushed", "forbidden" or "failed"."""
    return (await push_chats(app, [chat_id], now))[chat_id]


# The pipeline ------------------------------------------------------------------------------


@dataclass
class _Push:
    """A claimed push on its way: the plan and, for a private chat, its first question."""

    planned: PlannedPush
    current: Current | None = None
    parts: list[str | Formula] | None = None


def _plan(d: Deps, chat_ids: Sequence[int], now: datetime) -> tuple[list[_Push], dict[int, str]]:
    """In a worker thread: claim and plan a batch, and render each private push's question."""
    from bot.handlers.study import question_parts

    planned, skipped = d.chats.plan_pushes(chat_ids, now)
    pushes = []
    for p in planned:
        push = _Push(p)
        if p.plan is not None and p.plan.size:
            try:
                push.current = p.plan.first
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

    One worker-thread call claims and plans PUSH_BATCH chats while PUSH_SENDERS tasks send
    the batch before; outcomes are written in batches too, each sender waiting for its own.
    """
    d = _deps(app)
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
    from bot.handlers.common import send_parts
    from bot.handlers.groups import post_items
    from bot.handlers.study import present
    from bot.keyboards import question_keyboard

    chat, day = push.planned.chat, push.planned.day
    bot = RetryingBot(app.bot)
    try:
        if push.planned.error:
            raise RuntimeError(push.planned.error)
        if chat.is_group:
            # A push cut off by a crash resumes: only the items it did not post yet.
            done = await d.run(d.chats.push_posts, chat.chat_id, day)
            item_ids = await d.run(
                d.chats.pick_group_items, chat.chat_id, chat.group_items - done, now or d.clock()
            )
            sent = done + await post_items(
                bot,
                chat.chat_id,
                item_ids,
                d,
                push_date=day,
                header="" if done else "Today's items",
            )
        else:
            # One message: the due line and the first item, so a push is all-or-nothing.
            assert push.planned.plan is not None
            sent = push.planned.plan.size
            session_id = push.planned.plan.session_id
            if push.current is not None and push.parts is not None:
                keyboard = question_keyboard(session_id, push.current.position)
                await send_parts(bot, chat.chat_id, push.parts, d, keyboard)
            elif sent:
                await present(bot, chat.chat_id, session_id, d)
        status = "sent" if sent else "empty"
        await outcomes.write(chat.chat_id, day, status, sent)
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
        with contextlib.suppress(Exception):
            await outcomes.write(chat.chat_id, day, "failed", 0, repr(exc))
        logger.warning("push to chat %s failed: %r", chat.chat_id, exc)
        return "failed"


class _Outcomes:
    """Push outcomes written a batch at a time ("group commit").

    The first sender with an outcome writes everything waiting, again until nothing is; the
    others wait for the write that holds theirs. A crash loses nothing that was acknowledged
    to a sender, and a finished push is on record a few milliseconds after its message.
    """

    def __init__(self, d: Deps) -> None:
        self.d = d
        self.waiting: list[tuple[tuple[int, date, str, int, str], asyncio.Future[None]]] = []
        self.writing = False

    async def write(
        self, chat_id: int, day: date, status: str, items: int, detail: str = ""
    ) -> None:
        done = asyncio.get_running_loop().create_future()
        self.waiting.append(((chat_id, day, status, items, detail), done))
        if not self.writing:
            self.writing = True
            try:
                while self.waiting:
                    batch, self.waiting = self.waiting, []
                    try:
                        await self.d.run(self.d.chats.finish_pushes, [row for row, _ in batch])
                    except Exception as exc:
                        for _, future in batch:
                            future.set_exception(exc)
                    else:
                        for _, future in batch:
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


# Rate limiting -----------------------------------------------------------------------------


class _Window:
    """At most ``limit`` requests in any ``span`` seconds, counted where the server counts them.

    The server counts a request when it arrives, somewhere between our sending it and its
    answer coming back. So a request takes its place in the window from when it is sent
    (``busy``) until ``span`` seconds after its answer (``done``): however long the way there,
    no window of arrivals can hold more than ``limit``.
    """

    __slots__ = ("busy", "done", "limit", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.busy = 0
        self.done: deque[float] = deque()

    def free_at(self, now: float) -> float:
        """When one more request fits: now, later, or inf (once a request on its way ends)."""
        self.forget(now)
        if self.busy + len(self.done) < self.limit:
            return now
        return self.done[0] + self.span if self.done else math.inf

    def forget(self, now: float) -> bool:
        """Drop the answers older than the span; True when nothing is left to count."""
        done = self.done
        while done and done[0] <= now - self.span:
            done.popleft()
        return not self.busy and not done


@dataclass
class _Waiter:
    future: asyncio.Future[None]
    group: int | str | None


class FloodLimiter(BaseRateLimiter[int]):
    """Telegram's flood limits for the whole bot, with people served before the daily push.

    Telegram answers 429 past about 30 messages a second overall and 20 a minute in one group.
    Every request to a chat waits here for a place in both windows (see ``_Window``). The
    push's requests are spaced evenly, a little under the overall limit, rather than sent in
    bursts; and a waiting request of a person always goes first. So a push to thousands of
    chats runs at Telegram's ceiling while whoever just pressed a button waits at most a slot.
    Should a 429 come all the same, every request pauses for its ``retry_after`` and the
    request is tried again, up to ``max_retries`` times. Requests without a chat (getUpdates,
    answerCallbackQuery) are not limited.
    """

    def __init__(
        self,
        per_second: int = 30,
        group_per_minute: int = 20,
        *,
        push_per_second: float = 29.0,
        max_retries: int = 5,
    ) -> None:
        self.group_per_minute = group_per_minute
        self.max_retries = max_retries
        self._overall = _Window(per_second, 1.0)
        self._groups: dict[int | str, _Window] = {}
        self._spacing = 1.0 / push_per_second
        self._people: deque[_Waiter] = deque()
        self._pushes: deque[_Waiter] = deque()
        self._push_next = 0.0
        self._paused_until = 0.0
        self._timer: asyncio.Handle | None = None

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        group = chat_id if isinstance(chat_id, str) or chat_id < 0 else None
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        for attempt in range(retries + 1):
            await self._acquire(group, PUSHING.get())
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == retries:
                    raise
                logger.info("429 from Telegram: every request waits %.1f s", _seconds(exc))
                loop = asyncio.get_running_loop()
                self._paused_until = max(self._paused_until, loop.time() + _seconds(exc) + 0.1)
            finally:
                self._release(group)
        raise AssertionError("unreachable")

    async def _acquire(self, group: int | str | None, push: bool) -> None:
        waiter = _Waiter(asyncio.get_running_loop().create_future(), group)
        (self._pushes if push else self._people).append(waiter)
        self._kick()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self._release(group)  # let through just before the cancellation
            raise

    def _release(self, group: int | str | None) -> None:
        now = asyncio.get_running_loop().time()
        for window in (self._overall, self._groups.get(group) if group is not None else None):
            if window is not None:
                window.busy -= 1
                window.done.append(now)
        self._kick()

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        """Let through every request that fits now; come back when the next one may."""
        loop = asyncio.get_running_loop()
        self._timer = None
        now = loop.time()
        while True:
            wake = max(self._paused_until, self._overall.free_at(now))
            if wake > now:
                break
            waiter, wake = self._next(now)
            if waiter is None:
                break
            self._overall.busy += 1
            if waiter.group is not None:
                self._group(waiter.group).busy += 1
            waiter.future.set_result(None)
        if wake < math.inf:
            self._timer = loop.call_at(wake, self._dispatch)

    def _next(self, now: float) -> tuple[_Waiter | None, float]:
        """The request to let through now (people first), or None and when to look again."""
        wake = math.inf
        for queue, is_push in ((self._people, False), (self._pushes, True)):
            if is_push and queue and now < self._push_next:
                return None, min(wake, self._push_next)
            for waiter in list(queue):
                if waiter.future.done():  # its task was cancelled
                    queue.remove(waiter)
                    continue
                group = waiter.group
                free_at = now if group is None else self._group(group).free_at(now)
                if free_at > now:
                    wake = min(wake, free_at)
                    continue
                queue.remove(waiter)
                if is_push:
                    # Evenly spaced: a late timer is made up for, an idle spell is not.
                    self._push_next = max(self._push_next, now - self._spacing) + self._spacing
                return waiter, wake
        return None, wake

    def _group(self, group: int | str) -> _Window:
        window = self._groups.get(group)
        if window is None:
            if len(self._groups) > 1000:  # forget the groups whose minute is over
                now = asyncio.get_running_loop().time()
                for key in [k for k, w in self._groups.items() if w.forget(now)]:
                    del self._groups[key]
            window = self._groups[group] = _Window(self.group_per_minute, 60.0)
        return window
