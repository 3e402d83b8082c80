"""Inline keyboards: every button the bot sends, its data built by ``callbacks.encode``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.attempt import suggested_rating
from bot.core.content import Item
from bot.core.schedule import COMMON_ZONES, QUIET_HOURS, ChatSettings, zone_label
from bot.core.srs import GRADE_LABELS, Grade
from bot.core.text import clip, comes_back
from bot.services.study import Current
from bot.telegram.callbacks import Action, decode, encode

# Labels are cut to fit a phone's screen.
LABEL_CHARS = 60


def _button(label: str, action: Action, *values: int | str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(action, *values))


def question_keyboard(session_id: int, position: int) -> InlineKeyboardMarkup:
    """[Show answer] [Skip] [Know it cold] under a question."""
    return InlineKeyboardMarkup(
        [
            [
                _button("Show answer", Action.REVEAL, session_id, position),
                _button("Skip", Action.SKIP, session_id, position),
                _button("Know it cold", Action.SUSPEND, session_id, position),
            ]
        ]
    )


def change_keyboard(review_id: int, label: str) -> InlineKeyboardMarkup:
    """The chosen rating, and [Change rating] (accepted for 10 minutes)."""
    return InlineKeyboardMarkup(
        [[_button(label, Action.NOOP), _button("Change rating", Action.CHANGE, review_id)]]
    )


def rating_keyboard(action: Action, *target: int) -> InlineKeyboardMarkup:
    """[1 · No idea] [2 · Partial] [3 · Got it]: ``action`` (RATE, GROUP_RATE or CHANGE_TO) on
    ``target`` (a session and position, a group post, a review)."""
    return InlineKeyboardMarkup(
        [[_button(f"{int(g)} · {GRADE_LABELS[g]}", action, *target, g) for g in Grade]]
    )


SUGGESTED = "👉 "  # marks the rating that the ticked key points suggest


def rating_label(grade: Grade, days: float, again_today: bool = False) -> str:
    """ "2 · Partial · 2 days": a rating and when it brings the item back (``again_today``:
    a 1 that comes back in this session)."""
    when = comes_back(days, grade == Grade.NO_IDEA and again_today)
    return f"{int(grade)} · {GRADE_LABELS[grade]} · {when}"


def answer_keyboard(cur: Current, ticks: int = 0, *, full: bool = True) -> InlineKeyboardMarkup:
    """Under a revealed answer: a toggle per key point (☐/☑; ``ticks`` is the bit mask of the
    ticked ones), the three ratings with their intervals (the one the ticks suggest marked),
    and [Full answer] unless the full answer was sent."""
    n = len(cur.item.key_points)
    rows = []
    if n:
        rows.append([_tick(cur.session_id, cur.position, ticks, k) for k in range(n)])
    suggested = suggested_rating(ticks.bit_count(), n) if ticks else 0
    for g in Grade:
        label = rating_label(g, cur.intervals[g - 1], cur.again_today)
        mark = SUGGESTED if g == suggested else ""
        rows.append([_button(mark + label, Action.RATE, cur.session_id, cur.position, g)])
    if full:
        rows.append([_button("Full answer", Action.FULL, cur.session_id, cur.position)])
    return InlineKeyboardMarkup(rows)


def retick(markup: InlineKeyboardMarkup, ticks: int) -> InlineKeyboardMarkup:
    """An answer's keyboard with other key points ticked: rebuilt from the buttons the message
    shows (their labels carry the intervals), so a tick needs no database."""
    rows = []
    n = sum(1 for row in markup.inline_keyboard for b in row if _action(b) == Action.TICK)
    ticks &= (1 << n) - 1  # forged data ticks no point the answer does not have
    suggested = suggested_rating(ticks.bit_count(), n) if ticks else 0
    for row in markup.inline_keyboard:
        out: list[InlineKeyboardButton] = []
        for b in row:
            cb = decode(b.callback_data if isinstance(b.callback_data, str) else None)
            if cb is not None and cb.action == Action.TICK:
                out.append(_tick(cb.id, cb.position, ticks, len(out)))
            elif cb is not None and cb.action == Action.RATE:
                label = b.text.removeprefix(SUGGESTED)
                mark = SUGGESTED if cb.grade == suggested else ""
                out.append(_button(mark + label, Action.RATE, cb.id, cb.position, cb.grade))
            else:
                out.append(b)
        rows.append(out)
    return InlineKeyboardMarkup(rows)


def _tick(session_id: int, position: int, ticks: int, k: int) -> InlineKeyboardButton:
    """Key point ``k``'s toggle: ☑ when its bit is set in ``ticks``; pressing it flips that bit."""
    label = f"{'☑' if ticks >> k & 1 else '☐'} {k + 1}"
    return _button(label, Action.TICK, session_id, position, str(ticks ^ (1 << k)))


