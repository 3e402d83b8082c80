"""Quiz items as native quiz polls in groups: the poll itself, members' answers as reviews,
the group's switch in /settings, and private chats keeping the reveal flow."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from telegram.constants import PollLimit

from bot.core.content import Choice, load_catalog
from bot.telegram.polls import plain, quiz_poll
from tests.botapi import BotApiStandIn
from tests.harness import REPO_CONTENT, RunningBot, running_bot
from tests.telegram.test_group_sessions import content, posts

T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


def test_every_quiz_item_makes_a_poll_in_a_stable_shuffled_order() -> None:
    catalog = load_catalog([REPO_CONTENT])
    quizzes = [i for i in catalog.in_curriculum_order() if i.type == "quiz"]
    assert quizzes
    moved = 0
    for item in quizzes:
        poll = quiz_poll(item, "2/5")
        assert poll is not None, item.id
        assert poll == quiz_poll(item, "2/5")  # the same item, the same order
        written = [plain(c.text) for c in item.choices]
        assert sorted(poll.options) == sorted(written)
        right = next(plain(c.text) for c in item.choices if c.correct)
        assert poll.options[poll.correct] == right
        moved += poll.options != written
        assert poll.question.startswith("2/5 · ") and "$" not in poll.question
        assert 1 <= len(poll.question) <= PollLimit.MAX_QUESTION_LENGTH
        assert all(1 <= len(o) <= PollLimit.MAX_OPTION_LENGTH for o in poll.options)
        assert len(poll.explanation) <= PollLimit.MAX_EXPLANATION_LENGTH
        assert poll.explanation.count("\n") <= PollLimit.MAX_EXPLANATION_LINE_FEEDS
    assert moved > len(quizzes) // 2  # shuffled, not as written


def test_long_texts_are_cut_to_telegrams_limits_and_bad_choices_make_no_poll() -> None:
    item = next(i for i in load_catalog([REPO_CONTENT]).in_curriculum_order() if i.choices)
    long = replace(
        item,
        poll="",
        question="Why " + "very " * 80 + "long?",
        short_answer="Because " + "it is so. " * 40,
        choices=(Choice("right " * 30, True), *item.choices[1:]),
    )
    only_first = tuple(replace(c, correct=k == 0) for k, c in enumerate(long.choices))
    long = replace(long, choices=only_first)
    poll = quiz_poll(long, "10/10")
    assert poll is not None
    assert len(poll.question) <= PollLimit.MAX_QUESTION_LENGTH and poll.question.endswith("…")
    assert not poll.question.startswith("10/10")  # no room for the number
    assert len(poll.explanation) <= PollLimit.MAX_EXPLANATION_LENGTH
    assert poll.explanation.endswith("…")
    assert all(len(o) <= PollLimit.MAX_OPTION_LENGTH for o in poll.options)
    assert quiz_poll(replace(item, choices=item.choices[:1])) is None
    two_right = tuple(replace(c, correct=True) for c in item.choices)
    assert quiz_poll(replace(item, choices=two_right)) is None


async def test_poll_answers_are_the_members_reviews(api: BotApiStandIn, tmp_path: Path) -> None:
    root = content(tmp_path / "content", concepts=0, quizzes=2)
    group = api.group(-9501, "Quiz night", type="supergroup")
    ann, bob, cy = api.user(9601, "Ann"), api.user(9602, "Bob"), api.user(9603, "Cy")
    async with running_bot(api, tmp_path, content=root) as bot:
        bot.set_clock(T0)
        api.send_text(group, ann, "/study 2")
        await api.wait_for(lambda: len(posts(api, group)) == 2)
        [call] = api.calls_of("sendPoll")[:1]
        assert call.params["type"] == "quiz" and call.params["is_anonymous"] is False
        first, second = posts(api, group)
        poll = api.poll(group, first.message_id)
        assert poll.type == "quiz" and len(poll.options) == 4 and poll.explanation
        assert poll.explanation.startswith("Option") and "x²" in poll.explanation
        right = poll.correct_option_ids[0]
        wrong = (right + 1) % 4
        api.answer_poll(group, ann, [right], first.message_id)
        api.answer_poll(group, bob, [wrong], first.message_id)
        await api.wait_for(lambda: _ratings(bot) == {("Ann", 3), ("Bob", 1)})
        # Bob retracts (Telegram's apps allow none in a quiz: a forged update), then votes
        # again, right this time: neither changes what was recorded.
        api.retract_vote(group, bob, first.message_id, strict=False)
        api.answer_poll(group, bob, [right], first.message_id, strict=False)
        # Cy retracts a vote never recorded, and answers a poll the bot never sent.
        api.retract_vote(group, cy, first.message_id, strict=False)
        api.update_queue.enqueue(
            "poll_answer",
            {
                "poll_id": "123",
                "user": cy.to_api(),
                "option_ids": [0],
                "option_persistent_ids": ["0"],
            },
        )
        second_right = api.poll(group, second.message_id).correct_option_ids[0]
        api.answer_poll(group, cy, [second_right], second.message_id)  # after all of those
        await api.wait_for(lambda: len(_ratings(bot)) == 3 and not api.pending_updates)
        await asyncio.sleep(0.3)  # updates are handled concurrently: let the last ones end
        assert _ratings(bot) == {("Ann", 3), ("Bob", 1), ("Cy", 3)}
        assert bot.rows("SELECT count(*) FROM reviews") == [(3,)]
        assert bot.rows("SELECT DISTINCT chat_id FROM reviews") == [(group.id,)]
        cards = bot.rows(
            "SELECT u.first_name, c.reps, c.lapses FROM cards c JOIN users u "
            "ON u.id = c.user_id ORDER BY u.first_name"
        )
        assert cards == [("Ann", 1, 0), ("Bob", 1, 0), ("Cy", 1, 0)]
        # Telegram shows the results: no tally edits, nothing said in the group.
        assert not api.calls_of("editMessageText") and len(api.messages(group)) == 3
        assert not bot.api.internal_errors


def _ratings(bot: RunningBot) -> set[tuple[str, int]]:
    return set(
        bot.rows(
            "SELECT u.first_name, g.rating FROM group_ratings g JOIN users u ON u.id = g.user_id"
        )
    )


async def test_group_settings_switch_polls_off_for_admins_only(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    root = content(tmp_path / "content", concepts=0, quizzes=3)
    group = api.group(-9502, "Quiz night")
    ann, bob = api.user(9611, "Ann"), api.user(9612, "Bob")
    api.set_member_status(group, ann, "administrator")
    async with running_bot(api, tmp_path, content=root) as bot:
        bot.set_clock(T0)
        api.send_text(group, ann, "/settings")
        [settings] = await api.wait_for_message(group)
        assert settings.button_texts[-1] == ["Quiz polls: on · turn off"]
        press = api.press_button(group, bob, "Quiz polls: on · turn off", settings.message_id)
        await api.wait_for(lambda: api.callback_queries[press.query_id].answered)
        assert api.callback_queries[press.query_id].show_alert
        assert bot.deps.groups.quiz_polls(group.id)
        api.press_button(group, ann, "Quiz polls: on · turn off", settings.message_id)
        await api.wait_for(
            lambda: (
                api.message(group, settings.message_id).button_texts[-1]
                == ["Quiz polls: off · turn on"]
            )
        )
        assert not bot.deps.groups.quiz_polls(group.id)
        assert (
            api.message(group, settings.message_id).button_texts[:-1]
            == (settings.button_texts[:-1])
        )
        api.send_text(group, ann, "/study 2")
        await api.wait_for(lambda: len(posts(api, group)) == 2)
        assert [m.button_texts for m in posts(api, group)] == [[["Show answer"]]] * 2
        assert not api.calls_of("sendPoll")
        # Another /settings shows the switch as it is; pressing it again turns polls back on.
        api.send_text(group, ann, "/settings")
        await api.wait_for(lambda: len(api.messages(group)) == 5)
        again = api.messages(group)[-1]
        assert again.button_texts[-1] == ["Quiz polls: off · turn on"]
        api.press_button(group, ann, "Quiz polls: off · turn on", again.message_id)
        await api.wait_for(lambda: bot.deps.groups.quiz_polls(group.id))


async def test_private_chats_keep_the_reveal_flow_for_quiz_items(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    root = content(tmp_path / "content", concepts=0, quizzes=2)
    ann = api.user(9621, "Ann")
    chat = api.private_chat(ann)
    async with running_bot(api, tmp_path, content=root) as bot:
        bot.set_clock(T0)
        api.send_text(chat, ann, "/study 2")
        [question] = await api.wait_for_message(chat)
        assert "Show answer" in question.button_texts[0]
        assert not api.calls_of("sendPoll")
