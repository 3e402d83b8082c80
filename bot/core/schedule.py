"""When a chat's daily push goes out, and the parsing of what people type to set it.

Pure: time zones, push times and quiet hours as values; ``now`` is always passed in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_PUSH_TIME = "09:00"
MAX_DAILY_SIZE = 50
GROUP_CHAT_TYPES = ("group", "supergroup")  # Telegram's chat types of a group
# The zones /settings offers a button for, besides the chat's own.
COMMON_ZONES = ("UTC", "Europe/London", "Europe/Berlin", "America/New_York", "Asia/Kolkata")
QUIET_HOURS = "22:00-07:00"  # the window /settings' button sets
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)
# "8", "8am", "8 a.m.", "8:30 pm", "20:15", "20.15", "20h", "20h15": the hour, the minutes, and
# am/pm or the French "h" (which is 24-hour).
_CLOCK = re.compile(
    r"(?P<h>\d{1,2})(?:(?P<sep>[:.h])(?P<m>\d{2}))?\s*(?P<suffix>[ap]\.?m\.?|h)?(?=\s|$)", re.I
)
# Time zone abbreviations as people write them. Neither zoneinfo nor tzdata maps them back to
# zones (tzdata itself names many zones "+03" rather than by letters), and several letters mean
# different zones in different countries, so this is ours: the zone each one means, or the
# zones it may mean when it is ambiguous (the first is not preferred over the others).
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "CET": ("Europe/Berlin",),
    "CEST": ("Europe/Berlin",),
    "EET": ("Europe/Athens",),
    "EEST": ("Europe/Athens",),
    "WET": ("Europe/Lisbon",),
    "WEST": ("Europe/Lisbon",),
    "BST": ("Europe/London", "Asia/Dhaka"),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "IDT": ("Asia/Jerusalem",),
    "MSK": ("Europe/Moscow",),
    "EST": ("America/New_York",),
    "EDT": ("America/New_York",),
    "CST": ("America/Chicago", "Asia/Shanghai"),
    "CDT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix"),
    "MDT": ("America/Denver",),
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "AKDT": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "AST": ("America/Halifax", "Asia/Riyadh"),
    "ADT": ("America/Halifax",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
    "WAT": ("Africa/Lagos",),
    "CAT": ("Africa/Maputo",),
    "EAT": ("Africa/Nairobi",),
    "SAST": ("Africa/Johannesburg",),
    "PKT": ("Asia/Karachi",),
    "WIB": ("Asia/Jakarta",),
    "SGT": ("Asia/Singapore",),
    "HKT": ("Asia/Hong_Kong",),
    "KST": ("Asia/Seoul",),
    "JST": ("Asia/Tokyo",),
    "AWST": ("Australia/Perth",),
    "ACST": ("Australia/Adelaide", "Australia/Darwin"),
    "ACDT": ("Australia/Adelaide",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
}


class AmbiguousZone(ValueError):
    """What was typed names several zones (``IST``: India, Ireland or Israel)."""

    def __init__(self, text: str, choices: tuple[str, ...]) -> None:
        super().__init__(f"{text!r} may mean {', '.join(choices)}")
        self.text = text
        self.choices = choices


def parse_zone(text: str) -> str:
    """Normalise a zone to the name stored for a chat.

    Accepts an IANA name in any case (``europe/berlin``), a city that names one (``berlin``,
    ``new york``, ``São Paulo``), an abbreviation (``CET``, ``JST``) or a UTC offset
    (``+05:30``, ``UTC-3``).

    Raises:
        AmbiguousZone: for an abbreviation that several zones use (``IST``).
        ValueError: when it is none of these.
    """
    raw = " ".join(text.split())
    if raw.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(raw)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{raw} is not a valid UTC offset")
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    choices = ABBREVIATIONS.get(raw.upper())
    if choices is not None:
        if len(choices) > 1:
            raise AmbiguousZone(raw, choices)
        return choices[0]
    key = _plain(raw)
    names, cities = _zone_index()
    found = names.get(key) or cities.get(key)
    if found is None:
        raise ValueError(f"unknown time zone {raw!r}")
    return found


def _plain(text: str) -> str:
    """Lower case, accents dropped, spaces for underscores: "São_Paulo" -> "sao paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("_", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _tzdata(name: str) -> str:
    """A text file of the tzdata package ("" without it: the zones still come from the
    system's database, only without the preferences these files give)."""
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text("utf-8")
    except (ModuleNotFoundError, OSError):
        return ""


