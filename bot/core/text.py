"""Wording that both front ends share: plurals, counts, day counts, notes, the /stats summary.

A two-form ``plural`` rather than the ``inflect`` library: the bot's nouns are a handful of
regular ones, and importing inflect took over 2 s (its type-checking decorators run at import),
more than the bot's whole start-up budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.stats import DueCounts, Stats

ELLIPSIS = "…"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """ "1 item", "3 items" (``nouns`` for an irregular plural)."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def are(n: int) -> str:
    """The verb after a count: "1 item is", "3 items are"."""
    return "is" if n == 1 else "are"


def long_day(day: date) -> str:
    """ "Wednesday 20 January 2027"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def duration(seconds: float) -> str:
    """ "42 s", "3 min 05 s"."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with "…" when it was cut.

    The cut falls at the last space when that keeps most of the room, so a button label ends
    on a whole word ("Rotary positional…"), not on "Rotary posit".
    """
    if len(text) <= limit:
        return text
    room = text[: max(limit - 1, 0)]
    space = room.rfind(" ")
    if space >= limit * 2 // 3:
        room = room[:space]
    return room.rstrip(" ·,;:-—") + ELLIPSIS


def notes(parts: Iterable[str]) -> str:
    """Notes joined into one sentence: "999 is more than 50; studying 50; 3 items reviewed
    ahead of schedule." ("" if none). A part may end with its own full stop or not: it is
    never doubled (".;", "..")."""
    kept = [p.strip().rstrip(".;").strip() for p in parts]
    text = "; ".join(p for p in kept if p)
    return text + "." if text else ""


def sentence(text: str) -> str:
    """A note said on its own: a capital first letter, a full stop at the end
    ("only 3 of the 5 items asked for are available" -> "Only 3 ... available.")."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def due_today(due: int, new: int) -> str:
    """The line that opens a daily push: "3 items due today, 5 new.", "Nothing due today,
    5 new.", "1 item due today."."""
    head = f"{plural(due, 'item')} due today" if due else "Nothing due today"
    return f"{head}, {new} new." if new else f"{head}."


def streak_days(n: int) -> str:
    """A study streak: "no streak yet", "1 day in a row", "4 days in a row"."""
    return f"{plural(n, 'day')} in a row" if n else "no streak yet"


def due_summary(due: DueCounts) -> str:
    """ "Due: 3 now · 2 tomorrow · 5 in the next 7 days", zeros in words."""
    if not (due.now or due.tomorrow or due.week):
        return "Nothing due in the next 7 days"
    now = f"{due.now} now" if due.now else "nothing now"
    tomorrow = f"{due.tomorrow} tomorrow" if due.tomorrow else "none tomorrow"
    return f"Due: {now} · {tomorrow} · {due.week} in the next 7 days"


def stats_summary(st: Stats) -> list[str]:
    """The opening lines of /stats and `studybot stats` (plain text, no markup)."""
    active = st.streak.active_last_14
    return [
        f"Items studied: {st.studied} of {st.total_items} · {plural(st.reviews, 'review')} · "
        f"{plural(st.sessions, 'session')}",
        f"Streak: {streak_days(st.streak.current)} · active on {active} of the last 14 days",
        due_summary(st.due),
    ]


NO_REVIEWS_YET = (
    "No reviews yet: your streak, due counts and progress per category show up here after "
    "your first session."
)


def back_in(days: float) -> str:
    """When an item comes back, as on its rating button: "tomorrow", "4 days", "3 weeks",
    "2 months" (fsrs's interval in days, rounded the way a person would say it)."""
    if days < 1.5:
        return "tomorrow"
    if days < 14:
        return plural(round(days), "day")
    if days < 60:
        return plural(round(days / 7), "week")
    return plural(round(days / 30), "month")


def comes_back(days: float, again_today: bool = False) -> str:
    """When a rated item comes back, as its rating button and the toast say it: "again today"
    (a 1 retried at the end of the session), else ``back_in(days)``."""
    return "again today" if again_today else back_in(days)
