"""Inline keyboards: every button the bot sends, its data built by ``callbacks.encode``."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.content import Item
from bot.core.srs import GRADE_LABELS, Grade
from bot.telegram.callbacks import Action, encode

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


def settings_keyboard(subscribed: bool) -> InlineKeyboardMarkup:
    """The /settings buttons: the daily push on or off, its time and its size."""
    toggle = (
        _button("Turn daily push off", Action.SETTINGS, "off")
        if subscribed
        else _button("Turn daily push on", Action.SETTINGS, "on")
    )
    return InlineKeyboardMarkup(
        [
            [toggle],
            [
                _button("Time −1 h", Action.SETTINGS, "h-"),
                _button("Time +1 h", Action.SETTINGS, "h+"),
            ],
            [
                _button("Size −1", Action.SETTINGS, "s-"),
                _button("Size +1", Action.SETTINGS, "s+"),
            ],
        ]
    )


def found_keyboard(items: Sequence[Item]) -> InlineKeyboardMarkup:
    """One button per found item ("c014 · Rotary positional embeddings (RoPE)") that opens it."""
    return InlineKeyboardMarkup(
        [[_button(f"{i.id} · {i.title}", Action.OPEN, i.id)] for i in items]
    )


def weak_keyboard(
    categories: Sequence[tuple[str, float, int]], items: Sequence[tuple[Item, float]]
) -> InlineKeyboardMarkup:
    """/weak: a drill button per weak category, then an open button per weak item."""
    rows = [[_button(f"Drill {c} · recall {r:.0%}", Action.DRILL, c)] for c, r, _n in categories]
    rows += [
        [_button(f"{i.id} · {r:.0%} · {i.title}"[:LABEL_CHARS], Action.OPEN, i.id)]
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
