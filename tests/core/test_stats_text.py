"""The wording both front ends share (bot/core/text.py) and the /stats chart's axes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.charts import stats_figure
from bot.core.srs import Grade, grade, make_scheduler, recall_in_a_week, retrievability
from bot.core.stats import CategoryProgress, DueCounts, SessionResult, Stats, Streak
from bot.core.text import (
    are,
    clip,
    due_summary,
    due_today,
    notes,
    plural,
    stats_summary,
    streak_days,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (plural(1, "item"), "1 item"),
        (plural(0, "item"), "0 items"),
        (plural(3, "review"), "3 reviews"),
        (plural(2, "category", "categories"), "2 categories"),
        (f"1 item {are(1)}, 2 items {are(2)}", "1 item is, 2 items are"),
        (streak_days(0), "no streak yet"),
        (streak_days(1), "1 day in a row"),
        (streak_days(4), "4 days in a row"),
    ],
)
def test_plurals(said: str, expected: str) -> None:
    assert said == expected


@pytest.mark.parametrize(
    ("due", "new", "expected"),
    [
        (0, 5, "Nothing due today, 5 new."),
        (1, 0, "1 item due today."),
        (3, 5, "3 items due today, 5 new."),
        (12, 0, "12 items due today."),
    ],
)
def test_due_today(due: int, new: int, expected: str) -> None:
    assert due_today(due, new) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([], ""),
        (["", "  "], ""),
        (
            ["999 is more than 50; studying 50.", "3 items reviewed ahead of schedule"],
            "999 is more than 50; studying 50; 3 items reviewed ahead of schedule.",
        ),
        (
            ["only 4 of the 10 items asked for are available."],
            "only 4 of the 10 items asked for are available.",
        ),
        (["first;", "", "second."], "first; second."),
    ],
)
def test_notes_never_double_their_punctuation(parts: list[str], expected: str) -> None:
    joined = notes(parts)
    assert joined == expected
    assert ".;" not in joined and ".." not in joined


def test_clip_ends_on_a_whole_word_with_an_ellipsis() -> None:
    label = "c014 · 31% · Rotary positional embeddings (RoPE) and why they extrapolate poorly"
    cut = clip(label, 60)
    assert len(cut) <= 60 and cut.endswith("…")
    assert cut == "c014 · 31% · Rotary positional embeddings (RoPE) and why…"
    assert clip("short", 60) == "short"
    assert clip("x" * 80, 10) == "x" * 9 + "…"  # no space to cut at: cut inside the word
    assert clip("a " + "x" * 80, 10) == "a " + "x" * 7 + "…"  # a space too early is not used


def _stats(**changes: object) -> Stats:
    today = NOW.date()
    base: dict[str, object] = {
        "total_items": 227,
        "studied": 3,
        "reviews": 1,
        "sessions": 1,
        "streak": Streak(current=1, active_last_14=1),
        "recent": [SessionResult(NOW, 1, {1: 1, 2: 0, 3: 0})],
        "due": DueCounts(now=0, tomorrow=1, week=1),
        "categories": [
            CategoryProgress("foundations", 3, 2, 1),
            CategoryProgress("transformers", 5, 1, 0),
        ],
        "daily": {today - timedelta(days=k): {1: 0, 2: 0, 3: 0} for k in range(29, -1, -1)},
        "forecast": [0] * 14,
    }
    base.update(changes)
    return Stats(**base)  # type: ignore[arg-type]


def test_stats_summary_reads_as_a_person_would_say_it() -> None:
    assert stats_summary(_stats()) == [
        "Items studied: 3 of 227 · 1 review · 1 session",
        "Streak: 1 day in a row · active on 1 of the last 14 days",
        "Due: nothing now · 1 tomorrow · 1 in the next 7 days",
    ]
    many = _stats(reviews=40, sessions=6, streak=Streak(0, 3), due=DueCounts(4, 0, 9))
    assert stats_summary(many) == [
        "Items studied: 3 of 227 · 40 reviews · 6 sessions",
        "Streak: no streak yet · active on 3 of the last 14 days",
        "Due: 4 now · none tomorrow · 9 in the next 7 days",
    ]
    assert due_summary(DueCounts(0, 0, 0)) == "Nothing due in the next 7 days"
    assert not any("(s)" in line for line in stats_summary(many))


def test_chart_counts_have_whole_number_ticks_and_no_empty_axes() -> None:
    # Reviews long ago: nothing in the last 30 days, nothing due in 14: every count is 0.
    fig = stats_figure(_stats())
    top, middle, bottom = fig.axes[:3]
    fig.canvas.draw()
    assert top.get_ylim() == (0, 1) and middle.get_ylim() == (0, 1)
    for ticks in (top.get_yticks(), middle.get_yticks(), bottom.get_xticks()):
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    # Small counts (at most 5 items in a category): ticks 0, 1, 2... never 2.5.
    daily = {NOW.date() - timedelta(days=k): {1: k % 2, 2: 1, 3: 0} for k in range(29, -1, -1)}
    fig = stats_figure(_stats(daily=daily, forecast=[3, 1] + [0] * 12))
    top, middle, bottom = fig.axes[:3]
    fig.canvas.draw()
    assert top.get_ylim()[0] == 0 and top.get_ylim()[1] >= 2
    for ticks in (top.get_yticks(), middle.get_yticks(), bottom.get_xticks()):
        assert all(float(t).is_integer() for t in ticks), ticks


def test_recall_in_a_week_ranks_a_failed_item_below_a_known_one() -> None:
    # The /weak bug: right after any review fsrs's recall now is 1.0, whatever the rating.
    scheduler = make_scheduler(fuzzing=False)
    failed, _ = grade(scheduler, None, "a", Grade.NO_IDEA, NOW)
    failed, _ = grade(scheduler, failed, "a", Grade.NO_IDEA, NOW + timedelta(minutes=5))
    known, _ = grade(scheduler, None, "b", Grade.GOT_IT, NOW)
    later = NOW + timedelta(minutes=6)
    assert retrievability(scheduler, failed, later) == pytest.approx(1.0, abs=0.01)
    assert recall_in_a_week(scheduler, failed, later) < 0.7
    assert recall_in_a_week(scheduler, failed, later) < recall_in_a_week(scheduler, known, later)
