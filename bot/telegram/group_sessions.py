"""A group session from beginning to end: the summary owed by the group's last session, the
header and numbered posts (group_messages.post_session), then, once the ratings settle, one
summary: who rated what, and the hardest item.

The summary is claimed in the database before it is sent, so it goes out once whoever gets
there first: the job that watches the session, or the group's next session or push (which
also sends the summaries a restart left owed: the jobs do not outlive the process).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from telegram.ext import ContextTypes, JobQueue

from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import plural
from bot.services.groups import GroupSessionPlan, SessionSummary
from bot.telegram.deps import Deps, deps
from bot.telegram.group_messages import NAME_CHARS, post_session
from bot.telegram.messages import escape
from bot.telegram.ratelimit import Priority, with_priority

SUMMARY_MEMBERS = 20  # members listed by name in a summary; the rest are counted
TITLES = {"push": "Today's items", "study": "Group study"}


def summary_text(summary: SessionSummary) -> str:
    """ "<b>Group study: summary</b> · 5 items", a line per member, and the hardest item."""
    title = TITLES.get(summary.kind, "Group study")
    lines = [f"<b>{title}: summary</b> · {plural(summary.size, 'item')}"]
    for member in summary.members[:SUMMARY_MEMBERS]:
        counts = " · ".join(f"{GRADE_LABELS[g]} {member.counts[g]}" for g in Grade)
        lines.append(f"{escape(member.name[:NAME_CHARS])}: {counts}")
    if len(summary.members) > SUMMARY_MEMBERS:
        lines.append(f"and {plural(len(summary.members) - SUMMARY_MEMBERS, 'more member')}")
    if summary.hardest is not None:
        lines.append(
            f"Hardest: {summary.hardest_position + 1}/{summary.size} · "
            f"<b>{escape(summary.hardest.title)}</b> "
            f"(mean rating {summary.hardest_mean:.1f} of 3)"
        )
    return "\n".join(lines)


async def send_summary(bot: Any, chat_id: int, session_id: int, d: Deps) -> bool:
    """Claim and send a session's summary; False when it was sent before or has no ratings."""
    summary = await d.run(d.groups.take_summary, session_id, d.clock())
    if summary is None:
        return False
    await bot.send_message(chat_id, summary_text(summary), **with_priority(bot, Priority.POST))
    return True


async def run_session(
    bot: Any,
    job_queue: JobQueue[Any] | None,
    chat_id: int,
    plan: GroupSessionPlan,
    d: Deps,
    push_date: date | None = None,
) -> int:
    """Send what the group's earlier sessions still owe (their summaries), post this one's
    items, and watch it for its own summary; return how many items were posted."""
    for earlier in await d.run(d.groups.unsummed_sessions, chat_id, plan.session_id):
        await send_summary(bot, chat_id, earlier, d)
    posted = await post_session(bot, chat_id, plan, d, TITLES[plan.kind], push_date)
    if job_queue is not None:
        watch(job_queue, chat_id, plan.session_id, d.settings.group_settle_seconds)
    return posted


def job_name(chat_id: int) -> str:
    return f"group-summary:{chat_id}"


def watch(job_queue: JobQueue[Any], chat_id: int, session_id: int, settle: float) -> None:
    """Look every ``settle`` seconds whether the session's ratings have settled (one watch a
    group: a new session replaces the last one's, whose summary it has just sent)."""
    for job in job_queue.get_jobs_by_name(job_name(chat_id)):
        job.schedule_removal()
    job_queue.run_repeating(
        _check, settle, first=settle, name=job_name(chat_id), chat_id=chat_id, data=session_id
    )


async def _check(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The watch: send the summary once it is due; stop when it is sent or the session is
    stale (the group's next session or push sends it then)."""
    job = context.job
    assert job is not None and job.chat_id is not None and isinstance(job.data, int)
    d = deps(context)
    settle = timedelta(seconds=d.settings.group_settle_seconds)
    state = await d.run(d.groups.summary_state, job.data, d.clock(), settle)
    if state == "wait":
        return
    job.schedule_removal()
    if state == "due":
        await send_summary(context.bot, job.chat_id, job.data, d)
