"""`studybot check-content`: validate the items, or count them per type and category.

It checks at the strict level: every item has its short answer and key points (quiz items their
choices), and nothing renders differently from what the author meant. The bot and the terminal
load a learner's item without the short forms; this is where the shipped catalog is held to them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.core.content import CATEGORIES, ITEM_TYPES, validate_dirs
from bot.core.text import plural
from bot.terminal.common import Env


def cmd_check_content(env: Env, args: argparse.Namespace) -> int:
    """Validate items strictly; list every problem, or print counts per type and category."""
    dirs = tuple(Path(d) for d in args.dirs) or env.settings.content_dirs
    items, problems = validate_dirs(dirs, strict=True)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{plural(len(problems), 'problem')} in {', '.join(map(str, dirs))}", file=sys.stderr)
        return 1
    from rich.table import Table

    table = Table(title=f"{len(items)} items", show_edge=False)
    table.add_column("category")
    for t in ITEM_TYPES:
        table.add_column(t, justify="right")
    table.add_column("total", justify="right")
    categories = [c for c in CATEGORIES if any(i.category == c for i in items)]
    for c in categories:
        row = [sum(1 for i in items if i.category == c and i.type == t) for t in ITEM_TYPES]
        table.add_row(c, *map(str, row), str(sum(row)))
    totals = [sum(1 for i in items if i.type == t) for t in ITEM_TYPES]
    table.add_row("total", *map(str, totals), str(len(items)))
    env.out.print(table)
    return 0
