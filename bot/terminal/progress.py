"""`studybot stats` and `studybot exam`: where a learner stands."""

from __future__ import annotations

import argparse

from bot.core.inputs import parse_exam_date
from bot.core.plan import countdown
from bot.core.text import NO_REVIEWS_YET, plural, stats_summary
from bot.terminal.common import Env, UsageError, open_services, user_name


def cmd_exam(env: Env, args: argparse.Namespace) -> int:
    """Interview-date mode: no interval past the day, the daily mix follows the countdown."""
    exam = None
    text = " ".join(args.date)  # "in 3 weeks" comes as three arguments
    if text.lower() != "off":
        try:
            exam = parse_exam_date(text, env.clock(), env.tz)
        except ValueError as exc:
            raise UsageError(
                f"{exc}; give a day (YYYY-MM-DD, 20 Jan, in 3 weeks) or 'off'"
            ) from None
    services = open_services(env)
    user_id = services.study.local_user(user_name(env, args), env.clock())
    try:
        services.progress.set_exam(user_id, exam, env.clock(), env.tz)
    except ValueError as exc:
        raise UsageError(f"{text}: {exc}; give the day of your interview") from None
    if exam is None:
        env.out.print("Interview date cleared: new items follow the six-week plan.")
        return 0
    progress = services.progress.progress(user_id, env.clock(), env.tz)
    assert progress.phase is not None
    env.out.print(f"Interview on {exam:%A %d %B %Y}: {countdown(progress.phase)}.")
    return 0


def cmd_stats(env: Env, args: argparse.Namespace) -> int:
    """Progress: items studied, reviews, sessions, recent results, due counts, categories."""
    services = open_services(env)
    user_id = services.study.local_user(user_name(env, args), env.clock())
    st = services.progress.stats(user_id, env.clock(), env.tz)
    out = env.out
    out.rule(f"Progress of {user_name(env, args)}")
    if st.reviews:
        for line in stats_summary(st):
            out.print(line, markup=False)
    else:
        out.print(NO_REVIEWS_YET)
        out.print(f"{plural(st.total_items, 'item')} to study. Start with: studybot study")
    progress = services.progress.progress(user_id, env.clock(), env.tz)
    if progress.exam is not None and progress.phase is not None:
        out.print(f"{countdown(progress.phase)} (interview {progress.exam:%Y-%m-%d})")
    elif progress.phase is not None:
        out.print(f"Plan: {progress.phase.label}")
    if not st.reviews:
        return 0
    out.print(
        f"Seen {progress.seen} of {progress.total} items · estimated recall of the whole "
        f"catalog {progress.mean_recall:.0%}"
    )
    if progress.leeches:
        out.print(
            "Leeches (keep slipping): "
            + ", ".join(f"{i.id} {i.title} ({n}×)" for i, n in progress.leeches)
        )
    from rich.table import Table

    if st.recent:
        table = Table(title="Last sessions", show_edge=False)
        for col in ("started", "rated", "no idea", "partial", "got it"):
            table.add_column(col, justify="right" if col != "started" else "left")
        for r in st.recent:
            table.add_row(
                r.started_at.astimezone(env.tz).strftime("%Y-%m-%d %H:%M"),
                str(r.size),
                *(str(r.ratings[g]) for g in (1, 2, 3)),
            )
        out.print(table)
    table = Table(title="Progress per category", show_edge=False)
    for col in ("category", "studied", "mastered", "total"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for c in st.categories:
        table.add_row(c.category, str(c.studied), str(c.mastered), str(c.total))
    out.print(table)
    return 0
