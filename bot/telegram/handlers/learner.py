"""Beyond flashcards: interview date, plan, weak spots and drills, suspended items, quiet hours,
and changing a rating."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.core.content import CATEGORIES
from bot.core.inputs import category_label, parse_category, parse_exam_date
from bot.core.plan import countdown, plan_phase
from bot.core.schedule import parse_quiet
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import long_day
from bot.telegram.callbacks import Action, Callback
from bot.telegram.deps import deps, user_id_of
from bot.telegram.handlers.basic import pressed_message
from bot.telegram.handlers.settings import apply_changes, may_change_or_say, next_push_text
from bot.telegram.handlers.study import set_aside
from bot.telegram.keyboards import (
    change_keyboard,
    rating_keyboard,
    suspended_keyboard,
    weak_keyboard,
)
from bot.telegram.messages import answer_query, escape, present, set_markup

EXAM_USAGE = (
    "Usage: /exam DATE (your interview day: 2027-01-20, 20 Jan, in 3 weeks, next friday), "
    "or /exam off"
)
DRILL_USAGE = (
    "Usage: /drill CATEGORY [N], e.g. /drill LLM architecture 5. Categories: "
    + ", ".join(map(category_label, CATEGORIES))
)
DRILL_MAX = 50


async def exam_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/exam DATE | off: interview-date mode (the date as people write it, in the chat's
    zone)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    text = " ".join(context.args or [])
    d = deps(context)
    user_id = await user_id_of(update, context)
    if not text:
        await message.reply_text(EXAM_USAGE)
        return
    if text.lower() == "off":
        await d.run(d.progress.set_exam, user_id, None, d.clock(), d.tz(chat.id))
        await message.reply_text("Interview date cleared: back to the six-week plan (/plan).")
        return
    try:
        exam = parse_exam_date(text, d.clock(), d.tz(chat.id))
        await d.run(d.progress.set_exam, user_id, exam, d.clock(), d.tz(chat.id))
    except ValueError as exc:
        await message.reply_text(f"{escape(str(exc))}. {EXAM_USAGE}")
        return
    progress = await d.run(d.progress.progress, user_id, d.clock(), d.tz(chat.id))
    assert progress.phase is not None
    await message.reply_text(
        f"Interview on {long_day(exam)}. {escape(countdown(progress.phase))}.\n"
        "No review is scheduled past that day, and each day's mix follows the preparation "
        "strategy: concepts covered two weeks out, then concepts and quiz, deep explanations "
        "and derivations 3-7 days out, rapid quiz review 1-2 days out, a light review on the "
        "day."
    )


async def plan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/plan: where the learner is in the six-week plan (or the interview countdown)."""
    message, chat = update.effective_message, update.effective_chat
    assert message is not None and chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    p = await d.run(d.progress.progress, user_id, d.clock(), d.tz(chat.id))
    lines = [
        f"Seen {p.seen} of {p.total} items · estimated recall of the whole catalog "
        f"{p.mean_recall:.0%}"
    ]
    if p.exam is not None and p.phase is not None and p.phase.days_left is not None:
        lines.insert(0, f"<b>{escape(countdown(p.phase))}</b>")
    else:
        phase = p.phase or plan_phase(0)
        lines.insert(0, f"<b>Six-week plan: {escape(phase.label)}</b>")
        lines.append(
            "New items follow the plan. Set an interview date (/exam 20 Jan, /exam in 3 weeks) "
            "to switch to the countdown strategy."
        )
    await message.reply_text("\n".join(lines))


