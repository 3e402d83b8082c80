"""Group sessions end to end: a header and numbered posts, one summary once the ratings settle
(or at the group's next session or push, a restart between), and the leaderboard by items
known. The real Application against the stand-in."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.services.groups import SUMMARY_WATCH, GroupService
from bot.services.study import StudyService
from bot.telegram.callbacks import Action, decode, encode
from bot.telegram.push import push_chat
from tests.botapi import BotApiStandIn, StoredMessage, User
from tests.botapi.state import Chat
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

TRANSCRIPTS = (
    Path(os.environ.get("STUDYBOT_TRANSCRIPTS", ""))
    if os.environ.get("STUDYBOT_TRANSCRIPTS")
    else None
)
T0 = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
SETTLE = 0.2  # seconds: how long the ratings of a session must be quiet, shortened
NUMBERED = re.compile(r"[0-9]+/[0-9]+ · ")


def write_quiz(root: Path, item_id: str, title: str, correct: int = 1) -> None:
    """A quiz item with four choices (``correct``: which one, as written) for a poll."""
    choices = "\n".join(
        f"- [{'x' if k == correct else ' '}] Option {k} of {item_id}" for k in range(4)
    )
    path = root / "quiz" / f"{item_id}_item.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nid: {item_id}\ntitle: {title}\ntype: quiz\ncategory: foundations\n"
        f"difficulty: 2\ntags: [t]\n---\n# {title}\n\n"
        f"## Question\nWhich option of {item_id} is right, with $x^2$?\n\n"
        f"## Short answer\nOption {correct}, because $x^2 \\ge 0$.\n\n"
        f"## Key points\n- One\n- Two\n- Three\n\n## Choices\n{choices}\n\n"
        f"## Answer\nOption {correct}.\n\n## Follow-up Questions\n- Why?\n",
        encoding="utf-8",
    )


def content(root: Path, concepts: int = 3, quizzes: int = 2) -> Path:
    for k in range(concepts):
        write_item(root, "concepts", f"c{k + 1:03d}", title=f"Concept {k + 1}")
    for k in range(quizzes):
        write_quiz(root, f"q{k + 1:03d}", f"Quiz {k + 1}", correct=k % 4)
    return root


def posts(api: BotApiStandIn, chat: Chat) -> list[StoredMessage]:
    """The group's numbered posts ("2/5 · ..."), polls among them, in order."""
    return [
        m
        for m in api.messages(chat)
        if NUMBERED.match(m.poll.question if m.poll is not None else m.text or "")
    ]


async def reveal_and_rate(
    api: BotApiStandIn, chat: Chat, post: StoredMessage, ratings: list[tuple[User, int]]
) -> None:
    """Someone reveals a post, then each member presses their rating under its answer."""
    reveal = decode(post.callback_data("Show answer"))
    assert reveal is not None and reveal.action == Action.GROUP_REVEAL
    api.press(chat, ratings[0][0], post.message_id, post.callback_data("Show answer"))

    def rate_data(grade: int) -> str:
        return encode(Action.GROUP_RATE, reveal.id, grade)

    def answer() -> StoredMessage | None:
        return next((m for m in api.messages(chat) if m.label_for(rate_data(1)) is not None), None)

    shown = await api.wait_for(answer, timeout=10, what="the rating buttons")
    for user, grade in ratings:
        press = api.press(chat, user, shown.message_id, rate_data(grade))
        await api.wait_for(lambda p=press: api.callback_queries[p.query_id].answered)


def vote(api: BotApiStandIn, chat: Chat, post: StoredMessage, user: User, right: bool) -> None:
    poll = api.poll(chat, post.message_id)
    correct = poll.correct_option_ids[0]
    api.answer_poll(chat, user, [correct if right else (correct + 1) % 4], post.message_id)


def summaries(api: BotApiStandIn, chat: Chat) -> list[str]:
    return [m.text or "" for m in api.messages(chat) if ": summary" in (m.text or "")]


def reviews(bot: RunningBot) -> int:
    return int(bot.rows("SELECT count(*) FROM reviews")[0][0])


