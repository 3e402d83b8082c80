"""Data functions. Each takes a Session first and never commits: services own transactions."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import String, Table, bindparam, delete, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from bot.core.srs import CardSnapshot
from bot.storage.models import CardState, ItemMark, Review, StudySession, User


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
_MARKS = select(ItemMark.item_id, ItemMark.suspended, ItemMark.snoozed_until).where(
    ItemMark.user_id == bindparam("uid")
)
_TELEGRAM_USER = select(User.id, User.first_name).where(User.telegram_id == bindparam("tid"))
# What every press reads of a session: the first fields of SessionState, in its order.
_SESSION_COLUMNS = (
    StudySession.user_id,
    StudySession.status,
    StudySession.queue,
    StudySession.position,
    StudySession.retry_from,
    StudySession.kind,
    StudySession.notice,
)
_SESSION_STATE = select(*_SESSION_COLUMNS).where(StudySession.id == bindparam("sid"))
_ANSWER_STATE = (
    select(
        *_SESSION_COLUMNS,
        StudySession.revealed,
        StudySession.shown_at,
        StudySession.chat_id,
        User.telegram_id,
        User.exam_date,
    )
    .join(User, User.id == StudySession.user_id)
    .where(StudySession.id == bindparam("sid"))
)
_ANSWER_STATE_LOCKED = _ANSWER_STATE.with_for_update(of=StudySession)
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
_REVEAL_TELEGRAM = _REVEAL.where(
    StudySession.user_id
    == select(User.id).where(User.telegram_id == bindparam("tid")).scalar_subquery()
)
_CANCEL = (
    update(StudySession)
    .where(StudySession.user_id == bindparam("uid"), StudySession.status == "active")
    .values(status="cancelled", finished_at=bindparam("at"))
    .execution_options(synchronize_session=False)
)
_SESSIONS = cast(Table, StudySession.__table__)
# A Core statement: an ORM UPDATE given many parameter sets would be a bulk update by key.
_CANCEL_MANY = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.user_id == bindparam("uid"),
        _SESSIONS.c.chat_id == bindparam("cid"),
        _SESSIONS.c.status == "active",
    )
    .values(status="cancelled", finished_at=bindparam("at"))
)
_CANCEL_IN_CHAT = _CANCEL.where(StudySession.chat_id == bindparam("cid"))
_CANCEL_NO_CHAT = _CANCEL.where(StudySession.chat_id.is_(None))


# The statements of every press and every push run on the session's connection rather than
# through Session.execute: as plain Core statements their rows skip the ORM's result machinery,
# which cost more than the queries (they change nothing the session holds, so nothing needs
# flushing first).


def _utc(value: Any) -> Any:
    """A time read past its column type: SQLite's stored text or PostgreSQL's aware datetime."""
    if isinstance(value, str):
        # The text is UTC without an offset: parsing it with one is ten times quicker than
        # parsing it naive and replacing the tzinfo after.
        return datetime.fromisoformat(value + "+00:00")
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _card(row: Sequence[Any], suspended: bool = False) -> CardSnapshot:
    """A CardSnapshot from the columns of ``_CARD_COLUMNS``."""
    item, state, step, stability, difficulty, due, last, first, reps, lapses, streak = row
    return CardSnapshot(
        item,
        state,
        step,
        stability,
        difficulty,
        _utc(due),
        _utc(last),
        _utc(first),
        reps,
        lapses,
        streak,
        suspended,
    )


def cards_for(
    db: Session, user_id: int, suspended: set[str] | None = None
) -> dict[str, CardSnapshot]:
    """The learner's cards; ``suspended`` comes from their item marks (read unless given)."""
    off = suspended_ids(db, user_id) if suspended is None else suspended
    return cards_of_many(db, [user_id], {user_id: off})[user_id]


_CARDS_OF_MANY = select(CardState.user_id, *_CARD_COLUMNS).where(
    CardState.user_id.in_(bindparam("uids", expanding=True))
)
_MARKS_OF_MANY = select(
    ItemMark.user_id, ItemMark.item_id, ItemMark.suspended, ItemMark.snoozed_until
).where(ItemMark.user_id.in_(bindparam("uids", expanding=True)))
_USERS_BY_TELEGRAM = select(User.telegram_id, User.id, User.exam_date, User.nudged_at).where(
    User.telegram_id.in_(bindparam("tids", expanding=True))
)
_LAST_REVIEWS = (
    select(Review.user_id, func.max(Review.reviewed_at))
    .where(Review.user_id.in_(bindparam("uids", expanding=True)))
    .group_by(Review.user_id)
)


