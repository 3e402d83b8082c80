"""/stats: progress as text plus one chart (drawn in a worker thread), at most every 10 s."""

from __future__ import annotations

import time
from datetime import tzinfo

from telegram import Update
from telegram.constants import ChatAction, ChatType
from telegram.ext import ContextTypes

from bot.core.charts import stats_chart_png
from bot.core.plan import countdown
from bot.core.stats import Stats
from bot.core.text import NO_REVIEWS_YET, plural, stats_summary
from bot.services.progress import Progress
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers.groups import group_stats
from bot.telegram.messages import escape

STATS_INTERVAL_SECONDS = 10.0

FIRST_STEPS = (
    "<b>First steps</b>\n"
    "1. /study: 10 items now, about ten minutes\n"
    "2. Rate each answer honestly (No idea, Partial, Got it): each item comes back just "
    "before you would forget it\n"
    "3. /daily 08:30: what is due, every morning (/timezone sets your zone)\n"
    "4. /exam 2027-01-20: if your interview has a date"
)


def countdown_line(p: Progress) -> str:
    """ "<b>12 days to go · ...</b> (interview 20 Jan 2027)", or "" without an interview date."""
    if p.exam is None or p.phase is None or p.phase.days_left is None:
        return ""
    return f"<b>{escape(countdown(p.phase))}</b> (interview {p.exam:%d %b %Y})"


def format_progress(p: Progress) -> str:
    """Interview countdown (or plan week), coverage, estimated recall and leeches."""
    lines = [countdown_line(p)]
    if not lines[0] and p.phase is not None:
        lines.append(f"Plan: {escape(p.phase.label)}")
    lines.append(
        f"Seen {p.seen} of {p.total} items ({p.seen / max(p.total, 1):.0%}) · "
        f"estimated recall of the whole catalog {p.mean_recall:.0%}"
    )
    if p.leeches:
        names = ", ".join(f"{i.id} ({n}×)" for i, n in p.leeches[:10])
        lines.append(f"Leeches (keep slipping): {escape(names)}; see /weak")
    return "\n".join(line for line in lines if line)


def format_stats(st: Stats, tz: tzinfo) -> str:
    """The /stats text (Telegram HTML), session times in the chat's zone ``tz``."""
    lines = ["<b>Your progress</b>", *map(escape, stats_summary(st))]
    if st.recent:
        lines.append("\n<b>Last sessions</b> (no idea / partial / got it)")
        for r in st.recent:
            lines.append(
                f"{r.started_at.astimezone(tz):%d %b %H:%M %Z} · {plural(r.size, 'rating')}: "
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


def format_first_steps(st: Stats, p: Progress) -> str:
    """/stats for a learner with no review yet: what to do first, instead of empty charts."""
    lines = ["<b>Your progress</b>", countdown_line(p), escape(NO_REVIEWS_YET)]
    lines.append(f"{plural(st.total_items, 'item')} to study.\n\n{FIRST_STEPS}")
    return "\n".join(line for line in lines if line)


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
    tz = d.tz(chat.id)
    st = await d.read(d.progress.stats, user_id, d.clock(), tz)  # every review: tens of ms
    progress = await d.run(d.progress.progress, user_id, d.clock(), tz)
    if not st.reviews:
        await message.reply_text(format_first_steps(st, progress))
        return
    await message.reply_text(format_stats(st, tz) + "\n\n" + format_progress(progress))
    # Drawing takes a few hundred milliseconds (the first one, with matplotlib's import, over a
    # second): the chat shows "sending a photo" meanwhile.
    await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    png = await d.draw(stats_chart_png, st)
    await context.bot.send_photo(
        chat.id, photo=png, caption="Reviews per day · due in the next 14 days · mastery"
    )
