"""The private-chat bot end to end: the real Application over HTTP against the stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botapi_standin import BotApiStandIn
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "tests" / "transcripts"


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn() as server:
        yield server


@pytest.fixture
async def bot(api: BotApiStandIn, tmp_path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(api, tmp_path) as running:
        yield running


async def _bot_messages(api: BotApiStandIn, chat_id: int, count: int) -> None:
    await api.wait_for(lambda: len(api.messages(chat_id)) >= count, timeout=15)


async def test_full_study_session_with_reveal_and_every_rating(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    ann = api.user(1001, "Ann")
    chat = api.private_chat(ann)
    api.send_text(chat, ann, "/study 3")
    await _bot_messages(api, chat.id, 1)
    for k, label in enumerate(["1 · No idea", "2 · Partial", "3 · Got it"]):
        question = api.messages(chat.id)[-1]
        assert question.text and question.text.startswith(f"{k + 1}/")
        assert question.button_texts == [["Show answer", "Skip"]]
        api.press_button(chat, ann, "Show answer", question.message_id)
        await api.wait_for(
            lambda: any(label in row for m in api.messages(chat.id) for row in m.button_texts),
            timeout=15,
        )
        answer = next(
            m
            for m in reversed(api.messages(chat.id))
            if any(label in row for row in m.button_texts)
        )
        edited = api.message(chat.id, question.message_id)
        assert edited.text and "Answer" in edited.text and edited.edit_count == 1
        assert all(len(m.text or "") <= 4096 for m in api.messages(chat.id))
        before = len(api.messages(chat.id))
        api.press_button(chat, ann, label, answer.message_id)
        await _bot_messages(api, chat.id, before + 1)
    # The "no idea" item comes back once at the end of the session.
    retry = api.messages(chat.id)[-1]
    assert retry.text and retry.text.startswith("4/4") and "once more" in retry.text
    api.press_button(chat, ann, "Show answer", retry.message_id)
    await api.wait_for(
        lambda: any("3 · Got it" in row for row in api.messages(chat.id)[-1].button_texts),
        timeout=15,
    )
    api.press_button(chat, ann, "3 · Got it", api.messages(chat.id)[-1].message_id)
    await api.wait_for(
        lambda: "Session complete" in (api.messages(chat.id)[-1].text or ""), timeout=15
    )
    summary = api.messages(chat.id)[-1].text or ""
    assert "Rated 4: No idea 1 · Partial 1 · Got it 2" in summary
    reviews = bot.rows("SELECT item_id, rating, chat_id FROM reviews ORDER BY id")
    assert [r for _, r, _ in reviews] == [1, 2, 3, 3]
    assert reviews[0][0] == reviews[3][0] and all(c == chat.id for *_, c in reviews)
    assert bot.rows("SELECT count(*) FROM cards") == [(3,)]
    assert bot.rows("SELECT status FROM study_sessions") == [("finished",)]
    TRANSCRIPTS.mkdir(exist_ok=True)
    (TRANSCRIPTS / "study3.txt").write_text(api.transcript(chat.id), encoding="utf-8")