def cards_of_many(
    db: Session, user_ids: Collection[int], suspended: Mapping[int, set[str]]
) -> dict[int, dict[str, CardSnapshot]]:
    """``cards_for`` of many learners in one query (a learner without cards maps to {}).

    A daily push reads 130 cards of each learner: the loop is kept tight (SQLite's stored
    text parsed in place, no call per value).
    """
    out: dict[int, dict[str, CardSnapshot]] = {uid: {} for uid in user_ids}
    if not user_ids:
        return out
    rows = db.connection().execute(_CARDS_OF_MANY, {"uids": list(user_ids)}).all()
    if not rows:
        return out
    parse = datetime.fromisoformat
    no_marks: set[str] = set()
    if isinstance(rows[0][6], str):  # SQLite: UTC text without an offset (see _utc)
        for uid, item_id, state, step, stab, diff, due, last, first, reps, lapses, streak in rows:
            out[uid][item_id] = CardSnapshot(
                item_id,
                state,
                step,
                stab,
                diff,
                parse(due + "+00:00"),
                None if last is None else parse(last + "+00:00"),
                parse(first + "+00:00"),
                reps,
                lapses,
                streak,
                item_id in suspended.get(uid, no_marks),
            )
        return out
    for row in rows:
        uid, item_id = row[0], row[1]
        out[uid][item_id] = _card(row[1:], item_id in suspended.get(uid, no_marks))
    return out


def marks_of_many(
    db: Session, user_ids: Collection[int], now: datetime
) -> dict[int, tuple[set[str], set[str]]]:
    """``item_marks`` of many learners in one query."""
    out: dict[int, tuple[set[str], set[str]]] = {uid: (set(), set()) for uid in user_ids}
    if not user_ids:
        return out
    for user_id, item_id, off, snoozed_until in db.connection().execute(
        _MARKS_OF_MANY, {"uids": list(user_ids)}
    ):
        suspended, hidden = out[user_id]
        if off:
            suspended.add(item_id)
        if off or (snoozed_until is not None and snoozed_until > now):
            hidden.add(item_id)
    return out


_USER_PLAN = select(User.exam_date, User.nudged_at).where(User.id == bindparam("uid"))


def user_plan(db: Session, user_id: int) -> tuple[date | None, datetime | None]:
    """(interview date, last nudge) of a learner; (None, None) for an unknown one."""
    row = db.connection().execute(_USER_PLAN, {"uid": user_id}).first()
    return (None, None) if row is None else (row[0], row[1])


def users_by_telegram_ids(
    db: Session, telegram_ids: Collection[int]
) -> dict[int, tuple[int, date | None, datetime | None]]:
    """Telegram id -> (id, exam date, last nudge) of the known ones, in one query."""
    if not telegram_ids:
        return {}
    rows = db.connection().execute(_USERS_BY_TELEGRAM, {"tids": list(telegram_ids)})
    return {tid: (uid, exam, nudged) for tid, uid, exam, nudged in rows if tid is not None}


def last_reviews(db: Session, user_ids: Collection[int]) -> dict[int, datetime]:
    """Learner -> the time of their last review (learners who never reviewed are absent)."""
    if not user_ids:
        return {}
    rows = db.connection().execute(_LAST_REVIEWS, {"uids": list(user_ids)})
    return {uid: at for uid, at in rows if uid is not None and at is not None}


def suspended_ids(db: Session, user_id: int) -> set[str]:
    stmt = select(ItemMark.item_id).where(ItemMark.user_id == user_id, ItemMark.suspended.is_(True))
    return set(db.scalars(stmt))


def item_marks(db: Session, user_id: int, now: datetime) -> tuple[set[str], set[str]]:
    """(suspended, hidden) of ``suspended_ids`` and ``hidden_ids``, in one query."""
    suspended: set[str] = set()
    hidden: set[str] = set()
    for item_id, off, snoozed_until in db.connection().execute(_MARKS, {"uid": user_id}):
        if off:
            suspended.add(item_id)
        if off or (snoozed_until is not None and snoozed_until > now):
            hidden.add(item_id)
    return suspended, hidden


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


_CARDS_OF = select(*_CARD_COLUMNS).where(
    CardState.user_id == bindparam("uid"),
    CardState.item_id.in_(bindparam("items", expanding=True)),
)


