"""The terminal mode end to end: the real `studybot` command on a temporary database."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_item
from tests.processes import studybot


@pytest.fixture
def env(tmp_path: Path, content_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'term.db'}",
        "STUDYBOT_CONTENT_DIR": str(content_dir),
        "STUDYBOT_FUZZING": "off",
    }


def _reviews(env: dict[str, str]) -> list[tuple[str, int]]:
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT item_id, rating FROM reviews ORDER BY id"))


def test_piped_session_records_ratings_and_stats_reflect_them(env: dict[str, str]) -> None:
    done = studybot(["study", "-n", "3"], env, stdin="\n3\n\n1\n\n2\n")
    assert done.returncode == 0, done.stderr
    assert "1/3 · concept · foundations · difficulty 1/5" in done.stdout
    assert "Rated 3 items: No idea 1 · Partial 1 · Got it 1" in done.stdout
    assert [r for _, r in _reviews(env)] == [3, 1, 2]
    stats = studybot(["stats"], env)
    assert stats.returncode == 0, stats.stderr
    assert "Items studied: 3 of 20 · 3 reviews · 1 session" in stats.stdout
    assert "Due: nothing now · 2 tomorrow · 3 in the next 7 days" in stats.stdout


def test_retry_skip_quit_and_bad_keys(env: dict[str, str]) -> None:
    # item 1: rated 1; item 2: skipped; "x" is refused, then 3; the retry of item 1 gets 2.
    done = studybot(["study", "-n", "3", "-t", "concepts"], env, stdin="\n1\ns\n\nx\n3\n\n2\n")
    assert done.returncode == 0, done.stderr
    assert "Please type 1, 2 or 3" in done.stdout
    assert "once more" in done.stdout
    reviews = _reviews(env)
    assert [r for _, r in reviews] == [1, 3, 2]
    assert reviews[0][0] == reviews[2][0]
    quit_early = studybot(["study", "-n", "5"], env, stdin="\n3\nq\n")
    assert quit_early.returncode == 0
    assert "Rated 1 item:" in quit_early.stdout


def test_math_is_shown_as_unicode(env: dict[str, str], content_dir: Path) -> None:
    write_item(
        content_dir,
        "quiz",
        "q009",
        category="foundations",
        difficulty=1,
        question=r"Write $\mathrm{softmax}(QK^\top/\sqrt{d_k})V$ out.",
        answer="It is\n\n$$\n\\boxed{p - y}\n$$\n",
    )
    done = studybot(["study", "-n", "1", "-t", "quiz"], env, stdin="\n3\n")
    assert "softmax(QKᵀ/√d_k)V" in done.stdout
    assert "[ p - y ]" in done.stdout


def test_reset_asks_first(env: dict[str, str]) -> None:
    studybot(["study", "-n", "2"], env, stdin="\n3\n\n3\n")
    refused = studybot(["reset"], env, stdin="no\n")
    assert refused.returncode == 1 and len(_reviews(env)) == 2
    done = studybot(["reset"], env, stdin="yes\n")
    assert done.returncode == 0 and _reviews(env) == []
    assert studybot(["reset", "--yes"], env).returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["study", "-n", "0"], "ask for at least 1 item"),
        (["study", "-n", "-3"], "ask for at least 1 item"),
        (["study", "-n", "abc"], "is not a number of items"),
        (["study", "-t", "poems"], "unknown type 'poems'"),
    ],
)
def test_bad_arguments_get_one_line_and_nonzero_exit(
    env: dict[str, str], args: list[str], message: str
) -> None:
    done = studybot(args, env, stdin="")
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_too_many_items_are_clamped_with_a_notice(env: dict[str, str]) -> None:
    done = studybot(["study", "-n", "100000"], env, stdin="q\n")
    assert done.returncode == 0
    assert "A session has at most 100 items: studying 100." in done.stdout


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_missing_or_empty_content_dir(env: dict[str, str], tmp_path: Path, case: str) -> None:
    folder = tmp_path / case
    if case == "empty":
        folder.mkdir()
    done = studybot(["study"], {**env, "STUDYBOT_CONTENT_DIR": str(folder)})
    assert done.returncode == 2
    assert "STUDYBOT_CONTENT_DIR" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_corrupt_or_unreadable_database_is_never_overwritten(
    env: dict[str, str], tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 512)
    done = studybot(["study"], {**env, "DATABASE_URL": f"sqlite:///{corrupt}"})
    assert done.returncode == 1
    assert "not a usable SQLite database" in done.stderr and "Traceback" not in done.stderr
    assert corrupt.read_bytes() == b"\x00garbage" * 512
    folder = tmp_path / "a_directory.db"
    folder.mkdir()
    done = studybot(["stats"], {**env, "DATABASE_URL": f"sqlite:///{folder}"})
    assert done.returncode == 1
    assert "cannot use the database" in done.stderr and "Traceback" not in done.stderr


SHORT_FORMS = (
    "## Short answer\nThe gist, with $\\alpha > 1$.\n\n"
    "## Key points\n- The first point\n- The second point\n- The third point"
)
CHOICES = "## Choices\n- [x] The right one\n- [ ] Wrong\n- [ ] Also wrong\n- [ ] Wrong too"


def write_full_item(root: Path, folder: str, item_id: str, **fields: Any) -> Path:
    """An item with the short forms that check-content requires (after the question)."""
    forms = SHORT_FORMS + (f"\n\n{CHOICES}" if folder == "quiz" else "")
    return write_item(root, folder, item_id, question=f"What is it?\n\n{forms}", **fields)


def test_check_content_lists_problems_or_counts(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "good"
    write_full_item(good, "concepts", "c001")
    write_full_item(good, "quiz", "q001")
    ok = studybot(["check-content", str(good)], env)
    assert ok.returncode == 0, ok.stderr
    assert "2 items" in ok.stdout
    bad = tmp_path / "bad"
    write_item(bad, "concepts", "c001", difficulty=7)
    (bad / "concepts" / "c002_x.md").write_bytes(b"\xff\xfe not utf-8")
    done = studybot(["check-content", str(bad)], env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert any(":6: difficulty 7 is outside 1-5" in line for line in lines)
    assert any("c002_x.md:1: not UTF-8" in line for line in lines)


def test_check_content_requires_the_short_forms_that_study_does_without(
    env: dict[str, str],
) -> None:
    # The fixture's items have no short answer, key points or choices, like a learner's own.
    done = studybot(["check-content"], env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert any(
        line.endswith("c001_item.md:14: missing '## Short answer' section") for line in lines
    )
    assert any(line.endswith("q001_item.md:14: missing '## Choices' section") for line in lines)
    assert lines[-1].startswith("44 problems")  # 20 items x 2, and the 4 quiz items' choices
    study = studybot(["study", "-n", "1"], env, stdin="\n3\n")
    assert study.returncode == 0 and "Rated 1 item:" in study.stdout


def test_the_answer_shows_the_short_forms_first_and_once(
    env: dict[str, str], content_dir: Path
) -> None:
    write_full_item(content_dir, "quiz", "q009", answer="The full answer.")
    done = studybot(["study", "--item", "q009"], env, stdin="\n3\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = ["Short answer", "The gist, with α > 1.", "Key points", "The third point"]
    order += ["The full answer.", "Follow-up questions", "Why?"]
    assert [out.index(text) for text in order] == sorted(out.index(text) for text in order)
    assert out.count("The gist") == 1 and out.count("The first point") == 1
    assert "Also wrong" not in out  # the choices are for polls


def test_bot_without_token_explains_what_to_do(env: dict[str, str]) -> None:
    done = studybot(["bot"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "@BotFather" in lines[0] and "studybot study" in lines[1]
    bad = studybot(["bot"], {**env, "TELEGRAM_BOT_TOKEN": "not-a-token"})
    assert bad.returncode == 2 and "does not look like a bot token" in bad.stderr


def test_exam_date_in_the_terminal(env: dict[str, str]) -> None:
    from datetime import date, timedelta

    soon = (date.today() + timedelta(days=5)).isoformat()
    done = studybot(["exam", soon], env)
    assert done.returncode == 0, done.stderr
    assert "5 days to go · today: deep explanations and derivations" in done.stdout
    assert "5 days to go" in studybot(["stats"], env).stdout
    for bad, message in [("2020-01-01", "in the past"), ("soon", "YYYY-MM-DD")]:
        refused = studybot(["exam", bad], env)
        assert refused.returncode == 2 and message in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    words = studybot(["exam", "in", "3", "weeks"], env)  # as a person writes it
    assert words.returncode == 0 and "21 days to go" in words.stdout, words.stderr
    assert "cleared" in studybot(["exam", "off"], env).stdout
    assert "Plan: week 1 of 6" in studybot(["stats"], env).stdout


def test_user_name_longer_than_64_characters_is_refused(env: dict[str, str]) -> None:
    done = studybot(["stats", "--user", "x" * 65], env)
    assert done.returncode == 2 and "--user must be 1 to 64 characters" in done.stderr