async def test_group_study_five_items_three_members_and_one_summary(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    root = content(tmp_path / "content")
    group = api.group(-9001, "ML interview prep", type="supergroup")
    ann, bob, cy = api.user(9101, "Ann"), api.user(9102, "Bob"), api.user(9103, "Cy")
    async with running_bot(api, tmp_path, content=root, group_settle_seconds=SETTLE) as bot:
        bot.set_clock(T0)
        api.send_text(group, ann, "/study 5")
        await api.wait_for(lambda: len(posts(api, group)) == 5, timeout=15)
        header = api.messages(group)[0].text or ""
        assert header == (
            "Group study — 5 items · anyone can reveal, everyone rates for themselves"
        )
        shown = posts(api, group)
        heads = [(m.poll.question if m.poll else m.text or "").split(" · ")[0] for m in shown]
        assert heads == ["1/5", "2/5", "3/5", "4/5", "5/5"]
        assert sum(m.poll is not None for m in shown) == 2  # the quiz items, as quiz polls
        first_concept = next(m for m in shown if m.poll is None)
        expected = 0
        for post in shown:
            if post.poll is not None:
                # One quiz poll, answered differently by each: right, wrong, right.
                for user, right in [(ann, True), (bob, False), (cy, True)]:
                    vote(api, group, post, user, right)
            elif post is first_concept:
                await reveal_and_rate(api, group, post, [(ann, 1), (bob, 1), (cy, 1)])
            else:
                await reveal_and_rate(api, group, post, [(ann, 3), (bob, 2), (cy, 1)])
            expected += 3
            await api.wait_for(lambda n=expected: reviews(bot) == n, timeout=10)
        # While ratings keep coming (the clock stands still), no summary.
        await asyncio.sleep(SETTLE * 4)
        assert summaries(api, group) == []
        bot.set_clock(T0 + timedelta(minutes=10))
        await api.wait_for(lambda: summaries(api, group), timeout=10, what="the summary")
        await asyncio.sleep(SETTLE * 5)  # the watch has stopped: one summary
        [summary] = summaries(api, group)
        position = shown.index(first_concept) + 1
        assert summary == (
            "Group study: summary · 5 items\n"
            "Ann: No idea 1 · Partial 0 · Got it 4\n"
            "Bob: No idea 3 · Partial 2 · Got it 0\n"
            "Cy: No idea 3 · Partial 0 · Got it 2\n"
            f"Hardest: {position}/5 · Concept {int(first_concept.text.split('Concept ')[1][0])} "
            "(mean rating 1.0 of 3)"
        )
        assert bot.rows("SELECT count(*) FROM group_sessions WHERE summary_at IS NULL") == [(0,)]
        if TRANSCRIPTS is not None:
            TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
            (TRANSCRIPTS / "group_study5.txt").write_text(api.transcript(group), "utf-8")


async def test_an_owed_summary_comes_with_the_next_session_and_survives_a_restart(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    root = content(tmp_path / "content", concepts=8, quizzes=0)
    group = api.group(-9002, "Reading club")
    ann, bob = api.user(9201, "Ann"), api.user(9202, "Bob")
    api.set_member_status(group, ann, "administrator")
    # The ratings never settle within the test: only the next session sends the summary.
    async with running_bot(api, tmp_path, content=root, group_settle_seconds=3600) as bot:
        bot.set_clock(T0)
        api.send_text(group, ann, "/daily 09:00")
        await api.wait_for(lambda: api.messages(group))
        api.send_text(group, bob, "/study 2")
        await api.wait_for(lambda: len(posts(api, group)) == 2)
        first, second = posts(api, group)
        await reveal_and_rate(api, group, first, [(ann, 3), (bob, 1)])
        await reveal_and_rate(api, group, second, [(bob, 2)])
        await api.wait_for(lambda: reviews(bot) == 3)
        bot.set_clock(T0 + timedelta(hours=2))
        api.send_text(group, ann, "/study 2")  # the next session: the summary comes first
        await api.wait_for(lambda: len(posts(api, group)) == 4)
        texts = [m.text or "" for m in api.messages(group)]
        at = texts.index(summaries(api, group)[0])
        assert texts[at + 1].startswith("Group study — 2 items")
        assert summaries(api, group)[0].splitlines()[1:3] == [
            "Bob: No idea 1 · Partial 1 · Got it 0",  # who rated most first
            "Ann: No idea 0 · Partial 0 · Got it 1",
        ]
        third = posts(api, group)[2]
        await reveal_and_rate(api, group, third, [(ann, 2)])
    # A restart: the watch is gone; the next push sends what the second session owes.
    async with running_bot(api, tmp_path, content=root, group_settle_seconds=3600) as bot:
        bot.set_clock(T0.replace(hour=9) + timedelta(days=1, seconds=5))
        assert await push_chat(bot.app, group.id) == "sent"
        texts = [m.text or "" for m in api.messages(group)]
        assert len(summaries(api, group)) == 2
        at = texts.index(summaries(api, group)[1])
        assert summaries(api, group)[1].splitlines()[1:] == [
            "Ann: No idea 0 · Partial 1 · Got it 0",
            "Hardest: 1/2 · Concept "
            + (third.text or "").split("Concept ")[1][0]
            + " (mean rating 2.0 of 3)",
        ]
        assert texts[at + 1].startswith("Today's items — 3 items")
        # Nobody rated the push's items: the next session owes nothing to say.
        api.send_text(group, ann, "/study 1")
        await api.wait_for(lambda: len(posts(api, group)) == 8)
        assert len(summaries(api, group)) == 2
        assert bot.rows("SELECT count(*) FROM group_sessions WHERE summary_at IS NULL") == [(1,)]


async def test_leaderboard_ranks_by_items_known_not_by_number_of_reviews(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    root = content(tmp_path / "content", concepts=3, quizzes=0)
    group = api.group(-9003, "Board")
    nia, gus = api.user(9301, "Nia"), api.user(9302, "Gus")
    async with running_bot(api, tmp_path, content=root) as bot:
        bot.set_clock(T0)
        api.send_text(group, nia, "/study 3")
        await api.wait_for(lambda: len(posts(api, group)) == 3)
        for k, post in enumerate(posts(api, group)):
            ratings = [(nia, 1)] + ([(gus, 3)] if k < 2 else [])
            await reveal_and_rate(api, group, post, ratings)
        await api.wait_for(lambda: reviews(bot) == 5)
        api.send_text(group, nia, "/stats")
        board = await api.wait_for(
            lambda: next(
                (m.text for m in api.messages(group) if "Leaderboard" in (m.text or "")), None
            )
        )
        lines = board.splitlines()
        # Three "No idea" are more reviews than two "Got it", and know less.
        assert lines[1] == "1. Gus — 0 known · streak 1 day · 2 reviews"
        assert lines[2] == "2. Nia — 0 known · streak 1 day · 3 reviews"
        stats = bot.deps.groups.group_stats(group.id, T0, UTC)
        gus_row, nia_row = stats.leaderboard
        assert gus_row.recall > nia_row.recall


def test_a_summary_is_due_once_the_last_post_is_answered_and_ratings_settle(
    groups: GroupService, service: StudyService
) -> None:
    settle = timedelta(minutes=5)
    ann = service.telegram_user(9401, "Ann", T0)
    plan = groups.start_session(-9004, "study", 2, T0)
    assert plan is not None and plan.size == 2 and plan.start == 0
    first, last = (
        groups.add_session_post(plan, -9004, item_id, k, T0)
        for k, item_id in enumerate(plan.item_ids)
    )
    groups.rate_post(first, -9004, ann, 1, T0 + timedelta(minutes=1))
    later = T0 + timedelta(hours=1)
    assert groups.summary_state(plan.session_id, later, settle) == "wait"  # last not answered
    groups.rate_post(last, -9004, ann, 3, later)
    assert groups.summary_state(plan.session_id, later + timedelta(minutes=4), settle) == "wait"
    assert groups.summary_state(plan.session_id, later + settle, settle) == "due"
    summary = groups.take_summary(plan.session_id, later + settle)
    assert summary is not None and summary.hardest_position == 0 and summary.hardest_mean == 1
    assert [(m.name, m.counts) for m in summary.members] == [("Ann", {1: 1, 2: 0, 3: 1})]
    assert groups.take_summary(plan.session_id, later + settle) is None  # once
    assert groups.summary_state(plan.session_id, later + settle, settle) == "done"
    # A session nobody finished is watched for SUMMARY_WATCH, then left to the next one.
    other = groups.start_session(-9004, "study", 1, T0)
    assert other is not None
    groups.add_session_post(other, -9004, other.item_ids[0], 0, T0)
    assert groups.summary_state(other.session_id, T0 + SUMMARY_WATCH, settle) == "wait"
    stale = T0 + SUMMARY_WATCH + timedelta(seconds=1)
    assert groups.summary_state(other.session_id, stale, settle) == "stale"
    assert groups.unsummed_sessions(-9004) == [other.session_id]
    assert groups.unsummed_sessions(-9004, other.session_id) == []
    assert groups.take_summary(other.session_id, stale) is None  # claimed, nothing to say
    assert groups.unsummed_sessions(-9004) == []


async def test_two_study_commands_at_once_post_different_items(
    api: BotApiStandIn, tmp_path: Path
) -> None:
    """Two members' /study 3 arriving together: two sessions, six different items (the items
    a session picks are taken while its posts go out)."""
    async with running_bot(api, tmp_path, content=content(tmp_path / "content", 6, 0)) as bot:
        ann, bob = api.user(9301, "Ann"), api.user(9302, "Bob")
        group = api.group(-9300, "Pair")
        api.send_text(group, ann, "/study 3")
        api.send_text(group, bob, "/study 3")
        await api.wait_for(lambda: len(bot.rows("SELECT item_id FROM group_posts")) == 6)
        posted = [i for (i,) in bot.rows("SELECT item_id FROM group_posts")]
        assert sorted(posted) == [f"c{k:03d}" for k in range(1, 7)]