def cards_of(db: Session, user_id: int, item_ids: Sequence[str]) -> dict[str, CardSnapshot]:
    """The learner's cards of these items (items never seen are absent)."""
    rows = db.connection().execute(_CARDS_OF, {"uid": user_id, "items": list(item_ids)})
    return {row[0]: _card(row) for row in rows}


def card_for(db: Session, user_id: int, item_id: str) -> CardSnapshot | None:
    return cards_of(db, user_id, [item_id]).get(item_id)


_CARDS_TABLE = cast(Table, CardState.__table__)
# A card's state columns (besides its keys user_id and item_id), in CardSnapshot's order.
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
_UPDATE_CARD = (
    update(_CARDS_TABLE)
    .where(
        _CARDS_TABLE.c.user_id == bindparam("k_user"),
        _CARDS_TABLE.c.item_id == bindparam("k_item"),
    )
    .values({f: bindparam(f) for f in CARD_FIELDS})
)
_INSERT_CARD = insert(_CARDS_TABLE)


def write_card(db: Session, user_id: int, card: CardSnapshot, *, new: bool) -> None:
    """Write a card in one plain statement: INSERT when ``new``, else UPDATE (``save_card``
    does it through the ORM, for a transaction that changes ORM objects too)."""
    values = {f: getattr(card, f) for f in CARD_FIELDS}
    if new:
        keys = {"user_id": user_id, "item_id": card.item_id}
        db.connection().execute(_INSERT_CARD, {**keys, **values})
    else:
        params = {"k_user": user_id, "k_item": card.item_id, **values}
        db.connection().execute(_UPDATE_CARD, params)


def save_card(db: Session, user_id: int, card: CardSnapshot) -> None:
    row = db.get(CardState, (user_id, card.item_id))
    if row is None:
        row = CardState(user_id=user_id, item_id=card.item_id)
        db.add(row)
    row.state, row.step = card.state, card.step
    row.stability, row.difficulty = card.stability, card.difficulty
    row.due, row.last_review, row.first_seen = card.due, card.last_review, card.first_seen
    row.reps, row.lapses, row.streak = card.reps, card.lapses, card.streak


def session_values(
    *,
    user_id: int,
    chat_id: int | None,
    kind: str,
    item_type: str | None,
    item_ids: Sequence[str],
    notice: str,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new session, for ``add_sessions``."""
    return {
        "user_id": user_id,
        "chat_id": chat_id,
        "kind": kind,
        "item_type": item_type,
        "status": "active",
        "queue": ",".join(item_ids),
        "retry_from": len(item_ids),
        "position": 0,
        "notice": notice,
        "revealed": -1,
        "started_at": now,
    }


# Core, not ORM: an ORM INSERT with many rows goes through the bulk-persistence machinery.
_INSERT_SESSIONS = insert(_SESSIONS).returning(_SESSIONS.c.id, sort_by_parameter_order=True)


def add_sessions(db: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert many sessions with one statement; their ids, in the order of ``rows``."""
    if not rows:
        return []
    if not db.get_bind().dialect.insert_executemany_returning_sort_by_parameter_order:
        conn = db.connection()
        return [int(conn.execute(_INSERT_SESSIONS, [row]).scalar_one()) for row in rows]
    return [int(i) for i in db.connection().execute(_INSERT_SESSIONS, list(rows)).scalars()]


def cancel_active_in_chats(db: Session, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
    """``cancel_active_sessions`` of many (learner, chat) pairs, in one executemany."""
    if pairs:
        params = [{"uid": u, "cid": c, "at": now} for u, c in pairs]
        db.connection().execute(_CANCEL_MANY, params)


def set_nudged(db: Session, user_ids: Sequence[int], now: datetime) -> None:
    """Record that these learners were nudged now."""
    if user_ids:
        db.execute(
            update(User)
            .where(User.id.in_(user_ids))
            .values(nudged_at=now)
            .execution_options(synchronize_session=False)
        )


def telegram_user_name(db: Session, telegram_id: int) -> tuple[int, str] | None:
    """(id, first name) of a Telegram user, without loading the user."""
    row = db.connection().execute(_TELEGRAM_USER, {"tid": telegram_id}).first()
    return None if row is None else (row[0], row[1])


class SessionState(NamedTuple):
    """What a press reads of a session (and, for a rating, of its learner)."""

    user_id: int
    status: str
    queue: str
    position: int
    retry_from: int
    kind: str
    notice: str
    revealed: int = -1
    shown_at: datetime | None = None
    chat_id: int | None = None
    telegram_id: int | None = None
    exam_date: date | None = None


def session_state(db: Session, session_id: int) -> SessionState | None:
    """What ``StudyService.current`` reads of a session (or None), without loading it."""
    row = db.connection().execute(_SESSION_STATE, {"sid": session_id}).first()
    return None if row is None else SessionState(*row)


def answer_state(db: Session, session_id: int, *, lock: bool = False) -> SessionState | None:
    """What a rating reads of a session and its learner, in one query (the session's row
    locked on PostgreSQL with ``lock``)."""
    stmt = _ANSWER_STATE_LOCKED if lock else _ANSWER_STATE
    row = db.connection().execute(stmt, {"sid": session_id}).first()
    if row is None:
        return None
    return SessionState(*row)


_SESSIONS_ADVANCE = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("sid"))
    .values(
        position=bindparam("pos"),
        queue=bindparam("queue"),
        shown_at=bindparam("at"),
        status=bindparam("status"),
        finished_at=bindparam("finished"),
    )
)


