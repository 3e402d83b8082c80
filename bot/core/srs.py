"""Scheduling on top of the ``fsrs`` library, and the choice of items for a session.

Pure functions: time is passed in (timezone-aware UTC), nothing touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import NamedTuple, cast

from fsrs import Card, Rating, Scheduler, State

from bot.core.content import Item


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


def _to_fsrs(card: CardSnapshot) -> Card:
    return Card(
        card_id=0,
        state=State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
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
    base = _to_fsrs(card) if card else Card(card_id=0, due=now)
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


class _Memory(NamedTuple):
    """The two fields FSRS's forgetting curve reads of a card."""

    last_review: datetime | None
    stability: float | None


def retrievability(scheduler: Scheduler, card: CardSnapshot, now: datetime) -> float:
    """Probability of recall now, from FSRS's forgetting curve (0..1)."""
    # fsrs reads only these two fields: building a whole fsrs Card costs more than the curve.
    memory = cast(Card, _Memory(card.last_review, card.stability))
    return float(scheduler.get_card_retrievability(memory, now))


def _memo(recall: Callable[[CardSnapshot], float]) -> Callable[[CardSnapshot], float]:
    """``recall`` computed once per card (sorting asks for each card several times)."""
    known: dict[str, float] = {}

    def cached(card: CardSnapshot) -> float:
        value = known.get(card.item_id)
        if value is None:
            value = known[card.item_id] = recall(card)
        return value

    return cached


@dataclass(frozen=True)
class Selection:
    """The items chosen for a session, in the order to show them."""

    item_ids: tuple[str, ...]
    due: int = 0
    new: int = 0
    past_cap: int = 0  # new items beyond today's allowance (explicit requests only)
    ahead: int = 0  # items reviewed before they were due (explicit requests only)


def type_quotas(n: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``n`` slots by weight with the largest-remainder method (deterministic)."""
    total = sum(w for w in weights.values() if w > 0)
    if n <= 0 or total <= 0:
        return {t: 0 for t in weights}
    exact = {t: n * max(w, 0.0) / total for t, w in weights.items()}
    quotas = {t: int(v) for t, v in exact.items()}
    order = sorted(weights, key=lambda t: (-(exact[t] - quotas[t]), -weights[t]))
    for t in order[: n - sum(quotas.values())]:
        quotas[t] += 1
    return quotas


def select_items(
    items: Sequence[Item],
    cards: Mapping[str, CardSnapshot],
    now: datetime,
    n: int,
    *,
    recall: Callable[[CardSnapshot], float],
    weights: Mapping[str, float],
    new_allowance: int,
    item_type: str | None = None,
    explicit: bool = True,
    hidden: Collection[str] = (),
    new_only_from: Collection[str] = (),
    prefer_seen: bool = False,
) -> Selection:
    """Choose up to ``n`` items for a session.

    Due items come first, the ones most at risk of being forgotten (lowest recall) first; then
    new items in curriculum order, at most ``new_allowance`` of them. Without ``item_type`` the
    mix follows ``weights``, and a type that runs dry is filled from the others. An explicit
    request may go past the new-item allowance, then review items ahead of time, when nothing
    else is left; a scheduled push (``explicit=False``) never does.

    Args:
        items: the catalog in curriculum order.
        cards: the learner's card states by item id.
        now: current time (aware UTC).
        n: how many items at most.
        recall: retrievability of a card now.
        weights: type -> weight, for the mix.
        new_allowance: how many new items may still be introduced today.
        item_type: restrict to one type.
        explicit: the learner asked for this session.
        hidden: items not to offer (suspended, or skipped until tomorrow).
        new_only_from: when given, new items come only from these categories while any of
            them are left (the study plan's current phase).
        prefer_seen: after the due items, items already studied (lowest recall first) come
            before new ones (drills).
    """
    recall = _memo(recall)
    pool = [i for i in items if item_type is None or i.type == item_type]
    pool = [i for i in pool if i.id not in hidden and not (i.id in cards and cards[i.id].suspended)]
    due = sorted(
        (i for i in pool if i.id in cards and cards[i.id].due <= now),
        key=lambda i: (recall(cards[i.id]), i.id),
    )
    new = [i for i in pool if i.id not in cards]  # already in curriculum order
    if new_only_from and any(i.category in new_only_from for i in new):
        new = [i for i in new if i.category in new_only_from]
    chosen: list[Item] = []
    taken: set[str] = set()
    allowance = max(new_allowance, 0)

    def take(item: Item) -> None:
        chosen.append(item)
        taken.add(item.id)

    if item_type is None:
        quotas = type_quotas(
            n, {t: w for t, w in weights.items() if any(i.type == t for i in pool)}
        )
        for t, quota in quotas.items():
            for item in [i for i in due if i.type == t][:quota]:
                take(item)
            room = quota - sum(1 for i in chosen if i.type == t)
            fresh = [i for i in new if i.type == t][: max(min(room, allowance), 0)]
            for item in fresh:
                take(item)
            allowance -= len(fresh)
    # Fill what the quotas left open (or everything, for one type): due, then new.
    for item in due:
        if len(chosen) >= n:
            break
        if item.id not in taken:
            take(item)
    for item in new:
        if len(chosen) >= n or allowance <= 0:
            break
        if item.id not in taken:
            take(item)
            allowance -= 1
    n_due = sum(1 for i in chosen if i.id in cards)
    n_new = len(chosen) - n_due
    past_cap = ahead = 0
    if explicit:
        later = sorted(
            (i for i in pool if i.id in cards and i.id not in taken),
            key=lambda i: (recall(cards[i.id]), i.id),
        )
        if prefer_seen:  # a drill: strengthen what was studied before meeting new items
            for item in later[: max(n - len(chosen), 0)]:
                take(item)
                ahead += 1
        for item in new:
            if len(chosen) >= n:
                break
            if item.id not in taken:
                take(item)
                past_cap += 1
        for item in later[: max(n - len(chosen), 0)]:
            if item.id not in taken:
                take(item)
                ahead += 1
    # Show due items first (most at risk first), then new ones in curriculum order.
    due_part = sorted(
        (i for i in chosen if i.id in cards and cards[i.id].due <= now),
        key=lambda i: (recall(cards[i.id]), i.id),
    )
    rest = [i for i in chosen if i not in due_part]
    ordered = due_part + [i for i in rest if i.id not in cards] + [i for i in rest if i.id in cards]
    return Selection(
        item_ids=tuple(i.id for i in ordered),
        due=n_due,
        new=n_new + past_cap,
        past_cap=past_cap,
        ahead=ahead,
    )
