"""Faults: blocked chats, injected failures, flood limits, latency."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import ClientSession
from telegram import Bot
from telegram.error import Forbidden, NetworkError, RetryAfter

from tests.botapi import BotApiStandIn, RateLimits
from tests.botapi.conftest import call


async def test_blocked_chats(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    private = api.private_chat(alice)
    group = api.group(-100, "Study group")
    supergroup = api.group(-1001234567890, "Big group", type="supergroup")
    for chat in (private, group, supergroup):
        api.block(chat)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(private.id, "hi")
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the group chat"):
        await bot.send_message(group.id, "hi")
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
        await bot.send_chat_action(supergroup.id, "typing")
    api.unblock(private, notify=True)
    assert (await bot.send_message(private.id, "back")).text == "back"
    [update] = await bot.get_updates()
    assert update.my_chat_member.new_chat_member.status == "member"


async def test_fail_next(api: BotApiStandIn, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without this opt-in PTB 22 warns (PTBDeprecationWarning) whenever it builds RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    chat = api.private_chat(api.user(1, "A"))
    api.fail_next(2, retry_after=3)
    api.fail_next(1, error_code=502)
    assert await bot.get_me()  # not a sending call
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(chat.id, "hi")
        assert caught.value.retry_after.total_seconds() == 3
    assert api.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
        await bot.send_message(chat.id, "hi")
    assert (await bot.send_message(chat.id, "hi")).text == "hi"
    api.fail_next(1, error_code=500, methods=["getMe"])
    with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
        await bot.get_me()
    assert api.injected_failure_count == 4 and api.status_counts[429] == 2


async def test_rate_limits(api: BotApiStandIn, http: ClientSession) -> None:
    group = api.group(-5, "G")
    api.set_rate_limits(RateLimits(global_per_second=None, group_per_minute=20))
    for k in range(20):
        status, _ = await call(http, api, "sendMessage", chat_id=group.id, text=f"m{k}")
        assert status == 200
    status, body = await call(http, api, "sendMessage", chat_id=group.id, text="one too many")
    assert status == 429
    retry_after = body["parameters"]["retry_after"]
    assert 58 <= retry_after <= 60 and body["description"].endswith(f"retry after {retry_after}")
    assert api.rate_limited_count == 1

    api.set_rate_limits(RateLimits(global_per_second=5, group_per_minute=None))
    chats = [api.private_chat(api.user(10 + k, f"U{k}")) for k in range(6)]
    statuses = [(await call(http, api, "sendMessage", chat_id=c.id, text="x"))[0] for c in chats]
    assert statuses == [200] * 5 + [429]
    await asyncio.sleep(1.05)
    assert (await call(http, api, "sendMessage", chat_id=chats[0].id, text="x"))[0] == 200


async def test_latency(http: ClientSession) -> None:
    async with BotApiStandIn(latency=0.1) as api:
        started = time.monotonic()
        await call(http, api, "getMe")
        assert time.monotonic() - started >= 0.1


async def test_fail_next_for_every_method(api: BotApiStandIn, bot: Bot) -> None:
    api.fail_next(1, error_code=503, methods=["*"])
    with pytest.raises(NetworkError, match=r"(?i)Service Unavailable"):
        await bot.get_me()
    assert (await bot.get_me()).is_bot
    assert api.injected_failure_count == 1 and api.stats()["injected_failures"] == 1