async def weak_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/weak: the five weakest categories and ten weakest items, each with a drill button."""
    message = update.effective_message
    assert message is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    categories, items = await d.run(d.progress.weak_spots, user_id, d.clock())
    if not items:
        await message.reply_text(
            "Nothing studied yet: weak spots show up after a few sessions. Send /study to begin."
        )
        return
    await message.reply_text(
        "<b>Weak spots</b>: estimated recall a week from now, lowest first. Press one to study it.",
        reply_markup=weak_keyboard(categories, items),
    )


async def start_drill(
    update: Update, context: ContextTypes.DEFAULT_TYPE, category: str, n: int
) -> None:
    chat = update.effective_chat
    assert chat is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    started = await d.run(
        d.study.start_session,
        user_id,
        n,
        d.clock(),
        d.tz(chat.id),
        chat_id=chat.id,
        kind="drill",
        category=category,
    )
    if not started.session_id:
        await context.bot.send_message(chat.id, f"No items in {category_label(category)} to drill.")
        return
    await present(context.bot, chat.id, started.session_id, d)


async def drill_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/drill CATEGORY [N]: study one category now, due or not; the category by its words
    ("LLM architecture", "rlhf")."""
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    n = 5
    if len(args) > 1 and args[-1].isdigit():
        n = int(args.pop())
        if not 1 <= n <= DRILL_MAX:
            await message.reply_text(f"Drill 1 to {DRILL_MAX} items at a time. {DRILL_USAGE}")
            return
    try:
        category = parse_category(" ".join(args), CATEGORIES)
    except ValueError as exc:
        reason = f"{escape(str(exc))}. " if args else ""
        await message.reply_text(reason + DRILL_USAGE)
        return
    await start_drill(update, context, category, n)


async def drill_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /weak category's button: drill five of its items now."""
    query = update.callback_query
    assert query is not None
    category = Callback.from_match(context.match).arg
    if category not in CATEGORIES:
        await answer_query(query, "This button is no longer valid.", show_alert=True)
        return
    await answer_query(query)
    await start_drill(update, context, category, 5)


async def suspended_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/suspended: the items marked "know it cold", each with a button to bring it back."""
    message = update.effective_message
    assert message is not None
    d = deps(context)
    user_id = await user_id_of(update, context)
    items = await d.run(d.study.suspended_items, user_id)
    if not items:
        await message.reply_text(
            "No suspended items. [Know it cold] under a question suspends one."
        )
        return
    await message.reply_text(
        f"<b>Suspended</b>: {len(items)} item(s).", reply_markup=suspended_keyboard(items[:50])
    )


async def unsuspend_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /suspended item's button: bring it back into the learner's reviews."""
    query = update.callback_query
    assert query is not None
    item_id = Callback.from_match(context.match).arg
    d = deps(context)
    user_id = await user_id_of(update, context)
    if not await d.run(d.study.set_suspended, user_id, item_id, False):
        await answer_query(query, "This item is no longer available.", show_alert=True)
        return
    await answer_query(query, f"{item_id} is back in your reviews.")


async def suspend_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Know it cold] under a question: suspend the item for this learner, go on."""
    await set_aside(update, context, suspend=True)


async def change_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Change rating] under a recorded rating: the three choices in its place."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    await answer_query(query)
    review_id = cb.id
    await set_markup(message, rating_keyboard(Action.CHANGE_TO, review_id))


async def change_to_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The new rating chosen after [Change rating]: accepted for 10 minutes."""
    pressed = await pressed_message(update, context)
    if pressed is None:
        return
    query, message, cb = pressed
    d = deps(context)
    user_id = await user_id_of(update, context)
    result = await d.run(d.study.change_rating, cb.id, user_id, cb.grade, d.clock())
    label = GRADE_LABELS[Grade(cb.grade)]
    if result in ("unknown", "expired"):
        await answer_query(
            query,
            "A rating can be changed for 10 minutes, while it is the latest for that item.",
            show_alert=True,
        )
        await set_markup(message, None)
        return
    await answer_query(query, "Unchanged." if result == "same" else f"Changed to: {label}.")
    await set_markup(message, change_keyboard(cb.id, f"✓ {cb.grade} · {label}"))


async def quiet_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quiet 22:00-07:00 | 10pm-7am | off: no pushes inside the window."""
    message = update.effective_message
    assert message is not None
    text = " ".join(context.args or [])
    if not await may_change_or_say(update, context):
        return
    try:
        window = "" if text.lower() == "off" else parse_quiet(text)
    except ValueError:
        await message.reply_text(
            "Usage: /quiet 22:00-07:00 or /quiet 10pm-7am (no pushes inside it; a push time "
            "inside moves to its end), or /quiet off"
        )
        return
    await apply_changes(update, context, quiet=window)
    head = f"Quiet hours {window}: no push inside them." if window else "Quiet hours off."
    await message.reply_text(f"{head}\n{await next_push_text(update, context)}")
