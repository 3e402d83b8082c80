"""/weak and /stats as a learner meets them: the real Application over HTTP, the stand-in.

The sessions are studied through the bot's own buttons, found by how their labels begin
("Show answer", "1 · No idea"), so the tests hold whatever a button adds after that (the
interval, a suggested-rating mark).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.botapi import BotApiStandIn, Call, Chat, StoredMessage, User
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin (CET)
LABEL_CHARS = 60
LONG_TITLE = "Rotary positional embeddings (RoPE) and why they extrapolate poorly"


def _button_starting(api: BotApiStandIn, chat: Chat, prefix: str) -> tuple[int, str] | None:
    """(message id, label) of the newest button whose label begins with ``prefix``."""
    for message in reversed(api.messages(chat.id)):
        for row in message.button_texts:
            for label in row:
                if label.startswith(prefix):
                    return message.message_id, label
    return None


def _texts_with(api: BotApiStandIn, chat: Chat, words: str) -> list[StoredMessage]:
    return [m for m in api.messages(chat.id) if words in (m.text or "")]


def _uploads(api: BotApiStandIn) -> list[Call]:
    return [c for c in api.calls_of("sendChatAction") if c.params.get("action") == "upload_photo"]


async def _study(
    api: BotApiStandIn, bot: RunningBot, chat: Chat, user: User, n: int, ratings: list[int]
) -> None:
    """``/study n``, then reveal and rate every question in turn (retries included) with
    ``ratings``, until the session ends."""
    labels = {1: "1 · No idea", 2: "2 · Partial", 3: "3 · Got it"}
    api.send_text(chat, user, f"/study {n}")
    for rating in ratings:
        await api.wait_for(
            lambda: _button_starting(api, chat, "Show answer") is not None, timeout=15
        )
        shown = _button_starting(api, chat, "Show answer")
        assert shown is not None
        api.press_button(chat, user, shown[1], shown[0])
        await api.wait_for(
            lambda r=rating: _button_starting(api, chat, labels[r]) is not None,  # type: ignore[misc]
            timeout=15,
        )
        found = _button_starting(api, chat, labels[rating])
        assert found is not None
        before = len(bot.rows("SELECT id FROM reviews"))
        api.press_button(chat, user, found[1], found[0])
        await api.wait_for(lambda b=before: len(bot.rows("SELECT id FROM reviews")) > b)  # type: ignore[misc]
    learner = bot.learner(user.id)
    await api.wait_for(lambda: bot.deps.study.active_session(learner, chat.id) == 0, timeout=15)


async def test_weak_ranks_items_just_failed_first_with_a_low_figure(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    for k in range(1, 6):
        title = LONG_TITLE if k == 2 else None
        write_item(content, "concepts", f"c00{k}", title=title)
    async with running_bot(api, tmp_path, content=content) as bot:
        bot.set_clock(NOW)
        ann = api.user(9001, "Ann")
        chat = api.private_chat(ann)
        # Three items rated "No idea", one "Got it"; the three come back once and fail again.
        await _study(api, bot, chat, ann, 4, [1, 1, 1, 3, 1, 1, 1])
        failed = {r[0] for r in bot.rows("SELECT item_id FROM reviews WHERE rating = 1")}
        known = {r[0] for r in bot.rows("SELECT item_id FROM reviews WHERE rating = 3")}
        assert len(failed) == 3 and len(known) == 1 and "c002" in failed
        api.send_text(chat, ann, "/weak")
        await api.wait_for(lambda: _texts_with(api, chat, "Weak spots"), timeout=15)
    weak = _texts_with(api, chat, "Weak spots")[0]
    assert weak.text is not None and "a week from now" in weak.text
    items = [row[0] for row in weak.button_texts if not row[0].startswith("Drill ")]
    figures = [int(re.search(r" · (\d+)% · ", label).group(1)) for label in items]  # type: ignore[union-attr]
    # Recall *now* is 100% for all four (each was just reviewed); a week ahead it is not.
    assert {label.split(" · ")[0] for label in items[:3]} == failed
    assert items[3].split(" · ")[0] in known
    assert all(f < 60 for f in figures[:3]) and figures[3] > max(figures[:3])
    # A long title is cut at a word, with an ellipsis, never chopped mid-word.
    assert all(len(label) <= LABEL_CHARS for label in items)
    cut = next(label for label in items if label.startswith("c002"))
    shown = cut.split(" · ", 2)[2]
    assert shown.endswith("…") and LONG_TITLE.startswith(shown[:-1])
    assert LONG_TITLE[len(shown) - 1] == " "


async def test_stats_first_steps_then_times_in_the_chat_zone_and_a_chart(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    bot.set_clock(NOW)
    bea = api.user(9002, "Bea")
    chat = api.private_chat(bea)
    api.send_text(chat, bea, "/start")
    await api.wait_for(lambda: len(api.messages(chat.id)) >= 1, timeout=15)
    api.send_text(chat, bea, "/timezone Europe/Berlin")
    await api.wait_for(lambda: bot.deps.tz(chat.id) == ZoneInfo("Europe/Berlin"), timeout=15)

    # A new learner: a first-steps text, no chart of empty axes.
    api.send_text(chat, bea, "/stats")
    await api.wait_for(lambda: _texts_with(api, chat, "No reviews yet"), timeout=15)
    await api.wait_for(lambda: True)
    assert "/study" in (_texts_with(api, chat, "No reviews yet")[0].text or "")
    assert not any(m.photo for m in api.messages(chat.id))
    assert not _uploads(api) and not api.calls_of("sendPhoto")

    await _study(api, bot, chat, bea, 2, [1, 3, 2])
    bot.deps.stats_asked.clear()  # the 10-second limit is not what this test is about
    api.send_text(chat, bea, "/stats")
    await api.wait_for(lambda: any(m.photo for m in api.messages(chat.id)), timeout=30)
    text = _texts_with(api, chat, "Items studied")[0].text or ""
    # The session started at 09:00 UTC: 10:00 in Berlin.
    assert "02 Mar 10:00 CET · 3 ratings: 1 / 1 / 1" in text and "UTC" not in text
    assert "Items studied: 2 of" in text and "· 3 reviews · 1 session" in text
    assert "Streak: 1 day in a row" in text and "(s)" not in text
    # "Sending a photo" shows while the chart is drawn.
    action, photo = _uploads(api), api.calls_of("sendPhoto")
    assert len(action) == 1 and len(photo) == 1 and action[0].ts < photo[0].ts
