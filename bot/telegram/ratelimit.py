"""Telegram's flood limits for the whole bot: people served before the daily push, and in each
group a budget that keeps room for replies while posts and tally edits fill the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)
# Set in the push's own tasks: the rate limiter serves everyone else first.
PUSHING: ContextVar[bool] = ContextVar("pushing", default=False)
# Telegram's window for the group limit; tests shorten it so that a minute's traffic takes
# seconds (the limit itself stays FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP).
MINUTE = 60.0
# Of a group's messages a minute, this share is only for replies: posts and tally edits never
# take it, so a /help in a busy group goes out at once instead of behind a minute of posts.
REPLY_SHARE = 0.25
# A paused chat waits this much longer than Telegram asked: the server's clock is not ours.
RETRY_MARGIN = 0.1


class Priority(IntEnum):
    """How soon a group message must go out: a bot call's ``rate_limit_args``.

    Everything is a ``REPLY`` unless said otherwise. Group posts are sent with
    ``rate_limit_args=Priority.POST`` (``bot.send_message(chat_id, text, reply_markup=...,
    **with_priority(bot, Priority.POST))``); edits of a post for everyone (its reveal, its
    tally) with ``Priority.UPDATE``. Both fill what replies leave of the group's budget,
    edits first (people are looking at those posts), new posts last. The daily push's group
    messages are posts unless their call says otherwise. In private chats the priority
    changes nothing.
    """

    REPLY = 0  # an answer to a command or a button: a person is waiting for it
    UPDATE = 1  # an edit of a post: its reveal, its tally
    POST = 2  # a new post in a group


def with_priority(bot: Any, priority: Priority) -> dict[str, Any]:
    """The keyword arguments that send a bot call with ``priority``, e.g.
    ``await bot.send_message(chat_id, text, **with_priority(bot, Priority.POST))``.

    None without a rate limiter (``RATE_LIMITER=off``), which PTB requires: it refuses
    ``rate_limit_args`` then.
    """
    return {"rate_limit_args": priority} if getattr(bot, "rate_limiter", None) else {}


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    wait = exc.retry_after
    return wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)


def counts_in_group(endpoint: str) -> bool:
    """Whether a call is a message that Telegram counts against a group's limit (a message
    sent or edited; not getChatMember, a chat action or a deletion)."""
    return endpoint.startswith(("send", "edit", "copy", "forward", "stop")) and (
        endpoint != "sendChatAction"
    )


class _Window:
    """At most ``limit`` requests in any ``span`` seconds, counted where the server counts them.

    The server counts a request when it arrives, somewhere between our sending it and its
    answer coming back. So a request takes its place in the window from when it is sent
    (``busy``) until ``span`` seconds after its answer (``done``): however long the way there,
    no window of arrivals can hold more than ``limit``. After a 429 the window lets nothing
    through until ``paused_until``.
    """

    __slots__ = ("busy", "done", "limit", "paused_until", "span")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.busy = 0
        self.done: deque[float] = deque()
        self.paused_until = 0.0

    def free_at(self, now: float, limit: int | None = None) -> float:
        """When one more request fits under ``limit`` (the window's own by default): now,
        later, or inf (once a request on its way ends)."""
        self.forget(now)
        if now < self.paused_until:
            return self.paused_until
        limit = self.limit if limit is None else limit
        over = self.busy + len(self.done) - limit  # requests to forget before one more fits
        if over < 0:
            return now
        return self.done[over] + self.span if over < len(self.done) else math.inf

    def forget(self, now: float) -> bool:
        """Drop the answers older than the span; True when nothing is left to count."""
        done = self.done
        while done and done[0] <= now - self.span:
            done.popleft()
        return not self.busy and not done and now >= self.paused_until


@dataclass
class _Waiter:
    future: asyncio.Future[None]
    group: int | str | None


class FloodLimiter(BaseRateLimiter[Priority]):
    """Telegram's flood limits for the whole bot, with people served before the daily push.

    Telegram answers 429 past about 30 messages a second overall and 20 a minute in one group.
    Every request to a chat waits here for a place in the overall window, and every message to
    a group for a place in the group's (see ``_Window``). The push's requests are spaced
    evenly, a little under the overall limit, rather than sent in bursts; and a waiting request
    of a person always goes first. So a push to thousands of chats runs at Telegram's ceiling
    while whoever just pressed a button waits at most a slot.

    In a group, messages go by ``Priority`` (the call's ``rate_limit_args``): replies first, and
    posts and their edits only while they leave ``REPLY_SHARE`` of the minute's messages free,
    so a command in a busy group is answered at once and the posts follow as the budget allows.

    Should a 429 come all the same, the group it came from (or, outside groups, every request)
    pauses for its ``retry_after`` and the request is tried again, up to ``max_retries`` times:
    a post waits, it is not lost. Requests without a chat (getUpdates, answerCallbackQuery) are
    not limited.
    """

    def __init__(
        self,
        per_second: int = FloodLimit.MESSAGES_PER_SECOND,
        group_per_minute: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        *,
        push_per_second: float = FloodLimit.MESSAGES_PER_SECOND - 1,
        max_retries: int = 5,
    ) -> None:
        self.group_per_minute = group_per_minute
        self.minute = MINUTE
        # What posts and edits may use of a group's minute: never the replies' share, never 0.
        self.posts_per_minute = max(1, group_per_minute - math.ceil(group_per_minute * REPLY_SHARE))
        self.max_retries = max_retries
        self._overall = _Window(per_second, 1.0)
        self._groups: dict[int | str, _Window] = {}
        self._spacing = 1.0 / push_per_second
        # Waiting requests: people's before the push's, each by priority, first come first.
        self._queues: dict[tuple[bool, Priority], deque[_Waiter]] = {
            (push, p): deque() for push in (False, True) for p in Priority
        }
        self._push_next = 0.0
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
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        in_group = isinstance(chat_id, str) or chat_id < 0
        group = chat_id if in_group and counts_in_group(endpoint) else None
        push = PUSHING.get()
        if rate_limit_args is not None:
            priority = Priority(rate_limit_args)
        else:
            priority = Priority.POST if push and group is not None else Priority.REPLY
        for attempt in range(self.max_retries + 1):
            await self._acquire(group, priority, push)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.max_retries:
                    raise
                self._pause(group, retry_seconds(exc))
            finally:
                self._release(group)
        raise AssertionError("unreachable")

    def _pause(self, group: int | str | None, seconds: float) -> None:
        """A 429: the group it came from waits (or everything, outside groups)."""
        until = asyncio.get_running_loop().time() + seconds + RETRY_MARGIN
        window = self._overall if group is None else self._group(group)
        window.paused_until = max(window.paused_until, until)
        if group is None:
            logger.info("429 from Telegram: every request waits %.1f s", seconds)
        else:
            logger.info("429 from Telegram: group %s waits %.1f s", group, seconds)

    async def _acquire(self, group: int | str | None, priority: Priority, push: bool) -> None:
        waiter = _Waiter(asyncio.get_running_loop().create_future(), group)
        self._queues[push, priority].append(waiter)
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
            wake = self._overall.free_at(now)
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
        """The request to let through now (people first, then by priority), or None and when
        to look again. A request that cannot go leaves the place to the next: lower priorities
        never pass it in its own group, as their limit is lower."""
        wake = math.inf
        for (is_push, priority), queue in self._queues.items():
            if is_push and queue and now < self._push_next:
                wake = min(wake, self._push_next)
                continue
            limit = self.group_per_minute if priority is Priority.REPLY else self.posts_per_minute
            for waiter in list(queue):
                if waiter.future.done():  # its task was cancelled
                    queue.remove(waiter)
                    continue
                group = waiter.group
                free_at = now if group is None else self._group(group).free_at(now, limit)
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
            window = self._groups[group] = _Window(self.group_per_minute, self.minute)
        return window
