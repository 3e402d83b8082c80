"""Data functions. Each takes a Session first and never commits: services own transactions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from bot.models import CardState, ItemMark, Review, StudySession, User
from bot.srs import CardSnapshot


def user_by_local_name(db: Session, name: str) -> User | None:
    return db.scalars(select(User).where(User.local_name == name)).first()


def user_by_telegram_id(db: Session, telegram_id: int) -> User | None:
    return db.scalars(select(User).where(User.telegram_id == telegram_id)).first()


def add_user(
    db: Session,
    now: datetime,
    *,
    local_name: str | None = None,
    telegram_id: int | None = None,
    first_name: str = "",
) -> User:
    user = User(
        local_name=local_name,
        telegram_id=telegram_id,
        first_name=first_name,
        timezone="UTC",
        created_at=now,
    )
    db.add(user)
    db.flush()
    return user


def snapshot(row: CardState, suspended: bool = False) -> CardSnapshot:
    return CardSnapshot(
        item_id=row.item_id,
        state=row.state,
        step=row.step,
        stability=row.stability,
        difficulty=row.difficulty,
        due=row.due,
        last_review=row.last_review,
        first_seen=row.first_seen,
        reps=row.reps,
        lapses=row.lapses,
        streak=row.streak,
        suspended=suspended,
    )


# Every session reads all of a learner's cards (130 rows, three times each): plain columns, and
# the times as stored, turned into datetimes by _utc, cost a third of loading ORM objects.
_CARD_COLUMNS = (
    CardState.item_id,
    CardState.state,
    CardState.step,
    CardState.stability,
    CardState.difficulty,
    type_coerce(CardState.due, String),
    type_coerce(CardState.last_review, String),
    type_coerce(CardState.first_seen, String),
    CardState.reps,
    CardState.lapses,
    CardState.streak,
)
# The statements of every interaction and every push are built once: building one costs about
# as much as running it.
_CARDS = select(*_CARD_COLUMNS).where(CardState.user_id == bindparam("uid"))
_MARKS = select(ItemMark.item_id, ItemMark.suspended, ItemMark.snoozed_until).where(
    ItemMark.user_id == bindparam("uid")
)
_TELEGRAM_USER = select(User.id, User.first_name).where(User.telegram_id == bindparam("tid"))
_SESSION_STATE = select(
    StudySession.user_id,
    StudySession.status,
    StudySession.queue,
    StudySession.position,
    StudySession.retry_from,
    StudySession.kind,
    StudySession.notice,
).where(StudySession.id == bindparam("sid"))
_LAPSES = select(CardState.lapses).where(
    CardState.user_id == bindparam("uid"), CardState.item_id == bindparam("item")
)
_REVEAL = (
    update(StudySession)
    .where(
        StudySession.id == bindparam("sid"),
        StudySession.status == "active",
        StudySession.position == bindparam("pos"),
        StudySession.revealed != bindparam("pos"),
    )
    .values(revealed=bindparam("pos"))
    .execution_options(synchronize_session=False)
)
_REVEAL_OWN = _REVEAL.where(StudySession.user_id == bindparam("uid"))
_CANCEL = (
    update(StudySession)
    .where(StudySession.user_id == bindparam("uid"), StudySession.status == "active")
    .values(status="cancelled", finished_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)
_CANCEL_IN_CHAT = _CANCEL.where(StudySession.chat_id == bindparam("cid"))
_CANCEL_NO_CHAT = _CANCEL.where(StudySession.chat_id.is_(None))


def _utc(value: Any) -> Any:
    """A time read past its column type: SQLite's stored text or PostgreSQL's aware datetime."""
    if isinstance(value, str):
        # The text is UTC without an offset: parsing it with one is ten times quicker than
        # parsing it naive and replacing the tzinfo after.
        return datetime.fromisoformat(value + "+00:00")
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def cards_for(
    db: Session, user_id: int, suspended: set[str] | None = None
) -> dict[str, CardSnapshot]:
    """The learner's cards; ``suspended`` comes from their item marks (read unless given)."""
    off = suspended_ids(db, user_id) if suspended is None else suspended
    rows = db.execute(_CARDS, {"uid": user_id})
    return {
        item_id: CardSnapshot(
            item_id,
            state,
            step,
            stability,
            difficulty,
            _utc(due),
            _utc(last_review),
            _utc(first_seen),
            reps,
            lapses,
            streak,
            suspended=item_id in off,
        )
        for (
            item_id,
            state,
            step,
            stability,
            difficulty,
            due,
            last_review,
            first_seen,
            reps,
            lapses,
            streak,
        ) in rows
    }


