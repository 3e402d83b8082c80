"""Webhook mode end to end: the stand-in delivers updates by HTTP POST with the secret header."""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import Settings, Webhook, webhook_secret_is_wellformed
from tests.botapi import BotApiStandIn
from tests.processes import memory_bytes, reset_peak_memory, start_bot_process, studybot

SECRET = "s3cret-token_for-tests-012345678"  # 32 characters: the shortest allowed
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What a person wrote: it is in no log line, at any level.
WORDS = "Whiskers-4711 ate my lecture notes"
MiB = 1024 * 1024


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
                for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1]}):
                    async with client.post(
                        url, data=payload, headers={"Content-Type": "application/json", **headers}
                    ) as response:
                        assert response.status == 403
            await asyncio.sleep(0.5)
            assert api.messages(chat.id) == []  # refused requests were not processed
            assert await api.deliver_webhook(update_id) == 200
            await api.wait_for(lambda: api.messages(chat.id), timeout=20)
            assert "/study [N] [type]" in (api.messages(chat.id)[0].text or "")
            assert await api.deliver_webhook(api.send_text(chat, ann, WORDS)) == 200
            await api.wait_for(lambda: len(api.messages(chat.id)) == 2, timeout=20)
            assert not api.calls_of("getUpdates")  # no polling in webhook mode
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
    log = (tmp_path / "webhook.log").read_text()
    assert proc.returncode == 0, log[-2000:]
    assert " DEBUG " in log  # the log really was at debug level
    assert SECRET not in log and api.token not in log
    assert WORDS not in log


async def test_big_bodies_are_refused_unread(tmp_path: Path) -> None:
    """20 MiB without the secret: refused, and the process does not buffer it (its resident
    memory, at its peak too, grows by less than that). Then the same with a wrong secret, and
    over 1 MiB with the right one. The bot still serves afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    body = b"x" * (20 * MiB)
    async with BotApiStandIn() as api:
        proc = await _start_webhook(api, tmp_path, url, port, LOG_LEVEL="INFO")
        try:
            await api.wait_for(lambda: api.webhook_url == url, timeout=30)
            await api.wait_for(lambda: _listening(port), timeout=20)
            async with aiohttp.ClientSession() as client:
                reset_peak_memory(proc.pid)
                before = memory_bytes(proc.pid)
                assert await _post(client, url, io.BytesIO(body), {}) in (403, None)
                await asyncio.sleep(0.5)
                _assert_grown_less_than(20 * 10**6, proc.pid, before)
                for headers in ({SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET}):
                    assert await _post(client, url, io.BytesIO(body), headers) in (403, 413, None)
                # Sent without Content-Length (chunked), with the secret: cut off at 1 MiB.
                assert await _post(client, url, _chunks(body), {SECRET_HEADER: SECRET}) in (
                    413,
                    None,
                )
                await asyncio.sleep(0.5)
                _assert_grown_less_than(20 * 10**6, proc.pid, before)
            bob = api.user(7002, "Bob")
            chat = api.private_chat(bob)
            assert await api.deliver_webhook(api.send_text(chat, bob, "/help")) == 200
            await api.wait_for(lambda: api.messages(chat.id), timeout=20)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
    log = (tmp_path / "webhook.log").read_text()
    assert proc.returncode == 0, log[-2000:]


def _assert_grown_less_than(limit: int, pid: int, before: int) -> None:
    for figure in ("VmRSS", "VmHWM"):
        grown = memory_bytes(pid, figure) - before
        assert grown < limit, f"{figure} grew by {grown / 10**6:.1f} MB"


async def _post(
    client: aiohttp.ClientSession,
    url: str,
    body: io.BytesIO | AsyncIterator[bytes],
    headers: dict[str, str],
) -> int | None:
    """The answer's status; None when the server closed the connection instead."""
    try:
        async with client.post(
            url, data=body, headers={"Content-Type": "application/json", **headers}
        ) as response:
            return response.status
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        return None


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), MiB):
        yield body[start : start + MiB]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _start_webhook(
    api: BotApiStandIn, tmp_path: Path, url: str, port: int, **env: str
) -> asyncio.subprocess.Process:
    flags = ("--webhook-url", url, "--port", str(port))  # listens on 127.0.0.1 by default
    return await start_bot_process(
        api, tmp_path, "webhook.log", flags, TELEGRAM_WEBHOOK_SECRET=SECRET, **env
    )


@pytest.mark.parametrize(
    ("args", "secret", "message"),
    [
        (["--webhook-url", "https://bot.example.com/hook"], "", "needs TELEGRAM_WEBHOOK_SECRET"),
        (
            ["--webhook-url", "https://bot.example.com/hook"],
            "bad secret!" + SECRET,
            "needs TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            ["--webhook-url", "https://bot.example.com/hook"],
            SECRET[:-1],  # 31 characters
            "needs TELEGRAM_WEBHOOK_SECRET",
        ),
        (
            ["--webhook-url", "https://bot.example.com/hook"],
            SECRET * 8 + "x",  # 257 characters
            "needs TELEGRAM_WEBHOOK_SECRET",
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
    assert done.stderr.count("\n") == 1 and done.stdout == ""
    assert message in done.stderr and "Traceback" not in done.stderr
    if secret:
        assert secret not in done.stderr
    if "SECRET" in message:  # a generated secret is suggested, and it is a valid one
        suggested = re.search(r"TELEGRAM_WEBHOOK_SECRET=(\S+)", done.stderr)
        assert suggested and webhook_secret_is_wellformed(suggested[1])


def test_secret_rules() -> None:
    assert webhook_secret_is_wellformed(secrets.token_urlsafe(32))
    assert webhook_secret_is_wellformed("A-z_9" * 6 + "ab")  # 32 of the allowed characters
    for bad in ("", "x" * 31, "x" * 257, "x" * 31 + "!", "x" * 31 + " ", "x" * 32 + "\n"):
        assert not webhook_secret_is_wellformed(bad), bad


def test_repr_shows_neither_the_token_nor_the_secret() -> None:
    token = "7000000001:AAStandInTokenForTestsOnly_0123456789"
    database = "postgresql+psycopg://bot:Db-Password-9@db/studybot"
    settings = Settings(token=token, webhook_secret=SECRET, database_url=database)
    assert "Db-Password-9" not in repr(settings)
    webhook = Webhook(url="https://x/hook", path="hook", listen="127.0.0.1", port=1, secret=SECRET)
    for text in (repr(settings), str(settings), repr(webhook), str(webhook)):
        assert token not in text and token.split(":")[1] not in text
        assert SECRET not in text