def without_full(markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """An answer's keyboard without its [Full answer] button (the full answer was sent)."""
    return InlineKeyboardMarkup(
        [row for row in markup.inline_keyboard if all(_action(b) != Action.FULL for b in row)]
    )


def _action(button: InlineKeyboardButton) -> Action | None:
    data = button.callback_data
    cb = decode(data) if isinstance(data, str) else None
    return None if cb is None else cb.action


def session_choice_keyboard(session_id: int, left: int, new: str) -> InlineKeyboardMarkup:
    """/study with a session open: [Continue (3 left)] [Start new] (``new``: the size and type
    asked for, as STUDY data)."""
    return InlineKeyboardMarkup(
        [
            [
                _button(f"Continue ({left} left)", Action.CONTINUE, session_id),
                _button("Start new", Action.STUDY, new),
            ]
        ]
    )


def start_keyboard() -> InlineKeyboardMarkup:
    """/start: [Study 10 now] [Daily push…] [How it works]."""
    return InlineKeyboardMarkup(
        [
            [_button("Study 10 now", Action.STUDY, "10")],
            [
                _button("Daily push…", Action.MENU, "daily"),
                _button("How it works", Action.MENU, "how"),
            ],
        ]
    )


def summary_keyboard() -> InlineKeyboardMarkup:
    """Under a session's summary: [10 more] [Stats]."""
    return InlineKeyboardMarkup(
        [[_button("10 more", Action.STUDY, "10"), _button("Stats", Action.MENU, "stats")]]
    )


def done_keyboard(label: str) -> InlineKeyboardMarkup:
    """A single inert button that shows what was chosen."""
    return InlineKeyboardMarkup([[_button(label, Action.NOOP)]])


def reveal_keyboard(post_id: int) -> InlineKeyboardMarkup:
    """[Show answer] under a group post."""
    return InlineKeyboardMarkup([[_button("Show answer", Action.GROUP_REVEAL, post_id)]])


def reset_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button("Yes, delete my progress", Action.RESET, "y"),
                _button("Cancel", Action.RESET, "n"),
            ]
        ]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button("Yes, delete everything", Action.FORGET, "y"),
                _button("Cancel", Action.FORGET, "n"),
            ]
        ]
    )


def settings_keyboard(
    chat: ChatSettings, *, personal: bool = False, exam: date | None = None
) -> InlineKeyboardMarkup:
    """The /settings buttons: see ``settings_rows``."""
    return InlineKeyboardMarkup(settings_rows(chat, personal=personal, exam=exam))


