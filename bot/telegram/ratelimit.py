"""Telegram's flood limits for the whole bot, with people served before the daily push."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)
# Set in the push's own tasks: the rate limiter serves everyone else first.
PUSHING: ContextVar[bool] = ContextVar("pushing", default=False)


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds."""
    wait = exc.retry_after
    return wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)


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
        per_second: int = FloodLimit.MESSAGES_PER_SECOND,
        group_per_minute: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        *,
        push_per_second: float = FloodLimit.MESSAGES_PER_SECOND - 1,
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
                logger.info("429 from Telegram: every request waits %.1f s", retry_seconds(exc))
                loop = asyncio.get_running_loop()
                self._paused_until = max(self._paused_until, loop.time() + retry_seconds(exc) + 0.1)
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
