"""Every button the bot sends: one action each, its callback data, and the pattern that routes it.

Callback data is short ASCII, e.g. "r:12:3:2" = rate session 12, position 3, grade 2. Buttons
stay in chats for weeks, so this format never changes. Each action's pattern accepts exactly
the data ``encode`` produces for it, all well under Telegram's 64 bytes; anything else (forged,
malformed, oversized) matches no pattern and is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from telegram.constants import InlineKeyboardButtonLimit

MAX_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA


class Action(StrEnum):
    """What a button does; the value is the first field of its callback data."""

    REVEAL = "a"  # [Show answer] under a question: session, position
    RATE = "r"  # a rating under an answer: session, position, grade
    SKIP = "k"  # [Skip]: session, position
    SUSPEND = "s"  # [Know it cold]: session, position
    GROUP_REVEAL = "p"  # [Show answer] under a group post: post
    GROUP_RATE = "g"  # a rating under a group post's answer: post, grade
    CHANGE = "c"  # [Change rating]: review
    CHANGE_TO = "x"  # the new rating: review, grade
    NOOP = "n"  # an inert button that shows what was chosen
    RESET = "z"  # /reset's confirmation: y or n
    SETTINGS = "t"  # a /settings button: a change (SETTINGS_CHANGES), or a zone to choose
    OPEN = "o"  # study one item now (/find, /weak): its id
    FORGET = "f"  # /forget_me's confirmation: y or n
    UNSUSPEND = "u"  # bring a suspended item back: its id
    DRILL = "d"  # drill a category (/weak): its name
    TICK = "m"  # a key point ticked or unticked under an answer: session, position, ticks
    FULL = "w"  # [Full answer] under a revealed answer: session, position
    CONTINUE = "y"  # [Continue] an open session (asked by /study): session
    STUDY = "b"  # start a session: its size, and a type (/start, a summary, /study's question)
    MENU = "q"  # a /start or summary button: stats, daily, how
    TRY = "e"  # [Try 3 items now] under the welcome to a group
    QUIZ_POLLS = "v"  # a group's /settings: quiz items as quiz polls, on or off


# The push on or off, its time and size an hour or an item earlier or later, quiet hours off
# (q0) or 22:00-07:00 (q1), the interview date cleared (e0), and a zone (z?) or a date (e?)
# typed next.
SETTINGS_CHANGES = ("on", "off", "h-", "h+", "s-", "s+", "q0", "q1", "e0", "e?", "z?")
# A zone chosen by its button ("z:Europe/Berlin", "z:UTC+05:30"), with the push time to set at
# the same time when /daily asked which zone was meant ("z:Asia/Kolkata@08:00").
_ZONE_CHOICE = r"z:[A-Za-z][A-Za-z0-9_+/-]{0,39}(?::[0-9]{2})?(?:@[0-9]{2}:[0-9]{2})?"
_SETTINGS = "|".join([*map(re.escape, SETTINGS_CHANGES), _ZONE_CHOICE])

_SESSION = r":(?P<id>[0-9]{1,12}):(?P<position>[0-9]{1,6})"
# Group posts and rating changes have no position: their data keeps a 0 in its place.
_NO_POSITION = r":(?P<id>[0-9]{1,12}):0"
_GRADE = r":(?P<grade>[1-3])"
_YES_NO = r":(?P<arg>[yn])"
_ITEM = r":(?P<arg>[A-Za-z][A-Za-z0-9-]{0,61})"  # an item id as bot.core.content.ID_RE allows
_FIELDS = {
    Action.REVEAL: _SESSION,
    Action.RATE: _SESSION + _GRADE,
    Action.SKIP: _SESSION,
    Action.SUSPEND: _SESSION,
    Action.GROUP_REVEAL: _NO_POSITION,
    Action.GROUP_RATE: _NO_POSITION + _GRADE,
    Action.CHANGE: _NO_POSITION,
    Action.CHANGE_TO: _NO_POSITION + _GRADE,
    Action.NOOP: "",
    Action.RESET: _YES_NO,
    Action.SETTINGS: ":(?P<arg>" + _SETTINGS + ")",
    Action.OPEN: _ITEM,
    Action.FORGET: _YES_NO,
    Action.UNSUSPEND: _ITEM,
    Action.DRILL: r":(?P<arg>[a-z_]{1,40})",
    # The ticked key points as a bit mask (a key point list has at most 6 items).
    Action.TICK: _SESSION + r":(?P<arg>[0-9]{1,2})",
    Action.FULL: _SESSION,
    Action.CONTINUE: r":(?P<id>[0-9]{1,12})",
    Action.STUDY: r":(?P<arg>[0-9]{1,2}(?:-[a-z]{1,12})?)",
    Action.MENU: r":(?P<arg>stats|daily|how)",
    Action.TRY: "",
    Action.QUIZ_POLLS: r":(?P<arg>on|off)",
}
# re.match (as CallbackQueryHandler uses it) anchors the start; \Z the very end ($ would let a
# trailing newline through).
_PATTERNS: dict[str, re.Pattern[str]] = {
    a: re.compile(f"(?P<action>{a}){fields}\\Z") for a, fields in _FIELDS.items()
}


@dataclass(frozen=True)
class Callback:
    """A decoded button press; the fields its action does not use are 0 or ""."""

    action: Action
    id: int = 0  # a session (REVEAL RATE SKIP SUSPEND), a group post (GROUP_*), a review (CHANGE*)
    position: int = 0  # the item's place in its session
    grade: int = 0  # 1-3 (RATE, GROUP_RATE, CHANGE_TO)
    arg: str = ""  # y/n, a settings change, an item id or a category

    @classmethod
    def from_match(cls, match: re.Match[str] | None) -> Callback:
        """The press that matched an action's pattern (``context.match`` in a routed handler).

        Raises:
            ValueError: there is no match, i.e. the handler was not routed by a pattern.
        """
        if match is None:
            raise ValueError("no callback data was matched")
        found = match.groupdict()
        return cls(
            action=Action(found["action"]),
            id=int(found.get("id") or 0),
            position=int(found.get("position") or 0),
            grade=int(found.get("grade") or 0),
            arg=found.get("arg") or "",
        )


def pattern(action: Action) -> re.Pattern[str]:
    """The pattern of ``action``'s callback data, for ``CallbackQueryHandler(pattern=...)``."""
    return _PATTERNS[action]


def encode(action: Action, *values: int | str) -> str:
    """The callback data of a button, e.g. ``encode(Action.RATE, 12, 3, 2) == "r:12:3:2"``.

    Args:
        action: what the button does.
        values: its fields in order, as listed on ``Action`` (ids, position, grade, argument).

    Raises:
        ValueError: the data would not match the action's own pattern (so the bot never sends
            a button it would refuse) or is over Telegram's 64 bytes.
    """
    fields = [str(int(v)) if isinstance(v, int) else v for v in values]
    if action in (Action.GROUP_REVEAL, Action.GROUP_RATE, Action.CHANGE, Action.CHANGE_TO):
        fields.insert(1, "0")
    data = ":".join([action, *fields])
    if len(data.encode()) > MAX_BYTES or not _PATTERNS[action].match(data):
        raise ValueError(f"{values!r} are not the fields of a {action.name} button")
    return data


def decode(data: str | None) -> Callback | None:
    """Parse callback data the bot issued; None for anything else."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    action_pattern = _PATTERNS.get(data.partition(":")[0])
    match = None if action_pattern is None else action_pattern.match(data)
    return None if match is None else Callback.from_match(match)
