"""Polls: sendPoll validated like Telegram, and users who vote (poll_answer updates)."""

from __future__ import annotations

import pytest
from aiohttp import ClientSession
from telegram import Bot, Update
from telegram.constants import PollLimit
from telegram.error import BadRequest

from tests.botapi import BotApiStandIn
from tests.botapi.conftest import call
from tests.botapi.server import (
    MAX_POLL_EXPLANATION_LENGTH,
    MAX_POLL_OPTION_LENGTH,
    MAX_POLL_OPTIONS,
    MAX_POLL_QUESTION_LENGTH,
)


def test_limits_are_ptbs() -> None:
    assert MAX_POLL_QUESTION_LENGTH == PollLimit.MAX_QUESTION_LENGTH
    assert MAX_POLL_OPTION_LENGTH == PollLimit.MAX_OPTION_LENGTH
    assert MAX_POLL_OPTIONS == PollLimit.MAX_OPTION_NUMBER
    assert MAX_POLL_EXPLANATION_LENGTH == PollLimit.MAX_EXPLANATION_LENGTH


async def test_a_quiz_poll_and_its_votes(api: BotApiStandIn, bot: Bot) -> None:
    group = api.group(-100, "Club")
    ann, bob = api.user(1, "Ann"), api.user(2, "Bob")
    sent = await bot.send_poll(
        group.id,
        "2 + 2 < 5?",
        ["yes", "no", "maybe"],
        is_anonymous=False,
        type="quiz",
        correct_option_ids=[0],
        explanation="Four is <b>less</b> than five.",
        explanation_parse_mode="HTML",
    )
    poll = sent.poll
    assert poll is not None and poll.type == "quiz" and not poll.is_anonymous
    assert [o.text for o in poll.options] == ["yes", "no", "maybe"]
    assert poll.correct_option_ids == (0,) and poll.explanation == "Four is less than five."
    assert poll.explanation_entities[0].type == "bold"
    assert api.poll(group).id == poll.id == api.poll(group, sent.message_id).id

    api.answer_poll(group, ann, [0])
    api.answer_poll(group, bob, [2], sent.message_id)
    updates = await bot.get_updates()
    answers = [u.poll_answer for u in updates if u.poll_answer is not None]
    assert [(a.poll_id, a.user.first_name if a.user else "", a.option_ids) for a in answers] == [
        (poll.id, "Ann", (0,)),
        (poll.id, "Bob", (2,)),
    ]
    states = [u.poll for u in updates if u.poll is not None]
    assert [o.voter_count for o in states[-1].options] == [1, 0, 1]
    assert states[-1].total_voter_count == 2
    assert "[Ann voted: yes]" in api.transcript(group)
    assert "( yes ) ✓ · 1" in api.transcript(group)

    # A quiz takes one vote per person and no retraction, unless a test forces it.
    with pytest.raises(ValueError, match="already voted"):
        api.answer_poll(group, ann, [1])
    with pytest.raises(ValueError, match="already voted"):
        api.retract_vote(group, ann)
    with pytest.raises(ValueError, match="takes one answer"):
        api.answer_poll(group, api.user(3, "Cy"), [0, 1])
    with pytest.raises(ValueError, match="has 3 options"):
        api.answer_poll(group, api.user(3, "Cy"), [3])
    update_id = api.retract_vote(group, ann, strict=False)
    assert api.update(update_id)["poll_answer"]["option_ids"] == []
    assert ann.id not in api.poll(group).votes
    offset = updates[-1].update_id + 1
    later = await bot.get_updates(offset=offset)
    assert any(u.poll_answer and u.poll_answer.option_ids == () for u in later)


async def test_a_regular_poll_allows_retracting(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.group(-101, "Club")
    ann = api.user(1, "Ann")
    await bot.send_poll(chat.id, "Pizza?", ["yes", "no"], is_anonymous=False)
    api.answer_poll(chat, ann, [1])
    api.answer_poll(chat, ann, [0])  # revoting is on for a regular poll
    api.retract_vote(chat, ann)
    assert api.poll(chat).votes == {}
    with pytest.raises(ValueError, match="no vote to retract"):
        api.retract_vote(chat, ann)


async def test_anonymous_polls_reach_no_bot(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.group(-102, "Club")
    await bot.send_poll(chat.id, "Pizza?", ["yes", "no"])
    with pytest.raises(ValueError, match="anonymous"):
        api.answer_poll(chat, api.user(1, "Ann"), [0])


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"question": "", "options": ["a", "b"]}, "poll question must be non-empty"),
        ({"question": "q" * 301, "options": ["a", "b"]}, "must not exceed 300"),
        ({"question": "q", "options": ["a"]}, "at least 2 option"),
        ({"question": "q", "options": [str(k) for k in range(13)]}, "more than 12 options"),
        ({"question": "q", "options": ["a", ""]}, "poll options must be non-empty"),
        ({"question": "q", "options": ["a", "b" * 101]}, "must not exceed 100"),
        ({"question": "q", "options": ["a", "b"], "type": "quiz"}, "must be specified"),
        (
            {"question": "q", "options": ["a", "b"], "type": "quiz", "correct_option_ids": [2]},
            "wrong correct option ids",
        ),
        (
            {
                "question": "q",
                "options": ["a", "b"],
                "type": "quiz",
                "correct_option_ids": [0],
                "explanation": "e" * 201,
            },
            "explanation length must not exceed 200",
        ),
        (
            {
                "question": "q",
                "options": ["a", "b"],
                "type": "quiz",
                "correct_option_ids": [0],
                "explanation": "a\nb\nc\nd",
            },
            "at most 2 line feeds",
        ),
        ({"question": "q", "options": ["a", "b"], "type": "vote"}, "wrong poll type"),
        (
            {"question": "q", "options": ["a", "b"], "correct_option_ids": [0]},
            "only for quiz polls",
        ),
    ],
)
async def test_send_poll_is_validated(
    api: BotApiStandIn, http: ClientSession, params: dict[str, object], error: str
) -> None:
    chat = api.group(-103, "Club")
    status, body = await call(http, api, "sendPoll", chat_id=chat.id, **params)
    assert status == 400 and error in body["description"], body
    assert api.messages(chat) == []


async def test_the_old_correct_option_id_and_ptb_errors(api: BotApiStandIn, bot: Bot) -> None:
    chat = api.group(-104, "Club")
    # The single id of Bot API < 9.6 is still understood.
    async with ClientSession() as http:
        status, body = await call(
            http,
            api,
            "sendPoll",
            chat_id=chat.id,
            question="q",
            options=["a", "b"],
            type="quiz",
            correct_option_id=1,
            is_anonymous=False,
        )
    assert status == 200 and body["result"]["poll"]["correct_option_ids"] == [1]
    with pytest.raises(BadRequest, match="at least 2 option"):
        await bot.send_poll(chat.id, "q", ["only"])
    update = Update.de_json({"update_id": 1, "message": body["result"]}, bot)
    assert update.message is not None and update.message.poll is not None
