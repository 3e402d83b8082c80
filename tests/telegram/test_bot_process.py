"""`studybot bot` as a real process: configured by environment, token never logged, clean stop."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.botapi import BotApiStandIn
from tests.processes import start_bot_process


async def test_token_never_logged_at_debug_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    async with BotApiStandIn() as api:
        proc = await start_bot_process(api, tmp_path)
        try:
            await api.wait_for_call("getUpdates", timeout=30)
            assert api.commands and api.commands[0]["command"] == "study"
            ann = api.user(2001, "Ann")
            chat = api.private_chat(ann)
            api.send_text(chat, ann, "/study 1")
            await api.wait_for(lambda: api.messages(chat.id), timeout=20)
            api.press_button(chat, ann, "Show answer")
            await api.wait_for(
                lambda: any("3 · Got it" in row for row in api.messages(chat.id)[-1].button_texts),
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
    assert "DEBUG" in log and "getUpdates" in log  # really at debug level
    assert api.token not in log
    assert api.token.split(":")[1] not in log
    assert "<token>" in log  # the redaction did happen somewhere
    assert "bot stopped" in log
