"""Chats: settings, the once-a-day push claim, and group study (posts, members' ratings, tally).

Core code: no telegram imports. Every method owns its transaction, like services.py.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, Item
from bot.core.srs import Grade, grade
from bot.core.stats import local_midnight, streak
from bot.services.study import Current, DailyRequest, Started, StudyService
from bot.storage import repo
from bot.storage.models import CardState, Chat, GroupPost, GroupRating, Push, Review, User

logger = logging.getLogger(__name__)
DEFAULT_PUSH_TIME = "09:00"
MAX_DAILY_SIZE = 50
RECENT_MEMBER_DAYS = 30
REPOST_AFTER_DAYS = 3
PUSH_LEASE = timedelta(minutes=5)
NUDGE_AFTER = timedelta(days=2)
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.I)


def parse_zone(text: str) -> str:
    """Normalise a zone: an IANA name (``Europe/Berlin``) or an offset (``UTC+5:30``).

    Raises:
        ValueError: when it is neither.
    """
    raw = text.strip()
    if raw.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(raw)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise ValueError(f"{raw} is not a valid UTC offset")
        return f"UTC{sign}{hours:02d}:{minutes:02d}"
    if "/" in raw and ".." not in raw:
        try:
            ZoneInfo(raw)
            return raw
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"unknown time zone {raw!r}")


@cache
def zone(name: str) -> tzinfo:
    """The tzinfo for a name that ``parse_zone`` produced."""
    match = _OFFSET.match(name)
    if match and name.upper().startswith(("UTC+", "UTC-")):
        sign = 1 if match.group(1) == "+" else -1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * delta, name)
    if name == "UTC":
        return UTC
    return ZoneInfo(name)


def parse_quiet(text: str) -> str:
    """Normalise quiet hours ``HH:MM-HH:MM``; ValueError otherwise (or for an empty window)."""
    start, sep, end = text.replace(" ", "").partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a window like 22:00-07:00")
    window = f"{parse_time(start)}-{parse_time(end)}"
    if window[:5] == window[6:]:
        raise ValueError("the window is empty")
    return window


def parse_time(text: str) -> str:
    """Normalise ``H:MM``/``HH:MM`` (24-hour) to ``HH:MM``; ValueError otherwise."""
    match = re.fullmatch(r"(\d{1,2})[:.h](\d{2})", text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time like 08:30")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@dataclass(frozen=True)
class ChatSettings:
    chat_id: int
    type: str
    title: str
    active: bool
    subscribed: bool
    push_time: str
    timezone: str
    daily_size: int
    group_items: int
    schedule_from: datetime | None = None
    quiet: str = ""  # "22:00-07:00": never push inside this window

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def push_clock(self) -> time:
        """When the push goes out: the chosen time, moved to the end of the quiet hours when
        it falls inside them."""
        hours, minutes = self.push_time.split(":")
        chosen = time(int(hours), int(minutes))
        if not _inside(chosen, self.quiet):
            return chosen
        return time.fromisoformat(self.quiet.split("-")[1])

    def push_at(self, day: date) -> datetime:
        """The aware moment of this chat's push on local ``day``."""
        return datetime.combine(day, self.push_clock, tzinfo=self.tz)

    def local_date(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def owes_push(self, now: datetime) -> bool:
        """True when today's push time has come, was not before the schedule was set, and it
        is not quiet time now (a push missed while the bot was down waits for tomorrow rather
        than arrive inside the quiet hours)."""
        at = self.push_at(self.local_date(now))
        return (
            self.subscribed
            and self.active
            and at <= now
            and (self.schedule_from is None or at >= self.schedule_from)
            and not self.is_quiet(now)
        )

    def is_quiet(self, now: datetime) -> bool:
        return _inside(now.astimezone(self.tz).time(), self.quiet)


def _inside(clock: time, window: str) -> bool:
    """Is ``clock`` inside the quiet window "HH:MM-HH:MM" (which may wrap past midnight)?"""
    if not window:
        return False
    start, end = (time.fromisoformat(t) for t in window.split("-"))
    return start <= clock < end if start < end else clock >= start or clock < end


def _settings(row: Chat | Row[Any]) -> ChatSettings:
    """From a Chat, or a row of its columns (``select(Chat.__table__)``: no ORM objects)."""
    return ChatSettings(
        chat_id=row.id,
        type=row.type,
        title=row.title,
        active=row.active,
        subscribed=row.subscribed,
        push_time=row.push_time,
        timezone=row.timezone,
        daily_size=row.daily_size,
        group_items=row.group_items,
        schedule_from=row.schedule_from,
        quiet=row.quiet,
    )


@dataclass(frozen=True)
class Tally:
    counts: dict[int, int]
    names: tuple[str, ...]  # first names, when five or fewer members rated

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class GroupRated:
    status: str  # "recorded", "changed", "same", "unknown"
    tally: Tally | None = None
    item: Item | None = None


@dataclass(frozen=True)
class LeaderRow:
    name: str
    reviews: int
    got_it_share: float
    streak: int


@dataclass(frozen=True)
class GroupStats:
    leaderboard: list[LeaderRow]
    posts: int
    items_posted: int
    total_items: int
    ratings: int
    members: int


@dataclass
class PushPlan:
    """What a push will send: a session (private) or items to post (group)."""

    session_id: int = 0
    size: int = 0
    due: int = 0
    new: int = 0
    item_ids: list[str] = field(default_factory=list)
    first: Current | None = None  # the session's first item, when the planning read it


def _push_plan(started: Started, first: Current | None = None) -> PushPlan:
    sel = started.selection
    return PushPlan(
        session_id=started.session_id, size=started.size, due=sel.due, new=sel.new, first=first
    )


@dataclass(frozen=True)
class PlannedPush:
    """A push this process claimed: a private chat's plan, or a group's (posted when sent)."""

    chat: ChatSettings
    day: date  # the chat's local date the claim is for
    plan: PushPlan | None = None  # private chats
    error: str = ""  # planning failed: the push is recorded as failed


class ChatService:
    """Chat settings, push claims and group study over one database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalog: Catalog,
        study: StudyService,
        push_lease: timedelta = PUSH_LEASE,
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.study = study
        self.push_lease = push_lease

    # Settings ----------------------------------------------------------------------------

    def ensure(self, chat_id: int, chat_type: str, title: str, now: datetime) -> ChatSettings:
        """The chat's settings, creating the row on first contact; contact reactivates it."""
        with self.sessions.begin() as db:
            row = db.get(Chat, chat_id)
            if row is None:
                try:
                    with db.begin_nested():
                        row = Chat(
                            id=chat_id,
                            type=chat_type,
                            title=title[:256],
                            active=True,
                            subscribed=False,
                            push_time=DEFAULT_PUSH_TIME,
                            timezone="UTC",
                            daily_size=10,
                            group_items=3,
                            created_at=now,
                        )
                        db.add(row)
                except IntegrityError:
                    row = db.get(Chat, chat_id)
                    assert row is not None
            if not row.active:
                row.active = True
            if title and row.title != title[:256]:
                row.title = title[:256]
            return _settings(row)

    def get(self, chat_id: int) -> ChatSettings | None:
        with self.sessions.begin() as db:
            row = db.get(Chat, chat_id)
            return _settings(row) if row else None

    def update(self, chat_id: int, **changes: object) -> ChatSettings:
        """Change settings (subscribed, push_time, timezone, daily_size, group_items)."""
        allowed = {
            "subscribed",
            "push_time",
            "timezone",
            "daily_size",
            "group_items",
            "active",
            "schedule_from",
            "quiet",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        with self.sessions.begin() as db:
            row = db.get(Chat, chat_id)
            if row is None:
                raise KeyError(chat_id)
            for key, value in changes.items():
                setattr(row, key, value)
            return _settings(row)

    def count_subscribed(self) -> int:
        """How many chats get a daily push."""
        with self.sessions.begin() as db:
            found = db.scalar(
                select(func.count())
                .select_from(Chat)
                .where(Chat.subscribed.is_(True), Chat.active.is_(True))
            )
            return int(found or 0)

    def subscribed(self) -> list[ChatSettings]:
        """Every chat that gets a daily push."""
        with self.sessions.begin() as db:
            rows = db.execute(
                select(Chat.__table__).where(Chat.subscribed.is_(True), Chat.active.is_(True))
            )
            return [_settings(r) for r in rows]

    def deactivate(self, chat_id: int) -> None:
        """The bot was blocked or removed: stop pushing until someone writes again."""
        with self.sessions.begin() as db:
            db.execute(update(Chat).where(Chat.id == chat_id).values(active=False))

    # The daily push ----------------------------------------------------------------------

    def claim_push(self, chat_id: int, local_day: date, now: datetime) -> bool:
        """Claim today's push for this chat; False when someone else holds or finished it.

        The claim is a row unique on (chat, local date), so two processes cannot both win it.
        A claim left "claimed" past its lease belonged to a process that died mid-push; it is
        taken over so that the chat still gets its push.
        """
        try:
            with self.sessions.begin() as db:
                db.add(
                    Push(
                        chat_id=chat_id,
                        local_date=local_day,
                        status="claimed",
                        claimed_at=now,
                        lease_until=now + self.push_lease,
                        items=0,
                        detail="",
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.sessions.begin() as db:
            taken = db.execute(
                update(Push)
                .where(
                    Push.chat_id == chat_id,
                    Push.local_date == local_day,
                    Push.status == "claimed",
                    Push.lease_until < now,
                )
                .values(claimed_at=now, lease_until=now + self.push_lease)
            )
            return bool(taken.rowcount)  # type: ignore[attr-defined]

    def claim_pushes(self, claims: Sequence[tuple[int, date]], now: datetime) -> set[int]:
        """``claim_push`` for many chats in one transaction; return the chats claimed.

        One INSERT skips the (chat, day) rows that exist; of those, the claims whose lease ran
        out are taken over by one UPDATE per day.
        """
        if not claims:
            return set()
        lease_until = now + self.push_lease
        with self.sessions.begin() as db:
            dialect = db.get_bind().dialect.name
            if dialect not in ("sqlite", "postgresql"):  # no INSERT .. ON CONFLICT
                db.rollback()
                return {c for c, day in claims if self.claim_push(c, day, now)}
            # Imported here: the PostgreSQL dialect costs a SQLite bot 40 ms of start-up.
            dml = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
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
            pushes = cast(Table, Push.__table__)  # Core: a many-row ORM INSERT is slow
            claim = dml.insert(pushes).values(rows)
            won = set(
                db.connection()
                .execute(
                    claim.on_conflict_do_nothing(
                        index_elements=["chat_id", "local_date"]
                    ).returning(pushes.c.chat_id)
                )
                .scalars()
            )
            for day in sorted({day for _c, day in claims}):
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

    def finish_pushes(self, outcomes: Sequence[tuple[int, date, str, int, str]]) -> None:
        """``finish_push`` for many (chat, day, status, items, detail) in one transaction."""
        if not outcomes:
            return
        with self.sessions.begin() as db:
            db.connection().execute(
                update(Push)
                .where(Push.chat_id == bindparam("c"), Push.local_date == bindparam("d"))
                .values(status=bindparam("s"), items=bindparam("n"), detail=bindparam("t")),
                [
                    {"c": c, "d": day, "s": status, "n": items, "t": detail[:500]}
                    for c, day, status, items, detail in outcomes
                ],
            )

    def plan_pushes(
        self, chat_ids: Sequence[int], now: datetime
    ) -> tuple[list[PlannedPush], dict[int, str]]:
        """Claim today's push for these chats and plan the private ones' sessions.

        Returns the pushes claimed, and for the other chats why not ("not due" or "already
        pushed"). A private chat whose planning fails is returned with its ``error``.
        """
        with self.sessions.begin() as db:
            rows = db.connection().execute(select(Chat.__table__).where(Chat.id.in_(chat_ids)))
            found = {row.id: _settings(row) for row in rows}
        skipped: dict[int, str] = {}
        owed: list[ChatSettings] = []
        for chat_id in chat_ids:
            chat = found.get(chat_id)
            if chat is None or not chat.owes_push(now):
                skipped[chat_id] = "not due"
            else:
                owed.append(chat)
        won = self.claim_pushes([(c.chat_id, c.local_date(now)) for c in owed], now)
        private = [c for c in owed if c.chat_id in won and not c.is_group]
        plans: dict[int, PushPlan] = {}
        try:  # the usual case: every private chat of the batch planned at once
            daily = self.study.start_daily_sessions(
                [DailyRequest(c.chat_id, c.daily_size, c.tz) for c in private], now, NUDGE_AFTER
            )
            plans = {chat_id: _push_plan(d.started, d.first) for chat_id, d in daily.items()}
        except Exception:  # one at a time, so that one chat's failure stops no other
            logger.warning("planning %d pushes at once failed", len(private), exc_info=True)
        planned: list[PlannedPush] = []
        for chat in owed:
            day = chat.local_date(now)
            if chat.chat_id not in won:
                skipped[chat.chat_id] = "already pushed"
            elif chat.is_group:
                planned.append(PlannedPush(chat, day))
            elif chat.chat_id in plans:
                planned.append(PlannedPush(chat, day, plans[chat.chat_id]))
            else:
                try:
                    planned.append(PlannedPush(chat, day, self.plan_private_push(chat, now)))
                except Exception as exc:
                    planned.append(PlannedPush(chat, day, error=repr(exc)))
        return planned, skipped

    def recent_claims(self, since: date) -> dict[tuple[int, date], tuple[str, datetime]]:
        """(chat, local date) -> (status, lease end) of every push claimed since ``since``."""
        with self.sessions.begin() as db:
            rows = db.execute(
                select(Push.chat_id, Push.local_date, Push.status, Push.lease_until).where(
                    Push.local_date >= since
                )
            )
            return {(c, d): (status, lease) for c, d, status, lease in rows}

    def finish_push(
        self, chat_id: int, local_day: date, status: str, items: int = 0, detail: str = ""
    ) -> None:
        with self.sessions.begin() as db:
            db.execute(
                update(Push)
                .where(Push.chat_id == chat_id, Push.local_date == local_day)
                .values(status=status, items=items, detail=detail[:500])
            )

    def plan_private_push(self, chat: ChatSettings, now: datetime) -> PushPlan:
        """Open today's session for one private chat (never past the new-item cap): what
        ``plan_pushes`` does for a batch, for a chat whose batch could not be planned."""
        request = DailyRequest(chat.chat_id, chat.daily_size, chat.tz)
        daily = self.study.start_daily_sessions([request], now, NUDGE_AFTER)[chat.chat_id]
        return _push_plan(daily.started, daily.first)

    # Groups ------------------------------------------------------------------------------

    def pick_group_items(self, chat_id: int, k: int, now: datetime) -> list[str]:
        """Items due for the most recent members first, then new ones in curriculum order.

        Nothing posted to this group in the last three days is posted again.
        """
        self.catalog.refresh()
        with self.sessions.begin() as db:
            since = now - timedelta(days=RECENT_MEMBER_DAYS)
            members = list(
                db.scalars(
                    select(GroupRating.user_id)
                    .join(GroupPost, GroupPost.id == GroupRating.post_id)
                    .where(GroupPost.chat_id == chat_id, GroupRating.rated_at >= since)
                    .distinct()
                )
            )
            # max() keeps the column's type, so these come back aware UTC on every backend.
            posted: dict[str, datetime] = dict(
                db.execute(
                    select(GroupPost.item_id, func.max(GroupPost.posted_at))
                    .where(GroupPost.chat_id == chat_id)
                    .group_by(GroupPost.item_id)
                ).all()
            )
            due: Counter[str] = Counter()
            if members:
                rows = db.execute(
                    select(CardState.item_id).where(
                        CardState.user_id.in_(members),
                        CardState.due <= now,
                    )
                )
                due.update(item_id for (item_id,) in rows)
        recent = now - timedelta(days=REPOST_AFTER_DAYS)
        items = [
            i
            for i in self.catalog.in_curriculum_order()
            if i.id not in posted or posted[i.id] < recent
        ]
        chosen = [i.id for i in sorted((i for i in items if due[i.id]), key=lambda i: -due[i.id])][
            :k
        ]
        for item in items:
            if len(chosen) >= k:
                break
            if item.id not in posted and item.id not in chosen:
                chosen.append(item.id)
        for item in sorted(items, key=lambda i: posted.get(i.id, now)):
            if len(chosen) >= k:
                break
            if item.id not in chosen:
                chosen.append(item.id)
        return chosen

    def add_post(
        self, chat_id: int, item_id: str, now: datetime, push_date: date | None = None
    ) -> int:
        with self.sessions.begin() as db:
            row = GroupPost(
                chat_id=chat_id, item_id=item_id, posted_at=now, revealed=False, push_date=push_date
            )
            db.add(row)
            db.flush()
            return row.id

    def push_posts(self, chat_id: int, push_date: date) -> int:
        """How many items the daily push of ``push_date`` already posted (to resume it)."""
        with self.sessions.begin() as db:
            found = db.scalar(
                select(func.count())
                .select_from(GroupPost)
                .where(GroupPost.chat_id == chat_id, GroupPost.push_date == push_date)
            )
            return int(found or 0)

    def post_item(self, post_id: int, chat_id: int) -> Item | None:
        """The item of a post in this chat (None for another chat's post or a removed item)."""
        with self.sessions.begin() as db:
            row = db.get(GroupPost, post_id)
            if row is None or row.chat_id != chat_id:
                return None
            return self.catalog.get(row.item_id)

    def reveal_post(self, post_id: int, chat_id: int) -> tuple[str, Item | None]:
        """Claim the reveal of a post: ("", item) the first time, else a reason."""
        with self.sessions.begin() as db:
            row = db.get(GroupPost, post_id)
            if row is None or row.chat_id != chat_id:
                return "unknown", None
            item = self.catalog.get(row.item_id)
            if item is None:
                return "removed", None
            if row.revealed:
                return "revealed", item
            row.revealed = True
            return "", item

    def rate_post(
        self, post_id: int, chat_id: int, user_id: int, rating: int, now: datetime
    ) -> GroupRated:
        """Record a member's rating of a post on their own schedule; a new press replaces it."""
        rating = Grade(rating)
        for _attempt in range(3):
            try:
                with self.sessions.begin() as db:
                    post = db.get(GroupPost, post_id)
                    if post is None or post.chat_id != chat_id:
                        return GroupRated("unknown")
                    item = self.catalog.get(post.item_id)
                    if item is None:
                        return GroupRated("removed")
                    existing = db.scalars(
                        select(GroupRating).where(
                            GroupRating.post_id == post_id, GroupRating.user_id == user_id
                        )
                    ).first()
                    if existing is not None and existing.rating == rating:
                        return GroupRated("same", self._tally(db, post_id), item)
                    if existing is None:
                        card = repo.card_for(db, user_id, item.id)
                        updated, interval = grade(self.study.scheduler, card, item.id, rating, now)
                        review_id = repo.insert_review(
                            db,
                            user_id=user_id,
                            item_id=item.id,
                            chat_id=chat_id,
                            session_id=None,
                            position=None,
                            rating=int(rating),
                            now=now,
                            seconds=None,
                            interval_days=interval,
                        )
                        repo.write_card(db, user_id, updated, new=card is None)
                        db.add(
                            GroupRating(
                                post_id=post_id,
                                user_id=user_id,
                                review_id=review_id,
                                rating=int(rating),
                                rated_at=now,
                            )
                        )
                        db.flush()
                        status = "recorded"
                    else:
                        review_row = db.get(Review, existing.review_id)
                        assert review_row is not None
                        review_row.rating = int(rating)
                        existing.rating, existing.rated_at = int(rating), now
                        db.flush()
                        self.study.rebuild_card(db, user_id, item.id)
                        status = "changed"
                    return GroupRated(status, self._tally(db, post_id), item)
            except IntegrityError:  # the same member's two presses raced: try once more
                continue
        return GroupRated("same")

    def tally(self, post_id: int) -> Tally:
        with self.sessions.begin() as db:
            return self._tally(db, post_id)

    @staticmethod
    def _tally(db: Session, post_id: int) -> Tally:
        rows = db.execute(
            select(GroupRating.rating, User.first_name, GroupRating.rated_at)
            .join(User, User.id == GroupRating.user_id)
            .where(GroupRating.post_id == post_id)
            .order_by(GroupRating.rated_at, GroupRating.id)
        ).all()
        counts = Counter(r for r, _n, _t in rows)
        names = tuple(n or "someone" for _r, n, _t in rows) if len(rows) <= 5 else ()
        return Tally({g: counts.get(g, 0) for g in (1, 2, 3)}, names)

    def group_stats(self, chat_id: int, now: datetime, tz: tzinfo) -> GroupStats:
        """The last 7 days' leaderboard and the group's overall progress."""
        self.catalog.refresh()
        since = local_midnight(now, tz, -6)
        with self.sessions.begin() as db:
            week = db.execute(
                select(Review.user_id, Review.rating, User.first_name)
                .join(User, User.id == Review.user_id)
                .where(Review.chat_id == chat_id, Review.reviewed_at >= since)
            ).all()
            per_user: dict[int, list[int]] = {}
            names: dict[int, str] = {}
            for user_id, rating, first_name in week:
                per_user.setdefault(user_id, []).append(rating)
                names[user_id] = first_name or "someone"
            streaks = {
                u: streak(
                    repo.review_times(db, u, since=now - timedelta(days=400)), now, tz
                ).current
                for u in per_user
            }
            posts = (
                db.scalar(
                    select(func.count()).select_from(GroupPost).where(GroupPost.chat_id == chat_id)
                )
                or 0
            )
            items_posted = (
                db.scalar(
                    select(func.count(func.distinct(GroupPost.item_id))).where(
                        GroupPost.chat_id == chat_id
                    )
                )
                or 0
            )
            ratings = (
                db.scalar(
                    select(func.count())
                    .select_from(GroupRating)
                    .join(GroupPost, GroupPost.id == GroupRating.post_id)
                    .where(GroupPost.chat_id == chat_id)
                )
                or 0
            )
            members = (
                db.scalar(
                    select(func.count(func.distinct(GroupRating.user_id)))
                    .join(GroupPost, GroupPost.id == GroupRating.post_id)
                    .where(GroupPost.chat_id == chat_id)
                )
                or 0
            )
        board = sorted(
            (
                LeaderRow(names[u], len(r), r.count(3) / len(r), streaks[u])
                for u, r in per_user.items()
            ),
            key=lambda row: (-row.reviews, -row.got_it_share, row.name),
        )
        return GroupStats(
            board, int(posts), int(items_posted), len(self.catalog), int(ratings), int(members)
        )