@cache
def _links() -> dict[str, str]:
    """Old zone names -> the zone each now is ("Asia/Calcutta" -> "Asia/Kolkata"), from the
    link lines ("L Asia/Kolkata Asia/Calcutta") of tzdata's compact source."""
    lines = (line.split() for line in _tzdata("tzdata.zi").splitlines() if line.startswith("L "))
    return {parts[2]: parts[1] for parts in lines if len(parts) == 3}


# The areas of IANA names whose last part is a city ("US/Eastern" names none).
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


@cache
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """From one walk of the zone database: every IANA zone by its plain name, an old alias by
    the zone it now is ("europe/berlin" -> "Europe/Berlin", "us/eastern" ->
    "America/New_York"); and the zones by their city ("new york" -> "America/New_York",
    "calcutta" -> "Asia/Kolkata")."""
    links = _links()
    names: dict[str, str] = {}
    cities: dict[str, str] = {}
    for name in available_timezones():
        if name == "Factory":
            continue
        names[_plain(name)] = links.get(name, name)
        if name.startswith(_REGIONS):
            cities[_plain(name.rsplit("/", 1)[1])] = links.get(name, name)
    return names, cities


def zone_label(name: str) -> str:
    """A zone as a button shows it: its city ("New York"), or the name itself ("UTC+05:30")."""
    return name.rsplit("/", 1)[1].replace("_", " ") if "/" in name else name


def utc_offset(name: str, now: datetime) -> str:
    """The zone's offset at ``now``: "UTC+05:30", "UTC" for none."""
    delta = now.astimezone(zone(name)).utcoffset() or timedelta(0)
    if not delta:
        return "UTC"
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes > 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


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
    """Normalise quiet hours to ``HH:MM-HH:MM`` ("22:00-07:00", "10pm-7am", "22h to 7h").

    Raises:
        ValueError: when it is not two times, or the window is empty.
    """
    parts = re.split(r"\s*(?:-|–|—|\bto\b|\buntil\b)\s*", text.strip(), flags=re.I)
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"{text!r} is not a window like 22:00-07:00")
    window = f"{parse_time(parts[0])}-{parse_time(parts[1])}"
    if window[:5] == window[6:]:
        raise ValueError("the window is empty")
    return window


def parse_time(text: str) -> str:
    """Normalise a time of day to ``HH:MM``: "8am", "8:30 pm", "20:15", "20h", "8".

    Raises:
        ValueError: when it is not one.
    """
    clock, rest = split_time(text)
    if rest:
        raise ValueError(f"{text!r} is not a time like 08:30")
    return clock


def split_time(text: str) -> tuple[str, str]:
    """The time of day at the start of ``text`` as ``HH:MM``, and the rest ("8am Berlin" ->
    ("08:00", "Berlin")).

    Raises:
        ValueError: when ``text`` does not start with a time of day.
    """
    stripped = text.strip()
    match = _CLOCK.match(stripped)
    rest = stripped[match.end() :] if match else ""
    if match is None:
        raise ValueError(f"{text!r} is not a time like 08:30")
    hours, minutes = int(match["h"]), int(match["m"] or 0)
    suffix = (match["suffix"] or "").lower().replace(".", "")
    if suffix in ("am", "pm"):
        if not 1 <= hours <= 12:
            raise ValueError(f"{text!r} is not a time like 8am")
        hours = hours % 12 + (12 if suffix == "pm" else 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time like 08:30")
    return f"{hours:02d}:{minutes:02d}", rest.strip()


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


def next_push(chat: ChatSettings, now: datetime, pushed_today: bool = False) -> datetime | None:
    """When the chat's next daily push goes out; None when it gets none.

    Args:
        chat: its settings.
        now: the current moment (aware).
        pushed_today: whether today's push (on the chat's calendar) went out already: there is
            one a day, so a push time moved later the same day waits for tomorrow.
    """
    if not (chat.subscribed and chat.active):
        return None
    today = chat.local_date(now)
    at = chat.push_at(today)
    if at <= now or pushed_today or (chat.schedule_from is not None and at < chat.schedule_from):
        at = chat.push_at(today + timedelta(days=1))
    return at


def when(at: datetime, now: datetime, tz: tzinfo) -> str:
    """A coming moment as a person says it, in ``tz``: "today 08:00", "tomorrow 08:00",
    "Wed 9 Dec 08:00"."""
    local, today = at.astimezone(tz), now.astimezone(tz).date()
    days = (local.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days, f"{local:%a} {local.day} {local:%b}")
    return f"{day} {local:%H:%M}"
