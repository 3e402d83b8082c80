"""`studybot bot` as a real process: configured by environment, token never logged, clean stop."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.botapi import BotApiStandIn
from tests.processes import start_bot_process, studybot

# What a person wrote: it is in no log line, at any level.
WORDS = "Whiskers-4711 ate my lecture notes"


async def test_token_and_messages_never_logged_at_debug_and_sigterm_stops_cleanly(
    tmp_path: Path,
) -> None:
    async with BotApiStandIn() as api:
        proc = await start_bot_process(api, tmp_path)
        try:
            await api.wait_for_call("getUpdates", timeout=30)
            assert api.commands and api.commands[0]["command"] == "study"
            ann = api.user(2001, "Ann")
            chat = api.private_chat(ann)
            api.send_text(chat, ann, WORDS)
            await api.wait_for(lambda: api.messages(chat.id), timeout=20)
            api.send_text(chat, ann, "/study 1")
            await api.wait_for(lambda: len(api.messages(chat.id)) == 2, timeout=20)
            api.press_button(chat, ann, "Show answer")
            await api.wait_for(
                lambda: any(
                    any(b.startswith("3 · Got it") for b in row)
                    for row in api.messages(chat.id)[-1].button_texts
                ),
                timeout=20,
            )
            api.press_button(chat, ann, "3 · Got it")
            await api.wait_for(
                lambda: "Session complete" in (api.messages(chat.id)[-1].text or ""), timeout=20
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), timeout=30)
    log = (tmp_path / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, log[-2000:]
    assert " DEBUG telegram.ext" in log and "Polling Updates" in log  # really at debug level
    assert api.token not in log
    assert api.token.split(":")[1] not in log
    assert WORDS not in log
    assert "bot stopped" in log


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("wrong token", "answered 'Unauthorized'"),  # getMe answers 401
        ("wrong base URL", "answered 'Not Found'"),  # getMe answers 404
        ("no network", "cannot reach the Bot API"),
        ("webhook address taken", "cannot start"),
    ],
)
async def test_a_failed_start_is_one_line_without_the_token(
    tmp_path: Path, fault: str, says: str
) -> None:
    secret = "s3cret-token_for-tests-012345678"
    async with BotApiStandIn() as api:
        env = {**api.env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LOG_LEVEL": "INFO"}
        args = ["bot"]
        if fault == "wrong token":
            env["TELEGRAM_BOT_TOKEN"] = "7000000001:AAOtherTokenTheServerDoesNotKnow_0123"
        elif fault == "wrong base URL":
            env["TELEGRAM_BASE_URL"] = api.base_url.replace("/bot", "/v1/bot")
        elif fault == "no network":
            env["TELEGRAM_BASE_URL"] = f"http://127.0.0.1:{_closed_port()}/bot"
        # The stand-in's own port: taken.
        webhook = ["--webhook-url", "https://bot.example.com/hook", "--port", str(api.port)]
        if fault == "webhook address taken":
            args += webhook
            env["TELEGRAM_WEBHOOK_SECRET"] = secret
        # In a thread: the stand-in answers on this test's event loop meanwhile.
        done = await asyncio.to_thread(studybot, args, env)
    token = env["TELEGRAM_BOT_TOKEN"]
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("studybot: ") and done.stderr.count("\n") == 1, done.stderr
    assert says in done.stderr
    for secret_text in (token, token.split(":")[1], secret):
        assert secret_text not in done.stderr


def test_redaction_covers_later_handlers_and_uncaught_exceptions(tmp_path: Path) -> None:
    """The token and the secret in a handler added after the set-up (on a logger that does not
    propagate), in a thread's uncaught exception, and in the process's own uncaught one."""
    token = "7000000001:AAStandInTokenForTestsOnly_0123456789"
    secret = "s3cret-token_for-tests-012345678"
    script = textwrap.dedent(
        f"""
        import logging, sys, threading
        from bot.telegram.app import Redactor, install_redaction

        logging.basicConfig(level=logging.DEBUG)
        install_redaction(Redactor({token!r}, {secret!r}))
        later = logging.getLogger("later")
        later.propagate = False
        later.addHandler(logging.StreamHandler(sys.stdout))
        later.warning("url https://api.telegram.org/bot%s/getMe", {token!r})
        later.warning("encoded %s", {token!r}.replace(":", "%3A"))
        try:
            raise ValueError("secret {secret}")
        except ValueError:
            later.exception("caught")

        def fail():
            raise KeyError({token!r})

        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()
        raise RuntimeError("The token `{token}` was rejected by the server.")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "KeyError" in output and "RuntimeError" in output and "caught" in output
    assert "https://api.telegram.org/bot<token>/getMe" in output
    assert "<webhook-secret>" in output
    for secret_text in (token, token.split(":")[1], secret):
        assert secret_text not in output, output
