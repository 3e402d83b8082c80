"""Learners' card states (one reader, one writer) and their marks on items."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.core.srs import CardSnapshot
from bot.storage.models import CardState, ItemMark

# A card's state columns besides its keys, in CardSnapshot's field order.
CARD_FIELDS = (
    "state",
    "step",
    "stability",
    "difficulty",
    "due",
    "last_review",
    "first_seen",
    "reps",
    "lapses",
    "streak",
)
# Built once, on the table (see repo/sessions.py): every press reads and writes a card.
_CARDS = cast(Table, CardState.__table__)
_READ = select(_CARDS.c.user_id, _CARDS.c.item_id, *(_CARDS.c[name] for name in CARD_FIELDS))
_READ_LEARNERS = _READ.where(_CARDS.c.user_id.in_(bindparam("uids", expanding=True)))
_READ_ITEMS = _READ_LEARNERS.where(_CARDS.c.item_id.in_(bindparam("items", expanding=True)))
_INSERT = insert(_CARDS)
_UPDATE = (
    update(_CARDS)
    .where(_CARDS.c.user_id == bindparam("key_user"), _CARDS.c.item_id == bindparam("key_item"))
    .values({name: bindparam(name) for name in CARD_FIELDS})
)


@dataclass(frozen=True)
class Marks:
    """A learner's marks: items suspended ("know it cold"), and items not to offer now
    (suspended, or skipped until a later time)."""

    suspended: set[str] = field(default_factory=set)
    hidden: set[str] = field(default_factory=set)


def read(
    db: Session,
    user_ids: Collection[int],
    item_ids: Collection[str] | None = None,
    suspended: Mapping[int, Collection[str]] | None = None,
) -> dict[int, dict[str, CardSnapshot]]:
    """The cards of these learners (of ``item_ids`` only, when given), by learner and item.

    A learner without cards maps to ``{}``. ``suspended`` flags the cards of suspended items.
    One query whatever the number of learners: the daily push reads a batch of learners' whole
    histories (130 cards each) at once.
    """
    out: dict[int, dict[str, CardSnapshot]] = {uid: {} for uid in user_ids}
    if not user_ids:
        return out
    if item_ids is None:
        rows = db.execute(_READ_LEARNERS, {"uids": list(user_ids)}).all()
    else:
        rows = db.execute(_READ_ITEMS, {"uids": list(user_ids), "items": list(item_ids)}).all()
    off = suspended or {}
    # The one hand-tuned reader: opening a session (and the daily push, a batch of learners at a
    # time) reads every card of the learner, 130 rows, so the rows are unpacked as tuples of
    # _READ's columns (still converted by their types) rather than read field by field by name,
    # which cost as much as the query.
    for (
        uid,
        item,
        state,
        step,
        stability,
        difficulty,
        due,
        last,
        first,
        reps,
        lapses,
        streak,
    ) in rows:
        out[uid][item] = CardSnapshot(
            item,
            state,
            step,
            stability,
            difficulty,
            due,
            last,
            first,
            reps,
            lapses,
            streak,
            item in off.get(uid, ()),
        )
    return out


def write(db: Session, user_id: int, card: CardSnapshot, *, new: bool) -> None:
    """Store a card: an INSERT when ``new`` (the learner's first review of it), else UPDATE."""
    values = {name: getattr(card, name) for name in CARD_FIELDS}
    if new:
        db.execute(_INSERT, {"user_id": user_id, "item_id": card.item_id, **values})
    else:
        db.execute(_UPDATE, {"key_user": user_id, "key_item": card.item_id, **values})


def marks(db: Session, user_ids: Collection[int], now: datetime | None = None) -> dict[int, Marks]:
    """The marks of these learners (``hidden`` as at ``now``; empty without it)."""
    out = {uid: Marks() for uid in user_ids}
    if not user_ids:
        return out
    rows = db.execute(
        select(
            ItemMark.user_id, ItemMark.item_id, ItemMark.suspended, ItemMark.snoozed_until
        ).where(ItemMark.user_id.in_(list(user_ids)))
    )
    for row in rows:
        found = out[row.user_id]
        if row.suspended:
            found.suspended.add(row.item_id)
        if now is not None and (
            row.suspended or (row.snoozed_until is not None and row.snoozed_until > now)
        ):
            found.hidden.add(row.item_id)
    return out


def mark(
    db: Session,
    user_id: int,
    item_id: str,
    *,
    suspended: bool | None = None,
    snoozed_until: datetime | None = None,
) -> None:
    """Set a learner's mark on an item (creating it)."""
    row = db.get(ItemMark, (user_id, item_id))
    if row is None:
        row = ItemMark(user_id=user_id, item_id=item_id, suspended=False)
        db.add(row)
    if suspended is not None:
        row.suspended = suspended
    if snoozed_until is not None:
        row.snoozed_until = snoozed_until
