"""Use-cases shared by the Telegram bot and the terminal mode. Each method owns its transaction.

Every rating is committed before the next item is returned, so a crash loses nothing already
rated. A rating carries the session and the position it answers; (session, position) is unique
in the database, so a repeated press or a replayed update records one review.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from fsrs import Scheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import repo
from bot.config import Settings
from bot.content import Catalog, Item
from bot.models import StudySession
from bot.srs import Grade, Selection, grade, make_scheduler, retrievability, select_items
from bot.stats import (
    SessionResult,
    Stats,
    category_progress,
    daily_ratings,
    due_counts,
    due_forecast,
    local_midnight,
    streak,
)

logger = logging.getLogger(__name__)
MAX_SESSION_ITEMS = 100


@dataclass(frozen=True)
class Scheduling:
    """The scheduling knobs of Settings that the services need."""

    desired_retention: float = 0.9
    max_interval_days: int = 60
    fuzzing: bool = True
    new_per_day: int = 15
    type_weights: Mapping[str, float] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Scheduling:
        return cls(
            desired_retention=settings.desired_retention,
            max_interval_days=settings.max_interval_days,
            fuzzing=settings.fuzzing,
            new_per_day=settings.new_per_day,
            type_weights=settings.type_weights,
        )


@dataclass(frozen=True)
class Started:
    session_id: int
    size: int
    notice: str
    selection: Selection


@dataclass(frozen=True)
class Current:
    """The item a session is at."""

    session_id: int
    position: int  # index into the queue; what a rating must name
    number: int  # 1-based, for "3/10"
    total: int
    item: Item
    retry: bool
    lead: str = ""  # shown above the first item of a daily push ("12 items due today")


@dataclass(frozen=True)
class Answered:
    recorded: bool
    reason: str = ""  # why nothing was recorded: "finished", "stale", "duplicate", "foreign"
    interval_days: float = 0.0
    retry_added: bool = False


@dataclass(frozen=True)
class Summary:
    ratings: dict[int, int]
    seconds: float
    due_tomorrow: int
    streak_days: int
    reviewed: int
    planned: int


def _due_line(sel: Selection) -> str:
    """The line that opens a daily push."""
    due = f"{sel.due} item{'s' if sel.due != 1 else ''} due today"
    return f"{due} and {sel.new} new." if sel.new else f"{due}."


class StudyService:
    """The study engine's use-cases over one database and one catalog."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        scheduling: Scheduling | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.scheduling = scheduling or Scheduling()
        self.scheduler: Scheduler = make_scheduler(
            self.scheduling.desired_retention,
            self.scheduling.max_interval_days,
            self.scheduling.fuzzing,
        )
        self.weights = dict(
            self.scheduling.type_weights
            or {"concept": 0.7, "quiz": 0.2, "deep": 0.05, "derive": 0.05}
        )

    # Users ---------------------------------------------------------------------------------

    def local_user(self, name: str, now: datetime) -> int:
        """The id of the terminal user ``name``, created on first use."""
        with self.sessions.begin() as db:
            user = repo.user_by_local_name(db, name) or repo.add_user(db, now, local_name=name)
            return user.id

    def telegram_user(self, telegram_id: int, first_name: str, now: datetime) -> int:
        """The id of a Telegram user, created on first contact (first name kept current)."""
        with self.sessions.begin() as db:
            user = repo.user_by_telegram_id(db, telegram_id)
            if user is None:
                try:
                    with db.begin_nested():
                        user = repo.add_user(
                            db, now, telegram_id=telegram_id, first_name=first_name
                        )
                except IntegrityError:  # created concurrently by another update
                    user = repo.user_by_telegram_id(db, telegram_id)
                    assert user is not None
            elif first_name and user.first_name != first_name:
                user.first_name = first_name
            return user.id

    # Sessions ------------------------------------------------------------------------------

    def start_session(
        self,
        user_id: int,
        n: int,
        now: datetime,
        tz: tzinfo,
        *,
        item_type: str | None = None,
        chat_id: int | None = None,
        kind: str = "study",
        explicit: bool = True,
    ) -> Started:
        """Choose up to ``n`` items and open a session (closing the user's open one here).

        A session with no items is not stored; its ``session_id`` is 0.
        """
        self.catalog.refresh()
        n = max(1, min(n, MAX_SESSION_ITEMS))
        with self.sessions.begin() as db:
            for old in repo.active_sessions(db, user_id, chat_id):
                old.status, old.finished_at = "cancelled", now
            cards = repo.cards_for(db, user_id)
            seen_today = repo.count_new_since(db, user_id, local_midnight(now, tz))
            allowance = self.scheduling.new_per_day - seen_today
            selection = select_items(
                self.catalog.in_curriculum_order(),
                cards,
                now,
                n,
                recall=lambda c: retrievability(self.scheduler, c, now),
                weights=self.weights,
                new_allowance=allowance,
                item_type=item_type,
                explicit=explicit,
            )
            notice = self._notice(selection, n) if explicit else _due_line(selection)
            if not selection.item_ids:
                return Started(0, 0, notice, selection)
            row = repo.add_session(
                db,
                user_id=user_id,
                chat_id=chat_id,
                kind=kind,
                item_type=item_type,
                item_ids=selection.item_ids,
                notice=notice,
                now=now,
            )
            return Started(row.id, len(selection.item_ids), notice, selection)

    def _notice(self, sel: Selection, asked: int) -> str:
        parts = []
        if sel.past_cap:
            parts.append(
                f"{sel.past_cap} new item(s) beyond today's limit of "
                f"{self.scheduling.new_per_day}, since nothing else was left"
            )
        if sel.ahead:
            parts.append(f"{sel.ahead} item(s) reviewed ahead of schedule")
        if len(sel.item_ids) < asked:
            parts.append(f"only {len(sel.item_ids)} of the {asked} items asked for are available")
        return "; ".join(parts)

    def current(self, session_id: int) -> Current | None:
        """The item the session is at, or None when it is finished (or unknown)."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id)
            if row is None or row.status != "active":
                return None
            queue = row.queue.split(",")
            # Items removed from the content since the session started are passed over.
            while row.position < len(queue) and queue[row.position] not in self.catalog:
                row.position += 1
            if row.position >= len(queue):
                return None
            item = self.catalog.get(queue[row.position])
            assert item is not None
            return Current(
                session_id,
                row.position,
                row.position + 1,
                len(queue),
                item,
                retry=row.position >= row.retry_from,
                lead=row.notice if row.kind == "push" and row.position == 0 else "",
            )

    @staticmethod
    def _check(row: StudySession | None, position: int, user_id: int | None) -> str:
        """Why a press on (session, position) by ``user_id`` must be refused, or ""."""
        if row is None:
            return "unknown"
        if user_id is not None and row.user_id != user_id:
            return "foreign"
        if row.status != "active":
            return "finished"
        if position != row.position:
            return "duplicate" if position < row.position else "stale"
        return ""

    def reveal(self, session_id: int, position: int, user_id: int | None = None) -> str:
        """Claim the reveal of the current item's answer; "" when this call claimed it.

        Returns the refusal reason otherwise ("revealed" when it was already shown).
        """
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id, lock=True)
            reason = self._check(row, position, user_id)
            if reason:
                return reason
            assert row is not None
            if row.revealed == position:
                return "revealed"
            row.revealed = position
            return ""

    def answer(
        self,
        session_id: int,
        position: int,
        rating: int,
        now: datetime,
        seconds: float | None = None,
        user_id: int | None = None,
    ) -> Answered:
        """Record a rating for the item at ``position``; then the session moves on.

        Nothing is recorded when the session is over or belongs to someone else, the position
        is not the current one, its answer was not revealed, or the same answer was already
        recorded. ``seconds`` defaults
        to the time since the item was shown.
        """
        rating = Grade(rating)
        try:
            with self.sessions.begin() as db:
                row = repo.get_session(db, session_id, lock=True)
                reason = self._check(row, position, user_id)
                if reason:
                    return Answered(False, reason)
                assert row is not None
                if row.revealed != position:  # ratings come after the answer was shown
                    return Answered(False, "hidden")
                if seconds is None and row.shown_at is not None:
                    seconds = round(min((now - row.shown_at).total_seconds(), 3600.0), 1)
                queue = row.queue.split(",")
                item_id = queue[position]
                card = repo.card_for(db, row.user_id, item_id)
                updated, interval = grade(self.scheduler, card, item_id, rating, now)
                repo.add_review(
                    db,
                    user_id=row.user_id,
                    item_id=item_id,
                    chat_id=row.chat_id,
                    session_id=row.id,
                    position=position,
                    rating=int(rating),
                    now=now,
                    seconds=seconds,
                    interval_days=interval,
                )
                repo.save_card(db, row.user_id, updated)
                retry = rating == Grade.NO_IDEA and position < row.retry_from
                if retry:  # one more look at the end of this session
                    row.queue = ",".join([*queue, item_id])
                self._advance(row, now)
                return Answered(True, interval_days=interval, retry_added=retry)
        except IntegrityError:
            return Answered(False, "duplicate")

    @staticmethod
    def _advance(row: StudySession, now: datetime) -> None:
        row.position += 1
        row.shown_at = now
        if row.position >= len(row.queue.split(",")):
            row.status, row.finished_at = "finished", now

    def skip(
        self, session_id: int, position: int, now: datetime, user_id: int | None = None
    ) -> str:
        """Move past the current item without a rating; "" when skipped, else the reason."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id, lock=True)
            reason = self._check(row, position, user_id)
            if reason:
                return reason
            assert row is not None
            self._advance(row, now)
            return ""

    def active_session(self, user_id: int, chat_id: int | None) -> int:
        """The id of the user's open session in this chat, or 0."""
        with self.sessions.begin() as db:
            rows = repo.active_sessions(db, user_id, chat_id)
            return max((r.id for r in rows), default=0)

    def close(self, session_id: int, now: datetime, status: str = "finished") -> bool:
        """End a session early (``finished`` keeps it in the history, ``cancelled`` does too)."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id, lock=True)
            if row is None or row.status != "active":
                return False
            row.status, row.finished_at = status, now
            return True

    def summary(self, session_id: int, now: datetime, tz: tzinfo) -> Summary:
        """Counts per rating, time spent, items due tomorrow and the day streak."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id)
            if row is None:
                raise KeyError(session_id)
            reviews = repo.session_reviews(db, session_id)
            counts = Counter(r.rating for r in reviews)
            end = row.finished_at or now
            cards = repo.cards_for(db, row.user_id).values()
            times = repo.review_times(db, row.user_id, since=now - timedelta(days=400))
        return Summary(
            ratings={g: counts.get(g, 0) for g in (1, 2, 3)},
            seconds=max((end - row.started_at).total_seconds(), 0.0),
            due_tomorrow=due_counts(cards, now, tz).tomorrow,
            streak_days=streak(times, now, tz).current,
            reviewed=len(reviews),
            planned=row.retry_from,
        )

    # Stats and reset -------------------------------------------------------------------------

    def stats(self, user_id: int, now: datetime, tz: tzinfo) -> Stats:
        """Everything /stats and `studybot stats` show, for one learner."""
        self.catalog.refresh()
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            cards = repo.cards_for(db, user_id)
            recent = repo.recent_sessions(db, user_id, 5)
            by_session = repo.ratings_by_session(db, [s.id for s in recent])
            n_reviews = repo.count_reviews(db, user_id)
            n_sessions = repo.count_finished_sessions(db, user_id)
            month = repo.reviews_since(db, user_id, local_midnight(now, tz, -29))
            times = repo.review_times(db, user_id, since=now - timedelta(days=400))
        live = {k: v for k, v in cards.items() if k in self.catalog}
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

    def reset(self, user_id: int) -> int:
        """Delete a learner's progress (cards, reviews, sessions); return reviews deleted."""
        with self.sessions.begin() as db:
            return repo.delete_progress(db, user_id)
