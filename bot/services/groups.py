"""Group study: items posted for everyone, revealed once, rated by each member for themselves."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from fsrs import Scheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.content import Catalog, Item
from bot.core.srs import Grade, is_known, recall_in_a_week
from bot.core.stats import local_midnight, streak
from bot.services.reviews import rebuild_card, record_review
from bot.storage.repo import cards, groups, reviews

RECENT_MEMBER_DAYS = 30
REPOST_AFTER_DAYS = 3
# How long items picked for a session stay taken while its posts go out (at most 15 posts a
# minute in a group: a 50-item session posts within a few minutes).
PICKED_FOR = timedelta(minutes=10)
TALLY_NAMES = 5  # the raters are named while there are this many or fewer
# A group session is watched for its summary this long (a check every few minutes); after
# that, one whose last post nobody revealed or answered is summed up by the group's next
# session or push.
SUMMARY_WATCH = timedelta(hours=6)


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
    """A member's place on the leaderboard: what they know first, how much they did second."""

    name: str
    reviews: int  # in this group, in the last 7 days
    got_it_share: float
    streak: int
    known: int = 0  # of the group's items: recall above 0.9 a week from now (srs.is_known)
    recall: float = 0.0  # mean recall a week from now over the group's items they studied


@dataclass(frozen=True)
class GroupSessionPlan:
    """Items to post as one group session: positions ``start``.. of ``size``."""

    session_id: int
    kind: str  # "study" or "push"
    size: int
    start: int  # posts already sent (a push resumed after a crash)
    item_ids: list[str]
    polls: bool  # quiz items go as quiz polls


@dataclass(frozen=True)
class MemberCounts:
    name: str
    counts: dict[int, int]  # grade -> how many


@dataclass(frozen=True)
class SessionSummary:
    """Who rated what in a group session, and its hardest item (the lowest mean rating)."""

    kind: str
    size: int
    members: list[MemberCounts]
    hardest: Item | None
    hardest_position: int
    hardest_mean: float


