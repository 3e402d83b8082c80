"""Scheduling on top of the ``fsrs`` library: a rating applied to a card, recall now.

Pure functions: time is passed in (timezone-aware UTC), nothing touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import IntEnum

from fsrs import Card, Rating, Scheduler, State


class Grade(IntEnum):
    """The learner's self-rating."""

    NO_IDEA = 1
    PARTIAL = 2
    GOT_IT = 3


GRADE_LABELS = {Grade.NO_IDEA: "No idea", Grade.PARTIAL: "Partial", Grade.GOT_IT: "Got it"}
# No "Easy": three buttons are enough to answer honestly, and Good already spaces items out.
_FSRS_RATING = {Grade.NO_IDEA: Rating.Again, Grade.PARTIAL: Rating.Hard, Grade.GOT_IT: Rating.Good}


@dataclass(slots=True)
class CardSnapshot:
    """One learner's memory state of one item, as stored. Treated as a value: changed only
    with ``dataclasses.replace``. (Not frozen: a session reads 130 of them, and a frozen
    dataclass is five times slower to build.)"""

    item_id: str
    state: int
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    first_seen: datetime
    reps: int = 0
    lapses: int = 0
    streak: int = 0
    suspended: bool = False


def make_scheduler(
    desired_retention: float = 0.9, max_interval_days: int = 60, fuzzing: bool = True
) -> Scheduler:
    """An FSRS scheduler without minute-level learning steps (the session retry replaces them)."""
    return Scheduler(
        desired_retention=desired_retention,
        learning_steps=(),
        relearning_steps=(),
        maximum_interval=max_interval_days,
        enable_fuzzing=fuzzing,
    )


def grade(
    scheduler: Scheduler, card: CardSnapshot | None, item_id: str, rating: Grade, now: datetime
) -> tuple[CardSnapshot, float]:
    """Apply one rating.

    Args:
        scheduler: from ``make_scheduler``.
        card: the current state, or None for an item never seen.
        item_id: the item rated.
        rating: the learner's grade.
        now: the time of the review (aware UTC).

    Returns:
        The new card state and the scheduled interval in days.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    base = fsrs_card(card) if card else Card(card_id=0, due=now)
    updated, _log = scheduler.review_card(base, _FSRS_RATING[Grade(rating)], now)
    interval = (updated.due - now).total_seconds() / 86400
    lapses = (card.lapses if card else 0) + (1 if rating == Grade.NO_IDEA and card else 0)
    streak = (card.streak if card else 0) + 1 if rating == Grade.GOT_IT else 0
    snapshot = CardSnapshot(
        item_id=item_id,
        state=int(updated.state),
        step=updated.step,
        stability=updated.stability,
        difficulty=updated.difficulty,
        due=updated.due,
        last_review=updated.last_review,
        first_seen=card.first_seen if card else now,
        reps=(card.reps if card else 0) + 1,
        lapses=lapses,
        streak=streak,
        suspended=card.suspended if card else False,
    )
    return snapshot, interval


def fsrs_card(card: CardSnapshot) -> Card:
    """The fsrs ``Card`` of a stored card state."""
    return Card(
        card_id=0,
        state=State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )


def retrievability(scheduler: Scheduler, card: CardSnapshot, now: datetime) -> float:
    """Probability of recall now, from FSRS's forgetting curve (0..1)."""
    return float(scheduler.get_card_retrievability(fsrs_card(card), now))


# "Known": recall still above this a week from now. Recall *now* is no measure of knowing: right
# after any review, whatever its rating, fsrs's recall is 1.0.
KNOWN_RECALL = 0.9
KNOWN_HORIZON = timedelta(days=7)


def recall_in_a_week(scheduler: Scheduler, card: CardSnapshot, now: datetime) -> float:
    """fsrs's estimated recall a week from ``now`` (from the card's stability): how well the
    item will be remembered, the measure behind /weak and the group leaderboard."""
    return retrievability(scheduler, card, now + KNOWN_HORIZON)


def is_known(scheduler: Scheduler, card: CardSnapshot | None, now: datetime) -> bool:
    """Whether an item counts as known: recall above 0.9 a week from now."""
    return card is not None and recall_in_a_week(scheduler, card, now) > KNOWN_RECALL


def preview_intervals(
    scheduler: Scheduler, card: CardSnapshot | None, item_id: str, now: datetime
) -> dict[Grade, float]:
    """The interval in days that each rating would give this card now. Pass a scheduler
    without fuzz (``make_scheduler(..., fuzzing=False)``): a fuzzed one draws at random, and
    the real interval then moves by a day or so on longer intervals."""
    return {g: grade(scheduler, card, item_id, g, now)[1] for g in Grade}


def limit_due(
    after: CardSnapshot,
    interval: float,
    now: datetime,
    tz: tzinfo,
    *,
    exam_date: date | None = None,
    drill_of: CardSnapshot | None = None,
) -> tuple[CardSnapshot, float]:
    """Two limits on the next due date of a card just rated.

    With an interview date, no interval reaches past the interview day. A drill review
    (``drill_of``: the card before it) of an item already reviewed today is recorded but never
    pushes its due date later.
    """
    due = after.due
    if exam_date is not None:
        exam_start = datetime.combine(exam_date, datetime.min.time(), tzinfo=tz)
        if now < exam_start < due:
            due = exam_start
    before = drill_of
    if (
        before is not None
        and before.last_review is not None
        and before.last_review.astimezone(tz).date() == now.astimezone(tz).date()
    ):
        due = min(due, before.due)
    if due == after.due:
        return after, interval
    return replace(after, due=due), (due - now).total_seconds() / 86400
