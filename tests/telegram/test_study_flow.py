"""A private study session as a phone shows it (issue 17): the reveal in one message, the
key-point checklist, intervals on the rating buttons, typed answers, [Full answer], an open
session asked about, /cancel, /start and the summary's buttons. The real bot over HTTP."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from bot.core.render import inline_math_to_unicode
from bot.core.srs import Grade, grade, make_scheduler, preview_intervals
from bot.core.text import back_in
from tests.botapi import BotApiStandIn, StoredMessage
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

KEY_POINTS = [
    "Softmax is invariant to adding a constant to every logit",
    "Subtracting the maximum logit keeps every exponent at most zero, so nothing overflows",
    "The same trick gives the stable log-sum-exp used in cross-entropy",
]
SECTIONS = (
    "Why subtract the maximum logit before a softmax?\n\n"
    "## Short answer\nSoftmax does not change when a constant is added to every logit, so "
    "subtracting the maximum keeps $e^{z}$ from overflowing.\n\n"
    "## Key points\n" + "\n".join(f"- {p}" for p in KEY_POINTS)
)
FULL = (
    "Softmax is $e^{z_i} / \\sum_j e^{z_j}$.\n\n"
    "$$\n\\frac{e^{z_i - c}}{\\sum_j e^{z_j - c}}\n$$\n\n"
    "With $c = \\max_j z_j$ the largest term is 1."
)


def _content(tmp_path: Path, n: int = 3) -> Path:
    root = tmp_path / "content"
    for k in range(1, n + 1):
        write_item(root, "concepts", f"c00{k}", question=SECTIONS, answer=FULL, difficulty=k)
    return root


def _labels(message: StoredMessage) -> list[str]:
    return [label for row in message.button_texts for label in row]


def _has(message: StoredMessage, prefix: str) -> bool:
    return any(label.startswith(prefix) for label in _labels(message))


async def _wait_text(api: BotApiStandIn, chat_id: int, words: str) -> StoredMessage:
    await api.wait_for(
        lambda: any(words in (m.text or "") for m in api.messages(chat_id)), timeout=15
    )
    return next(m for m in reversed(api.messages(chat_id)) if words in (m.text or ""))


def _toast(api: BotApiStandIn, query_id: str) -> str:
    return api.answers[query_id].text or ""


async def test_reveal_checklist_intervals_full_answer_and_rating(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path, content=_content(tmp_path)) as bot:
        ann = api.user(3001, "Ann")
        chat = api.private_chat(ann)
        api.send_text(chat, ann, "/study 3")
        question = await _wait_text(api, chat.id, "1/3")
        api.press_button(chat, ann, "Show answer", question.message_id)
        await api.wait_for(lambda: _has(api.message(chat.id, question.message_id), "☐ 1"))
        revealed = api.message(chat.id, question.message_id)
        # One message: header, question, short answer, key points; nothing sent below it.
        assert api.messages(chat.id)[-1].message_id == question.message_id
        text = revealed.text or ""
        assert text.startswith("1/3") and "Why subtract" in text and "Short answer" in text
        assert all(p in text for p in KEY_POINTS) and len(text) <= 1500
        assert revealed.edit_count == 1
        # The intervals are fsrs's for this (new) card now; a 1 comes back in this session.
        ahead = preview_intervals(make_scheduler(fuzzing=False), None, "c001", datetime.now(UTC))
        assert _labels(revealed) == [
            "☐ 1", "☐ 2", "☐ 3",
            "1 · No idea · again today",
            f"2 · Partial · {back_in(ahead[Grade.PARTIAL])}",
            f"3 · Got it · {back_in(ahead[Grade.GOT_IT])}",
            "Full answer",
        ]  # fmt: skip
        # Ticking two of three key points suggests a 2; all three a 3; unticking takes it back.
        for box in ("☐ 1", "☐ 2"):
            api.press_button(chat, ann, box, question.message_id)
            await api.wait_for(
                lambda box=box: _has(  # type: ignore[misc]
                    api.message(chat.id, question.message_id), "☑ " + box[-1]
                )
            )
        assert _has(api.message(chat.id, question.message_id), "👉 2 · Partial")
        api.press_button(chat, ann, "☐ 3", question.message_id)
        await api.wait_for(lambda: _has(api.message(chat.id, question.message_id), "👉 3 · Got"))
        assert not _has(api.message(chat.id, question.message_id), "👉 2")
        # [Full answer]: the answer below (its formula as a photo); the buttons move down.
        full_data = revealed.callback_data("Full answer")
        api.press_button(chat, ann, "Full answer", question.message_id)
        await api.wait_for(
            lambda: (
                api.messages(chat.id)[-1].message_id != question.message_id
                and _has(api.messages(chat.id)[-1], "☑ 1")
            )
        )
        last = api.messages(chat.id)[-1]
        assert not _has(last, "Full answer") and _has(last, "👉 3 · Got it")
        await api.wait_for(lambda: api.message(chat.id, question.message_id).button_texts == [])
        assert any(m.photo for m in api.messages(chat.id)), "the display formula as an image"
        full = "\n".join(m.text or m.caption or "" for m in api.messages(chat.id)[1:])
        assert "Full answer" in full and "largest term is 1" in full
        # A second press of [Full answer] (an old client) sends nothing more.
        before = len(api.messages(chat.id))
        again = api.press(chat, ann, question.message_id, full_data, strict=False)
        await api.wait_for(lambda: again.query_id in api.answers)
        assert len(api.messages(chat.id)) == before
        # The rating: the toast and the kept button say the same.
        press = api.press_button(chat, ann, "3 · Got it", last.message_id)
        await _wait_text(api, chat.id, "2/3")
        card = bot.deps.study.item("c001")
        assert card is not None
        kept = [b for b in _labels(api.message(chat.id, last.message_id)) if b.startswith("✓")]
        assert len(kept) == 1 and kept[0].startswith("✓ 3 · Got it · ")
        assert _toast(api, press.query_id) == "Recorded: " + kept[0].removeprefix("✓ ")
        reviews = bot.rows("SELECT item_id, rating FROM reviews")
        assert reviews == [("c001", 3)]


async def test_a_typed_answer_is_checked_against_the_key_points(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path, content=_content(tmp_path, 1)) as bot:
        bo = api.user(3002, "Bo")
        chat = api.private_chat(bo)
        api.send_text(chat, bo, "hello?")
        await _wait_text(api, chat.id, "Send /study")
        api.send_text(chat, bo, "/study 1")
        question = await _wait_text(api, chat.id, "1/1")
        api.send_text(chat, bo, "Softmax is invariant when you add a constant to the logits")
        reply = await _wait_text(api, chat.id, "key points")
        assert "covered 1 of 3 key points (1); missed 2, 3" in (reply.text or "")
        revealed = api.message(chat.id, question.message_id)
        assert "Short answer" in (revealed.text or "")
        assert _labels(revealed)[:3] == ["☑ 1", "☐ 2", "☐ 3"]
        assert _has(revealed, "👉 1 · No idea")  # one of three: a 1
        # After the reveal, text is not an answer any more.
        api.send_text(chat, bo, "and the max trick stops overflow")
        await _wait_text(api, chat.id, "Rate with the buttons above, or /cancel.")
        assert bot.rows("SELECT COUNT(*) FROM reviews") == [(0,)]
        api.press_button(chat, bo, "2 · Partial", question.message_id)
        summary = await _wait_text(api, chat.id, "Session complete")
        assert "Rated 1 item" in (summary.text or "")
        assert summary.button_texts == [["10 more", "Stats"]]


async def test_study_with_a_session_open_asks_and_cancel_records_nothing(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path, content=_content(tmp_path)) as bot:
        cy = api.user(3003, "Cy")
        chat = api.private_chat(cy)
        api.send_text(chat, cy, "/study 3")
        first = await _wait_text(api, chat.id, "1/3")
        api.send_text(chat, cy, "/study 2")
        ask = await _wait_text(api, chat.id, "session open")
        assert ask.button_texts == [["Continue (3 left)", "Start new"]]
        api.press_button(chat, cy, "Continue (3 left)", ask.message_id)
        await api.wait_for(lambda: sum("1/3" in (m.text or "") for m in api.messages(chat.id)) == 2)
        assert api.message(chat.id, first.message_id).button_texts == []  # one live question
        again = api.messages(chat.id)[-1]
        api.send_text(chat, cy, "/study 2")
        await api.wait_for(
            lambda: sum("session open" in (m.text or "") for m in api.messages(chat.id)) == 2
        )
        ask = api.messages(chat.id)[-1]
        api.press_button(chat, cy, "Start new", ask.message_id)
        await _wait_text(api, chat.id, "1/2")
        assert api.message(chat.id, again.message_id).button_texts == []  # the old one ended
        newest = api.messages(chat.id)[-1]
        api.send_text(chat, cy, "/cancel")
        await _wait_text(api, chat.id, "Cancelled. Nothing was recorded.")
        assert api.message(chat.id, newest.message_id).button_texts == []
        assert not any("Session complete" in (m.text or "") for m in api.messages(chat.id))
        assert bot.stats(cy.id).sessions == 0  # cancelled sessions are in no history
        assert {s for (s,) in bot.rows("SELECT status FROM study_sessions")} == {"cancelled"}


async def test_start_is_short_with_buttons_that_work(api: BotApiStandIn, bot: RunningBot) -> None:
    di = api.user(3004, "Di")
    chat = api.private_chat(di)
    api.send_text(chat, di, "/start")
    start = await _wait_text(api, chat.id, "Hi!")
    assert len(start.text or "") <= 600
    assert start.button_texts == [["Study 10 now"], ["Daily push…", "How it works"]]
    api.press_button(chat, di, "How it works", start.message_id)
    await _wait_text(api, chat.id, "Rate honestly")
    api.press_button(chat, di, "Study 10 now", start.message_id)
    await _wait_text(api, chat.id, "1/10")


def test_fsrs_previews_match_what_a_rating_records() -> None:
    """The button says what the rating will do (with the scheduler's fuzz off)."""
    scheduler = make_scheduler(fuzzing=False)
    now = datetime(2026, 12, 7, 9, tzinfo=UTC)
    card, _ = grade(scheduler, None, "x", Grade.GOT_IT, now)
    later = datetime(2026, 12, 10, 9, tzinfo=UTC)
    ahead = preview_intervals(scheduler, card, "x", later)
    for g in Grade:
        assert grade(scheduler, card, "x", g, later)[1] == ahead[g]


async def test_a_private_study_3_on_the_real_catalog(api: BotApiStandIn, bot: RunningBot) -> None:
    """The session of the closing note: a reveal with the checklist, a typed answer, the full
    answer, three ratings and the summary (STUDYBOT_TRANSCRIPTS=DIR keeps the transcript)."""
    eve = api.user(3005, "Eve")
    chat = api.private_chat(eve)
    api.send_text(chat, eve, "/study 3")
    first = await _wait_text(api, chat.id, "1/3")
    # 1: Show answer, tick every key point: a 3 is suggested, and given.
    api.press_button(chat, eve, "Show answer", first.message_id)
    await api.wait_for(lambda: _has(api.message(chat.id, first.message_id), "☐ 1"))
    boxes = [b for b in _labels(api.message(chat.id, first.message_id)) if b.startswith("☐")]
    for box in boxes:
        api.press_button(chat, eve, box, first.message_id)
        await api.wait_for(
            lambda box=box: _has(  # type: ignore[misc]
                api.message(chat.id, first.message_id), "☑ " + box[2:]
            )
        )
    assert _has(api.message(chat.id, first.message_id), "👉 3 · Got it")
    api.press_button(chat, eve, "3 · Got it", first.message_id)
    second = await _wait_text(api, chat.id, "2/3")
    # 2: a typed answer: two of its key points, as a person would type them.
    item = bot.deps.study.catalog.get(
        bot.rows("SELECT queue FROM study_sessions")[0][0].split(",")[1]
    )
    assert item is not None
    typed = ". ".join(inline_math_to_unicode(p) for p in item.key_points[:3:2])
    api.send_text(chat, eve, typed)
    await _wait_text(api, chat.id, "key points")
    api.press_button(chat, eve, "2 · Partial", second.message_id)
    third = await _wait_text(api, chat.id, "3/3")
    # 3: Show answer, then the full answer, then "no idea": it comes back once more.
    api.press_button(chat, eve, "Show answer", third.message_id)
    await api.wait_for(lambda: _has(api.message(chat.id, third.message_id), "Full answer"))
    api.press_button(chat, eve, "Full answer", third.message_id)
    await api.wait_for(lambda: api.message(chat.id, third.message_id).button_texts == [])
    api.press_button(chat, eve, "1 · No idea")
    retry = await _wait_text(api, chat.id, "4/4")
    assert "once more" in (retry.text or "")
    api.press_button(chat, eve, "Show answer", retry.message_id)
    await api.wait_for(lambda: _has(api.message(chat.id, retry.message_id), "2 · Partial"))
    api.press_button(chat, eve, "2 · Partial", retry.message_id)
    summary = await _wait_text(api, chat.id, "Session complete")
    assert "Rated 4 items: No idea 1 · Partial 2 · Got it 1" in (summary.text or "")
    assert [r for (r,) in bot.rows("SELECT rating FROM reviews ORDER BY id")] == [3, 2, 1, 2]
    transcripts = os.environ.get("STUDYBOT_TRANSCRIPTS")
    if transcripts:
        Path(transcripts).mkdir(parents=True, exist_ok=True)
        (Path(transcripts) / "private_study3.txt").write_text(
            api.transcript(chat.id), encoding="utf-8"
        )


async def test_the_start_and_summary_buttons_open_settings_and_stats(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path, content=_content(tmp_path, 1)):
        fy = api.user(3006, "Fy")
        chat = api.private_chat(fy)
        api.send_text(chat, fy, "/start")
        start = await _wait_text(api, chat.id, "Hi!")
        assert "Next push:" in (start.text or "")
        api.press_button(chat, fy, "Daily push…", start.message_id)
        await api.wait_for(lambda: api.messages(chat.id)[-1].message_id != start.message_id)
        settings = api.messages(chat.id)[-1]
        assert "Next push" in (settings.text or "") and settings.button_texts
        api.send_text(chat, fy, "/study 1")
        question = await _wait_text(api, chat.id, "1/1")
        api.press_button(chat, fy, "Show answer", question.message_id)
        await api.wait_for(lambda: _has(api.message(chat.id, question.message_id), "3 · Got"))
        api.press_button(chat, fy, "3 · Got it", question.message_id)
        summary = await _wait_text(api, chat.id, "Session complete")
        api.press_button(chat, fy, "Stats", summary.message_id)
        await api.wait_for(lambda: api.messages(chat.id)[-1].message_id != summary.message_id)
        await api.wait_for(
            lambda: any(
                "Items studied: 1" in (m.text or m.caption or "") for m in api.messages(chat.id)
            )
        )
        # [10 more] stays under the summary after [Stats].
        assert summary.button_texts == [["10 more", "Stats"]]


async def test_forged_study_and_tick_buttons_are_checked_like_typed_input(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    async with running_bot(api, tmp_path, content=_content(tmp_path)) as bot:
        gi = api.user(3007, "Gi")
        chat = api.private_chat(gi)
        api.send_text(chat, gi, "/start")
        start = await _wait_text(api, chat.id, "Hi!")
        zero = api.press(chat, gi, start.message_id, "b:0", strict=False)
        await api.wait_for(lambda: zero.query_id in api.answers)
        assert "Choose at least 1 item" in _toast(api, zero.query_id)
        assert bot.rows("SELECT COUNT(*) FROM study_sessions") == [(0,)]
        many = api.press(chat, gi, start.message_id, "b:99", strict=False)
        await api.wait_for(lambda: zero.query_id in api.answers and many.query_id in api.answers)
        await _wait_text(api, chat.id, "A session has at most 50 items.")
        question = await _wait_text(api, chat.id, "1/3")
        api.press_button(chat, gi, "Show answer", question.message_id)
        await api.wait_for(lambda: _has(api.message(chat.id, question.message_id), "☐ 1"))
        # Ticks for points the answer does not have: only its own three count.
        api.press(chat, gi, question.message_id, "m:1:0:63", strict=False)
        await api.wait_for(lambda: _has(api.message(chat.id, question.message_id), "☑ 3"))
        labels = _labels(api.message(chat.id, question.message_id))
        assert labels[:3] == ["☑ 1", "☑ 2", "☑ 3"] and "👉" in labels[5]
