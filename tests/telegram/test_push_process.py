"""The daily push across real processes: a crash mid-push, a restart, two bots on one database,
and a push at a chat's own time on the real clock."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.services.chats import ChatService
from bot.storage.db import open_database
from tests.botapi import BotApiStandIn
from tests.harness import running_bot
from tests.processes import start_bot_process


def seed_owed_chats(db_url: str, chat_ids: list[int]) -> None:
    """Private chats subscribed since yesterday, push time 00:00 UTC: today's push is owed."""
    engine, sessions = open_database(db_url)
    chats = ChatService(sessions)
    now = datetime.now(UTC)
    for chat_id in chat_ids:
        chats.ensure(chat_id, "private", f"user {chat_id}", now)
        chats.update(
            chat_id, subscribed=True, push_time="00:00", schedule_from=now - timedelta(days=1)
        )
    engine.dispose()


def pushes_per_chat(api: BotApiStandIn, chat_ids: list[int]) -> dict[int, int]:
    return {c: sum("due today" in (m.text or "") for m in api.messages(c)) for c in chat_ids}


@pytest.fixture
def chat_ids() -> Iterator[list[int]]:
    yield list(range(5000, 5200))


async def test_killed_mid_push_and_restarted_every_chat_gets_exactly_one(
    tmp_path: Path, chat_ids: list[int]
) -> None:
    seed_owed_chats(f"sqlite:///{tmp_path / 'proc.db'}", chat_ids)
    async with BotApiStandIn() as api:
        for chat_id in chat_ids:
            api.private_chat(api.user(chat_id, f"U{chat_id}"))
        first = await start_bot_process(
            api, tmp_path, LOG_LEVEL="INFO", STUDYBOT_PUSH_LEASE_SECONDS="2"
        )
        try:
            await api.wait_for(lambda: api.method_counts["sendMessage"] >= 80, timeout=60)
            api.latency = 3600.0  # hold every request from now on: nothing more is delivered
            await asyncio.sleep(0.5)  # answers already under way reach the bot and are recorded
            first.send_signal(signal.SIGKILL)
            await first.wait()
        finally:
            if first.returncode is None:
                first.kill()
        delivered = sum(pushes_per_chat(api, chat_ids).values())
        assert 80 <= delivered < len(chat_ids)  # really cut off in the middle
        api.latency = 0.0
        second = await start_bot_process(
            api, tmp_path, LOG_LEVEL="INFO", STUDYBOT_PUSH_LEASE_SECONDS="2"
        )
        try:
            await api.wait_for(lambda: all(pushes_per_chat(api, chat_ids).values()), timeout=90)
            await asyncio.sleep(3)  # anything sent twice would arrive by now
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), timeout=30)
        counts = pushes_per_chat(api, chat_ids)
        assert set(counts.values()) == {1}, {c: n for c, n in counts.items() if n != 1}
        assert api.rate_limited_count == 0


@pytest.mark.backends("sqlite", "postgresql")
async def test_two_bot_processes_push_each_chat_once(
    tmp_path: Path, chat_ids: list[int], db_url: str
) -> None:
    chat_ids = chat_ids[:100]
    seed_owed_chats(db_url, chat_ids)
    async with BotApiStandIn() as api:
        for chat_id in chat_ids:
            api.private_chat(api.user(chat_id, f"U{chat_id}"))
        # Two processes need two tokens' worth of getUpdates: Telegram allows one poller per
        # bot, so the second one polls and fails with 409, as in production; pushes still run.
        procs = [
            await start_bot_process(
                api, tmp_path, log_name=f"bot{k}.log", LOG_LEVEL="INFO", DATABASE_URL=db_url
            )
            for k in range(2)
        ]
        try:
            await api.wait_for(lambda: all(pushes_per_chat(api, chat_ids).values()), timeout=90)
            await asyncio.sleep(3)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                await asyncio.wait_for(proc.wait(), timeout=30)
    counts = pushes_per_chat(api, chat_ids)
    assert set(counts.values()) == {1}, {c: n for c, n in counts.items() if n != 1}
    logs = [(tmp_path / f"bot{k}.log").read_text() for k in range(2)]
    assert all("daily push scheduled for 100 chat(s)" in log for log in logs)


async def test_push_arrives_at_the_chats_own_time_in_two_zones(tmp_path: Path) -> None:
    """On the real clock: two chats whose push time is the next minute, in two zones."""
    async with BotApiStandIn() as api, running_bot(api, tmp_path):
        now = datetime.now(UTC)
        at = (now + timedelta(minutes=2 if now.second > 45 else 1)).replace(second=0, microsecond=0)
        kolkata = at.astimezone(ZoneInfo("Asia/Kolkata"))
        ann = api.user(6001, "Ann")
        chat = api.private_chat(ann)
        group = api.group(-6002, "Evening club")
        boss = api.user(6003, "Boss")
        api.set_member_status(group, boss, "creator")
        api.send_text(chat, ann, f"/daily {at:%H:%M} UTC")
        api.send_text(group, boss, f"/daily {kolkata:%H:%M} Asia/Kolkata")
        await api.wait_for(lambda: api.messages(chat.id) and api.messages(group.id))
        assert not any("due today" in (m.text or "") for m in api.messages(chat.id))
        await api.wait_for(
            lambda: any("due today" in (m.text or "") for m in api.messages(chat.id)),
            timeout=(at - datetime.now(UTC)).total_seconds() + 20,
        )
        await api.wait_for(
            lambda: any("Today's items" in (m.text or "") for m in api.messages(group.id)),
            timeout=20,
        )
        pushed = next(
            c for c in api.calls_of("sendMessage") if "due today" in str(c.params.get("text"))
        )
        arrived = datetime.fromtimestamp(pushed.ts - _monotonic_offset(), UTC)
        assert at <= arrived < at + timedelta(seconds=15)


def _monotonic_offset() -> float:
    import time

    return time.monotonic() - time.time()
