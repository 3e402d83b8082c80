"""The private-chat bot end to end: the real Application over HTTP against the stand-in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.botapi import BotApiStandIn, StoredMessage, User
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

# Set STUDYBOT_TRANSCRIPTS=DIR to keep the conversations these tests record.
TRANSCRIPTS = (
    Path(os.environ.get("STUDYBOT_TRANSCRIPTS", ""))
    if os.environ.get("STUDYBOT_TRANSCRIPTS")
    else None
)


def _has_button(message: StoredMessage, prefix: str) -> bool:
    return any(b.startswith(prefix) for row in message.button_texts for b in row)


async def _full_answer(api: BotApiStandIn, chat_id: int, user: User) -> None:
    """Show answer, then Full answer: wait for the ratings under the full answer's end."""
    question = api.messages(chat_id)[-1]
    api.press_button(chat_id, user, "Show answer", question.message_id)
    await api.wait_for(lambda: _has_button(api.messages(chat_id)[-1], "Full answer"), timeout=15)
    api.press_button(chat_id, user, "Full answer", question.message_id)
    await api.wait_for(
        lambda: (
            api.messages(chat_id)[-1].message_id != question.message_id
            and _has_button(api.messages(chat_id)[-1], "3 · Got it")
        ),
        timeout=15,
    )


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
        assert question.button_texts == [["Show answer", "Skip", "Know it cold"]]
        api.press_button(chat, ann, "Show answer", question.message_id)
        await api.wait_for(
            lambda label=label, q=question: _has_button(  # type: ignore[misc]
                api.message(chat.id, q.message_id), label
            ),
            timeout=15,
        )
        answer = edited = api.message(chat.id, question.message_id)
        assert edited.text and "Short answer" in edited.text and edited.edit_count == 1
        assert all(len(m.text or "") <= 4096 for m in api.messages(chat.id))
        before = len(api.messages(chat.id))
        api.press_button(chat, ann, label, answer.message_id)
        await _bot_messages(api, chat.id, before + 1)
    # The "no idea" item comes back once at the end of the session.
    retry = api.messages(chat.id)[-1]
    assert retry.text and retry.text.startswith("4/4") and "once more" in retry.text
    api.press_button(chat, ann, "Show answer", retry.message_id)
    await api.wait_for(lambda: _has_button(api.messages(chat.id)[-1], "3 · Got it"), timeout=15)
    api.press_button(chat, ann, "3 · Got it", api.messages(chat.id)[-1].message_id)
    await api.wait_for(
        lambda: "Session complete" in (api.messages(chat.id)[-1].text or ""), timeout=15
    )
    summary = api.messages(chat.id)[-1].text or ""
    assert "Rated 4 items: No idea 1 · Partial 1 · Got it 2" in summary
    reviews = bot.rows("SELECT item_id, rating, chat_id FROM reviews ORDER BY id")
    assert [r for _, r, _ in reviews] == [1, 2, 3, 3]
    assert reviews[0][0] == reviews[3][0] and all(c == chat.id for *_, c in reviews)
    stats = bot.stats(ann.id)
    assert stats.studied == 3 and stats.sessions == 1
    assert bot.deps.study.active_session(bot.learner(ann.id), chat.id) == 0
    if TRANSCRIPTS is not None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / "study3.txt").write_text(api.transcript(chat.id), encoding="utf-8")


LONG_ANSWER = "\n\n".join(
    [
        f"Paragraph {k}: " + "attention scores are scaled by one over root d_k. " * 12
        for k in range(12)
    ]
    + [
        "```python\n"
        + "\n".join(f"x_{k} = softmax(q @ k.T / d ** 0.5)  # line {k}" for k in range(90))
        + "\n```"
    ]
    + [f"- bullet {k} with <angle> & ampersand" for k in range(40)]
)


async def test_long_answer_is_split_at_block_boundaries(api: BotApiStandIn, tmp_path: Path) -> None:
    content = tmp_path / "content"
    write_item(content, "concepts", "c001", answer=LONG_ANSWER)
    async with running_bot(api, tmp_path, content=content):
        bob = api.user(1002, "Bob")
        chat = api.private_chat(bob)
        api.send_text(chat, bob, "/study 1")
        await _bot_messages(api, chat.id, 1)
        await _full_answer(api, chat.id, bob)
    sent = api.messages(chat.id)
    assert len(sent) >= 4
    for message in sent:
        assert message.text is not None and len(message.text.encode("utf-16-le")) // 2 <= 4096
    raw = [m.raw_text or "" for m in sent]
    # Every message parsed as valid HTML at the stand-in; code blocks are never cut open.
    assert all(r.count("<pre>") == r.count("</pre>") for r in raw)
    code_lines = "\n".join(m.text or "" for m in sent)
    assert all(f"# line {k}" in code_lines for k in range(90))
    assert "with <angle> & ampersand" in sent[-1].text  # type: ignore[operator]


