"""Answers lost on their way back: a call carried out but answered late or cut off half-way, and
a server that is down for a while; the faults a client cannot tell from "not carried out"."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import ClientSession
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from tests.botapi import BotApiStandIn


async def test_a_late_answer_comes_after_the_call_was_carried_out(
    api: BotApiStandIn, bot: Bot
) -> None:
    chat = api.private_chat(api.user(1, "A"))
    api.delay_next("sendMessage", seconds=0.6, skip=1)
    assert (await bot.send_message(chat.id, "first")).text == "first"  # skipped: on time
    with pytest.raises(TimedOut):
        await bot.send_message(chat.id, "second", read_timeout=0.2)
    assert [m.text for m in api.messages(chat.id)] == ["first", "second"]  # delivered all the same
    assert (await bot.send_message(chat.id, "third", read_timeout=0.2)).text == "third"
    await asyncio.sleep(0.6)  # the late answer is written to a connection the client closed
    assert [c.status for c in api.calls_of("sendMessage")] == [200, 200, 200]
    assert not api.internal_errors


async def test_a_cut_answer_comes_after_the_call_was_carried_out(
    api: BotApiStandIn, bot: Bot, http: ClientSession
) -> None:
    chat = api.private_chat(api.user(1, "A"))
    api.cut_next("sendMessage", n=2)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(chat.id, "first")
    assert not isinstance(caught.value, TimedOut)
    url = f"{api.base_url}{api.token}/sendMessage"
    async with http.post(url, json={"chat_id": chat.id, "text": "second"}) as response:
        assert response.status == 200
        assert response.content_length is not None and response.content_length > 100
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    assert [m.text for m in api.messages(chat.id)] == ["first", "second"]
    assert (await bot.send_message(chat.id, "third")).text == "third"
    assert not api.internal_errors


async def test_a_server_that_was_down_is_back_on_its_port_with_its_state(
    api: BotApiStandIn, bot: Bot, http: ClientSession
) -> None:
    chat = api.private_chat(api.user(1, "A"))
    await bot.send_message(chat.id, "before")
    url = api.base_url
    await api.stop()
    with pytest.raises(aiohttp.ClientConnectorError):
        await http.post(f"{url}{api.token}/getMe")
    await api.start()
    assert api.base_url == url
    assert (await bot.send_message(chat.id, "after")).text == "after"
    assert [m.text for m in api.messages(chat.id)] == ["before", "after"]