@dataclass(frozen=True)
class PollAnswered:
    status: str  # "recorded", "same" (answered before), "retracted", "unknown", "removed"
    grade: Grade | None = None


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
        # Items picked by sessions whose posts are still on their way (a session's posts are
        # recorded one by one as they go out): two /study sent at once in a group must not
        # pick the same items. Taken for PICKED_FOR at most, by when they are posted.
        self._picking = threading.Lock()
        self._picked: dict[int, dict[str, datetime]] = {}

    def pick_items(self, chat_id: int, k: int, now: datetime) -> list[str]:
        """Items due for the most recent members first, then new ones in curriculum order.

        Nothing posted to this group in the last three days is posted again, nor anything
        another session is posting right now; the items chosen are taken for this one.
        """
        self.catalog.refresh()
        with self._picking:
            return self._pick(chat_id, k, now)

    def _pick(self, chat_id: int, k: int, now: datetime) -> list[str]:
        with self.sessions.begin() as db:
            members = groups.recent_members(db, chat_id, now - timedelta(days=RECENT_MEMBER_DAYS))
            posted = groups.last_posted(db, chat_id)
            due = groups.due_counts(db, members, now)
        taken = {i: at for i, at in self._picked.get(chat_id, {}).items() if now - at < PICKED_FOR}
        posted.update({i: at for i, at in taken.items() if i not in posted or posted[i] < at})
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
        self._picked[chat_id] = taken | dict.fromkeys(chosen, now)
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
            self._record(db, post_id, chat_id, item.id, user_id, rating, now)
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
        """The leaderboard of the members who rated in the last 7 days, and the group's progress.

        Members rank by the group's items they know (``srs.is_known``: recall above 0.9 a week
        from now), then by their mean recall a week from now over the group's items they
        studied, then by streak; the number of reviews comes last. Recall *now* would not do:
        right after any review it is 1.0, whatever the rating.
        """
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
            posted = groups.posted_items(db, chat_id)
            studied = cards.read(db, list(per_user), posted) if per_user and posted else {}
        rows = []
        for user_id, ratings in per_user.items():
            mine = list(studied.get(user_id, {}).values())
            recalls = [recall_in_a_week(self.scheduler, card, now) for card in mine]
            rows.append(
                LeaderRow(
                    names[user_id],
                    len(ratings),
                    ratings.count(3) / len(ratings),
                    streaks[user_id],
                    known=sum(1 for card in mine if is_known(self.scheduler, card, now)),
                    recall=sum(recalls) / len(recalls) if recalls else 0.0,
                )
            )
        board = sorted(rows, key=lambda r: (-r.known, -r.recall, -r.streak, -r.reviews, r.name))
        return GroupStats(
            board,
            totals.posts,
            totals.items_posted,
            len(self.catalog),
            totals.ratings,
            totals.members,
        )

    def post_tally(self, post_id: int) -> Tally:
        """A post's tally as it stands (what a coalesced tally edit shows when it goes out)."""
        with self.sessions.begin() as db:
            return _tally(groups.raters(db, post_id))

    # Group sessions ------------------------------------------------------------------------

    def start_session(
        self, chat_id: int, kind: str, k: int, now: datetime, push_date: date | None = None
    ) -> GroupSessionPlan | None:
        """Pick ``k`` items (see ``pick_items``) and open a group session for them; None when
        there is nothing to post."""
        item_ids = self.pick_items(chat_id, k, now)
        if not item_ids:
            return None
        with self.sessions.begin() as db:
            session_id = groups.add_session(db, chat_id, kind, len(item_ids), now, push_date)
            polls = groups.quiz_polls(db, chat_id)
        return GroupSessionPlan(session_id, kind, len(item_ids), 0, item_ids, polls)

    def push_session(
        self, chat_id: int, k: int, push_date: date, now: datetime
    ) -> GroupSessionPlan | None:
        """The daily push's session: a new one, or the rest of one a crash cut off.

        A post is recorded before it is sent, so one whose send may have arrived counts as
        posted (never twice).
        """
        with self.sessions.begin() as db:
            found = groups.push_session(db, chat_id, push_date)
            if found is None:
                resumed = None
            else:
                done = len(groups.session_posts(db, found.id))
                resumed = (found.id, found.size, done, groups.quiz_polls(db, chat_id))
        if resumed is None:
            return self.start_session(chat_id, "push", k, now, push_date)
        session_id, size, done, polls = resumed
        item_ids = self.pick_items(chat_id, size - done, now) if done < size else []
        return GroupSessionPlan(session_id, "push", size, done, item_ids, polls)

    def add_session_post(
        self,
        plan: GroupSessionPlan,
        chat_id: int,
        item_id: str,
        position: int,
        now: datetime,
        push_date: date | None = None,
    ) -> int:
        with self.sessions.begin() as db:
            return groups.add_post(
                db, chat_id, item_id, now, push_date, session_id=plan.session_id, position=position
            )

    def summary_state(self, session_id: int, now: datetime, settle: timedelta) -> str:
        """Whether a session's summary is "due" (its last post was revealed or answered and no
        rating came for ``settle``), to "wait" for, "done" (claimed), or "stale" (watched
        long enough: the group's next session or push sends it)."""
        with self.sessions.begin() as db:
            found = groups.session(db, session_id)
            if found is None or found.summary_at is not None:
                return "done"
            started = found.started_at
            posts = groups.session_posts(db, session_id)
            ratings = groups.session_ratings(db, session_id)
        if posts:
            last = posts[-1]
            last_done = last.revealed or any(r.position == last.position for r in ratings)
            activity = max([last.posted_at, *(r.rated_at for r in ratings)])
            if last_done and now - activity >= settle:
                return "due"
        return "stale" if now - started > SUMMARY_WATCH else "wait"

    def take_summary(self, session_id: int, now: datetime) -> SessionSummary | None:
        """Claim a session's summary and build it: None when it was claimed before, or when
        nobody rated anything (there is nothing to sum up; it is claimed all the same)."""
        with self.sessions.begin() as db:
            if not groups.claim_summary(db, session_id, now):
                return None
            found = groups.session(db, session_id)
            assert found is not None
            kind, size = found.kind, found.size
            ratings = groups.session_ratings(db, session_id)
        if not ratings:
            return None
        members: dict[int, MemberCounts] = {}
        by_post: dict[int, list[int]] = {}
        items: dict[int, str] = {}
        for r in ratings:
            member = members.setdefault(
                r.user_id, MemberCounts(r.first_name or "someone", dict.fromkeys(Grade, 0))
            )
            member.counts[Grade(r.rating)] += 1
            by_post.setdefault(r.position, []).append(r.rating)
            items[r.position] = r.item_id
        position, marks = min(
            by_post.items(), key=lambda p: (sum(p[1]) / len(p[1]), -len(p[1]), p[0])
        )
        return SessionSummary(
            kind,
            size,
            sorted(members.values(), key=lambda m: (-sum(m.counts.values()), m.name)),
            self.catalog.get(items[position]),
            position,
            sum(marks) / len(marks),
        )

    def unsummed_sessions(self, chat_id: int, but: int | None = None) -> list[int]:
        """The group's sessions whose summary is still owed (all but ``but``), oldest first."""
        with self.sessions.begin() as db:
            return [s for s in groups.unsummed_sessions(db, chat_id) if s != but]

    # Quiz polls ----------------------------------------------------------------------------

    def quiz_polls(self, chat_id: int) -> bool:
        with self.sessions.begin() as db:
            return groups.quiz_polls(db, chat_id)

    def set_quiz_polls(self, chat_id: int, on: bool) -> bool:
        """Switch quiz polls on or off in a group; False for a chat the bot never met."""
        with self.sessions.begin() as db:
            return groups.set_quiz_polls(db, chat_id, on)

    def add_poll(self, poll_id: str, post_id: int, correct_option: int) -> None:
        with self.sessions.begin() as db:
            groups.add_poll(db, poll_id, post_id, correct_option)

    def answer_poll(
        self, poll_id: str, user_id: int, option_ids: Sequence[int], now: datetime
    ) -> PollAnswered:
        """A member's answer to a quiz poll, recorded as their review: the correct option is
        "Got it", a wrong one "No idea". Their first answer counts: a retracted vote (no
        options) changes nothing, nor does a second vote (a quiz allows none)."""
        if not option_ids:
            return PollAnswered("retracted")
        for _attempt in range(3):
            try:
                with self.sessions.begin() as db:
                    return self._answer(db, poll_id, user_id, option_ids, now)
            except IntegrityError:  # the same member's two answers raced: the other won
                continue
        return PollAnswered("same")

    def _answer(
        self, db: Session, poll_id: str, user_id: int, option_ids: Sequence[int], now: datetime
    ) -> PollAnswered:
        found = groups.poll(db, poll_id)
        post = None if found is None else groups.post(db, found.post_id)
        if found is None or post is None:
            return PollAnswered("unknown")
        item = self.catalog.get(post.item_id)
        if item is None:
            return PollAnswered("removed")
        existing = groups.rating_of(db, post.id, user_id)
        if existing is not None:
            return PollAnswered("same", Grade(existing.rating))
        rating = Grade.GOT_IT if found.correct_option in option_ids else Grade.NO_IDEA
        self._record(db, post.id, post.chat_id, item.id, user_id, rating, now)
        return PollAnswered("recorded", rating)

    def _record(
        self,
        db: Session,
        post_id: int,
        chat_id: int,
        item_id: str,
        user_id: int,
        rating: Grade,
        now: datetime,
    ) -> None:
        """A member's first rating of a post (a button or a poll answer): their review, on
        their own schedule, and the post's record of who rated what."""
        card = cards.read(db, [user_id], [item_id])[user_id].get(item_id)
        recorded = record_review(
            db,
            self.scheduler,
            user_id=user_id,
            item_id=item_id,
            card=card,
            rating=rating,
            now=now,
            tz=UTC,
            chat_id=chat_id,
        )
        groups.add_rating(db, post_id, user_id, recorded.review_id, int(rating), now)
