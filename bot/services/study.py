"""Studying: sessions chosen, questions shown, answers revealed, ratings recorded.

One path per use case, shared by the Telegram bot, the terminal and the daily push. Each method
owns its transaction. Every rating is committed before the next item is returned, so a crash
loses nothing already rated. A rating names the session and the position it answers;
(session, position) is unique in the database, so a repeated press or a replayed update
records one review.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import NamedTuple

from fsrs import Scheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import DEFAULT_WEIGHTS, Settings
from bot.core.attempt import Attempt, check_attempt
from bot.core.content import Catalog, Item
from bot.core.plan import LEECH_LAPSES, leech_hint
from bot.core.search import FIND_LIMIT, find_items, item_by_id
from bot.core.selection import Learner, Mix, Selection, choose
from bot.core.srs import CardSnapshot, Grade, make_scheduler, preview_intervals, retrievability
from bot.core.stats import due_counts, local_midnight, streak
from bot.services.reviews import rebuild_card, record_review
from bot.storage.repo import cards, reviews, sessions, users
from bot.storage.repo.sessions import SessionState

CHANGE_WINDOW = timedelta(minutes=10)
# How long a press's claim to send the next question stands: a send takes well under this; a
# claim older than this whose send never landed (the process died) is taken over by the next
# press of the same button, or by the same press redelivered after a restart.
PRESENT_LEASE = timedelta(seconds=5)
# A session re-reads the content folders (new and changed items are picked up without a
# restart); that stats every item file, about 2 ms, so it happens at most once a second.
CONTENT_CHECK_SECONDS = 1.0


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
class SessionRequest:
    """A session to open: for a learner (``user_id``), or for the Telegram user
    ``telegram_id`` (a private chat's daily push; the learner is created when new)."""

    n: int
    tz: tzinfo
    user_id: int = 0
    telegram_id: int = 0
    chat_id: int | None = None
    kind: str = "study"  # study, push, drill, item
    item_type: str | None = None
    category: str | None = None  # a drill of one category


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
    # At a reveal: the days until the item comes back after each rating (1, 2, 3), from fsrs
    # for this card now; a 1 before the session's retries brings it back in this session.
    intervals: tuple[float, ...] = ()
    again_today: bool = False
    message_id: int | None = None  # the chat message that shows it with live buttons
    answer_shown: bool = False


@dataclass(frozen=True)
class Started:
    """An opened session (``session_id`` 0 when there was nothing to study) and its first
    item."""

    session_id: int
    size: int
    notice: str
    selection: Selection
    user_id: int = 0
    first: Current | None = None
    # The sessions this one replaced (the learner's open one in the chat): their messages'
    # buttons are taken away.
    ended: tuple[sessions.Ended, ...] = ()


class Revealed(NamedTuple):
    """A reveal: ``refusal`` "" and the item whose answer to show, or why not. ``again``: the
    answer was shown before (a repeated press, or one redelivered after a crash): show it
    again, in the same place, without recording anything."""

    refusal: str
    current: Current | None = None
    again: bool = False


@dataclass(frozen=True)
class Answered:
    """What a rating press did, and what the chat should be sent now."""

    recorded: bool
    reason: str = ""  # why nothing was recorded: "finished", "stale", "duplicate", "foreign"
    interval_days: float = 0.0
    retry_added: bool = False
    review_id: int = 0
    rating: int = 0  # the rating on record for the pressed item
    next: Current | None = None  # the item that comes next (None: the session is over)
    # Send the next item (or the summary) and the rated item's new buttons: always after a
    # recorded rating; after a repeated press only when its first handling never got that far
    # (the process died between the commit and the send).
    present: bool = False


@dataclass(frozen=True)
class Typed:
    """Text typed in a chat: ``status`` "none" (no session open there), "revealed" (the answer
    is shown: the buttons rate it) or "checked": the answer is revealed now, and ``attempt``
    says which key points the text covered."""

    status: str
    current: Current | None = None
    attempt: Attempt | None = None


@dataclass(frozen=True)
class Summary:
    position: int  # where the session ended
    ratings: dict[int, int]
    seconds: float
    due_tomorrow: int
    streak_days: int
    reviewed: int
    planned: int


def check_press(
    state: SessionState | None,
    position: int,
    user_id: int | None = None,
    telegram_id: int | None = None,
) -> str:
    """Why a press on (session, position) by ``user_id`` (or the Telegram user
    ``telegram_id``) must be refused, or ""."""
    if state is None:
        return "unknown"
    if user_id is not None and state.user_id != user_id:
        return "foreign"
    if telegram_id is not None and state.telegram_id != telegram_id:
        return "foreign"
    if state.status != "active":
        return "finished"
    if position != state.position:
        return "duplicate" if position < state.position else "stale"
    return ""


class StudyService:
    """The study engine's use cases over one database and one catalog."""

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
        # The intervals shown on the rating buttons: the same scheduler without its fuzz.
        self.preview_scheduler: Scheduler = make_scheduler(
            self.scheduling.desired_retention, self.scheduling.max_interval_days, fuzzing=False
        )

    @property
    def mix(self) -> Mix:
        """The type weights and the daily allowance of new items."""
        weights = dict(self.scheduling.type_weights or DEFAULT_WEIGHTS)
        return Mix(weights=weights, new_per_day=self.scheduling.new_per_day)

    # Learners ------------------------------------------------------------------------------

    def local_user(self, name: str, now: datetime) -> int:
        """The id of the terminal user ``name``, created on first use."""
        with self.sessions.begin() as db:
            user = users.by_local_name(db, name) or users.add(db, now, local_name=name)
            return user.id

    def telegram_user(self, telegram_id: int, first_name: str, now: datetime) -> int:
        """The id of a Telegram user, created on first contact (first name kept current)."""
        with self.sessions.begin() as db:
            return self._telegram_user(db, telegram_id, first_name, now)

    @staticmethod
    def _telegram_user(db: Session, telegram_id: int, first_name: str, now: datetime) -> int:
        known = users.id_and_name(db, telegram_id)  # the usual case: known, name unchanged
        if known is not None and (not first_name or known[1] == first_name):
            return known[0]
        user = users.by_telegram_id(db, telegram_id)
        if user is None:
            try:
                with db.begin_nested():
                    user = users.add(db, now, telegram_id=telegram_id, first_name=first_name)
            except IntegrityError:  # created concurrently by another update
                user = users.by_telegram_id(db, telegram_id)
                assert user is not None
        elif first_name and user.first_name != first_name:
            user.first_name = first_name
        return user.id

    # Opening sessions ----------------------------------------------------------------------

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
        category: str | None = None,
    ) -> Started:
        """``start_sessions`` for one learner."""
        request = SessionRequest(
            n, tz, user_id, chat_id=chat_id, kind=kind, item_type=item_type, category=category
        )
        return self.start_sessions([request], now)[0]

    def start_sessions(
        self,
        requests: Sequence[SessionRequest],
        now: datetime,
        nudge_after: timedelta | None = None,
    ) -> list[Started]:
        """Choose the items of each request and open its session (closing the learner's open
        one in that chat), in one transaction; the results in the order of ``requests``.

        The learner's interview date (or place in the six-week plan) shapes the mix; a drill
        (``category``) takes items of one category, due or not; a daily push (kind "push")
        never goes past the day's new-item allowance or reviews ahead. A session with no items
        is not stored; its ``session_id`` is 0. A daily push to a learner with items due who
        has not studied for ``nudge_after`` opens with a short nudge, once until they study
        again. The learners' cards and marks are read with one query each whatever the number
        of requests: the daily push plans a batch of chats at a time.
        """
        self.catalog.refresh(max_age=CONTENT_CHECK_SECONDS)
        items = self.catalog.in_curriculum_order()
        with self.sessions.begin() as db:
            learners = self._learners(db, requests, now)
            chosen: list[tuple[Selection, str]] = []
            for r, learner in zip(requests, learners, strict=True):
                recall_now = self._recall(now)
                chosen.append(
                    choose(
                        items,
                        learner,
                        r.n,
                        now,
                        r.tz,
                        mix=self.mix,
                        recall=recall_now,
                        item_type=r.item_type,
                        explicit=r.kind != "push",
                        category=r.category,
                    )
                )
            nudged = self._nudges(db, requests, learners, chosen, now, nudge_after)
            # The writes come last: on SQLite the first one takes the database's write lock
            # until the commit, and everyone else's writes wait.
            ended = sessions.cancel_active(
                db, [(lr.user_id, r.chat_id) for r, lr in zip(requests, learners, strict=True)], now
            )
            opened = [k for k, (selection, _notice) in enumerate(chosen) if selection.item_ids]
            ids = sessions.add(
                db,
                [
                    sessions.values(
                        user_id=learners[k].user_id,
                        chat_id=requests[k].chat_id,
                        kind=requests[k].kind,
                        item_type=requests[k].item_type,
                        item_ids=chosen[k][0].item_ids,
                        notice=chosen[k][1],
                        now=now,
                    )
                    for k in opened
                ],
            )
            users.set_nudged(db, [learners[k].user_id for k in nudged], now)
        session_of = dict(zip(opened, ids, strict=True))
        ended_in = {(e.chat_id, e.user_id): e for e in ended}
        out = []
        for k, (learner, (selection, notice)) in enumerate(zip(learners, chosen, strict=True)):
            session_id = session_of.get(k, 0)
            first = None
            if session_id:
                item = self.catalog.get(selection.item_ids[0])
                assert item is not None
                card = learner.cards.get(item.id)
                first = self._at(session_id, 0, len(selection.item_ids), item, card, notice)
            size = len(selection.item_ids) if session_id else 0
            gone = ended_in.get((requests[k].chat_id, learner.user_id))
            out.append(
                Started(
                    session_id,
                    size,
                    notice,
                    selection,
                    learner.user_id,
                    first,
                    (gone,) if gone is not None else (),
                )
            )
        return out

    def _learners(
        self, db: Session, requests: Sequence[SessionRequest], now: datetime
    ) -> list[Learner]:
        """The learners of the requests, with their cards, marks and plans."""
        by_telegram = users.plans_by_telegram_id(
            db, [r.telegram_id for r in requests if r.telegram_id]
        )
        for r in requests:  # a chat whose user the bot never met (rare): made here
            if r.telegram_id and r.telegram_id not in by_telegram:
                uid = self._telegram_user(db, r.telegram_id, "", now)
                by_telegram[r.telegram_id] = users.Plan(uid, None, None)
        uids = [
            by_telegram[r.telegram_id].user_id if r.telegram_id else r.user_id for r in requests
        ]
        plans = {plan.user_id: plan for plan in by_telegram.values()}
        plans.update(users.plans(db, [u for u in uids if u not in plans]))
        marks = cards.marks(db, uids, now)
        found = cards.read(db, uids, suspended={u: m.suspended for u, m in marks.items()})
        return [
            Learner(
                uid,
                plans[uid].exam_date if uid in plans else None,
                plans[uid].nudged_at if uid in plans else None,
                found[uid],
                marks[uid].hidden,
            )
            for uid in uids
        ]

    @staticmethod
    def _nudges(
        db: Session,
        requests: Sequence[SessionRequest],
        learners: Sequence[Learner],
        chosen: list[tuple[Selection, str]],
        now: datetime,
        nudge_after: timedelta | None,
    ) -> list[int]:
        """Put a "come back" nudge above the daily pushes that call for one; their indexes."""
        if nudge_after is None:
            return []
        candidates = [k for k, r in enumerate(requests) if r.kind == "push" and chosen[k][0].due]
        last = reviews.last_times(db, {learners[k].user_id for k in candidates})
        nudged = []
        for k in candidates:
            learner, seen = learners[k], last.get(learners[k].user_id)
            if (
                seen is not None
                and now - seen >= nudge_after
                and (learner.nudged_at is None or learner.nudged_at < seen)
            ):
                selection, notice = chosen[k]
                chosen[k] = (
                    selection,
                    f"It's been {(now - seen).days} days since your last review. Five "
                    f"minutes now keeps what you learned.\n{notice}",
                )
                nudged.append(k)
        return nudged

    def _recall(self, now: datetime) -> Callable[[CardSnapshot], float]:
        scheduler = self.scheduler
        return lambda card: retrievability(scheduler, card, now)

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
            ended = sessions.cancel_active(db, [(user_id, chat_id)], now)
            values = sessions.values(
                user_id=user_id,
                chat_id=chat_id,
                kind="item",
                item_type=None,
                item_ids=[item.id],
                notice="",
                now=now,
            )
            (session_id,) = sessions.add(db, [values])
            card = cards.read(db, [user_id], [item.id])[user_id].get(item.id)
        first = self._at(session_id, 0, 1, item, card, "")
        return Started(session_id, 1, "", Selection((item.id,)), user_id, first, tuple(ended))

    # Where a session is --------------------------------------------------------------------

    def current(self, session_id: int) -> Current | None:
        """The item the session is at, or None when it is finished (or unknown)."""
        with self.sessions.begin() as db:
            return self._current(db, sessions.state(db, session_id))

    def _current(
        self,
        db: Session,
        state: SessionState | None,
        known: Mapping[str, CardSnapshot | None] | None = None,
        now: datetime | None = None,
    ) -> Current | None:
        """``current`` inside a transaction (``known``: cards already read, by item id, None
        for an item never seen; ``now``: with the intervals each rating would give)."""
        if state is None or state.status != "active":
            return None
        queue = state.queue
        # Items removed from the content since the session started are passed over.
        position = state.position
        while position < len(queue) and queue[position] not in self.catalog:
            position += 1
        if position != state.position:
            sessions.pass_over(db, state.id, position)
        if position >= len(queue):
            return None
        item = self.catalog.get(queue[position])
        assert item is not None
        if known is not None and item.id in known:
            card = known[item.id]
        else:
            card = cards.read(db, [state.user_id], [item.id])[state.user_id].get(item.id)
        lead = state.notice if state.kind == "push" and position == 0 else ""
        return self._at(
            state.id,
            position,
            len(queue),
            item,
            card,
            lead,
            retry=position >= state.retry_from,
            now=now,
            message_id=state.message_id,
            answer_shown=state.revealed == position,
        )

    def _at(
        self,
        session_id: int,
        position: int,
        total: int,
        item: Item,
        card: CardSnapshot | None,
        lead: str,
        *,
        retry: bool = False,
        now: datetime | None = None,
        message_id: int | None = None,
        answer_shown: bool = False,
    ) -> Current:
        hint = ""
        if card is not None and card.lapses >= LEECH_LAPSES:
            hint = leech_hint(item, card.lapses, self.catalog.in_curriculum_order())
        intervals: tuple[float, ...] = ()
        if now is not None:
            ahead = preview_intervals(self.preview_scheduler, card, item.id, now)
            intervals = tuple(ahead[g] for g in Grade)
        return Current(
            session_id,
            position,
            position + 1,
            total,
            item,
            retry,
            lead,
            hint,
            intervals,
            again_today=not retry,
            message_id=message_id,
            answer_shown=answer_shown,
        )

    def active_session(self, user_id: int, chat_id: int | None) -> int:
        """The id of the user's open session in this chat, or 0."""
        with self.sessions.begin() as db:
            return sessions.active_id(db, user_id, chat_id)

    # Presses -------------------------------------------------------------------------------

    def reveal(
        self,
        session_id: int,
        position: int,
        now: datetime | None = None,
        *,
        user_id: int | None = None,
        telegram_id: int | None = None,
    ) -> Revealed:
        """Claim the reveal of the current item's answer, for the learner ``user_id`` or the
        Telegram user ``telegram_id`` (the session's owner is checked in the same statement).

        Returns the item whose answer to show, with the interval each rating would give at
        ``now``, or the refusal. A press on an answer already shown (repeated, or redelivered
        after a crash before the chat got it) returns it again, marked ``again``: the chat is
        brought to what the session shows, whichever handling got there first.
        """
        now = now or datetime.now(UTC)
        with self.sessions.begin() as db:
            claimed = sessions.claim_reveal(
                db, session_id, position, user_id=user_id, telegram_id=telegram_id
            )
            state = sessions.state(db, session_id)
            if not claimed:
                refusal = check_press(state, position, user_id, telegram_id)
                if refusal:
                    return Revealed(refusal)
            return Revealed("", self._current(db, state, now=now), again=not claimed)

    def typed_answer(self, user_id: int, chat_id: int | None, text: str, now: datetime) -> Typed:
        """Text the learner typed in a chat: before the reveal of the current item, an answer
        attempt, checked against its key points, and the reveal happens (as "Show answer")."""
        with self.sessions.begin() as db:
            session_id = sessions.active_id(db, user_id, chat_id)
            state = sessions.state(db, session_id) if session_id else None
            cur = self._current(db, state, now=now)
            if state is None or cur is None:
                return Typed("none")
            if state.revealed == cur.position or not sessions.claim_reveal(
                db, state.id, cur.position, user_id=user_id
            ):
                return Typed("revealed", cur)
        return Typed("checked", cur, check_attempt(cur.item.key_points, text))

    def open_current(
        self, user_id: int, chat_id: int | None, now: datetime | None = None
    ) -> Current | None:
        """The item the learner's open session in this chat is at, or None (``now``: with the
        intervals of its ratings)."""
        with self.sessions.begin() as db:
            session_id = sessions.active_id(db, user_id, chat_id)
            state = sessions.state(db, session_id) if session_id else None
            return self._current(db, state, now=now)

    def claim_full_answer(
        self, session_id: int, position: int, message_id: int, *, telegram_id: int
    ) -> Revealed:
        """[Full answer] pressed on ``message_id``: the item, when the press is its owner's,
        on the current item with its answer shown, and its buttons are on that message (they
        are claimed for the move: a repeated press gets "sent")."""
        with self.sessions.begin() as db:
            state = sessions.state(db, session_id)
            refusal = check_press(state, position, telegram_id=telegram_id)
            if refusal:
                return Revealed(refusal)
            assert state is not None
            if state.revealed != position:
                return Revealed("hidden")
            if not sessions.claim_buttons(db, session_id, message_id):
                return Revealed("sent")
            return Revealed("", self._current(db, state))

    def answer(
        self,
        session_id: int,
        position: int,
        rating: int,
        now: datetime,
        *,
        seconds: float | None = None,
        user_id: int | None = None,
        telegram_id: int | None = None,
        tz: tzinfo = UTC,
    ) -> Answered:
        """Record a rating for the item at ``position``; the session moves on, and the result
        carries the item that comes next.

        Nothing is recorded when the session is over or belongs to someone else, the position
        is not the current one, its answer was not revealed, or the same answer was already
        recorded. ``seconds`` defaults to the time since the item was shown.
        """
        rating = Grade(rating)
        try:
            with self.sessions.begin() as db:
                state = sessions.state(db, session_id, lock=True)
                reason = check_press(state, position, user_id, telegram_id)
                if reason:
                    return self._pressed_again(db, state, position, reason, now)
                assert state is not None
                if state.revealed != position:  # ratings come after the answer was shown
                    return Answered(False, "hidden")
                if seconds is None and state.shown_at is not None:
                    seconds = round(min((now - state.shown_at).total_seconds(), 3600.0), 1)
                queue = list(state.queue)
                item_id = queue[position]
                # The rated card, and the next item's (for its leech hint), in one query.
                wanted = queue[position : position + 2]
                found = cards.read(db, [state.user_id], wanted)[state.user_id]
                known: dict[str, CardSnapshot | None] = {i: found.get(i) for i in wanted}
                recorded = record_review(
                    db,
                    self.scheduler,
                    user_id=state.user_id,
                    item_id=item_id,
                    card=known[item_id],
                    rating=rating,
                    now=now,
                    tz=tz,
                    chat_id=state.chat_id,
                    session_id=session_id,
                    position=position,
                    seconds=seconds,
                    exam_date=state.exam_date,
                    drill=state.kind == "drill",
                )
                retry = rating == Grade.NO_IDEA and position < state.retry_from
                if retry:  # one more look at the end of this session
                    queue.append(item_id)
                done = position + 1 >= len(queue)
                sessions.move(db, session_id, position + 1, now, queue, done=done)
                sessions.claim_presentation(db, session_id, position + 1, now, PRESENT_LEASE)
                following = None
                if not done:
                    known[item_id] = recorded.card
                    moved = replace(state, position=position + 1, queue=tuple(queue))
                    following = self._current(db, moved, known)
                return Answered(
                    True,
                    interval_days=recorded.interval_days,
                    retry_added=retry,
                    review_id=recorded.review_id,
                    rating=int(rating),
                    next=following,
                    present=True,
                )
        except IntegrityError:
            return Answered(False, "duplicate")

    def _pressed_again(
        self,
        db: Session,
        state: SessionState | None,
        position: int,
        reason: str,
        now: datetime,
    ) -> Answered:
        """A rating press that records nothing. When it is the rating of the item just before
        the session's current one, and the chat was never sent what came next (the first
        handling died after its commit), this press sends it."""
        if (
            state is None
            or reason not in ("duplicate", "finished")
            or state.status == "cancelled"
            or position != state.position - 1
            or not sessions.claim_presentation(db, state.id, state.position, now, PRESENT_LEASE)
        ):
            return Answered(False, reason)
        review_id = reviews.at_position(db, state.id, position)
        review = reviews.get(db, review_id) if review_id else None
        return Answered(
            False,
            reason,
            review_id=review_id,
            rating=review.rating if review is not None else 0,
            next=self._current(db, state),
            present=True,
        )

    def presented(self, session_id: int, position: int, message_id: int | None = None) -> None:
        """Record that the chat was sent what the session shows at ``position`` (and, when
        given, the message that carries its buttons now)."""
        with self.sessions.begin() as db:
            sessions.mark_presented(db, session_id, position)
            if message_id is not None:
                sessions.set_message(db, session_id, message_id)

    def moved_buttons(self, session_id: int, message_id: int | None) -> None:
        """Record that the session's live buttons are now on ``message_id`` (None: on none)."""
        with self.sessions.begin() as db:
            sessions.set_message(db, session_id, message_id)

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
            state = sessions.state(db, session_id, lock=True)
            reason = check_press(state, position, user_id)
            if reason:
                return reason
            assert state is not None
            item_id = state.queue[position]
            if suspend:
                cards.mark(db, state.user_id, item_id, suspended=True)
            else:
                cards.mark(db, state.user_id, item_id, snoozed_until=local_midnight(now, tz, 1))
            done = position + 1 >= len(state.queue)
            sessions.move(db, session_id, position + 1, now, state.queue, done=done)
            return ""

    def close(self, session_id: int, now: datetime) -> bool:
        """End a session (early, or at its end); False when it had ended already. A session
        with no rating ends "cancelled": it is in no count and no history."""
        with self.sessions.begin() as db:
            return sessions.close(db, session_id, now)

    def summary(self, session_id: int, now: datetime, tz: tzinfo) -> Summary:
        """Counts per rating, time spent, items due tomorrow and the day streak."""
        with self.sessions.begin() as db:
            state = sessions.state(db, session_id)
            if state is None:
                raise KeyError(session_id)
            ratings = reviews.ratings_of_session(db, session_id)
            learner_cards = cards.read(db, [state.user_id])[state.user_id].values()
            times = reviews.times(db, state.user_id, since=now - timedelta(days=400))
        end = state.finished_at or now
        return Summary(
            position=state.position,
            ratings={g: ratings.count(g) for g in (1, 2, 3)},
            seconds=max((end - state.started_at).total_seconds(), 0.0),
            due_tomorrow=due_counts(learner_cards, now, tz).tomorrow,
            streak_days=streak(times, now, tz).current,
            reviewed=len(ratings),
            planned=state.retry_from,
        )

    # Ratings changed, items set aside ------------------------------------------------------

    def last_review(self, session_id: int, position: int) -> int:
        """The id of the review recorded for (session, position), or 0."""
        with self.sessions.begin() as db:
            return reviews.at_position(db, session_id, position)

    def change_rating(self, review_id: int, user_id: int, rating: int, now: datetime) -> str:
        """Replace a rating given in the last 10 minutes; "" when changed, else the reason.

        Only the learner's latest review of that item can change; the card is recomputed from
        the whole review history, not patched.
        """
        grade_ = Grade(rating)
        with self.sessions.begin() as db:
            review = reviews.get(db, review_id)
            if review is None or review.user_id != user_id:
                return "unknown"
            if now - review.reviewed_at > CHANGE_WINDOW:
                return "expired"
            if reviews.latest_id(db, user_id, review.item_id) != review.id:
                return "expired"
            if review.rating == int(grade_):
                return "same"
            review.rating = int(grade_)
            db.flush()
            rebuild_card(db, self.scheduler, user_id, review.item_id)
            return ""

    def set_suspended(self, user_id: int, item_id: str, suspended: bool) -> bool:
        """Suspend an item for this learner, or bring it back; False for an unknown item."""
        if item_id not in self.catalog:
            return False
        with self.sessions.begin() as db:
            cards.mark(db, user_id, item_id, suspended=suspended)
            return True

    def suspended_items(self, user_id: int) -> list[Item]:
        """The learner's suspended items, in curriculum order."""
        with self.sessions.begin() as db:
            off = cards.marks(db, [user_id])[user_id].suspended
        return [i for i in self.catalog.in_curriculum_order() if i.id in off]

    # Items ---------------------------------------------------------------------------------

    def find(self, words: Sequence[str], limit: int = FIND_LIMIT) -> list[Item]:
        """Items matching every word (``search.find_items``), with file changes picked up."""
        self.catalog.refresh()
        return find_items(self.catalog, words, limit)

    def item(self, item_id: str) -> Item | None:
        """The item with this id (any case), or None, with file changes picked up."""
        self.catalog.refresh()
        return item_by_id(self.catalog, item_id)
