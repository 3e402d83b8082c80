"""Quiz items as native quiz polls in groups: the choices in a stable shuffled order, the short
answer as the explanation, everything within Telegram's poll limits (``PollLimit``).

Telegram shows each member the result of their own answer, so a poll needs no reveal and no
tally; the members' answers arrive as ``poll_answer`` updates (handlers/groups.py).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from telegram import Message
from telegram.constants import PollLimit, PollType

from bot.core.content import Item
from bot.core.render import inline_math_to_unicode
from bot.core.text import clip

_CODE = re.compile(r"(`+)(?P<body>.+?)\1", re.S)
_STRONG = re.compile(r"(\*\*|__)(?P<body>.+?)\1", re.S)


@dataclass(frozen=True)
class QuizPoll:
    question: str
    options: list[str]
    correct: int  # the correct option's index, after the shuffle
    explanation: str


def plain(markdown: str) -> str:
    """A poll's text from an item's markdown: inline math in Unicode, code and bold marks
    dropped (poll questions and options take no formatting)."""
    text = inline_math_to_unicode(markdown)
    text = _CODE.sub(lambda m: m.group("body"), text)
    return " ".join(_STRONG.sub(lambda m: m.group("body"), text).split())


def quiz_poll(item: Item, number: str = "") -> QuizPoll | None:
    """The quiz poll of an item ("2/5 · " before the question when it fits); None for an item
    without one correct choice among 2 to ``PollLimit.MAX_OPTION_NUMBER``.

    The choices are shuffled with the item's id as the seed, so that the correct one is not
    always where the author wrote it, and the same item always shows the same order.
    """
    choices = list(item.choices)
    if not 2 <= len(choices) <= PollLimit.MAX_OPTION_NUMBER or sum(c.correct for c in choices) != 1:
        return None
    random.Random(item.id).shuffle(choices)
    question = clip(plain(item.poll or item.question), PollLimit.MAX_QUESTION_LENGTH)
    if number and len(question) + len(number) + 3 <= PollLimit.MAX_QUESTION_LENGTH:
        question = f"{number} · {question}"
    explanation = clip(plain(item.short_answer), PollLimit.MAX_EXPLANATION_LENGTH)
    return QuizPoll(
        question,
        [clip(plain(c.text), PollLimit.MAX_OPTION_LENGTH) for c in choices],
        next(k for k, c in enumerate(choices) if c.correct),
        explanation,
    )


async def send_quiz_poll(bot: Any, chat_id: int, poll: QuizPoll, **kwargs: Any) -> Message:
    """Send a quiz poll that is not anonymous (the bot learns who answered what).

    Plain text: the default HTML parse mode is turned off for the question and explanation.
    """
    message: Message = await bot.send_poll(
        chat_id,
        poll.question,
        poll.options,
        is_anonymous=False,
        type=PollType.QUIZ,
        correct_option_ids=[poll.correct],
        explanation=poll.explanation or None,
        question_parse_mode=None,
        explanation_parse_mode=None,
        **kwargs,
    )
    return message