def advance_session(
    db: Session, session_id: int, position: int, queue: str, now: datetime, done: bool
) -> None:
    """Move a session to ``position`` (finishing it when ``done``), in one statement."""
    db.connection().execute(
        _SESSIONS_ADVANCE,
        {
            "sid": session_id,
            "pos": position,
            "queue": queue,
            "at": now,
            "status": "finished" if done else "active",
            "finished": now if done else None,
        },
    )


_REVIEWS = cast(Table, Review.__table__)
_INSERT_REVIEW = insert(_REVIEWS).returning(_REVIEWS.c.id)


def insert_review(
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
) -> int:
    """Record a review in one plain statement; returns its id."""
    values = {
        "user_id": user_id,
        "item_id": item_id,
        "chat_id": chat_id,
        "session_id": session_id,
        "position": position,
        "rating": rating,
        "reviewed_at": now,
        "seconds": seconds,
        "interval_days": interval_days,
    }
    return int(db.connection().execute(_INSERT_REVIEW, values).scalar_one())


def move_session(db: Session, session_id: int, position: int) -> None:
    db.connection().execute(
        update(StudySession)
        .where(StudySession.id == session_id)
        .values(position=position)
        .execution_options(synchronize_session=False)
    )


def card_lapses(db: Session, user_id: int, item_id: str) -> int | None:
    """How often the learner forgot this item (None: never seen)."""
    lapses: int | None = db.connection().scalar(_LAPSES, {"uid": user_id, "item": item_id})
    return lapses


def claim_reveal(
    db: Session,
    session_id: int,
    position: int,
    user_id: int | None,
    telegram_id: int | None = None,
) -> bool:
    """Mark the answer at ``position`` shown, if it is the session's current, unshown item (of
    ``user_id``'s session, or the Telegram user ``telegram_id``'s): True when this call did."""
    params = {"sid": session_id, "pos": position, "uid": user_id, "tid": telegram_id}
    stmt = _REVEAL if user_id is None else _REVEAL_OWN
    if telegram_id is not None:
        stmt = _REVEAL_TELEGRAM
    # On the connection: through the ORM session an UPDATE takes its bulk-update path, which
    # costs more than the statement.
    return bool(db.connection().execute(stmt, params).rowcount)


_REVEAL_TELEGRAM_RETURNING = _REVEAL_TELEGRAM.returning(*_SESSION_STATE.selected_columns)


def claim_reveal_state(
    db: Session, session_id: int, position: int, telegram_id: int
) -> tuple[bool, SessionState | None]:
    """``claim_reveal`` for the Telegram user ``telegram_id``, and the session as it is after
    (read by the same statement where the database can return rows from an UPDATE)."""
    conn = db.connection()
    if not conn.dialect.update_returning:
        if not claim_reveal(db, session_id, position, None, telegram_id):
            return False, None
        return True, session_state(db, session_id)
    params = {"sid": session_id, "pos": position, "tid": telegram_id}
    row = conn.execute(_REVEAL_TELEGRAM_RETURNING, params).first()
    return (False, None) if row is None else (True, SessionState(*row))


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
    db.connection().execute(_CANCEL_NO_CHAT if chat_id is None else _CANCEL_IN_CHAT, params)


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