def suspended_ids(db: Session, user_id: int) -> set[str]:
    stmt = select(ItemMark.item_id).where(ItemMark.user_id == user_id, ItemMark.suspended.is_(True))
    return set(db.scalars(stmt))


def item_marks(db: Session, user_id: int, now: datetime) -> tuple[set[str], set[str]]:
    """(suspended, hidden) of ``suspended_ids`` and ``hidden_ids``, in one query."""
    suspended: set[str] = set()
    hidden: set[str] = set()
    for item_id, off, snoozed_until in db.execute(_MARKS, {"uid": user_id}):
        if off:
            suspended.add(item_id)
        if off or (snoozed_until is not None and snoozed_until > now):
            hidden.add(item_id)
    return suspended, hidden


def hidden_ids(db: Session, user_id: int, now: datetime) -> set[str]:
    """Items not to offer now: suspended, or skipped until later."""
    stmt = select(ItemMark.item_id).where(
        ItemMark.user_id == user_id, ItemMark.suspended.is_(True) | (ItemMark.snoozed_until > now)
    )
    return set(db.scalars(stmt))


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


def card_for(db: Session, user_id: int, item_id: str) -> CardSnapshot | None:
    row = db.get(CardState, (user_id, item_id))
    return snapshot(row) if row else None


def save_card(db: Session, user_id: int, card: CardSnapshot) -> None:
    row = db.get(CardState, (user_id, card.item_id))
    if row is None:
        row = CardState(user_id=user_id, item_id=card.item_id)
        db.add(row)
    row.state, row.step = card.state, card.step
    row.stability, row.difficulty = card.stability, card.difficulty
    row.due, row.last_review, row.first_seen = card.due, card.last_review, card.first_seen
    row.reps, row.lapses, row.streak = card.reps, card.lapses, card.streak


def count_new_since(db: Session, user_id: int, since: datetime) -> int:
    stmt = (
        select(func.count())
        .select_from(CardState)
        .where(CardState.user_id == user_id, CardState.first_seen >= since)
    )
    return int(db.scalar(stmt) or 0)


def add_session(
    db: Session,
    *,
    user_id: int,
    chat_id: int | None,
    kind: str,
    item_type: str | None,
    item_ids: Iterable[str],
    notice: str,
    now: datetime,
) -> StudySession:
    ids = list(item_ids)
    row = StudySession(
        user_id=user_id,
        chat_id=chat_id,
        kind=kind,
        item_type=item_type,
        status="active",
        queue=",".join(ids),
        retry_from=len(ids),
        position=0,
        notice=notice,
        started_at=now,
    )
    db.add(row)
    db.flush()
    return row


def telegram_user_name(db: Session, telegram_id: int) -> tuple[int, str] | None:
    """(id, first name) of a Telegram user, without loading the user."""
    row = db.execute(_TELEGRAM_USER, {"tid": telegram_id}).first()
    return None if row is None else (row[0], row[1])


def session_state(db: Session, session_id: int) -> Any:
    """What ``StudyService.current`` reads of a session (a row, or None), without loading it."""
    return db.execute(_SESSION_STATE, {"sid": session_id}).first()


def move_session(db: Session, session_id: int, position: int) -> None:
    db.execute(
        update(StudySession)
        .where(StudySession.id == session_id)
        .values(position=position)
        .execution_options(synchronize_session=False)
    )


def card_lapses(db: Session, user_id: int, item_id: str) -> int | None:
    """How often the learner forgot this item (None: never seen)."""
    lapses: int | None = db.scalar(_LAPSES, {"uid": user_id, "item": item_id})
    return lapses


