"""Wording that both front ends share: durations, day counts, plurals."""

from __future__ import annotations


def days(n: float) -> str:
    """An interval in whole days, at least one: "1 day", "12 days"."""
    whole = max(1, round(n))
    return "1 day" if whole == 1 else f"{whole} days"


def duration(seconds: float) -> str:
    """ "42 s", "3 min 05 s"."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """ "1 item", "3 items" (``nouns`` for an irregular plural)."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"
