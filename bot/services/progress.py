"""Where a learner stands: statistics, the interview countdown or plan, weak spots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from fsrs import Scheduler
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, Item
from bot.core.plan import LEECH_LAPSES, Phase
from bot.core.selection import today_phase
from bot.core.srs import recall_in_a_week, retrievability
from bot.core.stats import (
    SessionResult,
    Stats,
    category_progress,
    daily_ratings,
    due_counts,
    due_forecast,
    local_midnight,
    streak,
)
from bot.storage.repo import cards, reviews, sessions, users


@dataclass(frozen=True)
class Progress:
    """Where a learner stands: interview countdown or plan, coverage, recall, leeches."""

    exam: date | None
    phase: Phase | None
    seen: int
    total: int
    mean_recall: float
    leeches: list[tuple[Item, int]]


class WeakSpots(NamedTuple):
    """The categories and the studied items that will be remembered least a week from now."""

    categories: list[tuple[str, float, int]]  # (category, mean recall in a week, items studied)
    items: list[tuple[Item, float]]  # (item, recall in a week), weakest first


class ProgressService:
    """A learner's progress over one database and one catalog."""

    def __init__(
        self, sessions: sessionmaker[Session], catalog: Catalog, scheduler: Scheduler
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.scheduler = scheduler

    def stats(self, user_id: int, now: datetime, tz: tzinfo) -> Stats:
        """Everything /stats and `studybot stats` show, for one learner."""
        self.catalog.refresh()
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            learner_cards = cards.read(db, [user_id])[user_id]
            recent = sessions.recent_finished(db, user_id, 5)
            by_session = reviews.ratings_by_session(db, [s.id for s in recent])
            n_reviews = reviews.count(db, user_id)
            n_sessions = sessions.count_finished(db, user_id)
            month = reviews.since(db, user_id, local_midnight(now, tz, -29))
            times = reviews.times(db, user_id, since=now - timedelta(days=400))
        live = {k: v for k, v in learner_cards.items() if k in self.catalog}
        results = [
            SessionResult(
                s.started_at,
                len(by_session[s.id]),
                {g: by_session[s.id].count(g) for g in (1, 2, 3)},
            )
            for s in recent
        ]
        return Stats(
            total_items=len(items),
            studied=len(live),
            reviews=n_reviews,
            sessions=n_sessions,
            streak=streak(times, now, tz),
            recent=results,
            due=due_counts(live.values(), now, tz),
            categories=category_progress(items, live),
            daily=daily_ratings(month, now, tz),
            forecast=due_forecast(live.values(), now, tz),
        )

    def set_exam(self, user_id: int, exam: date | None, now: datetime, tz: tzinfo) -> None:
        """Set (or clear) the interview date.

        Raises:
            ValueError: for a date in the past.
        """
        if exam is not None and exam < now.astimezone(tz).date():
            raise ValueError("that date is in the past")
        with self.sessions.begin() as db:
            users.set_exam(db, user_id, exam)

    def progress(self, user_id: int, now: datetime, tz: tzinfo) -> Progress:
        """Interview countdown or plan position, share of items seen, and estimated recall.

        The estimated recall of the whole catalog is the mean FSRS retrievability over every
        item, counting items never seen as 0.
        """
        self.catalog.refresh()
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            learner_cards = cards.read(db, [user_id])[user_id]
            exam = users.exam_date(db, user_id)
        phase = today_phase(exam, learner_cards, now, tz)
        recall = [
            retrievability(self.scheduler, learner_cards[i.id], now)
            if i.id in learner_cards
            else 0.0
            for i in items
        ]
        leeches = [
            (i, learner_cards[i.id].lapses)
            for i in items
            if i.id in learner_cards and learner_cards[i.id].lapses >= LEECH_LAPSES
        ]
        return Progress(
            exam=exam,
            phase=phase,
            seen=sum(1 for i in items if i.id in learner_cards),
            total=len(items),
            mean_recall=sum(recall) / len(recall) if recall else 0.0,
            leeches=leeches,
        )

    def weak_spots(self, user_id: int, now: datetime) -> WeakSpots:
        """The five categories and the ten studied items with the lowest recall a week from
        now (suspended items left out); among equals, the item forgotten more often first.

        Recall a week ahead, not now: right after any review fsrs's recall now is 1.0, so an
        item just rated "No idea" would rank as the strongest.
        """
        self.catalog.refresh()
        with self.sessions.begin() as db:
            off = cards.marks(db, [user_id])[user_id].suspended
            learner_cards = cards.read(db, [user_id], suspended={user_id: off})[user_id]
        by_category: dict[str, list[float]] = {}
        found: list[tuple[float, int, Item]] = []
        for item in self.catalog.in_curriculum_order():
            card = learner_cards.get(item.id)
            if card is None or card.suspended:
                continue
            r = recall_in_a_week(self.scheduler, card, now)
            found.append((r, card.lapses, item))
            by_category.setdefault(item.category, []).append(r)
        categories = sorted(
            ((c, sum(v) / len(v), len(v)) for c, v in by_category.items()), key=lambda row: row[1]
        )
        found.sort(key=lambda row: (row[0], -row[1], row[2].id))
        return WeakSpots(categories[:5], [(item, r) for r, _lapses, item in found[:10]])
