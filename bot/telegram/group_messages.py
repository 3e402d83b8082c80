"""Group posts: an item posted to a group, its answer with the live tally, and the posting
of a batch of items (by /study in a group and by the daily push)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.content import Item
from bot.core.inputs import category_label
from bot.core.render import Formula, html_length, render_compact, render_html
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import plural
from bot.services.groups import GroupSessionPlan, Tally
from bot.telegram.deps import Deps
from bot.telegram.keyboards import reveal_keyboard
from bot.telegram.messages import TEXT_LIMIT, escape, send_parts
from bot.telegram.polls import quiz_poll, send_quiz_poll
from bot.telegram.ratelimit import Priority, with_priority

TALLY_ROOM = 300  # characters kept free in the last answer message for the live tally
TALLY_MARK = "<i>Rated by "  # how a tally begins: an edit replaces what follows it
NAME_CHARS = 24


def group_question(item: Item, limit: int = TEXT_LIMIT, number: str = "") -> list[str | Formula]:
    """A group post's question, numbered in its session ("2/5"): one message, formulas as
    Unicode text (each formula image would be a message of the group's budget), unless it
    only fits as several."""
    lead = f"{number} · " if number else ""
    category = escape(category_label(item.category))
    head = (
        f"<i>{lead}{item.type} · {category} · difficulty {item.difficulty}/5</i>\n"
        f"<b>{escape(item.title)}</b>"
    )
    compact = f"{head}\n\n{render_compact(item.question)}"
    if html_length(compact) <= limit:
        return [compact]
    return render_html(item.question, limit, prefix=head)


def group_answer(item: Item, post: str = "", limit: int = TEXT_LIMIT) -> str | None:
    """A post's text with its answer for everyone, as one message (the group's budget has no
    room for more): ``post`` (the question as the group sees it, HTML), then the short answer
    and key points, formulas as Unicode text; the full answer is a button away, in private.

    Key points are left out from the last while it does not fit ``limit`` with room for the
    tally; None when not even the short answer fits after ``post``.
    """
    points = list(item.key_points)
    while True:
        md = f"**Short answer**\n\n{item.short_answer}" if item.short_answer else item.answer
        if points:
            md += "\n\n**Key points**\n\n" + "\n".join(f"- {p}" for p in points)
        text = f"{post}\n\n{render_compact(md)}" if post else render_compact(md)
        if html_length(text) <= limit - TALLY_ROOM:
            return text
        if not points:
            return None
        points.pop()


def tally_line(tally: Tally) -> str:
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {tally.counts[g]}" for g in (1, 2, 3))
    line = f"{TALLY_MARK}{tally.total} · {counts}</i>"
    if tally.names:
        line += "\n" + escape(", ".join(n[:NAME_CHARS] for n in tally.names))
    return line


def with_tally(text: str, tally: Tally) -> str:
    """A revealed post's text (HTML, as Telegram shows it) with its tally in place of the last."""
    body, mark, _old = text.rpartition(f"\n\n{TALLY_MARK}")
    return f"{body if mark else text}\n\n{tally_line(tally)}"


def session_header(header: str, size: int) -> str:
    """The message that opens a group session: "Today's items — 5 items · anyone can..."."""
    return (
        f"<b>{escape(header)}</b> — {plural(size, 'item')} · anyone can reveal, everyone "
        "rates for themselves"
    )


async def post_items(bot: Any, chat_id: int, item_ids: list[str], d: Deps) -> int:
    """Post items to a group outside a session (/item in a group), each with [Show answer]
    (a quiz item too: whoever opened it wants the answer and the [Full answer] link, which a
    poll has not); return how many were posted."""
    posted = 0
    for item_id in item_ids:
        item = d.study.catalog.get(item_id)
        if item is None:
            continue
        post_id = await d.run(d.groups.add_post, chat_id, item_id, d.clock())
        await _post(bot, chat_id, item, post_id, False, d)
        posted += 1
    return posted


async def post_session(
    bot: Any,
    chat_id: int,
    plan: GroupSessionPlan,
    d: Deps,
    header: str,
    push_date: date | None = None,
) -> int:
    """Post a group session's items (a resumed one: the rest, without the header again), each
    numbered ("2/5"); return how many were posted.

    A post is recorded before it is sent, so one whose send may have arrived counts as
    posted. Posts fill what replies leave of the group's message budget (``Priority.POST``).
    """
    if not plan.item_ids:
        return 0
    if plan.start == 0:
        low = with_priority(bot, Priority.POST)
        await bot.send_message(chat_id, session_header(header, plan.size), **low)
    posted = 0
    for position, item_id in enumerate(plan.item_ids, start=plan.start):
        item = d.study.catalog.get(item_id)
        if item is None:
            continue
        post_id = await d.run(
            d.groups.add_session_post, plan, chat_id, item_id, position, d.clock(), push_date
        )
        await _post(bot, chat_id, item, post_id, plan.polls, d, f"{position + 1}/{plan.size}")
        posted += 1
    return posted


async def _post(
    bot: Any, chat_id: int, item: Item, post_id: int, polls: bool, d: Deps, number: str = ""
) -> None:
    """One post: a quiz item as a quiz poll when the group has them on (Telegram shows each
    member their result: no reveal), any other with [Show answer]."""
    low = with_priority(bot, Priority.POST)
    poll = quiz_poll(item, number) if polls else None
    if poll is not None:
        message = await send_quiz_poll(bot, chat_id, poll, **low)
        if message.poll is not None:
            await d.run(d.groups.add_poll, message.poll.id, post_id, poll.correct)
        return
    question = group_question(item, number=number)
    if len(question) == 1 and isinstance(question[0], str):
        markup = reveal_keyboard(post_id)
        await bot.send_message(chat_id, question[0], reply_markup=markup, **low)
    else:
        await send_parts(bot, chat_id, question, d, reveal_keyboard(post_id))
