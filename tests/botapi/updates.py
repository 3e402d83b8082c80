"""The updates the users' actions create, and what ``getUpdates`` and a webhook deliver of them.

Telegram's rules: ``allowed_updates`` applies when an update is created (one created while it
is not wanted is never delivered); ``offset`` confirms every update before it (a negative one
keeps the last ``-offset``); a long poll waits until an update arrives, a newer request or a
webhook ends it, or it times out.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import Any, Final

from tests.botapi.state import JSON

#: Update types delivered when ``allowed_updates`` is empty or was never given.
DEFAULT_ALLOWED_UPDATES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class UpdateQueue:
    """Every update created (``log``), those not yet confirmed (``queue``), and replays."""

    def __init__(self) -> None:
        self._ids = itertools.count(100_000_001)
        self.log: dict[int, JSON] = {}
        self.queue: deque[tuple[int, JSON]] = deque()
        self.replays: list[list[Any]] = []  # [update_id, update, max id of delivery batch]
        self.allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.allowed_param: list[str] | None = None  # as the bot last gave it
        self.poller: asyncio.Future[str] | None = None

    @property
    def pending(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self.queue) + len(self.replays)

    def enqueue(self, kind: str, payload: JSON) -> int:
        """Create an update of ``kind``; queue it when the bot wants that kind."""
        update_id = next(self._ids)
        update = {"update_id": update_id, kind: payload}
        self.log[update_id] = update
        if kind in self.allowed:
            self.queue.append((update_id, update))
            self.wake("update")
        return update_id

    def replay(self, update_id: int) -> None:
        """Deliver an exact duplicate of an earlier update (see ``BotApiStandIn.replay``)."""
        update = self.log.get(update_id)
        if update is None:
            raise KeyError(f"no update {update_id}")
        self.replays.append([update_id, update, None])
        self.wake("update")

    def allow(self, allowed: list[str]) -> None:
        """The bot's ``allowed_updates`` (empty: the default types), for updates from now on."""
        self.allowed_param = list(allowed)
        self.allowed = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES

    def drop(self) -> None:
        """``drop_pending_updates``."""
        self.queue.clear()
        self.replays.clear()

    def wake(self, reason: str) -> None:
        """End a pending long poll with ``reason`` ("update", "conflict", "webhook", ...)."""
        poller = self.poller
        if poller is not None and not poller.done():
            poller.set_result(reason)

    async def wait(self, timeout: float) -> str:
        """Hold a long poll until :meth:`wake` or ``timeout``; return the reason."""
        poller: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.poller = poller
        try:
            return await asyncio.wait_for(poller, timeout)
        except TimeoutError:
            return "timeout"
        finally:
            if self.poller is poller:
                self.poller = None

    def confirm(self, offset: Any) -> None:
        """Forget what ``offset`` confirms (getUpdates' ``offset``)."""
        if offset is None:
            return
        offset = int(offset)
        queue = self.queue
        if offset < 0:
            while len(queue) > -offset:
                queue.popleft()
            return
        while queue and queue[0][0] < offset:
            queue.popleft()
        if self.replays:
            self.replays = [r for r in self.replays if r[2] is None or offset <= r[2]]

    def take(self, limit: int) -> list[JSON]:
        """The next batch (at most ``limit``), replays in update_id order among the rest."""
        batch = list(itertools.islice(self.queue, limit))
        if self.replays:
            batch.extend((r[0], r[1]) for r in self.replays)
            batch.sort(key=lambda item: item[0])
            batch = batch[:limit]
            if batch:
                last = batch[-1][0]
                included = {id(item[1]) for item in batch}
                for replay in self.replays:
                    if id(replay[1]) in included:
                        replay[2] = last
        return [update for _, update in batch]
