"""Study sessions: their queue, where the learner is, and which answer is shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import Review, StudySession, User


@dataclass(frozen=True)
class SessionState:
    """What a press reads of a session, and of its learner."""

    id: int
    user_id: int
    telegram_id: int | None
    exam_date: date | None
    chat_id: int | None
    kind: str
    status: str
    queue: tuple[str, ...]
    position: int
    retry_from: int
    revealed: int
    notice: str
    shown_at: datetime | None
    started_at: datetime
    finished_at: datetime | None
    presenting: int
    presenting_since: datetime | None
    presented: int
    message_id: int | None


# The statements of every button press are built once, on the tables (plain Core: no ORM
# entities to load), and run with their parameters: building a statement costs about as much as
# running it. The rows are still read by name, through the columns' types.
_SESSIONS = cast(Table, StudySession.__table__)
_USERS = cast(Table, User.__table__)
_REVIEWS = cast(Table, Review.__table__)
_S = _SESSIONS.c
_STATE = (
    select(
        _S.id,
        _S.user_id,
        _USERS.c.telegram_id,
        _USERS.c.exam_date,
        _S.chat_id,
        _S.kind,
        _S.status,
        _S.queue,
        _S.position,
        _S.retry_from,
        _S.revealed,
        _S.notice,
        _S.shown_at,
        _S.started_at,
        _S.finished_at,
        _S.presenting,
        _S.presenting_since,
        _S.presented,
        _S.message_id,
    )
    .join(_USERS, _USERS.c.id == _S.user_id)
    .where(_S.id == bindparam("sid"))
)
_STATE_LOCKED = _STATE.with_for_update(of=_SESSIONS)


def state(db: Session, session_id: int, *, lock: bool = False) -> SessionState | None:
    """The session and its learner, or None; ``lock`` holds the session's row (PostgreSQL)
    until the transaction ends, so that two presses on it take turns."""
    row = db.execute(_STATE_LOCKED if lock else _STATE, {"sid": session_id}).first()
    if row is None:
        return None
    values = row._asdict()
    values["queue"] = tuple(values["queue"].split(","))
    return SessionState(**values)


def values(
    *,
    user_id: int,
    chat_id: int | None,
    kind: str,
    item_type: str | None,
    item_ids: Sequence[str],
    notice: str,
    now: datetime,
) -> dict[str, Any]:
    """The columns of a new session, for ``add``."""
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
        "presenting": -1,
        "presented": -1,
    }


def add(db: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert sessions (rows from ``values``); their ids, in the order of ``rows``."""
    if not rows:
        return []
    stmt = insert(StudySession).returning(StudySession.id, sort_by_parameter_order=True)
    return [int(i) for i in db.scalars(stmt, list(rows))]


# A session ended before its end keeps its place in the history only if something was rated
# in it; one with no rating is "cancelled" (not in the summaries' counts, not in /stats).
_RATED = exists().where(_REVIEWS.c.session_id == _S.id)
_END_STATUS = case((_RATED, "finished"), else_="cancelled")
# Given many parameter sets, an ORM UPDATE is a bulk update by primary key; this one selects by
# owner, so it is run on the table.
_CANCEL = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.user_id == bindparam("uid"),
        _SESSIONS.c.chat_id.is_not_distinct_from(bindparam("cid")),
        _SESSIONS.c.status == "active",
    )
    .values(status=_END_STATUS, finished_at=bindparam("at"))
)


@dataclass(frozen=True)
class Ended:
    """A session that was ended early, and the message that still shows its buttons."""

    session_id: int
    user_id: int
    chat_id: int | None
    message_id: int | None


def cancel_active(
    db: Session, owners: Sequence[tuple[int, int | None]], now: datetime
) -> list[Ended]:
    """End the open sessions of these (learner, chat) pairs (chat None: the terminal); the
    sessions ended."""
    if not owners:
        return []
    wanted = set(owners)
    rows = db.execute(
        select(_S.id, _S.user_id, _S.chat_id, _S.message_id).where(
            _S.user_id.in_({uid for uid, _cid in owners}), _S.status == "active"
        )
    )
    ended = [
        Ended(r.id, r.user_id, r.chat_id, r.message_id)
        for r in rows
        if (r.user_id, r.chat_id) in wanted
    ]
    if ended:
        params = [{"uid": uid, "cid": cid, "at": now} for uid, cid in owners]
        db.connection().execute(_CANCEL, params)
    return ended


_REVEAL = (
    update(_SESSIONS)
    .where(
        _S.id == bindparam("sid"),
        _S.status == "active",
        _S.position == bindparam("pos"),
        _S.revealed != bindparam("pos"),
    )
    .values(revealed=bindparam("pos"))
)
_REVEAL_OWN = _REVEAL.where(_S.user_id == bindparam("uid"))
_REVEAL_TELEGRAM = _REVEAL.where(
    _S.user_id
    == select(_USERS.c.id).where(_USERS.c.telegram_id == bindparam("tid")).scalar_subquery()
)


