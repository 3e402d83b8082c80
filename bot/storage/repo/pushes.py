"""The daily push log: one row per chat and local day, claimed before anything is sent.

A row's status: "claimed" while it is being sent, then "sent", "empty", "failed" (not sent, or
refused) or "unknown" (sent, but the answer never came: it may have arrived). Only a "claimed"
row whose lease ran out is ever taken over, so nothing else is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage.models import Push

DETAIL_CHARS = 500


def claim(
    db: Session, claims: Sequence[tuple[int, date]], now: datetime, lease_until: datetime
) -> set[int]:
    """Claim the pushes of these (chat, local day) pairs; return the chats claimed.

    The row is unique on (chat, local day), so two processes cannot both win one: one INSERT
    skips the pairs that exist (``ON CONFLICT DO NOTHING``). A claim left "claimed" past its
    lease belonged to a process that died mid-push; it is taken over (one UPDATE per day).
    """
    if not claims:
        return set()
    dialect = db.get_bind().dialect.name
    dml = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    if dml is None:
        raise NotImplementedError(f"push claims need SQLite or PostgreSQL, not {dialect}")
    rows = [
        {
            "chat_id": chat_id,
            "local_date": day,
            "status": "claimed",
            "claimed_at": now,
            "lease_until": lease_until,
            "items": 0,
            "detail": "",
        }
        for chat_id, day in claims
    ]
    stmt = (
        dml.insert(Push)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["chat_id", "local_date"])
        .returning(Push.chat_id)
    )
    won = set(db.scalars(stmt))
    for day in sorted({day for _chat, day in claims}):
        held = [c for c, d in claims if d == day and c not in won]
        if held:
            won.update(
                db.scalars(
                    update(Push)
                    .where(
                        Push.chat_id.in_(held),
                        Push.local_date == day,
                        Push.status == "claimed",
                        Push.lease_until < now,
                    )
                    .values(claimed_at=now, lease_until=lease_until)
                    .returning(Push.chat_id)
                    .execution_options(synchronize_session=False)
                )
            )
    return won


_PUSHES = cast(Table, Push.__table__)
# On the table: with many parameter sets an ORM UPDATE is a bulk update by primary key.
_FINISH = (
    update(_PUSHES)
    .where(_PUSHES.c.chat_id == bindparam("c"), _PUSHES.c.local_date == bindparam("d"))
    .values(status=bindparam("s"), items=bindparam("n"), detail=bindparam("t"))
)


def finish(db: Session, outcomes: Sequence[tuple[int, date, str, int, str]]) -> None:
    """Record how claimed pushes went: (chat, day, status, items sent, detail) each."""
    if outcomes:
        params = [
            {"c": c, "d": day, "s": status, "n": items, "t": detail[:DETAIL_CHARS]}
            for c, day, status, items, detail in outcomes
        ]
        db.connection().execute(_FINISH, params)


def recent(db: Session, since: date) -> dict[tuple[int, date], tuple[str, datetime]]:
    """(chat, local day) -> (status, lease end) of every push claimed since ``since``."""
    rows = db.execute(
        select(Push.chat_id, Push.local_date, Push.status, Push.lease_until).where(
            Push.local_date >= since
        )
    )
    return {(r.chat_id, r.local_date): (r.status, r.lease_until) for r in rows}
