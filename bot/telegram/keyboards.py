"""Inline keyboards, and the one place where callback data is encoded and decoded.

Callback data is short ASCII ("r:12:3:2" = rate session 12, position 3, grade 2), always well
under Telegram's 64-byte limit. ``decode`` accepts only what ``encode_*`` produce; anything else
(forged, malformed, oversized) decodes to None and is answered with a short alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit

from bot.core.content import Item
from bot.core.srs import GRADE_LABELS, Grade

_PATTERN = re.compile(r"^(?P<action>[arkgpscx]):(?P<a>\d{1,12}):(?P<b>\d{1,6})(?::(?P<c>[1-3]))?$")
# An item id as bot.core.content.ID_RE allows it, e.g. "o:c014" = open item c014.
_ITEM = re.compile(r"^(?P<action>[ou]):(?P<item>[A-Za-z][A-Za-z0-9-]{0,61})$")
_DRILL = re.compile(r"^d:(?P<category>[a-z_]{1,40})$")
_SIMPLE = {"n", "z:y", "z:n", "f:y", "f:n", "t:on", "t:off", "t:h-", "t:h+", "t:s-", "t:s+"}
NOOP = "n"


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    # a reveal, r rate, k skip (private sessions); p reveal, g rate (group posts);
    # n no-op; z reset confirmation (arg y/n); t settings change (arg on/off/h-/h+/s-/s+)
    # o open an item (arg: its id); f forget-me confirmation (arg y/n)
    # s "know it cold" (session, position); c change a rating (review id), x its new grade;
    # u bring a suspended item back (arg: its id); d drill a category (arg: its name)
    action: str
    session_id: int = 0
    position: int = 0
    grade: int = 0
    arg: str = ""


def decode(data: str | None) -> Callback | None:
    """Parse callback data the bot issued; None for anything else."""
    if not data or len(data.encode()) > InlineKeyboardButtonLimit.MAX_CALLBACK_DATA:
        return None
    if data in _SIMPLE:
        action, _, arg = data.partition(":")
        return Callback(action=action, arg=arg)
    item = _ITEM.match(data)
    if item:
        return Callback(action=item.group("action"), arg=item.group("item"))
    drill = _DRILL.match(data)
    if drill:
        return Callback(action="d", arg=drill.group("category"))
    match = _PATTERN.match(data)
    if not match:
        return None
    action = match.group("action")
    grade = int(match.group("c") or 0)
    if (action in ("r", "g", "x")) != bool(grade):
        return None
    if action in ("g", "p", "c", "x") and match.group("b") != "0":
        return None
    return Callback(
        action=action, session_id=int(match.group("a")), position=int(match.group("b")), grade=grade
    )


def question_keyboard(session_id: int, position: int) -> InlineKeyboardMarkup:
    """[Show answer] [Skip] [Know it cold] under a question."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Show answer", callback_data=f"a:{session_id}:{position}"),
                InlineKeyboardButton("Skip", callback_data=f"k:{session_id}:{position}"),
                InlineKeyboardButton("Know it cold", callback_data=f"s:{session_id}:{position}"),
            ]
        ]
    )


def change_keyboard(review_id: int, label: str) -> InlineKeyboardMarkup:
    """The chosen rating, and [Change rating] (accepted for 10 minutes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=NOOP),
                InlineKeyboardButton("Change rating", callback_data=f"c:{review_id}:0"),
            ]
        ]
    )


def rating_keyboard(session_id: int, position: int, action: str = "r") -> InlineKeyboardMarkup:
    """[1 · No idea] [2 · Partial] [3 · Got it] under an answer."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{int(g)} · {GRADE_LABELS[g]}",
                    callback_data=f"{action}:{session_id}:{position}:{int(g)}",
                )
                for g in Grade
            ]
        ]
    )


def done_keyboard(label: str) -> InlineKeyboardMarkup:
    """A single inert button that shows what was chosen."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=NOOP)]])


def reset_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete my progress", callback_data="z:y"),
                InlineKeyboardButton("Cancel", callback_data="z:n"),
            ]
        ]
    )


def found_keyboard(items: list[Item]) -> InlineKeyboardMarkup:
    """One button per found item ("c014 · Rotary positional embeddings (RoPE)") that opens it."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{i.id} · {i.title}", callback_data=f"o:{i.id}")] for i in items]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete everything", callback_data="f:y"),
                InlineKeyboardButton("Cancel", callback_data="f:n"),
            ]
        ]
    )


def reveal_keyboard(post_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("Show answer", callback_data=f"p:{post_id}:0")]]
    )
