"""The choice of items for a session: what is due, what is new, in what mix (pure).

Time is passed in (timezone-aware UTC); nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from bot.core.content import Item
from bot.core.plan import Phase, countdown, exam_phase, new_allowance, plan_phase
from bot.core.srs import CardSnapshot
from bot.core.stats import local_midnight
from bot.core.text import are, due_today, plural

MAX_SESSION_ITEMS = 100


@dataclass(frozen=True)
class Learner:
    """What choosing a session reads of one learner."""

    user_id: int
    exam_date: date | None
    nudged_at: datetime | None
    cards: dict[str, CardSnapshot]
    hidden: set[str]  # suspended, or skipped until later


@dataclass(frozen=True)
class Mix:
    """How items are mixed: the type weights and today's allowance of new items."""

    weights: Mapping[str, float]
    new_per_day: int


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
    first = {i.id for i in due_part}
    rest = [i for i in chosen if i.id not in first]
    ordered = due_part + [i for i in rest if i.id not in cards] + [i for i in rest if i.id in cards]
    return Selection(
        item_ids=tuple(i.id for i in ordered),
        due=n_due,
        new=n_new + past_cap,
        past_cap=past_cap,
        ahead=ahead,
    )


def today_phase(
    exam_date: date | None, cards: Mapping[str, CardSnapshot], now: datetime, tz: tzinfo
) -> Phase | None:
    """Today's phase: from the interview date when one is set, else the six-week plan."""
    today = now.astimezone(tz).date()
    if exam_date is not None:
        phase = exam_phase(exam_date, today)
        if phase is not None:
            return phase
    if not cards:
        return plan_phase(0)
    start = min(c.first_seen for c in cards.values()).astimezone(tz).date()
    return plan_phase((today - start).days)


def choose(
    items: Sequence[Item],
    learner: Learner,
    n: int,
    now: datetime,
    tz: tzinfo,
    *,
    mix: Mix,
    recall: Callable[[CardSnapshot], float],
    item_type: str | None = None,
    explicit: bool = True,
    category: str | None = None,
) -> tuple[Selection, str]:
    """The items of a session and its notice.

    Args:
        items: the catalog in curriculum order.
        learner: the learner's cards, marks and plan.
        n: how many items were asked for (clamped to 1..MAX_SESSION_ITEMS).
        now: the current time (aware UTC); ``tz`` the learner's zone, for "today".
        mix: the type weights and the new-item allowance.
        recall: retrievability of a card now.
        item_type: one type only.
        explicit: the learner asked now (a daily push is not explicit).
        category: a drill of one category, due or not.
    """
    n = max(1, min(n, MAX_SESSION_ITEMS))
    cards, hidden = learner.cards, learner.hidden
    midnight = local_midnight(now, tz)
    seen_today = sum(1 for c in cards.values() if c.first_seen >= midnight)
    phase = None if category else today_phase(learner.exam_date, cards, now, tz)
    if category:
        items = [i for i in items if i.category == category]
    if phase is not None and not phase.new_items:
        hidden = hidden | {i.id for i in items if i.id not in cards}
    unseen = sum(1 for i in items if i.type == "concept" and i.id not in cards)
    if phase is not None and phase.max_items:
        n = min(n, phase.max_items)
    selection = select_items(
        items,
        cards,
        now,
        n,
        recall=recall,
        weights=(phase.weights if phase and phase.weights else mix.weights),
        # A drill takes studied items before new ones, and new ones regardless of the
        # day's allowance (it was asked for explicitly, for one category).
        new_allowance=0 if category else new_allowance(phase, mix.new_per_day, seen_today, unseen),
        item_type=item_type or (phase.item_type if phase else None),
        explicit=explicit,
        hidden=hidden,
        new_only_from=phase.new_categories if phase else (),
        prefer_seen=category is not None,
    )
    said = notice(selection, n) if explicit else due_line(selection)
    if category:
        said = "" if selection.item_ids else f"no items in {category}"
    if not explicit and phase is not None and phase.days_left is not None:
        said = f"{countdown(phase)}\n{said}"
    return selection, said


def notice(sel: Selection, asked: int) -> str:
    """What an explicit session says about its choice ("" when it is what was asked)."""
    # Nothing about new items past the day's allowance: the learner asked for this many and
    # never set that limit.
    parts = []
    if sel.ahead:
        parts.append(f"{plural(sel.ahead, 'item')} reviewed ahead of schedule")
    got = len(sel.item_ids)
    if 0 < got < asked:  # none at all: the front end says there is nothing to study
        parts.append(f"only {got} of the {asked} items asked for {are(got)} available")
    return "; ".join(parts)


def due_line(sel: Selection) -> str:
    """The line that opens a daily push."""
    return due_today(sel.due, sel.new)
