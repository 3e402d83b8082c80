"""Scheduling on fsrs (exact intervals at pinned times) and the selection rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.content import Catalog
from bot.core.selection import select_items, type_quotas
from bot.core.srs import CardSnapshot, Grade, grade, make_scheduler

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ratings", "intervals"),
    [
        ([3, 3, 3, 3], [2, 11, 46, 60]),  # Good grows the interval, capped at 60 days
        ([1, 3, 3], [1, 2, 6]),  # Again: back tomorrow, then it grows again
        ([2, 2, 2], [1, 3, 7]),
        ([3, 1, 3], [2, 1, 2]),  # a lapse resets to a day
    ],
)
def test_exact_intervals_for_fixed_rating_sequences(
    ratings: list[int], intervals: list[int]
) -> None:
    scheduler = make_scheduler(desired_retention=0.9, max_interval_days=60, fuzzing=False)
    card: CardSnapshot | None = None
    now = T0
    got = []
    for r in ratings:
        card, interval = grade(scheduler, card, "c001", Grade(r), now)
        got.append(round(interval))
        assert card.due == now + timedelta(days=round(interval))
        assert card.due.tzinfo is not None
        now = card.due
    assert got == intervals
    assert card is not None and card.reps == len(ratings)


def test_max_interval_and_retention_are_configurable() -> None:
    short = make_scheduler(max_interval_days=5, fuzzing=False)
    card, _ = grade(short, None, "c001", Grade.GOT_IT, T0)
    card, interval = grade(short, card, "c001", Grade.GOT_IT, card.due)
    assert interval == 5
    strict = make_scheduler(desired_retention=0.97, fuzzing=False)
    card2, _ = grade(strict, None, "c001", Grade.GOT_IT, T0)
    card2, interval2 = grade(strict, card2, "c001", Grade.GOT_IT, card2.due)
    assert interval2 < 11  # higher retention, shorter interval than at 0.9


def test_streak_and_lapses_per_item() -> None:
    s = make_scheduler(fuzzing=False)
    card, _ = grade(s, None, "c001", Grade.GOT_IT, T0)
    card, _ = grade(s, card, "c001", Grade.GOT_IT, card.due)
    assert (card.streak, card.lapses) == (2, 0)
    card, _ = grade(s, card, "c001", Grade.NO_IDEA, card.due)
    assert (card.streak, card.lapses) == (0, 1)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        grade(make_scheduler(), None, "c001", Grade.GOT_IT, datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("n", "quotas"),
    [
        (10, {"concept": 7, "quiz": 2, "deep": 1, "derive": 0}),
        (20, {"concept": 14, "quiz": 4, "deep": 1, "derive": 1}),
        (1, {"concept": 1, "quiz": 0, "deep": 0, "derive": 0}),
    ],
)
def test_type_quotas_follow_weights(n: int, quotas: dict[str, int]) -> None:
    weights = {"concept": 0.7, "quiz": 0.2, "deep": 0.05, "derive": 0.05}
    assert type_quotas(n, weights) == quotas


def _card(item_id: str, due: datetime, stability: float) -> CardSnapshot:
    return CardSnapshot(
        item_id=item_id,
        state=2,
        step=None,
        stability=stability,
        difficulty=5.0,
        due=due,
        last_review=due - timedelta(days=3),
        first_seen=due - timedelta(days=10),
    )


WEIGHTS = {"concept": 0.7, "quiz": 0.2, "deep": 0.05, "derive": 0.05}


def test_due_first_lowest_recall_first_then_new_in_curriculum_order(catalog: Catalog) -> None:
    s = make_scheduler(fuzzing=False)
    now = T0
    cards = {
        "c005": _card("c005", now - timedelta(days=1), stability=30.0),  # still well known
        "c006": _card("c006", now - timedelta(days=1), stability=1.0),  # most at risk
        "c007": _card("c007", now + timedelta(days=3), stability=5.0),  # not due
    }
    from bot.core.srs import retrievability

    sel = select_items(
        catalog.in_curriculum_order(),
        cards,
        now,
        5,
        recall=lambda c: retrievability(s, c, now),
        weights=WEIGHTS,
        new_allowance=15,
        item_type="concept",
    )
    assert sel.item_ids == ("c006", "c005", "c001", "c002", "c003")
    assert (sel.due, sel.new) == (2, 3)


def test_new_item_cap_and_explicit_request_past_it(catalog: Catalog) -> None:
    items = catalog.in_curriculum_order()
    sel = select_items(
        items,
        {},
        T0,
        6,
        recall=lambda c: 0.5,
        weights=WEIGHTS,
        new_allowance=2,
        item_type="concept",
        explicit=False,
    )
    assert len(sel.item_ids) == 2 and sel.past_cap == 0  # a push never passes the cap
    sel = select_items(
        items,
        {},
        T0,
        6,
        recall=lambda c: 0.5,
        weights=WEIGHTS,
        new_allowance=2,
        item_type="concept",
        explicit=True,
    )
    assert len(sel.item_ids) == 6 and sel.past_cap == 4


def test_mix_follows_weights_and_fills_from_other_types(catalog: Catalog) -> None:
    items = catalog.in_curriculum_order()
    by_id = {i.id: i for i in items}
    sel = select_items(items, {}, T0, 10, recall=lambda c: 0.5, weights=WEIGHTS, new_allowance=15)
    types = [by_id[i].type for i in sel.item_ids]
    assert types.count("concept") == 7 and types.count("quiz") == 2
    assert types.count("deep") + types.count("derive") == 1
    # Only 4 quiz items exist: asking for 20 fills the rest from the other types.
    sel = select_items(items, {}, T0, 20, recall=lambda c: 0.5, weights=WEIGHTS, new_allowance=50)
    assert len(sel.item_ids) == 20 and len(set(sel.item_ids)) == 20


def test_no_item_twice_and_suspended_items_left_out(catalog: Catalog) -> None:
    items = catalog.in_curriculum_order()
    cards = {i.id: _card(i.id, T0 - timedelta(hours=1), 2.0) for i in items}
    cards["c001"] = replace(cards["c001"], suspended=True)
    sel = select_items(
        items, cards, T0, 100, recall=lambda c: 0.5, weights=WEIGHTS, new_allowance=15
    )
    assert len(sel.item_ids) == len(set(sel.item_ids)) == len(items) - 1
    assert "c001" not in sel.item_ids
