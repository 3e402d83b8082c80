"""/stats: progress as text plus one chart (drawn in a worker thread), at most every 10 s."""

from __future__ import annotations

import time

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.core.charts import stats_chart_png
from bot.core.plan import countdown
from bot.core.stats import Stats
from bot.services.progress import Progress
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers.groups import group_stats
from bot.telegram.messages import escape

STATS_INTERVAL_SECONDS = 10.0


def format_progress(p: Progress) -> str:
    """Interview countdown (or plan week), coverage, estimated recall and leeches."""
    lines = []
    if p.exam is not None and p.phase is not None and p.phase.days_left is not None:
        lines.append(f"<b>{escape(countdown(p.phase))}</b> (interview {p.exam:%d %b %Y})")
    elif p.phase is not None:
        lines.append(f"Plan: {escape(p.phase.label)}")
    lines.append(
        f"Seen {p.seen} of {p.total} items ({p.seen / max(p.total, 1):.0%}) · "
        f"estimated recall of the whole catalog {p.mean_recall:.0%}"
    )
    if p.leeches:
        names = ", ".join(f"{i.id} ({n}×)" for i, n in p.leeches[:10])
        lines.append(f"Leeches (keep slipping): {escape(names)}; see /weak")
    return "\n".join(lines)


def format_stats(st: Stats) -> str:
    """The /stats text (Telegram HTML)."""
    lines = [
        "<b>Your progress</b>",
        f"Items studied: {st.studied} of {st.total_items} · reviews: {st.reviews} · "
        f"sessions: {st.sessions}",
        f"Streak: {st.streak.current} day(s) in a row · active {st.streak.active_last_14} of "
        "the last 14 days",
        f"Due now: {st.due.now} · tomorrow: {st.due.tomorrow} · next 7 days: {st.due.week}",
    ]
    if st.recent:
        lines.append("\n<b>Last sessions</b> (no idea / partial / got it)")
        for r in st.recent:
            lines.append(
                f"{r.started_at:%d %b %H:%M} UTC — {r.size} rated: "
                f"{r.ratings[1]} / {r.ratings[2]} / {r.ratings[3]}"
            )
    width = max((len(c.category) for c in st.categories), default=8)
    rows = [f"{'category'.ljust(width)}  studied  mastered  total"]
    rows += [
        f"{c.category.ljust(width)}  {c.studied:>7}  {c.mastered:>8}  {c.total:>5}"
        for c in st.categories
    ]
    lines.append("\n<b>Per category</b>\n<pre>" + escape("\n".join(rows)) + "</pre>")
    return "\n".join(lines)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats: text and a chart; asked again within 10 seconds gets a short note."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None and user is not None
    if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        await group_stats(update, context)
        return
    d = deps(context)
    now_mono = time.monotonic()
    last = d.stats_asked.get(user.id)
    if last is not None and now_mono - last < STATS_INTERVAL_SECONDS:
        wait = int(STATS_INTERVAL_SECONDS - (now_mono - last)) + 1
        await message.reply_text(
            f"Stats can be asked once every 10 seconds; try again in {wait} s."
        )
        return
    d.stats_asked[user.id] = now_mono
    user_id = await user_id_of(update, context)
    st = await d.run(d.progress.stats, user_id, d.clock(), d.tz(chat.id))
    progress = await d.run(d.progress.progress, user_id, d.clock(), d.tz(chat.id))
    await message.reply_text(format_stats(st) + "\n\n" + format_progress(progress))
    png = await d.draw(stats_chart_png, st)
    await context.bot.send_photo(
        chat.id, photo=png, caption="Reviews per day · due in the next 14 days · mastery"
    )
