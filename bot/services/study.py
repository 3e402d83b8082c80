"""Use-cases shared by the Telegram bot and the terminal mode. Each method owns its transaction.

Every rating is committed before the next item is returned, so a crash loses nothing already
rated. A rating carries the session and the position it answers; (session, position) is unique
in the database, so a repeated press or a replayed update records one review.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from weakref import WeakKeyDictionary

from fsrs import Scheduler
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core.content import Catalog, Item
from bot.core.plan import Phase, countdown, exam_phase, new_allowance, plan_phase
from bot.core.search import FIND_LIMIT, find_items, item_by_id
from bot.core.srs import (
    CardSnapshot,
    Grade,
    Selection,
    grade,
    make_scheduler,
    retrievability,
    select_items,
)
from bot.core.stats import (
    SessionResult,
    Stats,
    category_progress,
    daily_ratings,
    due_counts,
    due_forecast,
    local_midnight,
    streak,
)
from bot.storage import repo
from bot.storage.models import Review, StudySession, User

logger = logging.getLogger(__name__)
MAX_SESSION_ITEMS = 100
CHANGE_WINDOW = timedelta(minutes=10)
LEECH_LAPSES = 4  # rated "no idea" this often after it was first learned: a leech


@dataclass(frozen=True)
class Scheduling:
    """The scheduling knobs of Settings that the services need."""

    desired_retention: float = 0.9
    max_interval_days: int = 60
    fuzzing: bool = True
    new_per_day: int = 15
    type_weights: Mapping[str, float] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Scheduling:
        return cls(
            desired_retention=settings.desired_retention,
            max_interval_days=settings.max_interval_days,
            fuzzing=settings.fuzzing,
            new_per_day=settings.new_per_day,
            type_weights=settings.type_weights,
        )


@dataclass(frozen=True)
class Started:
    session_id: int
    size: int
    notice: str
    selection: Selection


@dataclass(frozen=True)
class Current:
    """The item a session is at."""

    session_id: int
    position: int  # index into the queue; what a rating must name
    number: int  # 1-based, for "3/10"
    total: int
    item: Item
    retry: bool
    lead: str = ""  # shown above the first item of a daily push ("12 items due today")
    hint: str = ""  # for a leech: what to work through


@dataclass(frozen=True)
class Learner:
    """What choosing a session reads of one learner."""

    user_id: int
    exam_date: date | None
    nudged_at: datetime | None
    cards: dict[str, CardSnapshot]
    hidden: set[str]  # suspended, or skipped until later


@dataclass(frozen=True)
class DailyRequest:
    """A private chat's daily push to plan: its learner is the chat's Telegram user."""

    chat_id: int
    size: int
    tz: tzinfo


@dataclass(frozen=True)
class Daily:
    """A planned daily push: the session (``session_id`` 0 when nothing is due) and its
    first item."""

    user_id: int
    started: Started
    first: Current | None = None


@dataclass(frozen=True)
class Answered:
    recorded: bool
    reason: str = ""  # why nothing was recorded: "finished", "stale", "duplicate", "foreign"
    interval_days: float = 0.0
    retry_added: bool = False
    review_id: int = 0


@dataclass(frozen=True)
class Progress:
    """Where a learner stands: interview countdown or plan, coverage, recall, leeches."""

    exam: date | None
    phase: Phase | None
    seen: int
    total: int
    mean_recall: float
    leeches: list[tuple[Item, int]]


@dataclass(frozen=True)
class Summary:
    ratings: dict[int, int]
    seconds: float
    due_tomorrow: int
    streak_days: int
    reviewed: int
    planned: int


def _due_line(sel: Selection) -> str:
    """The line that opens a daily push."""
    due = f"{sel.due} item{'s' if sel.due != 1 else ''} due today"
    return f"{due} and {sel.new} new." if sel.new else f"{due}."


# A session re-reads the content folders (new and changed items are picked up without a
# restart); that stats every item file, about 2 ms, so it happens at most once a second.
CONTENT_CHECK_SECONDS = 1.0
_content_checked: WeakKeyDictionary[Catalog, float] = WeakKeyDictionary()


def _refresh(catalog: Catalog) -> None:
    now = time.monotonic()
    if now - _content_checked.get(catalog, -CONTENT_CHECK_SECONDS) >= CONTENT_CHECK_SECONDS:
        catalog.refresh()
        _content_checked[catalog] = now


class StudyService:
    """The study engine's use-cases over one database and one catalog."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        scheduling: Scheduling | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.scheduling = scheduling or Scheduling()
        self.scheduler: Scheduler = make_scheduler(
            self.scheduling.desired_retention,
            self.scheduling.max_interval_days,
            self.scheduling.fuzzing,
        )
        self.weights = dict(
            self.scheduling.type_weights
            or {"concept": 0.7, "quiz": 0.2, "deep": 0.05, "derive": 0.05}
        )

    # Users ---------------------------------------------------------------------------------

    def local_user(self, name: str, now: datetime) -> int:
        """The id of the terminal user ``name``, created on first use."""
        with self.sessions.begin() as db:
            user = repo.user_by_local_name(db, name) or repo.add_user(db, now, local_name=name)
            return user.id

    def telegram_user(self, telegram_id: int, first_name: str, now: datetime) -> int:
        """The id of a Telegram user, created on first contact (first name kept current)."""
        with self.sessions.begin() as db:
            return self._telegram_user(db, telegram_id, first_name, now)

    @staticmethod
    def _telegram_user(db: Session, telegram_id: int, first_name: str, now: datetime) -> int:
        # Every update asks: a plain query answers the usual case, a known name unchanged.
        known = repo.telegram_user_name(db, telegram_id)
        if known is not None and (not first_name or known[1] == first_name):
            return known[0]
        user = repo.user_by_telegram_id(db, telegram_id)
        if user is None:
            try:
                with db.begin_nested():
                    user = repo.add_user(db, now, telegram_id=telegram_id, first_name=first_name)
            except IntegrityError:  # created concurrently by another update
                user = repo.user_by_telegram_id(db, telegram_id)
                assert user is not None
        elif first_name and user.first_name != first_name:
            user.first_name = first_name
        return user.id

    # Sessions ------------------------------------------------------------------------------

    def start_session(
        self,
        user_id: int,
        n: int,
        now: datetime,
        tz: tzinfo,
        *,
        item_type: str | None = None,
        chat_id: int | None = None,
        kind: str = "study",
        explicit: bool = True,
        category: str | None = None,
    ) -> Started:
        """Choose up to ``n`` items and open a session (closing the user's open one here).

        The learner's interview date (or place in the six-week plan) shapes the mix; a drill
        (``category``) takes items of one category, due or not. A session with no items is not
        stored; its ``session_id`` is 0.
        """
        _refresh(self.catalog)
        with self.sessions.begin() as db:
            exam_date, nudged_at = repo.user_plan(db, user_id)
            marks = repo.item_marks(db, user_id, now)
            learner = Learner(
                user_id, exam_date, nudged_at, repo.cards_for(db, user_id, marks[0]), marks[1]
            )
            selection, notice = self._choose(
                learner, n, now, tz, item_type=item_type, explicit=explicit, category=category
            )
            # The writes come last: on SQLite the first one takes the database's write lock
            # until the commit, and everyone else's writes wait.
            repo.cancel_active_sessions(db, user_id, chat_id, now)
            if not selection.item_ids:
                return Started(0, 0, notice, selection)
            values = repo.session_values(
                user_id=user_id,
                chat_id=chat_id,
                kind=kind,
                item_type=item_type,
                item_ids=selection.item_ids,
                notice=notice,
                now=now,
            )
            (session_id,) = repo.add_sessions(db, [values])
            return Started(session_id, len(selection.item_ids), notice, selection)

    def _choose(
        self,
        learner: Learner,
        n: int,
        now: datetime,
        tz: tzinfo,
        *,
        item_type: str | None = None,
        explicit: bool = True,
        category: str | None = None,
    ) -> tuple[Selection, str]:
        """The items of a session and its notice: the decision of ``start_session``."""
        n = max(1, min(n, MAX_SESSION_ITEMS))
        cards, hidden = learner.cards, learner.hidden
        midnight = local_midnight(now, tz)
        seen_today = sum(1 for c in cards.values() if c.first_seen >= midnight)
        phase = None if category else self._phase(learner.exam_date, cards, now, tz)
        items = self.catalog.in_curriculum_order()
        if category:
            items = [i for i in items if i.category == category]
        if phase is not None and not phase.new_items:
            hidden = hidden | {i.id for i in items if i.id not in cards}
        unseen = sum(1 for i in items if i.type == "concept" and i.id not in cards)
        if phase is not None and phase.max_items:
            n = min(n, phase.max_items)
        scheduler = self.scheduler
        selection = select_items(
            items,
            cards,
            now,
            n,
            recall=lambda c: retrievability(scheduler, c, now),
            weights=(phase.weights if phase and phase.weights else self.weights),
            # A drill takes studied items before new ones, and new ones regardless of the
            # day's allowance (it was asked for explicitly, for one category).
            new_allowance=0
            if category
            else new_allowance(phase, self.scheduling.new_per_day, seen_today, unseen),
            item_type=item_type or (phase.item_type if phase else None),
            explicit=explicit,
            hidden=hidden,
            new_only_from=phase.new_categories if phase else (),
            prefer_seen=category is not None,
        )
        notice = self._notice(selection, n) if explicit else _due_line(selection)
        if category:
            notice = "" if selection.item_ids else f"no items in {category}"
        if not explicit and phase is not None and phase.days_left is not None:
            notice = f"{countdown(phase)}\n{notice}"
        return selection, notice

    def start_daily_sessions(
        self, requests: Sequence[DailyRequest], now: datetime, nudge_after: timedelta
    ) -> dict[int, Daily]:
        """Open the daily-push sessions of many private chats at once; chat id -> outcome.

        What ``start_session`` (``kind="push"``, never past the new-item cap) does for one
        learner, this does for a batch in one transaction with a handful of statements: the
        learners' users, cards and marks are read with one query each, and the sessions are
        written with one INSERT. A learner with items due who has not studied for
        ``nudge_after`` gets a short nudge above them, and no other until they study again.
        Each outcome carries the session's first item, so the push needs no further query.
        """
        _refresh(self.catalog)
        out: dict[int, Daily] = {}
        with self.sessions.begin() as db:
            users = repo.users_by_telegram_ids(db, [r.chat_id for r in requests])
            for r in requests:  # a chat whose user the bot never met (rare): made here
                if r.chat_id not in users:
                    uid = self._telegram_user(db, r.chat_id, "", now)
                    users[r.chat_id] = (uid, None, None)
            uids = [users[r.chat_id][0] for r in requests]
            marks = repo.marks_of_many(db, uids, now)
            cards = repo.cards_of_many(db, uids, {u: m[0] for u, m in marks.items()})
            chosen: list[tuple[DailyRequest, Learner, Selection, str]] = []
            for r in requests:
                uid, exam_date, nudged_at = users[r.chat_id]
                learner = Learner(uid, exam_date, nudged_at, cards[uid], marks[uid][1])
                selection, notice = self._choose(learner, r.size, now, r.tz, explicit=False)
                chosen.append((r, learner, selection, notice))
            last = repo.last_reviews(db, [c[1].user_id for c in chosen if c[2].due])
            nudged: list[int] = []
            opened: list[tuple[DailyRequest, Learner, Selection, str]] = []
            for r, learner, selection, notice in chosen:
                seen = last.get(learner.user_id)
                if (
                    selection.due
                    and seen is not None
                    and now - seen >= nudge_after
                    and (learner.nudged_at is None or learner.nudged_at < seen)
                ):
                    notice = (
                        f"It's been {(now - seen).days} days since your last review. Five "
                        f"minutes now keeps what you learned.\n{notice}"
                    )
                    nudged.append(learner.user_id)
                if selection.item_ids:
                    opened.append((r, learner, selection, notice))
                else:
                    out[r.chat_id] = Daily(learner.user_id, Started(0, 0, notice, selection))
            # The writes come last (see start_session): one statement each.
            pairs = [(u, r.chat_id) for r, u in zip(requests, uids, strict=True)]
            repo.cancel_active_in_chats(db, pairs, now)
            ids = repo.add_sessions(
                db,
                [
                    repo.session_values(
                        user_id=learner.user_id,
                        chat_id=r.chat_id,
                        kind="push",
                        item_type=None,
                        item_ids=selection.item_ids,
                        notice=notice,
                        now=now,
                    )
                    for r, learner, selection, notice in opened
                ],
            )
            repo.set_nudged(db, nudged, now)
        for (r, learner, selection, notice), session_id in zip(opened, ids, strict=True):
            item = self.catalog.get(selection.item_ids[0])
            assert item is not None
            card = learner.cards.get(item.id)
            size = len(selection.item_ids)
            first = Current(
                session_id,
                0,
                1,
                size,
                item,
                retry=False,
                lead=notice,
                hint=self._leech_hint(item, card.lapses) if card is not None else "",
            )
            started = Started(session_id, size, notice, selection)
            out[r.chat_id] = Daily(learner.user_id, started, first)
        return out

    def _phase(
        self,
        exam_date: date | None,
        cards: Mapping[str, CardSnapshot],
        now: datetime,
        tz: tzinfo,
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

    def _notice(self, sel: Selection, asked: int) -> str:
        parts = []
        if sel.past_cap:
            parts.append(
                f"{sel.past_cap} new item(s) beyond today's limit of "
                f"{self.scheduling.new_per_day}, since nothing else was left"
            )
        if sel.ahead:
            parts.append(f"{sel.ahead} item(s) reviewed ahead of schedule")
        if len(sel.item_ids) < asked:
            parts.append(f"only {len(sel.item_ids)} of the {asked} items asked for are available")
        return "; ".join(parts)

    def find(self, words: Sequence[str], limit: int = FIND_LIMIT) -> list[Item]:
        """Items matching every word (``search.find_items``), with file changes picked up."""
        self.catalog.refresh()
        return find_items(self.catalog, words, limit)

    def item(self, item_id: str) -> Item | None:
        """The item with this id (any case), or None, with file changes picked up."""
        self.catalog.refresh()
        return item_by_id(self.catalog, item_id)

    def start_item_session(
        self, user_id: int, item_id: str, now: datetime, chat_id: int | None = None
    ) -> Started:
        """Open a one-item session (kind "item"), due or not; closes the user's open one here.

        Raises:
            KeyError: when there is no such item (look it up with ``item`` first).
        """
        item = self.item(item_id)
        if item is None:
            raise KeyError(item_id)
        with self.sessions.begin() as db:
            repo.cancel_active_sessions(db, user_id, chat_id, now)
            values = repo.session_values(
                user_id=user_id,
                chat_id=chat_id,
                kind="item",
                item_type=None,
                item_ids=[item.id],
                notice="",
                now=now,
            )
            (session_id,) = repo.add_sessions(db, [values])
            return Started(session_id, 1, "", Selection((item.id,)))

    def current(self, session_id: int) -> Current | None:
        """The item the session is at, or None when it is finished (or unknown)."""
        with self.sessions.begin() as db:
            return self._current(db, session_id)

    def _current(
        self,
        db: Session,
        session_id: int,
        state: repo.SessionState | None = None,
        known: Mapping[str, CardSnapshot | None] | None = None,
    ) -> Current | None:
        """``current`` inside a transaction (``state``: the session, when already read;
        ``known``: cards already read, by item id, None for an item never seen)."""
        row = state or repo.session_state(db, session_id)
        if row is None or row.status != "active":
            return None
        queue = row.queue.split(",")
        # Items removed from the content since the session started are passed over.
        position = row.position
        while position < len(queue) and queue[position] not in self.catalog:
            position += 1
        if position != row.position:
            repo.move_session(db, session_id, position)
        if position >= len(queue):
            return None
        item = self.catalog.get(queue[position])
        assert item is not None
        if known is not None and item.id in known:
            card = known[item.id]
            lapses = None if card is None else card.lapses
        else:
            lapses = repo.card_lapses(db, row.user_id, item.id)
        return Current(
            session_id,
            position,
            position + 1,
            len(queue),
            item,
            retry=position >= row.retry_from,
            lead=row.notice if row.kind == "push" and position == 0 else "",
            hint=self._leech_hint(item, lapses) if lapses is not None else "",
        )

    @staticmethod
    def _check(row: Any, position: int, user_id: int | None, telegram_id: int | None = None) -> str:
        """Why a press on (session, position) by ``user_id`` (or the Telegram user
        ``telegram_id``) must be refused, or ""."""
        if row is None:
            return "unknown"
        if user_id is not None and row.user_id != user_id:
            return "foreign"
        if telegram_id is not None and row.telegram_id != telegram_id:
            return "foreign"
        if row.status != "active":
            return "finished"
        if position != row.position:
            return "duplicate" if position < row.position else "stale"
        return ""

    def reveal(self, session_id: int, position: int, user_id: int | None = None) -> str:
        """Claim the reveal of the current item's answer; "" when this call claimed it.

        Returns the refusal reason otherwise ("revealed" when it was already shown).
        """
        with self.sessions.begin() as db:
            # One statement in the usual case; the reason for a refusal is looked up after.
            if repo.claim_reveal(db, session_id, position, user_id):
                return ""
            row = repo.get_session(db, session_id, lock=True)
            return self._check(row, position, user_id) or "revealed"

    def reveal_current(
        self, session_id: int, position: int, telegram_id: int
    ) -> tuple[str, Current | None]:
        """``reveal`` for the Telegram user ``telegram_id``, and the item whose answer is
        shown, in one transaction: ("", item) or (refusal reason, None)."""
        with self.sessions.begin() as db:
            claimed, state = repo.claim_reveal_state(db, session_id, position, telegram_id)
            if claimed:
                return "", self._current(db, session_id, state)
            row = repo.answer_state(db, session_id)
            return self._check(row, position, None, telegram_id) or "revealed", None

    def answer(
        self,
        session_id: int,
        position: int,
        rating: int,
        now: datetime,
        seconds: float | None = None,
        user_id: int | None = None,
        tz: tzinfo = UTC,
    ) -> Answered:
        """Record a rating for the item at ``position``; then the session moves on.

        Nothing is recorded when the session is over or belongs to someone else, the position
        is not the current one, its answer was not revealed, or the same answer was already
        recorded. ``seconds`` defaults to the time since the item was shown.
        """
        return self._answer(session_id, position, rating, now, seconds, user_id, None, tz)[0]

    def answer_next(
        self,
        session_id: int,
        position: int,
        rating: int,
        now: datetime,
        telegram_id: int,
        tz: tzinfo,
    ) -> tuple[Answered, Current | None]:
        """``answer`` for the Telegram user ``telegram_id``, and the item that comes next (None
        when the session is over or nothing was recorded), in one transaction."""
        return self._answer(session_id, position, rating, now, None, None, telegram_id, tz, True)

    def _answer(
        self,
        session_id: int,
        position: int,
        rating: int,
        now: datetime,
        seconds: float | None,
        user_id: int | None,
        telegram_id: int | None,
        tz: tzinfo,
        then_next: bool = False,
    ) -> tuple[Answered, Current | None]:
        # Every press runs this: plain statements, no ORM objects (see repo.answer_state).
        rating = Grade(rating)
        try:
            with self.sessions.begin() as db:
                row = repo.answer_state(db, session_id, lock=True)
                reason = self._check(row, position, user_id, telegram_id)
                if reason:
                    return Answered(False, reason), None
                assert row is not None
                if row.revealed != position:  # ratings come after the answer was shown
                    return Answered(False, "hidden"), None
                if seconds is None and row.shown_at is not None:
                    seconds = round(min((now - row.shown_at).total_seconds(), 3600.0), 1)
                queue = row.queue.split(",")
                item_id = queue[position]
                # The rated card, and the next item's (for its leech hint), in one query.
                wanted = queue[position : position + 2] if then_next else [item_id]
                cards = repo.cards_of(db, row.user_id, wanted)
                card = cards.get(item_id)
                updated, interval = grade(self.scheduler, card, item_id, rating, now)
                updated, interval = self._limit_due(
                    row.exam_date, row.kind, card, updated, interval, now, tz
                )
                review_id = repo.insert_review(
                    db,
                    user_id=row.user_id,
                    item_id=item_id,
                    chat_id=row.chat_id,
                    session_id=session_id,
                    position=position,
                    rating=int(rating),
                    now=now,
                    seconds=seconds,
                    interval_days=interval,
                )
                repo.write_card(db, row.user_id, updated, new=card is None)
                retry = rating == Grade.NO_IDEA and position < row.retry_from
                if retry:  # one more look at the end of this session
                    queue.append(item_id)
                done = position + 1 >= len(queue)
                repo.advance_session(db, session_id, position + 1, ",".join(queue), now, done)
                answered = Answered(
                    True, interval_days=interval, retry_added=retry, review_id=review_id
                )
                if not then_next or done:
                    return answered, None
                moved = row._replace(position=position + 1, queue=",".join(queue))
                known: dict[str, CardSnapshot | None] = {i: cards.get(i) for i in wanted}
                known[item_id] = updated
                return answered, self._current(db, session_id, moved, known)
        except IntegrityError:
            return Answered(False, "duplicate"), None

    @staticmethod
    def _limit_due(
        exam_date: date | None,
        kind: str,
        before: CardSnapshot | None,
        after: CardSnapshot,
        interval: float,
        now: datetime,
        tz: tzinfo,
    ) -> tuple[CardSnapshot, float]:
        """Two limits on the next due date.

        With an interview date, no interval reaches past the interview day. A drill review of
        an item already reviewed today is recorded but never pushes its due date later.
        """
        due = after.due
        if exam_date is not None:
            exam_start = datetime.combine(exam_date, datetime.min.time(), tzinfo=tz)
            if now < exam_start < due:
                due = exam_start
        if (
            kind == "drill"
            and before is not None
            and before.last_review is not None
            and before.last_review.astimezone(tz).date() == now.astimezone(tz).date()
        ):
            due = min(due, before.due)
        if due == after.due:
            return after, interval
        return replace(after, due=due), (due - now).total_seconds() / 86400

    @staticmethod
    def _advance(row: StudySession, now: datetime) -> None:
        row.position += 1
        row.shown_at = now
        if row.position >= len(row.queue.split(",")):
            row.status, row.finished_at = "finished", now

    def skip(
        self,
        session_id: int,
        position: int,
        now: datetime,
        user_id: int | None = None,
        tz: tzinfo = UTC,
        suspend: bool = False,
    ) -> str:
        """Move past the current item without a rating; "" when skipped, else the reason.

        A skipped item comes back tomorrow (local); with ``suspend`` ("know it cold") it does
        not come back until the learner brings it back.
        """
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id, lock=True)
            reason = self._check(row, position, user_id)
            if reason:
                return reason
            assert row is not None
            item_id = row.queue.split(",")[position]
            if suspend:
                repo.mark(db, row.user_id, item_id, suspended=True)
            else:
                repo.mark(db, row.user_id, item_id, snoozed_until=local_midnight(now, tz, 1))
            self._advance(row, now)
            return ""

    def set_suspended(self, user_id: int, item_id: str, suspended: bool) -> bool:
        """Suspend an item for this learner, or bring it back; False for an unknown item."""
        if item_id not in self.catalog:
            return False
        with self.sessions.begin() as db:
            repo.mark(db, user_id, item_id, suspended=suspended)
            return True

    def suspended_items(self, user_id: int) -> list[Item]:
        """The learner's suspended items, in curriculum order."""
        with self.sessions.begin() as db:
            off = repo.suspended_ids(db, user_id)
        return [i for i in self.catalog.in_curriculum_order() if i.id in off]

    def last_review(self, session_id: int, position: int) -> int:
        """The id of the review recorded for (session, position), or 0."""
        with self.sessions.begin() as db:
            found = db.scalar(
                select(Review.id).where(
                    Review.session_id == session_id, Review.position == position
                )
            )
            return int(found or 0)

    def change_rating(self, review_id: int, user_id: int, rating: int, now: datetime) -> str:
        """Replace a rating given in the last 10 minutes; "" when changed, else the reason.

        Only the learner's latest review of that item can change; the card is recomputed from
        the whole review history, not patched.
        """
        grade_ = Grade(rating)
        with self.sessions.begin() as db:
            review = db.get(Review, review_id)
            if review is None or review.user_id != user_id:
                return "unknown"
            if now - review.reviewed_at > CHANGE_WINDOW:
                return "expired"
            latest = db.scalar(
                select(func.max(Review.id)).where(
                    Review.user_id == user_id, Review.item_id == review.item_id
                )
            )
            if latest != review.id:
                return "expired"
            if review.rating == int(grade_):
                return "same"
            review.rating = int(grade_)
            db.flush()
            self.rebuild_card(db, user_id, review.item_id)
            return ""

    def rebuild_card(self, db: Session, user_id: int, item_id: str) -> None:
        """Recompute a card from its whole review history (after a rating changed)."""
        reviews = list(
            db.scalars(
                select(Review)
                .where(Review.user_id == user_id, Review.item_id == item_id)
                .order_by(Review.reviewed_at, Review.id)
            )
        )
        card = None
        for review in reviews:
            card, interval = grade(
                self.scheduler, card, item_id, Grade(review.rating), review.reviewed_at
            )
            review.interval_days = interval
        if card is not None:
            repo.save_card(db, user_id, card)

    def active_session(self, user_id: int, chat_id: int | None) -> int:
        """The id of the user's open session in this chat, or 0."""
        with self.sessions.begin() as db:
            rows = repo.active_sessions(db, user_id, chat_id)
            return max((r.id for r in rows), default=0)

    def close(self, session_id: int, now: datetime, status: str = "finished") -> bool:
        """End a session early (``finished`` keeps it in the history, ``cancelled`` does too)."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id, lock=True)
            if row is None or row.status != "active":
                return False
            row.status, row.finished_at = status, now
            return True

    def summary(self, session_id: int, now: datetime, tz: tzinfo) -> Summary:
        """Counts per rating, time spent, items due tomorrow and the day streak."""
        with self.sessions.begin() as db:
            row = repo.get_session(db, session_id)
            if row is None:
                raise KeyError(session_id)
            reviews = repo.session_reviews(db, session_id)
            counts = Counter(r.rating for r in reviews)
            end = row.finished_at or now
            cards = repo.cards_for(db, row.user_id).values()
            times = repo.review_times(db, row.user_id, since=now - timedelta(days=400))
        return Summary(
            ratings={g: counts.get(g, 0) for g in (1, 2, 3)},
            seconds=max((end - row.started_at).total_seconds(), 0.0),
            due_tomorrow=due_counts(cards, now, tz).tomorrow,
            streak_days=streak(times, now, tz).current,
            reviewed=len(reviews),
            planned=row.retry_from,
        )

    # Stats and reset -------------------------------------------------------------------------

    def stats(self, user_id: int, now: datetime, tz: tzinfo) -> Stats:
        """Everything /stats and `studybot stats` show, for one learner."""
        self.catalog.refresh()
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            cards = repo.cards_for(db, user_id)
            recent = repo.recent_sessions(db, user_id, 5)
            by_session = repo.ratings_by_session(db, [s.id for s in recent])
            n_reviews = repo.count_reviews(db, user_id)
            n_sessions = repo.count_finished_sessions(db, user_id)
            month = repo.reviews_since(db, user_id, local_midnight(now, tz, -29))
            times = repo.review_times(db, user_id, since=now - timedelta(days=400))
        live = {k: v for k, v in cards.items() if k in self.catalog}
        results = [
            SessionResult(
                s.started_at,
                len(by_session[s.id]),
                {g: by_session[s.id].count(g) for g in (1, 2, 3)},
            )
            for s in recent
        ]
        return Stats(
            total_items=len(items),
            studied=len(live),
            reviews=n_reviews,
            sessions=n_sessions,
            streak=streak(times, now, tz),
            recent=results,
            due=due_counts(live.values(), now, tz),
            categories=category_progress(items, live),
            daily=daily_ratings(month, now, tz),
            forecast=due_forecast(live.values(), now, tz),
        )

    def reset(self, user_id: int) -> int:
        """Delete a learner's progress (cards, reviews, sessions); return reviews deleted."""
        with self.sessions.begin() as db:
            return repo.delete_progress(db, user_id)

    # Interview date, plan, weak spots ---------------------------------------------------------

    def set_exam(self, user_id: int, exam: date | None, now: datetime, tz: tzinfo) -> None:
        """Set (or clear) the interview date.

        Raises:
            ValueError: for a date in the past.
        """
        if exam is not None and exam < now.astimezone(tz).date():
            raise ValueError("that date is in the past")
        with self.sessions.begin() as db:
            user = db.get(User, user_id)
            assert user is not None
            user.exam_date = exam

    def progress(self, user_id: int, now: datetime, tz: tzinfo) -> Progress:
        """Interview countdown or plan position, share of items seen, and estimated recall.

        The estimated recall of the whole catalog is the mean FSRS retrievability over every
        item, counting items never seen as 0.
        """
        self.catalog.refresh()
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            user = db.get(User, user_id)
            cards = repo.cards_for(db, user_id)
            exam = user.exam_date if user is not None else None
            phase = self._phase(exam, cards, now, tz)
        recall = [
            retrievability(self.scheduler, cards[i.id], now) if i.id in cards else 0.0
            for i in items
        ]
        seen = sum(1 for i in items if i.id in cards)
        leeches = [
            (i, cards[i.id].lapses)
            for i in items
            if i.id in cards and cards[i.id].lapses >= LEECH_LAPSES
        ]
        return Progress(
            exam=exam,
            phase=phase,
            seen=seen,
            total=len(items),
            mean_recall=sum(recall) / len(recall) if recall else 0.0,
            leeches=leeches,
        )

    def weak_spots(
        self, user_id: int, now: datetime
    ) -> tuple[list[tuple[str, float, int]], list[tuple[Item, float]]]:
        """The five categories and the ten studied items with the lowest recall now."""
        self.catalog.refresh()
        with self.sessions.begin() as db:
            cards = repo.cards_for(db, user_id)
        by_category: dict[str, list[float]] = {}
        items: list[tuple[Item, float]] = []
        for item in self.catalog.in_curriculum_order():
            card = cards.get(item.id)
            if card is None or card.suspended:
                continue
            r = retrievability(self.scheduler, card, now)
            items.append((item, r))
            by_category.setdefault(item.category, []).append(r)
        categories = sorted(
            ((c, sum(v) / len(v), len(v)) for c, v in by_category.items()), key=lambda row: row[1]
        )
        return categories[:5], sorted(items, key=lambda row: (row[1], row[0].id))[:10]

    def _leech_hint(self, item: Item, lapses: int) -> str:
        """For an item the learner keeps forgetting (a leech): what to work through."""
        if lapses < LEECH_LAPSES:
            return ""
        deep = [i for i in self.catalog.in_curriculum_order() if i.type == "deep" and i != item]
        related = next((i for i in deep if set(i.tags) & set(item.tags)), None) or next(
            (i for i in deep if i.category == item.category), None
        )
        hint = f"This one keeps slipping ({lapses} times “no idea”)."
        if related is not None:
            return f"{hint} Work through {related.id} “{related.title}” (/item {related.id})."
        return f"{hint} Work through its follow-up questions after the answer."
