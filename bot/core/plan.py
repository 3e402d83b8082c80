"""The preparation strategy: interview-date phases and the six-week plan (pure functions).

With an interview date the daily mix follows the strategy learners are given: more than 14
days out, the normal mix with extra new items so every concept has been seen 14 days before;
8-14 days out, concepts and quiz; 3-7 days out, deep explanations and derivations; 1-2 days out,
rapid quiz review; on the day, a light review of the concepts known least well, nothing new.
Without a date, new items follow the six-week plan's categories.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.core.content import Item

CONCEPT_DEADLINE_DAYS = 14  # every concept seen at least once this many days before


@dataclass(frozen=True)
class Phase:
    """What today is for."""

    key: str
    label: str  # "today: deep explanations"
    weights: dict[str, float] | None = None  # None: the configured mix
    item_type: str | None = None  # forced type, e.g. quiz only
    new_items: bool = True
    new_categories: tuple[str, ...] = ()  # new items only from these, while any are left
    max_items: int | None = None
    days_left: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def exam_phase(exam: date, today: date) -> Phase | None:
    """The phase on ``today`` for an interview on ``exam``; None once the date has passed."""
    days = (exam - today).days
    if days < 0:
        return None
    if days == 0:
        return Phase(
            "day",
            "today: a light review of key concepts, nothing new",
            item_type="concept",
            new_items=False,
            max_items=10,
            days_left=0,
        )
    if days <= 2:
        return Phase("rapid", "today: rapid quiz review", item_type="quiz", days_left=days)
    if days <= 7:
        return Phase(
            "deep",
            "today: deep explanations and derivations",
            weights={"concept": 0.25, "quiz": 0.15, "deep": 0.35, "derive": 0.25},
            days_left=days,
        )
    if days <= CONCEPT_DEADLINE_DAYS:
        return Phase(
            "review",
            "today: concepts and quiz, 30-60 minutes",
            weights={"concept": 0.6, "quiz": 0.4, "deep": 0.0, "derive": 0.0},
            days_left=days,
        )
    return Phase("cover", "today: the normal mix, covering every concept", days_left=days)


def countdown(phase: Phase) -> str:
    """'6 days to go · today: deep explanations'."""
    days = phase.days_left or 0
    when = (
        "Interview today" if days == 0 else ("1 day to go" if days == 1 else f"{days} days to go")
    )
    return f"{when} · {phase.label}"


def new_allowance(
    phase: Phase | None, daily_cap: int, seen_today: int, unseen_concepts: int
) -> int:
    """How many new items may still come today under the phase."""
    base = daily_cap - seen_today
    if phase is None:
        return base
    if not phase.new_items:
        return 0
    if phase.key == "cover" and phase.days_left is not None:
        # Spread the unseen concepts over the days left before the two-week mark.
        days = max(phase.days_left - CONCEPT_DEADLINE_DAYS, 1)
        return max(base, math.ceil(unseen_concepts / days) - seen_today)
    return base


SIX_WEEKS = (
    (
        14,
        "weeks 1-2: foundations and transformers, 70% concepts / 30% quiz",
        ("foundations", "transformers"),
    ),
    (
        28,
        "weeks 3-4: LLM architecture and training, 60/30/10 with deep items",
        ("llm_architecture", "training"),
    ),
    (
        42,
        "weeks 5-6: RLHF, distributed, evaluation and advanced, 50/30/15/5",
        ("rlhf", "distributed", "evaluation", "advanced"),
    ),
)


def plan_phase(days_since_start: int | None) -> Phase:
    """Where a learner without an interview date is in the six-week plan."""
    day = days_since_start or 0
    for end, label, categories in SIX_WEEKS:
        if day < end:
            week = day // 7 + 1
            return Phase(
                "plan",
                f"week {week} of 6 — {label}",
                new_categories=categories,
                extra={"week": str(week)},
            )
    return Phase(
        "maintain",
        "after the plan: 10-20 reviews a day, overdue items first, quiz items for fast recall",
    )


def parse_date(text: str) -> date:
    """YYYY-MM-DD; ValueError otherwise."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(f"{text!r} is not a date like 2026-12-15")
    return date.fromisoformat(text.strip())


LEECH_LAPSES = 4  # rated "no idea" this often after it was first learned: a leech


def leech_hint(item: Item, lapses: int, catalog_items: Sequence[Item]) -> str:
    """For an item the learner keeps forgetting (a leech): what to work through; else ""."""
    if lapses < LEECH_LAPSES:
        return ""
    deep = [i for i in catalog_items if i.type == "deep" and i != item]
    related = next((i for i in deep if set(i.tags) & set(item.tags)), None) or next(
        (i for i in deep if i.category == item.category), None
    )
    hint = f"This one keeps slipping ({lapses} times “no idea”)."
    if related is not None:
        return f"{hint} Work through {related.id} “{related.title}” (/item {related.id})."
    return f"{hint} Work through its follow-up questions after the answer."
