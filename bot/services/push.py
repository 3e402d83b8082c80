"""The daily push's claims and plans: exactly once per chat and local day.

A push is claimed before anything is sent (a row unique on chat and local date), so a restart,
a retried job or a second bot process never sends one twice. Planning is done a batch of chats
at a time; one chat is a batch of one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.core.schedule import ChatSettings
from bot.services.study import SessionRequest, Started, StudyService
from bot.storage.repo import chats, pushes, sessions

logger = logging.getLogger(__name__)
PUSH_LEASE = timedelta(minutes=5)
NUDGE_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class PlannedPush:
    """A push this process claimed: a private chat's session, or a group's (posted when sent)."""

    chat: ChatSettings
    day: date  # the chat's local date the claim is for
    started: Started | None = None  # private chats
    error: str = ""  # planning failed: the push is recorded as failed


class PushService:
    """Claims, plans and outcomes of the daily push over one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        study: StudyService,
        lease: timedelta = PUSH_LEASE,
    ) -> None:
        self.sessions = sessions
        self.study = study
        self.lease = lease

    def claim(self, claims: Sequence[tuple[int, date]], now: datetime) -> set[int]:
        """Claim the pushes of these (chat, local day) pairs; return the chats claimed (a
        claim whose lease ran out, left by a process that died mid-push, is taken over)."""
        with self.sessions.begin() as db:
            return pushes.claim(db, claims, now, now + self.lease)

    def plan(
        self, chat_ids: Sequence[int], now: datetime
    ) -> tuple[list[PlannedPush], dict[int, str]]:
        """Claim today's push for these chats and open the private ones' sessions.

        Returns the pushes claimed, and for the other chats why not ("not due" or "already
        pushed"). When the batch cannot be planned at once, each private chat is planned on
        its own, so that one chat's failure stops no other; a chat whose planning fails is
        returned with its ``error``.
        """
        with self.sessions.begin() as db:
            found = chats.of_ids(db, chat_ids)
        skipped: dict[int, str] = {}
        owed: list[ChatSettings] = []
        for chat_id in chat_ids:
            chat = found.get(chat_id)
            if chat is None or not chat.owes_push(now):
                skipped[chat_id] = "not due"
            else:
                owed.append(chat)
        won = self.claim([(c.chat_id, c.local_date(now)) for c in owed], now)
        private = [c for c in owed if c.chat_id in won and not c.is_group]
        started: dict[int, Started | str] = {}
        try:
            started.update(zip([c.chat_id for c in private], self._open(private, now), strict=True))
        except Exception:
            logger.warning("planning %d pushes at once failed", len(private), exc_info=True)
            for chat in private:
                try:
                    started[chat.chat_id] = self._open([chat], now)[0]
                except Exception as exc:
                    started[chat.chat_id] = repr(exc)
        planned: list[PlannedPush] = []
        for chat in owed:
            day = chat.local_date(now)
            if chat.chat_id not in won:
                skipped[chat.chat_id] = "already pushed"
            elif chat.is_group:
                planned.append(PlannedPush(chat, day))
            else:
                outcome = started[chat.chat_id]
                if isinstance(outcome, str):
                    planned.append(PlannedPush(chat, day, error=outcome))
                else:
                    planned.append(PlannedPush(chat, day, outcome))
        return planned, skipped

    def _open(self, private: Sequence[ChatSettings], now: datetime) -> list[Started]:
        """The daily sessions of private chats (a private chat's id is its user's)."""
        requests = [
            SessionRequest(
                c.daily_size, c.tz, telegram_id=c.chat_id, chat_id=c.chat_id, kind="push"
            )
            for c in private
        ]
        return self.study.start_sessions(requests, now, NUDGE_AFTER)

    def finish(
        self,
        outcomes: Sequence[tuple[int, date, str, int, str]],
        placed: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Record how claimed pushes went: (chat, day, status, items sent, detail) each; a
        status other than "claimed" ends the claim for good (see storage.repo.pushes). With
        them, the message that carries each pushed session's buttons: (session, message)."""
        with self.sessions.begin() as db:
            pushes.finish(db, outcomes)
            sessions.set_messages(db, placed)

    def recent_claims(self, since: date) -> dict[tuple[int, date], tuple[str, datetime]]:
        """(chat, local date) -> (status, lease end) of every push claimed since ``since``."""
        with self.sessions.begin() as db:
            return pushes.recent(db, since)
