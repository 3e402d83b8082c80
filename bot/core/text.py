"""Wording that both front ends share: durations, day counts, plurals."""

from __future__ import annotations


def days(n: float) -> str:
    whole = max(1, round(n))
    return "1 day" if whole == 1 else f"{whole} days"


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
