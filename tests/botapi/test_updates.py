"""Updates: getUpdates (offset, limit, long polls, conflicts, allowed_updates), webhooks."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import ClientSession, web
from telegram import Bot
from telegram.error import Conflict

from tests.botapi import BotApiStandIn
from tests.botapi.conftest import JSON, call, keyboard


async def test_get_updates_offset_limit_and_commands(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    ids = [
        api.send_text(chat, alice, "/study 3"),
        api.send_text(chat, alice, f"/stats@{api.bot.username} now"),
        api.send_text(chat, alice, "hello /notacommand"),
        api.send_text(chat, alice, "/x@ab"),  # a bot username needs 3+ characters
    ]
    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert first[0].message.entities[0].length == len("/study")
    assert first[1].message.entities[0].length == len(f"/stats@{api.bot.username}")
    again = await bot.get_updates()  # nothing confirmed yet
    assert [u.update_id for u in again] == ids
    rest = await bot.get_updates(offset=ids[2])
    assert [u.update_id for u in rest] == ids[2:]
    assert rest[0].message.entities == () and rest[1].message.entities == ()
    assert api.pending_updates == 2
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[3:]
    assert await bot.get_updates(offset=ids[3] + 1) == ()
    assert api.pending_updates == 0


async def test_long_poll_wakes_on_update_and_times_out(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    started = time.monotonic()
    assert await bot.get_updates(timeout=0.3) == ()
    assert 0.25 <= time.monotonic() - started < 2

    async def later() -> None:
        await asyncio.sleep(0.1)
        api.send_text(chat, alice, "hi")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["hi"]
    assert time.monotonic() - started < 1


async def test_a_newer_get_updates_ends_the_pending_one(
    api: BotApiStandIn, http: ClientSession
) -> None:
    first = asyncio.create_task(call(http, api, "getUpdates", timeout=5))
    await api.wait_for(lambda: api.update_queue.poller is not None, what="a pending poll")
    second = await call(http, api, "getUpdates", timeout=0)
    status, body = await first
    assert second == (200, {"ok": True, "result": []})
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")


async def test_allowed_updates_and_replay(api: BotApiStandIn, bot: Bot) -> None:
    alice = api.user(1, "Alice")
    chat = api.private_chat(alice)
    sent = await bot.send_message(chat.id, "Q", reply_markup=keyboard([("A", "a")]))
    await bot.get_updates(allowed_updates=["callback_query"])
    dropped = api.send_text(chat, alice, "ignored")  # created while only presses are wanted
    press = api.press(chat, alice, sent.message_id, "a")
    [update] = await bot.get_updates()
    assert update.update_id == press.update_id
    assert dropped not in [update_id for update_id, _ in api.update_queue.queue]
    await bot.get_updates(offset=press.update_id + 1, allowed_updates=[])
    api.replay(press.update_id)
    [duplicate] = await bot.get_updates(offset=press.update_id + 1)
    assert duplicate.to_dict() == update.to_dict()
    assert await bot.get_updates(offset=press.update_id + 1) == ()
    assert api.update(press.update_id)["callback_query"]["id"] == press.query_id


async def test_webhook(api: BotApiStandIn, bot: Bot) -> None:
    received: list[tuple[str | None, JSON]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/hook"
        alice = api.user(1, "Alice")
        chat = api.private_chat(alice)
        assert await bot.set_webhook(url, secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates()
        update_id = api.send_text(chat, alice, "via webhook")
        assert (await bot.get_webhook_info()).pending_update_count == 1
        assert await api.deliver_pending_webhooks() == 1
        assert received == [("s3cret", api.update(update_id))]
        assert await api.deliver_webhook(update_id) == 200
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates() == ()
    finally:
        await runner.cleanup()
