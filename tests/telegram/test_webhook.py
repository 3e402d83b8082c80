"""Webhook mode end to end: the stand-in delivers updates by HTTP POST with the secret header."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path

import aiohttp
import pytest

from tests.botapi import BotApiStandIn
from tests.processes import start_bot_process, studybot

SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_processes_only_requests_with_the_secret(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    async with BotApiStandIn() as api:
        proc = await _start_webhook(api, tmp_path, url, port)
        try:
            await api.wait_for(lambda: api.webhook_url == url, timeout=30)
            assert api.webhook_secret == SECRET
            await api.wait_for(lambda: _listening(port), timeout=20)
            ann = api.user(7001, "Ann")
            chat = api.private_chat(ann)
            update_id = api.send_text(chat, ann, "/help")
            async with aiohttp.ClientSession() as client:
                payload = json.dumps(api.update(update_id))
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with client.post(
                        url, data=payload, headers={"Content-Type": "application/json", **headers}
                    ) as response:
                        assert response.status == 403
            await asyncio.sleep(0.5)
            assert api.messages(chat.id) == []  # refused requests were not processed
            assert await api.deliver_webhook(update_id) == 200
            await api.wait_for(lambda: api.messages(chat.id), timeout=20)
            assert "Commands" in (api.messages(chat.id)[0].text or "")
            assert not api.calls_of("getUpdates")  # no polling in webhook mode
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
    log = (tmp_path / "webhook.log").read_text()
    assert proc.returncode == 0, log[-2000:]
    assert SECRET not in log and api.token not in log


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _start_webhook(
    api: BotApiStandIn, tmp_path: Path, url: str, port: int
) -> asyncio.subprocess.Process:
    flags = ("--webhook-url", url, "--listen", "127.0.0.1", "--port", str(port))
    return await start_bot_process(
        api, tmp_path, "webhook.log", flags, TELEGRAM_WEBHOOK_SECRET=SECRET
    )


@pytest.mark.parametrize(
    ("args", "secret", "message"),
    [
        (["--webhook-url", "https://bot.example.com/hook"], "", "needs TELEGRAM_WEBHOOK_SECRET"),
        (
            ["--webhook-url", "https://bot.example.com/hook"],
            "bad secret!",
            "needs TELEGRAM_WEBHOOK",
        ),
        (["--webhook-url", "ftp://x"], SECRET, "must be an http(s) URL"),
        (["--port", "8443"], SECRET, "only apply with --webhook-url"),
    ],
)
def test_webhook_flags_are_validated(
    tmp_path: Path, args: list[str], secret: str, message: str
) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "TELEGRAM_BOT_TOKEN": "7000000001:AAStandInTokenForTestsOnly_0123456789",
        "TELEGRAM_WEBHOOK_SECRET": secret,
    }
    done = studybot(["bot", *args], env)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
