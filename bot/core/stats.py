"""Aggregations for /stats and the session summary: pure functions over plain values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from bot.core.content import CATEGORIES, Item
from bot.core.srs import CardSnapshot


def local_midnight(now: datetime, tz: tzinfo, days: int = 0) -> datetime:
    """Start of the local day ``days`` after today, as an aware datetime."""
    today = now.astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(today, time(0), tzinfo=tz)


@dataclass(frozen=True)
class DueCounts:
    now: int
    tomorrow: int
    week: int


def due_counts(cards: Iterable[CardSnapshot], now: datetime, tz: tzinfo) -> DueCounts:
    """Items due now, due during tomorrow (local), and due within the next 7 days."""
    start_tomorrow, start_after = local_midnight(now, tz, 1), local_midnight(now, tz, 2)
    week_end = now + timedelta(days=7)
    n_now = n_tomorrow = n_week = 0
    for card in cards:
        if card.suspended:
            continue
        if card.due <= now:
            n_now += 1
        elif card.due <= week_end:
            n_week += 1
        if start_tomorrow <= card.due < start_after:
            n_tomorrow += 1
    return DueCounts(now=n_now, tomorrow=n_tomorrow, week=n_week)


@dataclass(frozen=True)
class Streak:
    current: int  # consecutive local days with a review, ending today (or yesterday)
    active_last_14: int


def streak(times: Iterable[datetime], now: datetime, tz: tzinfo) -> Streak:
    """Study streak from review times."""
    days = {t.astimezone(tz).date() for t in times}
    today = now.astimezone(tz).date()
    run = 0
    day = today if today in days else today - timedelta(days=1)
    while day in days:
        run += 1
        day -= timedelta(days=1)
    active = sum(1 for d in days if today - timedelta(days=13) <= d <= today)
    return Streak(current=run, active_last_14=active)


@dataclass(frozen=True)
class CategoryProgress:
    category: str
    total: int
    studied: int
    mastered: int  # stability of at least 21 days: "mature" in Anki's sense


MASTERED_STABILITY_DAYS = 21.0


def category_progress(
    items: Iterable[Item], cards: Mapping[str, CardSnapshot]
) -> list[CategoryProgress]:
    """Studied and mastered counts per category, in curriculum order."""
    totals: Counter[str] = Counter()
    studied: Counter[str] = Counter()
    mastered: Counter[str] = Counter()
    for item in items:
        totals[item.category] += 1
        card = cards.get(item.id)
        if card:
            studied[item.category] += 1
            if (card.stability or 0) >= MASTERED_STABILITY_DAYS:
                mastered[item.category] += 1
    order = [c for c in CATEGORIES if c in totals] + sorted(set(totals) - set(CATEGORIES))
    return [CategoryProgress(c, totals[c], studied[c], mastered[c]) for c in order]


@dataclass(frozen=True)
class SessionResult:
    started_at: datetime
    size: int
    ratings: dict[int, int]


@dataclass(frozen=True)
class Stats:
    """Everything /stats and `studybot stats` show."""

    total_items: int
    studied: int
    reviews: int
    sessions: int
    streak: Streak
    recent: list[SessionResult]
    due: DueCounts
    categories: list[CategoryProgress]
    daily: dict[date, dict[int, int]] = field(default_factory=dict)  # last 30 days by rating
    forecast: list[int] = field(default_factory=list)  # due per day for the next 14 days


def daily_ratings(
    reviews: Iterable[tuple[datetime, int]], now: datetime, tz: tzinfo, days: int = 30
) -> dict[date, dict[int, int]]:
    """Reviews per local day for the last ``days`` days, split by rating."""
    today = now.astimezone(tz).date()
    out = {today - timedelta(days=k): {1: 0, 2: 0, 3: 0} for k in range(days - 1, -1, -1)}
    for t, rating in reviews:
        day = t.astimezone(tz).date()
        if day in out and rating in (1, 2, 3):
            out[day][rating] += 1
    return out


def due_forecast(
    cards: Iterable[CardSnapshot], now: datetime, tz: tzinfo, days: int = 14
) -> list[int]:
    """Items falling due on each of the next ``days`` local days (today includes overdue)."""
    today = now.astimezone(tz).date()
    counts = [0] * days
    for card in cards:
        if card.suspended:
            continue
        offset = max((card.due.astimezone(tz).date() - today).days, 0)
        if offset < days:
            counts[offset] += 1
    return counts