async def test_display_formula_is_sent_as_photo_with_unicode_caption(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    write_item(
        content,
        "derive",
        "v001",
        answer="Then\n\n$$\n\\boxed{\\nabla_z L = p - y}\n$$\n\n"
        "and an undrawable one:\n\n$$\n\\begin{cases} a \\end{cases}\n$$\n\nDone.",
    )
    async with running_bot(api, tmp_path, content=content):
        cy = api.user(1003, "Cy")
        chat = api.private_chat(cy)
        api.send_text(chat, cy, "/study 1")
        await _bot_messages(api, chat.id, 1)
        await _full_answer(api, chat.id, cy)
    photos = [m for m in api.messages(chat.id) if m.photo]
    assert len(photos) == 1
    assert photos[0].caption == "∇_z L = p - y"
    texts = [m.text or "" for m in api.messages(chat.id)]
    assert any("begin" in t for t in texts)  # the undrawable formula falls back to text


async def test_stats_first_steps_and_rate_limit(api: BotApiStandIn, bot: RunningBot) -> None:
    dee = api.user(1004, "Dee")
    chat = api.private_chat(dee)
    api.send_text(chat, dee, "/stats")
    await _bot_messages(api, chat.id, 1)
    text = api.messages(chat.id)[0].text or ""
    assert "No reviews yet" in text and f"{len(bot.deps.study.catalog)} items to study" in text
    api.send_text(chat, dee, "/stats")
    await _bot_messages(api, chat.id, 2)
    assert "once every 10 seconds" in (api.messages(chat.id)[-1].text or "")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/study abc", "Usage: /study [N] [type]"),
        ("/study 0", "Choose at least 1 item"),
        ("/study 5 nonsense", "I don't understand “nonsense”"),
        ("/study 1 2 3", "Usage: /study"),
        ("/frobnicate", "I don't know that command"),
        ("hello there", "Send /study to start"),
    ],
)
async def test_bad_input_gets_one_short_answer(
    api: BotApiStandIn, bot: RunningBot, command: str, expected: str
) -> None:
    eve = api.user(1005, "Eve")
    chat = api.private_chat(eve)
    api.send_text(chat, eve, command)
    await _bot_messages(api, chat.id, 1)
    await api.wait_for(lambda: True)
    assert len(api.messages(chat.id)) == 1
    assert expected in (api.messages(chat.id)[0].text or "")
    assert bot.stats(eve.id).sessions == 0
    assert bot.deps.study.active_session(bot.learner(eve.id), chat.id) == 0


async def test_study_999_is_clamped_with_a_notice(api: BotApiStandIn, bot: RunningBot) -> None:
    fay = api.user(1006, "Fay")
    chat = api.private_chat(fay)
    api.send_text(chat, fay, "/study 999 quiz")
    await _bot_messages(api, chat.id, 2)
    assert "A session has at most 50 items." in (api.messages(chat.id)[0].text or "")
    assert "quiz" in (api.messages(chat.id)[1].text or "")


async def test_forged_replayed_and_stale_presses_record_nothing(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    gus = api.user(1007, "Gus")
    chat = api.private_chat(gus)
    api.send_text(chat, gus, "/study 2")
    await _bot_messages(api, chat.id, 1)
    question = api.messages(chat.id)[-1]
    for data in ["garbage", "r:1:0:9", "x" * 64, "r:999:0:3", "a:1:5", "r:1:0:3"]:
        press = api.press(chat, gus, question.message_id, data, strict=False)
        await api.wait_for(lambda p=press: api.callback_queries[p.query_id].answered, timeout=10)
    assert bot.stats(gus.id).reviews == 0
    answers = [q.text for q in api.answers.values()]
    assert "This button isn't one of mine." in answers
    assert "This button is no longer valid." in answers
    # A real rating, then the same update delivered again: one review.
    api.press_button(chat, gus, "Show answer", question.message_id)
    await api.wait_for(lambda: _has_button(api.messages(chat.id)[-1], "2 · Partial"), timeout=15)
    press = api.press_button(chat, gus, "2 · Partial")
    await api.wait_for(
        lambda: api.messages(chat.id)[-1].button_texts == [["Show answer", "Skip", "Know it cold"]],
        timeout=10,
    )
    api.replay(press.update_id)
    await api.wait_for(lambda: all(q.answered for q in api.callback_queries.values()), timeout=10)
    assert bot.stats(gus.id).reviews == 1
    assert api.messages(chat.id)[-1].button_texts == [["Show answer", "Skip", "Know it cold"]]
    # A new session (asked for over the open one) ends the old one: its buttons go, and a
    # client that still shows them gets told.
    old = api.messages(chat.id)[-1]
    old_data = old.callback_data("Show answer")
    api.send_text(chat, gus, "/study 1")
    await api.wait_for(lambda: "session open" in (api.messages(chat.id)[-1].text or ""))
    api.press_button(chat, gus, "Start new")
    await api.wait_for(lambda: (api.messages(chat.id)[-1].text or "").startswith("1/1"))
    assert api.message(chat.id, old.message_id).button_texts == []
    stale = api.press(chat, gus, old.message_id, old_data, strict=False)
    await api.wait_for(lambda: api.callback_queries[stale.query_id].answered, timeout=10)
    assert api.callback_queries[stale.query_id].text == (
        "This session has ended. Send /study to start a new one."
    )
    assert bot.stats(gus.id).reviews == 1


async def test_cancel_and_edited_messages(api: BotApiStandIn, bot: RunningBot) -> None:
    hal = api.user(1009, "Hal")
    chat = api.private_chat(hal)
    api.send_text(chat, hal, "/cancel")
    await _bot_messages(api, chat.id, 1)
    assert "No session in progress" in (api.messages(chat.id)[0].text or "")
    api.send_text(chat, hal, "/study 2")
    await _bot_messages(api, chat.id, 2)
    mine = [m for m in api.all_messages(chat.id) if not m.outgoing][-1]
    api.edit_user_message(chat, hal, mine.message_id, "/study 40")  # edits are ignored
    api.send_text(chat, hal, "/cancel")
    await api.wait_for(
        lambda: "Cancelled. Nothing was recorded." in (api.messages(chat.id)[-1].text or ""),
        timeout=10,
    )
    assert bot.stats(hal.id).sessions == 0
    assert bot.deps.study.active_session(bot.learner(hal.id), chat.id) == 0
