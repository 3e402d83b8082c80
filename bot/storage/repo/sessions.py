"""Study sessions: their queue, where the learner is, and which answer is shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import StudySession, User


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


_STATE = select(
    StudySession.id,
    StudySession.user_id,
    User.telegram_id,
    User.exam_date,
    StudySession.chat_id,
    StudySession.kind,
    StudySession.status,
    StudySession.queue,
    StudySession.position,
    StudySession.retry_from,
    StudySession.revealed,
    StudySession.notice,
    StudySession.shown_at,
    StudySession.started_at,
    StudySession.finished_at,
    StudySession.presenting,
    StudySession.presenting_since,
    StudySession.presented,
).join(User, User.id == StudySession.user_id)


def state(db: Session, session_id: int, *, lock: bool = False) -> SessionState | None:
    """The session and its learner, or None; ``lock`` holds the session's row (PostgreSQL)
    until the transaction ends, so that two presses on it take turns."""
    stmt = _STATE.where(StudySession.id == session_id)
    if lock:
        stmt = stmt.with_for_update(of=StudySession)
    row = db.execute(stmt).first()
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


_SESSIONS = cast(Table, StudySession.__table__)
# On the table, not the model: given many parameter sets, an ORM UPDATE is a bulk update by
# primary key, and this one selects by owner.
_CANCEL = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.user_id == bindparam("uid"),
        _SESSIONS.c.chat_id.is_not_distinct_from(bindparam("cid")),
        _SESSIONS.c.status == "active",
    )
    .values(status="cancelled", finished_at=bindparam("at"))
)


def cancel_active(db: Session, owners: Sequence[tuple[int, int | None]], now: datetime) -> None:
    """Cancel the open sessions of these (learner, chat) pairs (chat None: the terminal)."""
    if owners:
        params = [{"uid": uid, "cid": cid, "at": now} for uid, cid in owners]
        db.connection().execute(_CANCEL, params)


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
    stmt = update(StudySession).where(
        StudySession.id == session_id,
        StudySession.status == "active",
        StudySession.position == position,
        StudySession.revealed != position,
    )
    if user_id is not None:
        stmt = stmt.where(StudySession.user_id == user_id)
    if telegram_id is not None:
        owner = select(User.id).where(User.telegram_id == telegram_id).scalar_subquery()
        stmt = stmt.where(StudySession.user_id == owner)
    result = db.execute(stmt.values(revealed=position).execution_options(synchronize_session=False))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def move(
    db: Session,
    session_id: int,
    position: int,
    now: datetime | None,
    *,
    queue: Sequence[str] | None = None,
    done: bool = False,
) -> None:
    """Move a session to ``position`` (its queue replaced when given), finishing it when
    ``done``; the item there counts as shown from ``now`` (when given)."""
    changes: dict[str, Any] = {"position": position}
    if now is not None:
        changes["shown_at"] = now
    if queue is not None:
        changes["queue"] = ",".join(queue)
    if done:
        changes.update(status="finished", finished_at=now)
    db.execute(
        update(StudySession)
        .where(StudySession.id == session_id)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )


def claim_presentation(
    db: Session, session_id: int, position: int, now: datetime, lease: timedelta
) -> bool:
    """Claim the sending of what the session shows at ``position`` (its question, or past the
    queue its summary): True when this call may send it. Nobody may while the chat already has
    it, or while another claim younger than ``lease`` stands (its send is on its way)."""
    result = db.execute(
        update(StudySession)
        .where(
            StudySession.id == session_id,
            StudySession.presented < position,
            or_(
                StudySession.presenting < position,
                StudySession.presenting_since.is_(None),
                StudySession.presenting_since < now - lease,
            ),
        )
        .values(presenting=position, presenting_since=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_presented(db: Session, session_id: int, position: int) -> None:
    """Record that the chat was sent what the session shows at ``position``."""
    db.execute(
        update(StudySession)
        .where(StudySession.id == session_id, StudySession.presented < position)
        .values(presented=position)
        .execution_options(synchronize_session=False)
    )


def close(db: Session, session_id: int, now: datetime, status: str) -> bool:
    """End an active session with ``status``; False when it was not active."""
    result = db.execute(
        update(StudySession)
        .where(StudySession.id == session_id, StudySession.status == "active")
        .values(status=status, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
