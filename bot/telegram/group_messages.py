"""Group posts: an item posted to a group, its answer with the live tally, and the posting
of a batch of items (by /study in a group and by the daily push)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.content import Item, answer_markdown
from bot.core.render import Formula, render_html
from bot.core.srs import GRADE_LABELS, Grade
from bot.services.groups import Tally
from bot.telegram.deps import Deps
from bot.telegram.keyboards import reveal_keyboard
from bot.telegram.messages import TEXT_LIMIT, escape, send_parts

TALLY_ROOM = 300  # characters kept free in the last answer message for the live tally
NAME_CHARS = 24


def group_question(item: Item, limit: int = TEXT_LIMIT) -> list[str | Formula]:
    head = (
        f"<i>{item.type} · {escape(item.category)} · difficulty {item.difficulty}/5</i>\n"
        f"<b>{escape(item.title)}</b>"
    )
    return render_html(item.question, limit, prefix=head)


def group_answer(item: Item) -> list[str | Formula]:
    """The answer parts; the last text part leaves room for the tally."""
    question = group_question(item)
    prefix = question[-1] if isinstance(question[-1], str) else ""
    return render_html(answer_markdown(item), TEXT_LIMIT - TALLY_ROOM, prefix=prefix)


def tally_line(tally: Tally) -> str:
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {tally.counts[g]}" for g in (1, 2, 3))
    line = f"<i>Rated by {tally.total} · {counts}</i>"
    if tally.names:
        line += "\n" + escape(", ".join(n[:NAME_CHARS] for n in tally.names))
    return line


async def post_items(
    bot: Any,
    chat_id: int,
    item_ids: list[str],
    d: Deps,
    header: str = "",
    push_date: date | None = None,
) -> int:
    """Post items to a group, each its own message with [Show answer]; return how many."""
    if not item_ids:
        return 0
    if header:
        await bot.send_message(
            chat_id,
            f"<b>{escape(header)}</b> — {len(item_ids)} item"
            f"{'s' if len(item_ids) != 1 else ''}. Anyone can reveal the "
            "answer; everyone rates for themselves.",
        )
    posted = 0
    for item_id in item_ids:
        item = d.study.catalog.get(item_id)
        if item is None:
            continue
        post_id = await d.run(d.groups.add_post, chat_id, item_id, d.clock(), push_date)
        await send_parts(bot, chat_id, group_question(item), d, reveal_keyboard(post_id))
        posted += 1
    return posted
