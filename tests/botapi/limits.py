"""Telegram's flood limits and injected failures: what makes a call answer 429 or 5xx, late,
or not in full."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from tests.botapi.errors import ApiError
from tests.botapi.state import JSON

#: Methods that send or change a message: the ones ``fail_next`` and ``RateLimits`` apply to.
SENDING_METHODS: Final = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendPoll",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Telegram-like flood limits, enforced with sliding windows over SENDING_METHODS.

    ``None`` disables a limit. Telegram tolerates short bursts in private chats, so the
    per-private-chat limit is off unless asked for.
    """

    global_per_second: int | None = 30
    group_per_minute: int | None = 20
    private_per_second: int | None = None
    #: The group limit's window in seconds: tests shorten Telegram's minute to run in seconds.
    group_window: float = 60.0


class Window:
    """A sliding-window counter: at most ``limit`` events per ``span`` seconds."""

    __slots__ = ("limit", "span", "times")

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        times = self.times
        horizon = now - self.span
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.span - now


@dataclass(slots=True)
class Fault:
    """The next ``remaining`` calls of ``methods`` (None: the sending ones) fail like this."""

    remaining: int
    error_code: int
    description: str
    parameters: JSON | None
    methods: frozenset[str] | None


@dataclass(slots=True)
class AnswerFault:
    """The next ``remaining`` calls of ``method``, after ``skip`` more, are carried out, and
    then their answer comes ``delay`` seconds late or, with ``cut``, is cut off half-way."""

    remaining: int
    method: str  # lower case
    skip: int
    delay: float
    cut: bool


class Limits:
    """The failures a test asked for and the flood limits in force, checked before each call.

    ``rate_limited_count`` and ``injected_failure_count`` count the 429s of the limits and the
    injected failures.
    """

    def __init__(self, rate_limits: RateLimits | None) -> None:
        self.rate_limited_count = 0
        self.injected_failure_count = 0
        self.faults: deque[Fault] = deque()
        self.answer_faults: deque[AnswerFault] = deque()
        self.rate_limits: RateLimits | None = None
        self._global_window: Window | None = None
        self._chat_windows: dict[int, Window] = {}
        self.set_rate_limits(rate_limits)

    def fail_next(
        self,
        n: int = 1,
        error_code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Make the next ``n`` sending calls (or calls of ``methods``) fail.

        429 answers "Too Many Requests: retry after N" with ``parameters.retry_after``;
        other codes answer their usual description (500 Internal Server Error, 502 Bad
        Gateway, ...) unless ``description`` is given. ``methods=["*"]`` matches every call.
        """
        if n <= 0:
            return
        parameters: JSON | None = None
        if error_code == 429:
            description = description or f"Too Many Requests: retry after {retry_after}"
            parameters = {"retry_after": retry_after}
        elif description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden",
                404: "Not Found",
                409: "Conflict",
                500: "Internal Server Error",
                502: "Bad Gateway",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }.get(error_code, "Internal Server Error")
        names = None if methods is None else frozenset(m.lower() for m in methods)
        self.faults.append(Fault(n, error_code, description, parameters, names))

    def spoil_answers(
        self, method: str, n: int = 1, *, skip: int = 0, delay: float = 0.0, cut: bool = False
    ) -> None:
        """Carry out the next ``n`` calls of ``method`` (after ``skip`` more), then answer
        ``delay`` seconds late, or (``cut``) write half the answer and close the connection:
        the caller cannot tell whether the call was carried out."""
        if n > 0:
            self.answer_faults.append(AnswerFault(n, method.lower(), skip, delay, cut))

    def answer_fault(self, method: str) -> AnswerFault | None:
        """The answer fault that applies to this call of ``method``, if any (and count it)."""
        for fault in self.answer_faults:
            if fault.method == method.lower():
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.answer_faults.remove(fault)
                return fault
        return None

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Turn flood limits on (or off with None); counters start afresh."""
        self.rate_limits = limits
        self._chat_windows = {}
        self._global_window = (
            Window(limits.global_per_second, 1.0)
            if limits is not None and limits.global_per_second
            else None
        )

    def inject_fault(self, method: str) -> None:
        """Raise the first injected failure that applies to ``method``, if any."""
        for fault in self.faults:
            if fault.methods is None:
                applies = method in SENDING_METHODS
            else:
                applies = "*" in fault.methods or method.lower() in fault.methods
            if applies:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                self.injected_failure_count += 1
                raise ApiError(fault.error_code, fault.description, fault.parameters)

    def check_rate(self, params: JSON) -> None:
        """Count one sending call against the limits; 429 when it does not fit now."""
        limits = self.rate_limits
        assert limits is not None
        now = time.monotonic()
        chat_id = params.get("chat_id")
        window: Window | None = None
        if isinstance(chat_id, int):
            window = self._chat_windows.get(chat_id)
            if window is None:
                if chat_id < 0 and limits.group_per_minute:
                    window = Window(limits.group_per_minute, limits.group_window)
                elif chat_id > 0 and limits.private_per_second:
                    window = Window(limits.private_per_second, 1.0)
                if window is not None:
                    self._chat_windows[chat_id] = window
        wait = 0.0
        if self._global_window is not None:
            wait = self._global_window.wait(now)
        if window is not None:
            wait = max(wait, window.wait(now))
        if wait > 0:
            self.rate_limited_count += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if self._global_window is not None:
            self._global_window.times.append(now)
        if window is not None:
            window.times.append(now)
