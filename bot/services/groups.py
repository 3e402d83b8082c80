"""Group study: items posted for everyone, revealed once, rated by each member for themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from fsrs import Scheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, Item
from bot.core.srs import Grade
from bot.core.stats import local_midnight, streak
from bot.services.reviews import rebuild_card, record_review
from bot.storage.repo import cards, groups, reviews

RECENT_MEMBER_DAYS = 30
REPOST_AFTER_DAYS = 3
TALLY_NAMES = 5  # the raters are named while there are this many or fewer


@dataclass(frozen=True)
class Tally:
    counts: dict[int, int]
    names: tuple[str, ...]  # first names, when five or fewer members rated

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class GroupRated:
    status: str  # "recorded", "changed", "same", "unknown", "removed"
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


def _tally(raters: Sequence[groups.Rater]) -> Tally:
    counts = {g: sum(1 for r in raters if r.rating == g) for g in (1, 2, 3)}
    names = tuple(r.first_name or "someone" for r in raters) if len(raters) <= TALLY_NAMES else ()
    return Tally(counts, names)


class GroupService:
    """Group posts, members' ratings, tallies and the leaderboard over one database."""

    def __init__(
        self, sessions: sessionmaker[Session], catalog: Catalog, scheduler: Scheduler
    ) -> None:
        self.sessions = sessions
        self.catalog = catalog
        self.scheduler = scheduler

    def pick_items(self, chat_id: int, k: int, now: datetime) -> list[str]:
        """Items due for the most recent members first, then new ones in curriculum order.

        Nothing posted to this group in the last three days is posted again.
        """
        self.catalog.refresh()
        with self.sessions.begin() as db:
            members = groups.recent_members(db, chat_id, now - timedelta(days=RECENT_MEMBER_DAYS))
            posted = groups.last_posted(db, chat_id)
            due = groups.due_counts(db, members, now)
        recent = now - timedelta(days=REPOST_AFTER_DAYS)
        items = [
            i
            for i in self.catalog.in_curriculum_order()
            if i.id not in posted or posted[i.id] < recent
        ]
        by_due = sorted((i for i in items if due[i.id]), key=lambda i: -due[i.id])
        chosen = [i.id for i in by_due][:k]
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
            return groups.add_post(db, chat_id, item_id, now, push_date)

    def push_posts(self, chat_id: int, push_date: date) -> int:
        """How many items the daily push of ``push_date`` already posted (to resume it)."""
        with self.sessions.begin() as db:
            return groups.count_push_posts(db, chat_id, push_date)

    def reveal_post(self, post_id: int, chat_id: int) -> tuple[str, Item | None]:
        """Claim the reveal of a post: ("", item) the first time, else a reason."""
        with self.sessions.begin() as db:
            post = groups.post(db, post_id)
            if post is None or post.chat_id != chat_id:
                return "unknown", None
            item = self.catalog.get(post.item_id)
            if item is None:
                return "removed", None
            if post.revealed:
                return "revealed", item
            post.revealed = True
            return "", item

    def rate_post(
        self, post_id: int, chat_id: int, user_id: int, rating: int, now: datetime
    ) -> GroupRated:
        """Record a member's rating of a post on their own schedule; a new press replaces it."""
        rating = Grade(rating)
        for _attempt in range(3):
            try:
                with self.sessions.begin() as db:
                    return self._rate(db, post_id, chat_id, user_id, rating, now)
            except IntegrityError:  # the same member's two presses raced: try once more
                continue
        return GroupRated("same")

    def _rate(
        self, db: Session, post_id: int, chat_id: int, user_id: int, rating: Grade, now: datetime
    ) -> GroupRated:
        post = groups.post(db, post_id)
        if post is None or post.chat_id != chat_id:
            return GroupRated("unknown")
        item = self.catalog.get(post.item_id)
        if item is None:
            return GroupRated("removed")
        existing = groups.rating_of(db, post_id, user_id)
        if existing is not None and existing.rating == rating:
            return GroupRated("same", _tally(groups.raters(db, post_id)), item)
        if existing is None:
            card = cards.read(db, [user_id], [item.id])[user_id].get(item.id)
            recorded = record_review(
                db,
                self.scheduler,
                user_id=user_id,
                item_id=item.id,
                card=card,
                rating=rating,
                now=now,
                tz=UTC,
                chat_id=chat_id,
            )
            groups.add_rating(db, post_id, user_id, recorded.review_id, int(rating), now)
            status = "recorded"
        else:
            review = reviews.get(db, existing.review_id)
            assert review is not None
            review.rating = int(rating)
            existing.rating, existing.rated_at = int(rating), now
            db.flush()
            rebuild_card(db, self.scheduler, user_id, item.id)
            status = "changed"
        return GroupRated(status, _tally(groups.raters(db, post_id)), item)

    def group_stats(self, chat_id: int, now: datetime, tz: tzinfo) -> GroupStats:
        """The last 7 days' leaderboard and the group's overall progress."""
        self.catalog.refresh()
        with self.sessions.begin() as db:
            week = groups.week_reviews(db, chat_id, local_midnight(now, tz, -6))
            per_user: dict[int, list[int]] = {}
            names: dict[int, str] = {}
            for user_id, rating, first_name in week:
                per_user.setdefault(user_id, []).append(rating)
                names[user_id] = first_name or "someone"
            since = now - timedelta(days=400)
            streaks = {u: streak(reviews.times(db, u, since), now, tz).current for u in per_user}
            totals = groups.totals(db, chat_id)
        board = sorted(
            (
                LeaderRow(names[u], len(r), r.count(3) / len(r), streaks[u])
                for u, r in per_user.items()
            ),
            key=lambda row: (-row.reviews, -row.got_it_share, row.name),
        )
        return GroupStats(
            board,
            totals.posts,
            totals.items_posted,
            len(self.catalog),
            totals.ratings,
            totals.members,
        )