def claim_reveal(db: Session, session_id: int, position: int, user_id: int | None) -> bool:
    """Mark the answer at ``position`` shown, if it is the session's current, unshown item (of
    ``user_id``'s session): True when this call did."""
    params = {"sid": session_id, "pos": position, "uid": user_id}
    done = db.execute(_REVEAL if user_id is None else _REVEAL_OWN, params)
    return bool(done.rowcount)  # type: ignore[attr-defined]


def get_session(db: Session, session_id: int, *, lock: bool = False) -> StudySession | None:
    stmt = select(StudySession).where(StudySession.id == session_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.scalars(stmt).first()


def active_sessions(db: Session, user_id: int, chat_id: int | None) -> list[StudySession]:
    stmt = select(StudySession).where(
        StudySession.user_id == user_id, StudySession.status == "active"
    )
    stmt = stmt.where(
        StudySession.chat_id.is_(None) if chat_id is None else StudySession.chat_id == chat_id
    )
    return list(db.scalars(stmt))


def cancel_active_sessions(db: Session, user_id: int, chat_id: int | None, now: datetime) -> None:
    """Close the learner's open sessions in this chat (one statement, nothing loaded)."""
    params = {"uid": user_id, "cid": chat_id, "at": now}
    db.execute(_CANCEL_NO_CHAT if chat_id is None else _CANCEL_IN_CHAT, params)


def add_review(
    db: Session,
    *,
    user_id: int,
    item_id: str,
    chat_id: int | None,
    session_id: int | None,
    position: int | None,
    rating: int,
    now: datetime,
    seconds: float | None,
    interval_days: float,
) -> Review:
    row = Review(
        user_id=user_id,
        item_id=item_id,
        chat_id=chat_id,
        session_id=session_id,
        position=position,
        rating=rating,
        reviewed_at=now,
        seconds=seconds,
        interval_days=interval_days,
    )
    db.add(row)
    db.flush()
    return row


def session_reviews(db: Session, session_id: int) -> list[Review]:
    stmt = select(Review).where(Review.session_id == session_id).order_by(Review.position)
    return list(db.scalars(stmt))


def review_times(db: Session, user_id: int, since: datetime | None = None) -> list[datetime]:
    stmt = select(Review.reviewed_at).where(Review.user_id == user_id)
    if since is not None:
        stmt = stmt.where(Review.reviewed_at >= since)
    return list(db.scalars(stmt))


def reviews_since(db: Session, user_id: int, since: datetime) -> list[tuple[datetime, int]]:
    stmt = select(Review.reviewed_at, Review.rating).where(
        Review.user_id == user_id, Review.reviewed_at >= since
    )
    return [(t, r) for t, r in db.execute(stmt)]


def count_reviews(db: Session, user_id: int) -> int:
    stmt = select(func.count()).select_from(Review).where(Review.user_id == user_id)
    return int(db.scalar(stmt) or 0)


def recent_sessions(db: Session, user_id: int, limit: int) -> list[StudySession]:
    stmt = (
        select(StudySession)
        .where(StudySession.user_id == user_id, StudySession.status == "finished")
        .order_by(StudySession.started_at.desc(), StudySession.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def count_finished_sessions(db: Session, user_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(StudySession)
        .where(StudySession.user_id == user_id, StudySession.status == "finished")
    )
    return int(db.scalar(stmt) or 0)


def ratings_by_session(db: Session, session_ids: list[int]) -> dict[int, list[int]]:
    if not session_ids:
        return {}
    stmt = select(Review.session_id, Review.rating).where(Review.session_id.in_(session_ids))
    out: dict[int, list[int]] = {sid: [] for sid in session_ids}
    for sid, rating in db.execute(stmt):
        if sid is not None:
            out[sid].append(rating)
    return out


def delete_progress(db: Session, user_id: int) -> int:
    """Delete a user's cards, reviews and sessions; return the number of reviews deleted."""
    n = count_reviews(db, user_id)
    db.execute(delete(Review).where(Review.user_id == user_id))
    db.execute(delete(StudySession).where(StudySession.user_id == user_id))
    db.execute(delete(CardState).where(CardState.user_id == user_id))
    db.execute(delete(ItemMark).where(ItemMark.user_id == user_id))
    return n
