"""What a test does with the stand-in: play the users, look at what they see, wait for the bot.

    async with BotApiStandIn() as api:
        alice = api.user(1001, "Alice", username="alice")
        chat = api.private_chat(alice)
        app = (Application.builder().token(api.token).base_url(api.base_url)
               .base_file_url(api.base_file_url).build())
        ...  # start polling
        api.send_text(chat, alice, "/study 3")
        [question] = await api.wait_for_message(chat.id, count=1)
        api.press(chat, alice, question.message_id, question.callback_data("Show answer"))
        await api.wait_for(lambda: api.messages(chat.id)[0].edit_count > 0)
        print(api.transcript(chat.id))

The driving methods (``send_text``, ``press``, ...) are plain functions that enqueue updates and
wake a pending long poll; everything runs on the event loop of the test that owns the stand-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from tests.botapi.entities import command_length
from tests.botapi.limits import RateLimits
from tests.botapi.params import scope_key
from tests.botapi.server import BotApiServer
from tests.botapi.state import (
    JSON,
    MEMBER_STATUSES,
    Call,
    CallbackQuery,
    Chat,
    ChatState,
    PollState,
    Press,
    StoredMessage,
    User,
    as_chat_id,
    member_json,
    transcript_lines,
)


class BotApiStandIn(BotApiServer):
    """The Bot API server (:class:`BotApiServer`, same arguments) and the users a test plays."""

    # ---------------------------------------------------------------- simulated world

    def user(
        self,
        id: int,
        first_name: str,
        username: str | None = None,
        *,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """Create (or replace) a simulated user."""
        if id <= 0:
            raise ValueError("user ids are positive")
        user = User(id, first_name, username, last_name, language_code)
        self._users[id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        """The private chat of ``user`` with the bot (the user has pressed Start)."""
        self._users.setdefault(user.id, user)
        chat = Chat(
            user.id,
            "private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        self._register_chat(chat)
        return chat

    def group(
        self,
        chat_id: int,
        title: str,
        type: str = "group",
        *,
        username: str | None = None,
    ) -> Chat:
        """A group or supergroup the bot is a member of."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if type not in ("group", "supergroup"):
            raise ValueError("type must be 'group' or 'supergroup'")
        chat = Chat(chat_id, type, title=title, username=username)
        self._register_chat(chat)
        return chat

    def _register_chat(self, chat: Chat) -> ChatState:
        state = self._chats.get(chat.id)
        if state is None:
            state = ChatState(chat, chat_instance=str((chat.id * 2654435761) % 10**19))
            self._chats[chat.id] = state
        else:
            state.chat = chat
        if chat.username:
            self._chats_by_username[chat.username.lower()] = state
        return state

    def _state(self, chat: Chat | int) -> ChatState:
        if isinstance(chat, Chat):
            return self._register_chat(chat)
        state = self._chats.get(int(chat))
        if state is None:
            raise KeyError(f"unknown chat {chat}; create it with private_chat() or group()")
        return state

    def set_member_status(self, chat: Chat | int, user: User | int, status: str) -> None:
        """What ``getChatMember`` answers for ``user`` in ``chat`` (default ``member``)."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {sorted(MEMBER_STATUSES)}")
        user_id = user.id if isinstance(user, User) else int(user)
        self.member_status[(as_chat_id(chat), user_id)] = status

    def block(self, chat: Chat | int, *, notify: bool = False) -> None:
        """Every send/edit/delete/chat action to ``chat`` answers 403 from now on.

        With ``notify`` a ``my_chat_member`` update (bot kicked) is enqueued as well.
        """
        chat_id = as_chat_id(chat)
        self._blocked.add(chat_id)
        if notify:
            self._enqueue_member_change(chat_id, "member", "kicked")

    def unblock(self, chat: Chat | int, *, notify: bool = False) -> None:
        """Undo :meth:`block`."""
        chat_id = as_chat_id(chat)
        self._blocked.discard(chat_id)
        if notify:
            self._enqueue_member_change(chat_id, "kicked", "member")

    def _enqueue_member_change(self, chat_id: int, old: str, new: str) -> None:
        state = self._state(chat_id)
        actor = self._users.get(chat_id) if chat_id > 0 else None
        actor_json = actor.to_api() if actor else {"id": 1, "is_bot": False, "first_name": "Admin"}
        bot = self.bot.to_api()
        self.update_queue.enqueue(
            "my_chat_member",
            {
                "chat": state.chat.to_api(),
                "from": actor_json,
                "date": int(self._clock()),
                "old_chat_member": member_json(old, bot),
                "new_chat_member": member_json(new, bot),
            },
        )

    # ---------------------------------------------------------------- driving: users act

    def send_text(
        self, chat: Chat | int, user: User, text: str, *, reply_to: int | None = None
    ) -> int:
        """``user`` sends ``text`` in ``chat``; returns the update_id of the enqueued update.

        A text starting with a command (``/cmd`` or ``/cmd@botname``) gets a ``bot_command``
        entity at offset 0, like Telegram adds.
        """
        state = self._state(chat)
        self._users.setdefault(user.id, user)
        if state.chat.is_private and state.chat.id != user.id:
            raise ValueError(f"user {user.id} cannot write in the private chat {state.chat.id}")
        entities: list[JSON] = []
        command = command_length(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": command})
        message = self._new_message(
            state, user, outgoing=False, text=text, entities=entities, raw_text=text
        )
        if reply_to is not None:
            message.reply_to = state.messages.get(reply_to)
        if self.record:
            state.events.append(("user", message))
        return self.update_queue.enqueue("message", message.to_api())

    def edit_user_message(self, chat: Chat | int, user: User, message_id: int, text: str) -> int:
        """``user`` edits one of their messages; enqueues an ``edited_message`` update."""
        state = self._state(chat)
        message = state.messages.get(message_id)
        if message is None or message.outgoing or message.sender.id != user.id:
            raise ValueError(f"message {message_id} is not a message of user {user.id}")
        if self.record:
            message.history.append(message.snapshot())
        command = command_length(text)
        message.text = message.raw_text = text
        message.entities = (
            [{"type": "bot_command", "offset": 0, "length": command}] if command else []
        )
        message.edit_date = int(self._clock())
        message.edit_count += 1
        return self.update_queue.enqueue("edited_message", message.to_api())

    def press(
        self,
        chat: Chat | int,
        user: User,
        message_id: int | None,
        data: str,
        *,
        strict: bool = True,
    ) -> Press:
        """``user`` presses the inline button with callback ``data`` under a bot message.

        ``message_id=None`` means the newest bot message with an inline keyboard. With
        ``strict`` the button must be on the message now (a user cannot press anything else).
        """
        state = self._state(chat)
        self._users.setdefault(user.id, user)
        message = self._pressable(state, message_id)
        label = message.label_for(data)
        if label is None and strict:
            raise ValueError(
                f"message {message.message_id} has no button with callback_data {data!r}; "
                f"its buttons: {message.button_texts}"
            )
        query_id = str(4_000_000_000_000_000_000 + next(self._query_seq))
        update_id = self.update_queue.enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_api(),
                "message": message.to_api(),
                "chat_instance": state.chat_instance,
                "data": data,
            },
        )
        self.callback_queries[query_id] = CallbackQuery(
            query_id,
            update_id,
            user,
            state.chat.id,
            message.message_id,
            data,
            label,
            time.monotonic(),
        )
        if self.record:
            state.events.append(("press", user, label if label is not None else f"data={data}"))
        return Press(update_id, query_id)

    def press_button(
        self, chat: Chat | int, user: User, label: str, message_id: int | None = None
    ) -> Press:
        """Like :meth:`press`, choosing the button by its text."""
        state = self._state(chat)
        message = self._pressable(state, message_id)
        return self.press(chat, user, message.message_id, message.callback_data(label))

    def _pressable(self, state: ChatState, message_id: int | None) -> StoredMessage:
        if message_id is None:
            for candidate in reversed(state.bot_messages):
                if not candidate.deleted and candidate.keyboard:
                    return candidate
            raise ValueError(f"no bot message with an inline keyboard in chat {state.chat.id}")
        message = state.messages.get(message_id)
        if message is None or not message.outgoing or message.deleted:
            raise ValueError(f"no bot message {message_id} in chat {state.chat.id}")
        return message

    def poll(self, chat: Chat | int, message_id: int | None = None) -> PollState:
        """The poll of a bot message (``None``: the newest poll in the chat)."""
        state = self._state(chat)
        if message_id is None:
            for candidate in reversed(state.bot_messages):
                if candidate.poll is not None and not candidate.deleted:
                    return candidate.poll
            raise ValueError(f"no poll in chat {state.chat.id}")
        message = state.messages.get(message_id)
        if message is None or message.poll is None:
            raise ValueError(f"message {message_id} in chat {state.chat.id} is not a poll")
        return message.poll

    def answer_poll(
        self,
        chat: Chat | int,
        user: User,
        option_ids: Iterable[int],
        message_id: int | None = None,
        *,
        strict: bool = True,
    ) -> int:
        """``user`` votes in a poll (``message_id=None``: the newest); empty ``option_ids``
        retracts the vote. Enqueues a ``poll_answer`` update (with the poll's id, the user
        and the chosen options) and, as Telegram does for the bot's own polls, a ``poll``
        update with the new counts; returns the ``poll_answer``'s update id.

        With ``strict`` only what a Telegram app lets a user do: options of the poll, one of
        them unless it allows several, no vote in a closed poll, and no second vote (nor a
        retraction) where revoting is off, as in a quiz. ``strict=False`` sends anything.
        """
        state = self._state(chat)
        self._users.setdefault(user.id, user)
        poll = self.poll(state.chat, message_id)
        chosen = sorted(set(option_ids))
        if strict:
            if poll.is_anonymous:
                raise ValueError("votes in an anonymous poll reach no bot")
            if poll.is_closed:
                raise ValueError(f"poll {poll.id} is closed")
            if not all(0 <= k < len(poll.options) for k in chosen):
                raise ValueError(f"poll {poll.id} has {len(poll.options)} options: {chosen}")
            if len(chosen) > 1 and not poll.allows_multiple_answers:
                raise ValueError(f"poll {poll.id} takes one answer")
            if poll.votes.get(user.id) and not poll.allows_revoting:
                raise ValueError(f"{user.first_name} already voted in poll {poll.id}")
            if not chosen and not poll.votes.get(user.id):
                raise ValueError(f"{user.first_name} has no vote to retract in poll {poll.id}")
        if chosen:
            poll.votes[user.id] = chosen
        else:
            poll.votes.pop(user.id, None)
        update_id = self.update_queue.enqueue(
            "poll_answer",
            {
                "poll_id": poll.id,
                "user": user.to_api(),
                "option_ids": chosen,
                "option_persistent_ids": [str(k) for k in chosen],
            },
        )
        self.update_queue.enqueue("poll", poll.to_api())
        if self.record:
            label = ", ".join(poll.options[k] for k in chosen if k < len(poll.options))
            state.events.append(("vote", user, label or "(vote retracted)"))
        return update_id

    def retract_vote(
        self, chat: Chat | int, user: User, message_id: int | None = None, *, strict: bool = True
    ) -> int:
        """``user`` takes back their vote in a poll (a ``poll_answer`` with no options)."""
        return self.answer_poll(chat, user, [], message_id, strict=strict)

    def replay(self, update_id: int) -> int:
        """Deliver an exact duplicate (same update_id and ids inside) of an earlier update.

        The duplicate is delivered even though its id was already confirmed, and is
        confirmed by the next ``getUpdates`` whose offset passes the batch it came in.
        """
        self.update_queue.replay(update_id)
        return update_id

    def update(self, update_id: int) -> JSON:
        """An update the stand-in created, as it was sent."""
        return self.update_queue.log[update_id]

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot."""
        return self.update_queue.pending

    # ---------------------------------------------------------------- faults and limits

    def fail_next(
        self,
        n: int = 1,
        error_code: int = 429,
        retry_after: int = 1,
        *,
        description: str | None = None,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Make the next ``n`` sending calls (or calls of ``methods``) fail: see ``Limits``."""
        self.limits.fail_next(n, error_code, retry_after, description=description, methods=methods)

    def delay_next(self, method: str, seconds: float, n: int = 1, *, skip: int = 0) -> None:
        """Carry out the next ``n`` calls of ``method`` (after ``skip`` more) at once, as
        Telegram would, and answer them ``seconds`` late: slower than a client's read timeout,
        it cannot tell whether the call was carried out (it was)."""
        self.limits.spoil_answers(method, n, skip=skip, delay=seconds)

    def cut_next(self, method: str, n: int = 1, *, skip: int = 0) -> None:
        """Carry out the next ``n`` calls of ``method`` (after ``skip`` more), then write half
        the answer and close the connection: the client cannot tell whether the call was
        carried out (it was)."""
        self.limits.spoil_answers(method, n, skip=skip, cut=True)

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Turn flood limits on (or off with None); counters start afresh."""
        self.limits.set_rate_limits(limits)

    @property
    def rate_limited_count(self) -> int:
        """Calls answered 429 by the flood limits."""
        return self.limits.rate_limited_count

    @property
    def injected_failure_count(self) -> int:
        """Calls failed by ``fail_next``."""
        return self.limits.injected_failure_count

    # ---------------------------------------------------------------- inspection

    def messages(self, chat_id: Chat | int) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first, in their current state (deleted too)."""
        state = self._chats.get(as_chat_id(chat_id))
        return list(state.bot_messages) if state else []

    def all_messages(self, chat_id: Chat | int) -> list[StoredMessage]:
        """Every message in a chat (the users' and the bot's), by message_id."""
        state = self._chats.get(as_chat_id(chat_id))
        return [state.messages[k] for k in sorted(state.messages)] if state else []

    def message(self, chat_id: Chat | int, message_id: int) -> StoredMessage:
        """One message of a chat."""
        return self._chats[as_chat_id(chat_id)].messages[message_id]

    def last_message(self, chat_id: Chat | int) -> StoredMessage | None:
        """The newest bot message in the chat that is not deleted."""
        for message in reversed(self.messages(chat_id)):
            if not message.deleted:
                return message
        return None

    def last_chat_action(self, chat_id: Chat | int) -> str | None:
        state = self._chats.get(as_chat_id(chat_id))
        return state.last_action if state else None

    @property
    def answers(self) -> dict[str, CallbackQuery]:
        """Answered callback queries by query id (``text``, ``show_alert``, ``url``)."""
        return {qid: q for qid, q in self.callback_queries.items() if q.answered}

    @property
    def commands(self) -> list[JSON]:
        """The command list set for the default scope and no language."""
        return list(self._commands.get((scope_key(None), ""), []))

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The command list set for a scope and language."""
        return list(self._commands.get((scope_key(scope), language_code), []))

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive)."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def stats(self) -> JSON:
        """Counters, kept in both recording modes."""
        return {
            "calls": len(self.call_times),
            "methods": dict(self.method_counts),
            "statuses": dict(self.status_counts),
            "rate_limited": self.rate_limited_count,
            "injected_failures": self.injected_failure_count,
            "pending_updates": self.pending_updates,
            "internal_errors": len(self.internal_errors),
        }

    def transcript(self, chat_id: Chat | int, *, names: bool | None = None) -> str:
        """The conversation as a user sees it, one line per item, in order.

        User messages are ``> text``; presses ``[pressed: <button text>]``; bot messages show
        their current text (tags stripped, entities decoded) followed by one line per inline
        keyboard row (``[ A ] [ B ]``); photos ``[photo] caption``; documents
        ``[document: name] caption``; callback answers ``(alert: ...)`` or ``(toast: ...)``.
        Deleted messages are left out. ``names`` (default: in groups) prefixes the user.
        Needs ``record=True``.
        """
        state = self._chats.get(as_chat_id(chat_id))
        if state is None:
            return ""
        show_names = (not state.chat.is_private) if names is None else names
        lines: list[str] = []
        for event in state.events:
            kind = event[0]
            if kind == "user":
                message: StoredMessage = event[1]
                if message.deleted:
                    continue
                who = f"{message.sender.first_name}: " if show_names else ""
                body = message.text if message.text is not None else f"[{message.kind}]"
                lines.extend(f"> {who}{line}" for line in body.split("\n"))
            elif kind == "press":
                who = f"{event[1].first_name} " if show_names else ""
                lines.append(f"[{who}pressed: {event[2]}]")
            elif kind == "vote":
                who = f"{event[1].first_name} " if show_names else ""
                lines.append(f"[{who}voted: {event[2]}]")
            elif kind == "bot":
                message = event[1]
                if not message.deleted:
                    lines.extend(transcript_lines(message))
            elif kind == "answer":
                query: CallbackQuery = event[1]
                label = "alert" if query.show_alert else "toast"
                lines.append(f"({label}: {query.text})")
        return "\n".join(lines)

    # ---------------------------------------------------------------- waiting

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        *,
        interval: float = 0.05,
        what: str | None = None,
    ) -> Any:
        """Wait until ``predicate()`` (sync or async) is truthy and return its value.

        Re-checked after every request the stand-in answers and every ``interval`` seconds.
        Raises TimeoutError naming ``what`` and the last calls.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(
                    f"{c.method}->{c.status}" + (f" {c.description!r}" if not c.ok else "")
                    for c in self.calls[-8:]
                )
                raise TimeoutError(
                    f"{what or 'condition'} not met within {timeout}s; last calls: "
                    f"[{recent or 'none'}]"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(interval, remaining))

    async def wait_for_message(
        self, chat_id: Chat | int, count: int = 1, timeout: float = 10.0
    ) -> list[StoredMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return them."""
        cid = as_chat_id(chat_id)
        await self.wait_for(
            lambda: len(self.messages(cid)) >= count,
            timeout,
            what=f"{count} bot message(s) in chat {cid} (have {len(self.messages(cid))})",
        )
        return self.messages(cid)

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (counts work without recording)."""
        entry = self._handlers.get(method.lower())
        canonical = entry[0] if entry else method
        await self.wait_for(
            lambda: self.method_counts[canonical] >= count,
            timeout,
            what=f"{count} call(s) of {canonical}",
        )
        return self.calls_of(canonical)

    # ---------------------------------------------------------------- webhook delivery

    async def deliver_webhook(self, update: int | JSON) -> int:
        """POST an update (an update_id or a dict) to the registered webhook; return status.

        Sends ``X-Telegram-Bot-Api-Secret-Token`` when a secret token was set.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set")
        payload = self.update_queue.log[update] if isinstance(update, int) else update
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=30))
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        async with self._client.post(
            self.webhook_url, data=json.dumps(payload), headers=headers
        ) as response:
            await response.read()
            return response.status

    async def deliver_pending_webhooks(self) -> int:
        """Deliver queued updates in order until one is refused; return how many succeeded."""
        delivered = 0
        while self.update_queue.queue:
            update_id, _ = self.update_queue.queue[0]
            status = await self.deliver_webhook(update_id)
            if not 200 <= status < 300:
                break
            if self.update_queue.queue and self.update_queue.queue[0][0] == update_id:
                self.update_queue.queue.popleft()
            delivered += 1
        return delivered
