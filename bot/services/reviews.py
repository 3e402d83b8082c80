"""Recording a rating: the review row and the card's new state through fsrs.

The one way a rating becomes a review, used by a private session, a group post and a changed
rating alike. Runs inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from fsrs import Scheduler
from sqlalchemy.orm import Session

from bot.core.srs import CardSnapshot, Grade, grade, limit_due
from bot.storage.repo import cards, reviews


@dataclass(frozen=True)
class Recorded:
    review_id: int
    interval_days: float
    card: CardSnapshot  # the card's state after the rating


def record_review(
    db: Session,
    scheduler: Scheduler,
    *,
    user_id: int,
    item_id: str,
    card: CardSnapshot | None,
    rating: Grade,
    now: datetime,
    tz: tzinfo,
    chat_id: int | None = None,
    session_id: int | None = None,
    position: int | None = None,
    seconds: float | None = None,
    exam_date: date | None = None,
    drill: bool = False,
) -> Recorded:
    """Apply a rating to the learner's card (``card``: its state now, None if never seen),
    store the new state and the review.

    With an interview date no interval reaches past the interview day; a drill never pushes
    a card reviewed earlier today further out (``bot.core.srs.limit_due``).

    Raises:
        IntegrityError: when (session, position) already has a review.
    """
    updated, interval = grade(scheduler, card, item_id, rating, now)
    updated, interval = limit_due(
        updated, interval, now, tz, exam_date=exam_date, drill_of=card if drill else None
    )
    review_id = reviews.add(
        db,
        user_id=user_id,
        item_id=item_id,
        chat_id=chat_id,
        session_id=session_id,
        position=position,
        rating=int(rating),
        now=now,
        seconds=seconds,
        interval_days=interval,
    )
    cards.write(db, user_id, updated, new=card is None)
    return Recorded(review_id, interval, updated)


def rebuild_card(db: Session, scheduler: Scheduler, user_id: int, item_id: str) -> None:
    """Recompute a card from its whole review history (after a rating changed)."""
    card = None
    for review in reviews.history(db, user_id, item_id):
        card, interval = grade(scheduler, card, item_id, Grade(review.rating), review.reviewed_at)
        review.interval_days = interval
    if card is not None:
        db.flush()
        cards.write(db, user_id, card, new=False)