def settings_rows(
    chat: ChatSettings, *, personal: bool = False, exam: date | None = None
) -> list[list[InlineKeyboardButton]]:
    """The rows of /settings, one per setting: the push on or off, its time, its size, the
    zone (the current one, common ones, or one typed next), quiet hours and, for a learner's
    own chat (``personal``), the interview date. A setting of a group is a row added here."""
    t = Action.SETTINGS
    toggle = ("off", "Turn daily push off") if chat.subscribed else ("on", "Turn daily push on")
    quiet = ("q0", "No quiet hours") if chat.quiet else ("q1", f"Quiet hours {QUIET_HOURS}")
    zones = [chat.timezone, *(z for z in COMMON_ZONES if z != chat.timezone)][:4]
    rows = [
        [_button(toggle[1], t, toggle[0])],
        [_button("Time −1 h", t, "h-"), _button("Time +1 h", t, "h+")],
        [_button("Size −1", t, "s-"), _button("Size +1", t, "s+")],
        [_button(("✓ " if z == chat.timezone else "") + zone_label(z), t, f"z:{z}") for z in zones],
        [_button("Other zone: type a city", t, "z?")],
        [_button(quiet[1], t, quiet[0])],
    ]
    if personal:
        rows.append(
            [_button("Change interview date", t, "e?"), _button("Clear interview date", t, "e0")]
            if exam
            else [_button("Set interview date", t, "e?")]
        )
    return rows


def quiz_polls_row(on: bool) -> list[InlineKeyboardButton]:
    """A group's /settings row: quiz items as native quiz polls, on or off (admins only)."""
    if on:
        return [_button("Quiz polls: on · turn off", Action.QUIZ_POLLS, "off")]
    return [_button("Quiz polls: off · turn on", Action.QUIZ_POLLS, "on")]


def found_keyboard(items: Sequence[Item]) -> InlineKeyboardMarkup:
    """One button per found item ("c014 · Rotary positional embeddings (RoPE)") that opens it."""
    return InlineKeyboardMarkup(
        [[_button(f"{i.id} · {i.title}", Action.OPEN, i.id)] for i in items]
    )


def weak_keyboard(
    categories: Sequence[tuple[str, float, int]], items: Sequence[tuple[Item, float]]
) -> InlineKeyboardMarkup:
    """/weak: a drill button per weak category, then an open button per weak item, each with
    its recall a week from now ("c014 · 31% · Rotary positional…")."""
    rows = [[_button(f"Drill {c} · {r:.0%}", Action.DRILL, c)] for c, r, _n in categories]
    rows += [
        [_button(clip(f"{i.id} · {r:.0%} · {i.title}", LABEL_CHARS), Action.OPEN, i.id)]
        for i, r in items
    ]
    return InlineKeyboardMarkup(rows)


def suspended_keyboard(items: Sequence[Item]) -> InlineKeyboardMarkup:
    """/suspended: a button per item that brings it back."""
    return InlineKeyboardMarkup(
        [
            [_button(f"Bring back {i.id} · {i.title}"[:LABEL_CHARS], Action.UNSUSPEND, i.id)]
            for i in items
        ]
    )


def group_answer_keyboard(post_id: int, full_answer_url: str) -> InlineKeyboardMarkup:
    """Under a revealed group post: the three ratings, then [Full answer], a link that opens
    the item in the presser's private chat with the bot."""
    ratings = rating_keyboard(Action.GROUP_RATE, post_id).inline_keyboard
    return InlineKeyboardMarkup(
        [*ratings, [InlineKeyboardButton("Full answer", url=full_answer_url)]]
    )


def link_keyboard(label: str, url: str) -> InlineKeyboardMarkup:
    """One link button (a ``t.me`` deep link into the private chat with the bot)."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


def welcome_keyboard() -> InlineKeyboardMarkup:
    """[Try 3 items now] under the welcome to a group."""
    return InlineKeyboardMarkup([[_button("Try 3 items now", Action.TRY)]])


def zone_choice_keyboard(choices: Sequence[str], push_time: str = "") -> InlineKeyboardMarkup:
    """A button per zone an ambiguous abbreviation may mean (IST: [Kolkata] [Dublin]
    [Jerusalem]); ``push_time`` is set with it when /daily asked."""
    at = f"@{push_time}" if push_time else ""
    return InlineKeyboardMarkup(
        [[_button(zone_label(z), Action.SETTINGS, f"z:{z}{at}") for z in choices]]
    )
