"""`studybot study` and `studybot find`: the terminal study loop on the study service."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from bot.core.content import TYPE_ALIASES, Item, answer_markdown
from bot.core.inputs import category_label
from bot.core.render import to_terminal_markdown
from bot.core.selection import MAX_SESSION_ITEMS
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import comes_back, duration, plural, sentence
from bot.terminal.common import Env, UsageError, open_services, read_line, user_name

if TYPE_CHECKING:
    from rich.console import Console


def parse_count(raw: str, out: Console) -> int:
    """Validate -n: a whole number from 1; above the maximum it is clamped with a notice."""
    try:
        n = int(raw)
    except ValueError:
        raise UsageError(f"-n {raw!r} is not a number of items; try -n 20") from None
    if n < 1:
        raise UsageError(f"-n {n}: ask for at least 1 item, e.g. -n 10")
    if n > MAX_SESSION_ITEMS:
        out.print(f"A session has at most {MAX_SESSION_ITEMS} items: studying {MAX_SESSION_ITEMS}.")
        n = MAX_SESSION_ITEMS
    return n


def parse_type(raw: str | None) -> str | None:
    """Validate -t: concepts, quiz, deep or derive (singular forms accepted)."""
    if raw is None:
        return None
    item_type = TYPE_ALIASES.get(raw.strip().lower())
    if item_type is None:
        raise UsageError(f"unknown type {raw!r}; use one of: concepts, quiz, deep, derive")
    return item_type


def _show_item_header(env: Env, number: int, total: int, item: Item, retry: bool) -> None:
    from rich.markdown import Markdown

    again = " · once more" if retry else ""
    category = category_label(item.category)
    env.out.rule(
        f"{number}/{total} · {item.type} · {category} · difficulty {item.difficulty}/5{again}"
    )
    env.out.print(Markdown(f"# {item.title}\n\n" + to_terminal_markdown(item.question)))


def _show_answer(env: Env, item: Item) -> None:
    from rich.markdown import Markdown

    env.out.print(Markdown(to_terminal_markdown(answer_markdown(item))))


def cmd_study(env: Env, args: argparse.Namespace) -> int:
    """Terminal study session: question, Enter to reveal, then 1/2/3 (s skip, q quit)."""
    n = parse_count(args.n, env.out)
    item_type = parse_type(args.type)
    service = open_services(env).study
    name = user_name(env, args)
    if args.item is None:
        user_id = service.local_user(name, env.clock())
        started = service.start_session(user_id, n, env.clock(), env.tz, item_type=item_type)
    else:
        item = service.item(args.item)
        if item is None:  # before the user is created: an unknown id stores nothing
            raise UsageError(f"there is no item {args.item!r}; `studybot find WORDS` shows the ids")
        user_id = service.local_user(name, env.clock())
        started = service.start_item_session(user_id, item.id, env.clock())
    if started.notice:
        env.out.print(sentence(started.notice))
    if not started.session_id:
        env.out.print(
            "Nothing to study right now: no items are due and no new items are left."
            " Come back tomorrow, or try another type with -t."
        )
        return 0
    while (current := service.current(started.session_id)) is not None:
        _show_item_header(env, current.number, current.total, current.item, current.retry)
        shown_at = time.monotonic()
        key = read_line(env, "[Enter] show answer · s skip · q quit > ")
        if key is None or key == "q":
            break
        if key == "s":
            service.skip(current.session_id, current.position, env.clock())
            continue
        revealed = service.reveal(current.session_id, current.position, env.clock()).current
        _show_answer(env, current.item)
        prompt = "1 no idea · 2 partial · 3 got it"
        if revealed is not None and revealed.intervals:
            again = revealed.again_today
            prompt = " · ".join(
                f"{int(g)} {GRADE_LABELS[g].lower()} "
                f"({comes_back(revealed.intervals[g - 1], g == Grade.NO_IDEA and again)})"
                for g in Grade
            )
        rating: int | None = None
        while rating is None:
            key = read_line(env, f"Rate: {prompt} · s skip · q quit > ")
            if key is None or key in ("q", "s"):
                break
            if key in ("1", "2", "3"):
                rating = int(key)
            else:
                env.out.print("Please type 1, 2 or 3 (or s to skip, q to quit).")
        if rating is None:
            if key == "s":
                service.skip(current.session_id, current.position, env.clock())
                continue
            break
        result = service.answer(
            current.session_id,
            current.position,
            rating,
            env.clock(),
            seconds=round(time.monotonic() - shown_at, 1),
        )
        label = GRADE_LABELS[Grade(rating)]
        when = comes_back(result.interval_days, result.retry_added)
        env.out.print(f"Recorded: {rating} · {label} · {when}")
    service.close(started.session_id, env.clock())
    summary = service.summary(started.session_id, env.clock(), env.tz)
    if not summary.reviewed:
        env.out.print("Nothing was rated: nothing was recorded.")
        return 0
    env.out.rule("Session summary")
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {summary.ratings[g]}" for g in (1, 2, 3))
    env.out.print(f"Rated {plural(summary.reviewed, 'item')}: {counts}")
    due = f"{summary.due_tomorrow} due tomorrow" if summary.due_tomorrow else "nothing due tomorrow"
    env.out.print(
        f"Time spent: {duration(summary.seconds)} · {due} · "
        f"streak: {plural(summary.streak_days, 'day')}"
    )
    return 0


def cmd_find(env: Env, args: argparse.Namespace) -> int:
    """Items whose title, tags or question contain every word: their ids and titles."""
    words = [w for w in args.words if w.strip()]
    if not words:
        raise UsageError("give words to find, e.g. studybot find rotary embeddings")
    items = open_services(env).study.find(words)
    if not items:
        print(f"studybot: nothing found for {' '.join(words)!r}", file=sys.stderr)
        return 1
    width = max(len(i.id) for i in items)
    for item in items:
        env.out.print(f"{item.id:<{width}}  {item.title}", markup=False)
    return 0
