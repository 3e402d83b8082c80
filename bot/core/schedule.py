"""When a chat's daily push goes out, and the parsing of what people type to set it.

Pure: time zones, push times and quiet hours as values; ``now`` is always passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_PUSH_TIME = "09:00"
MAX_DAILY_SIZE = 50
GROUP_CHAT_TYPES = ("group", "supergroup")  # Telegram's chat types of a group
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


def parse_zone(text: str) -> str:
    """Normalise a zone: an IANA name (``Europe/Berlin``) or an offset (``UTC+5:30``).

    Raises:
        ValueError: when it is neither.
    """
    raw = text.strip()
    if raw.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(raw)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{raw} is not a valid UTC offset")
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    if "/" in raw and ".." not in raw:
        try:
            ZoneInfo(raw)
            return raw
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"unknown time zone {raw!r}")


@cache
def zone(name: str) -> tzinfo:
    """The tzinfo for a name that ``parse_zone`` produced."""
    match = _OFFSET.match(name)
    if match and name.upper().startswith(("UTC+", "UTC-")):
        sign = 1 if match.group(1) == "+" else -1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * delta, name)
    if name == "UTC":
        return UTC
    return ZoneInfo(name)


def parse_quiet(text: str) -> str:
    """Normalise quiet hours ``HH:MM-HH:MM``; ValueError otherwise (or for an empty window)."""
    start, sep, end = text.replace(" ", "").partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a window like 22:00-07:00")
    window = f"{parse_time(start)}-{parse_time(end)}"
    if window[:5] == window[6:]:
        raise ValueError("the window is empty")
    return window


def parse_time(text: str) -> str:
    """Normalise ``H:MM``/``HH:MM`` (24-hour) to ``HH:MM``; ValueError otherwise."""
    match = re.fullmatch(r"(\d{1,2})[:.h](\d{2})", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time like 08:30")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@dataclass(frozen=True)
class ChatSettings:
    chat_id: int
    type: str
    title: str
    active: bool
    subscribed: bool
    push_time: str
    timezone: str
    daily_size: int
    group_items: int
    schedule_from: datetime | None = None
    quiet: str = ""  # "22:00-07:00": never push inside this window

    @property
    def is_group(self) -> bool:
        return self.type in GROUP_CHAT_TYPES

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def push_clock(self) -> time:
        """When the push goes out: the chosen time, moved to the end of the quiet hours when
        it falls inside them."""
        hours, minutes = self.push_time.split(":")
        chosen = time(int(hours), int(minutes))
        if not _inside(chosen, self.quiet):
            return chosen
        return time.fromisoformat(self.quiet.split("-")[1])

    def push_at(self, day: date) -> datetime:
        """The aware moment of this chat's push on local ``day``."""
        return datetime.combine(day, self.push_clock, tzinfo=self.tz)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def owes_push(self, now: datetime) -> bool:
        """True when today's push time has come, was not before the schedule was set, and it
        is not quiet time now (a push missed while the bot was down waits for tomorrow rather
        than arrive inside the quiet hours)."""
        at = self.push_at(self.local_date(now))
        return (
            self.subscribed
            and self.active
            and at <= now
            and (self.schedule_from is None or at >= self.schedule_from)
            and not self.is_quiet(now)
        )

    def is_quiet(self, now: datetime) -> bool:
        return _inside(now.astimezone(self.tz).time(), self.quiet)


def _inside(clock: time, window: str) -> bool:
    """Is ``clock`` inside the quiet window "HH:MM-HH:MM" (which may wrap past midnight)?"""
    if not window:
        return False
    start, end = (time.fromisoformat(t) for t in window.split("-"))
    return start <= clock < end if start < end else clock >= start or clock < end