def claim_reveal(
    db: Session,
    session_id: int,
    position: int,
    *,
    user_id: int | None = None,
    telegram_id: int | None = None,
) -> bool:
    """Mark the answer at ``position`` shown if it is the session's current, unshown item (and
    the session is ``user_id``'s, or the Telegram user ``telegram_id``'s): True when this call
    did. One conditional UPDATE, so of two presses exactly one wins."""
    params = {"sid": session_id, "pos": position, "uid": user_id, "tid": telegram_id}
    stmt = _REVEAL
    if user_id is not None:
        stmt = _REVEAL_OWN
    elif telegram_id is not None:
        stmt = _REVEAL_TELEGRAM
    return bool(db.execute(stmt, params).rowcount)  # type: ignore[attr-defined]


_MOVE = update(_SESSIONS).where(_S.id == bindparam("sid"))
_ADVANCE = _MOVE.values(
    position=bindparam("pos"),
    queue=bindparam("queue"),
    shown_at=bindparam("at"),
    status=bindparam("status"),
    finished_at=bindparam("finished"),
)
_PASS_OVER = _MOVE.values(position=bindparam("pos"))


def move(
    db: Session,
    session_id: int,
    position: int,
    now: datetime,
    queue: Sequence[str],
    *,
    done: bool = False,
) -> None:
    """Move a session to ``position`` with this ``queue``, finishing it when ``done``; the
    item there counts as shown from ``now``."""
    params = {
        "sid": session_id,
        "pos": position,
        "queue": ",".join(queue),
        "at": now,
        "status": "finished" if done else "active",
        "finished": now if done else None,
    }
    db.execute(_ADVANCE, params)


def pass_over(db: Session, session_id: int, position: int) -> None:
    """Move a session past items removed from the content, to ``position``."""
    db.execute(_PASS_OVER, {"sid": session_id, "pos": position})


_CLAIM_PRESENTATION = (
    update(_SESSIONS)
    .where(
        _S.id == bindparam("sid"),
        _S.presented < bindparam("pos"),
        or_(
            _S.presenting < bindparam("pos"),
            _S.presenting_since.is_(None),
            _S.presenting_since < bindparam("stale"),
        ),
    )
    .values(presenting=bindparam("pos"), presenting_since=bindparam("at"))
)
_MARK_PRESENTED = (
    update(_SESSIONS)
    .where(_S.id == bindparam("sid"), _S.presented < bindparam("pos"))
    .values(presented=bindparam("pos"))
)


def claim_presentation(
    db: Session, session_id: int, position: int, now: datetime, lease: timedelta
) -> bool:
    """Claim the sending of what the session shows at ``position`` (its question, or past the
    queue its summary): True when this call may send it. Nobody may while the chat already has
    it, or while another claim younger than ``lease`` stands (its send is on its way)."""
    params = {"sid": session_id, "pos": position, "at": now, "stale": now - lease}
    return bool(db.execute(_CLAIM_PRESENTATION, params).rowcount)  # type: ignore[attr-defined]


def mark_presented(db: Session, session_id: int, position: int) -> None:
    """Record that the chat was sent what the session shows at ``position``."""
    db.execute(_MARK_PRESENTED, {"sid": session_id, "pos": position})


def close(db: Session, session_id: int, now: datetime) -> bool:
    """End an active session: "finished" when something was rated in it, else "cancelled";
    False when it was not active."""
    result = db.execute(
        update(_SESSIONS)
        .where(_S.id == session_id, _S.status == "active")
        .values(status=_END_STATUS, finished_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


_SET_MESSAGE = (
    update(_SESSIONS).where(_S.id == bindparam("sid")).values(message_id=bindparam("mid"))
)


def set_message(db: Session, session_id: int, message_id: int | None) -> None:
    """Record which chat message carries the session's live buttons now."""
    set_messages(db, [(session_id, message_id)])


def set_messages(db: Session, placed: Sequence[tuple[int, int | None]]) -> None:
    """``set_message`` for (session, message) pairs, in one statement (the daily push)."""
    if placed:
        params = [{"sid": sid, "mid": mid} for sid, mid in placed]
        db.connection().execute(_SET_MESSAGE, params)


# While the buttons move to another message (the full answer being sent), message_id is 0.
_MOVING = 0
_CLAIM_BUTTONS = (
    update(_SESSIONS)
    .where(
        _S.id == bindparam("sid"),
        or_(_S.message_id == bindparam("mid"), _S.message_id.is_(None)),
    )
    .values(message_id=_MOVING)
)


def claim_buttons(db: Session, session_id: int, message_id: int) -> bool:
    """Claim the moving of the session's buttons off ``message_id``: True when this call may
    (they are on it, or where they are was never recorded), so a repeated press moves nothing."""
    params = {"sid": session_id, "mid": message_id}
    return bool(db.execute(_CLAIM_BUTTONS, params).rowcount)  # type: ignore[attr-defined]


def active_id(db: Session, user_id: int, chat_id: int | None) -> int:
    """The id of the learner's open session in this chat, or 0."""
    found = db.scalar(
        select(func.max(StudySession.id)).where(
            StudySession.user_id == user_id,
            StudySession.chat_id.is_not_distinct_from(chat_id),
            StudySession.status == "active",
        )
    )
    return int(found or 0)


def recent_finished(db: Session, user_id: int, limit: int) -> list[StudySession]:
    stmt = (
        select(StudySession)
        .where(StudySession.user_id == user_id, StudySession.status == "finished")
        .order_by(StudySession.started_at.desc(), StudySession.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def count_finished(db: Session, user_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(StudySession)
        .where(StudySession.user_id == user_id, StudySession.status == "finished")
    )
    return int(db.scalar(stmt) or 0)
