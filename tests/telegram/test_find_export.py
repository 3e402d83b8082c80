"""/find, /item, /export and /forget_me end to end (the real Application against the stand-in),
and their terminal equivalents `studybot find`, `studybot study --item` and `studybot export`."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest

from bot.telegram.jobs import job_name
from tests.botapi import BotApiStandIn, Chat, StoredMessage, User
from tests.conftest import write_item
from tests.harness import RunningBot
from tests.processes import studybot

ROPE = "c014 · Rotary positional embeddings (RoPE)"
RATINGS = ["1 · No idea", "2 · Partial", "3 · Got it"]
LEARNER_TABLES = ("users", "cards", "reviews", "study_sessions", "group_ratings")


async def _reply(api: BotApiStandIn, chat_id: int, count: int) -> StoredMessage:
    await api.wait_for(lambda: len(api.messages(chat_id)) >= count, timeout=15)
    return api.messages(chat_id)[count - 1]


async def _press(api: BotApiStandIn, chat: Chat, user: User, label: str, message_id: int) -> str:
    """Press a button, wait for the answer to the query, return its text."""
    press = api.press_button(chat, user, label, message_id)
    await api.wait_for(lambda: api.callback_queries[press.query_id].answered, timeout=15)
    return api.callback_queries[press.query_id].text or ""


async def _rating_message(api: BotApiStandIn, chat_id: int) -> StoredMessage:
    """The newest message with the rating buttons under it (waited for)."""
    message: StoredMessage = await api.wait_for(
        lambda: next(
            (
                m
                for m in reversed(api.messages(chat_id))
                if any(b.startswith(RATINGS[0]) for row in m.button_texts for b in row)
            ),
            None,
        ),
        timeout=15,
    )
    return message


async def _rate_shown_item(
    api: BotApiStandIn, chat: Chat, user: User, rating: str = "3 · Got it"
) -> StoredMessage:
    """Reveal and rate the question the bot just sent; return what the bot sends next."""
    await _press(api, chat, user, "Show answer", api.messages(chat.id)[-1].message_id)
    answer = await _rating_message(api, chat.id)
    before = len(api.messages(chat.id))
    await _press(api, chat, user, rating, answer.message_id)
    return await _reply(api, chat.id, before + 1)


def _learner_rows(bot: RunningBot) -> dict[str, int]:
    return {t: bot.rows(f"SELECT count(*) FROM {t}")[0][0] for t in LEARNER_TABLES}


# Find and open ---------------------------------------------------------------------------


async def test_find_lists_buttons_and_a_press_studies_that_item(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    ann = api.user(6001, "Ann")
    chat = api.private_chat(ann)
    api.send_text(chat, ann, "/find Rotary Embeddings")
    found = await _reply(api, chat.id, 1)
    assert "rotary embeddings" in (found.text or "").lower()
    assert found.button_texts[0] == [ROPE]
    assert all(len(row) == 1 for row in found.button_texts) and len(found.button_texts) <= 10
    assert await _press(api, chat, ann, ROPE, found.message_id) == ""
    question = await _reply(api, chat.id, 2)
    assert (question.text or "").startswith("1/1 · concept · transformers")
    assert "Rotary positional embeddings (RoPE)" in (question.text or "")
    assert question.button_texts[0][:2] == ["Show answer", "Skip"]
    summary = await _rate_shown_item(api, chat, ann)
    assert "Rated 1 item: No idea 0 · Partial 0 · Got it 1" in (summary.text or "")
    assert bot.rows("SELECT item_id, rating FROM reviews") == [("c014", 3)]
    assert bot.rows("SELECT kind, queue, status FROM study_sessions") == [
        ("item", "c014", "finished")
    ]
    # A broad search says that there is more than the ten shown.
    api.send_text(chat, ann, "/find attention")
    many = await api.wait_for(
        lambda: next((m for m in api.messages(chat.id) if "best 10" in (m.text or "")), None),
        timeout=15,
    )
    assert len(many.button_texts) == 10


async def test_item_opens_one_item_directly_and_in_a_group_posts_it(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    bob = api.user(6002, "Bob")
    chat = api.private_chat(bob)
    api.send_text(chat, bob, "/item C014")
    question = await _reply(api, chat.id, 1)
    assert (question.text or "").startswith("1/1 · concept")
    retry = await _rate_shown_item(api, chat, bob, "1 · No idea")
    assert (retry.text or "").startswith("2/2") and "once more" in (retry.text or "")  # as usual
    summary = await _rate_shown_item(api, chat, bob, "3 · Got it")
    assert "Rated 2 items: No idea 1 · Partial 0 · Got it 1" in (summary.text or "")
    group = api.group(-6100, "Prep group")
    api.send_text(group, bob, "/item q001")
    post = await _reply(api, group.id, 1)
    assert post.button_texts == [["Show answer"]]
    assert bot.rows("SELECT chat_id, item_id FROM group_posts") == [(-6100, "q001")]
    api.send_text(group, bob, "/find rotary embeddings")
    found = await _reply(api, group.id, 2)
    await _press(api, group, bob, ROPE, found.message_id)
    await _reply(api, group.id, 3)
    assert bot.rows("SELECT item_id FROM group_posts ORDER BY id") == [("q001",), ("c014",)]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/find", "Usage: /find WORDS"),
        ("/find zebra crossing", "Nothing found for “zebra crossing”"),
        ("/item", "Usage: /item ID"),
        ("/item c014 c015", "Usage: /item ID"),
        ("/item nope", "There is no item “nope”"),
        ("/item <b>", "There is no item “<b>”"),
    ],
)
async def test_find_and_item_bad_input_gets_one_line(
    api: BotApiStandIn, bot: RunningBot, command: str, expected: str
) -> None:
    cy = api.user(6003, "Cy")
    chat = api.private_chat(cy)
    api.send_text(chat, cy, command)
    reply = await _reply(api, chat.id, 1)
    await api.wait_for(lambda: True)
    assert len(api.messages(chat.id)) == 1 and reply.button_texts == []
    assert expected in (reply.text or "") and "\n" not in (reply.text or "")
    assert _learner_rows(bot) == dict.fromkeys(LEARNER_TABLES, 0)


# Export ----------------------------------------------------------------------------------


async def test_export_sends_own_history_as_csv_and_never_in_a_group(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    dee, eli = api.user(6004, "Dee"), api.user(6005, "Eli")
    dee_chat, eli_chat = api.private_chat(dee), api.private_chat(eli)
    api.send_text(dee_chat, dee, "/export")
    assert "Nothing to export yet" in ((await _reply(api, dee_chat.id, 1)).text or "")
    for user, chat, item in [
        (dee, dee_chat, "c014"),
        (eli, eli_chat, "q002"),
        (dee, dee_chat, "c001"),
    ]:
        before = len(api.messages(chat.id))
        api.send_text(chat, user, f"/item {item}")
        await _reply(api, chat.id, before + 1)
        await _rate_shown_item(api, chat, user, "2 · Partial")
    group = api.group(-6200, "Prep group")
    api.send_text(group, dee, "/export")
    sent = await _reply(api, group.id, 1)  # the CSV goes to her private chat, not the group
    assert sent.text == "Sent to you in private." and sent.kind == "text"
    api.send_text(dee_chat, dee, "/export")
    document = await api.wait_for(
        lambda: next((m for m in api.messages(dee_chat.id) if m.kind == "document"), None),
        timeout=15,
    )
    assert document.document is not None
    assert document.document["file_name"].endswith(".csv")
    assert "2 reviews" in (document.caption or "")
    upload = api.files[document.document["file_id"]]
    assert upload is not None
    rows = list(csv.reader(io.StringIO(upload.data.decode("utf-8"))))
    assert rows[0] == ["item_id", "title", "rating", "reviewed_at_utc", "interval_days"]
    assert [r[:3] for r in rows[1:]] == [
        ["c014", "Rotary positional embeddings (RoPE)", "2"],
        ["c001", "Backpropagation", "2"],
    ]
    assert all(r[3].endswith("Z") and float(r[4]) > 0 for r in rows[1:])
    assert not any(m.kind == "document" for m in api.messages(group.id))


# Forget me -------------------------------------------------------------------------------


async def test_forget_me_deletes_the_person_and_their_name_leaves_group_tallies(
    api: BotApiStandIn, bot: RunningBot
) -> None:
    fay, gus = api.user(6006, "Fay"), api.user(6007, "Gus")
    fay_chat = api.private_chat(fay)
    api.send_text(fay_chat, fay, "/start")  # subscribes her private chat to the daily push
    await _reply(api, fay_chat.id, 1)
    api.send_text(fay_chat, fay, "/item c014")
    await _reply(api, fay_chat.id, 2)
    await _rate_shown_item(api, fay_chat, fay)
    # Both rate an item posted in a group.
    group = api.group(-6300, "Prep group")
    api.send_text(group, gus, "/item q001")
    post = await _reply(api, group.id, 1)
    await _press(api, group, gus, "Show answer", post.message_id)
    rated = await _rating_message(api, group.id)
    await _press(api, group, fay, "1 · No idea", rated.message_id)
    await _press(api, group, gus, "2 · Partial", rated.message_id)
    await api.wait_for(
        lambda: "Fay, Gus" in (api.message(group.id, rated.message_id).text or ""), timeout=15
    )
    # In a group /forget_me is answered in the private chat: the group sees one line.
    api.send_text(group, fay, "/forget_me")
    sent = await _reply(api, group.id, len(api.messages(group.id)) + 1)
    assert sent.text == "Sent to you in private." and sent.button_texts == []
    # Cancel first, then confirm; a second confirmation (and a repeated press) change nothing.
    api.send_text(fay_chat, fay, "/forget_me")
    ask = await _reply(api, fay_chat.id, len(api.messages(fay_chat.id)) + 1)
    assert ask.button_texts == [["Yes, delete everything", "Cancel"]]
    await _press(api, fay_chat, fay, "Cancel", ask.message_id)
    await api.wait_for(
        lambda: api.message(fay_chat.id, ask.message_id).text == "Nothing deleted.", timeout=15
    )
    api.send_text(fay_chat, fay, "/forget_me")
    first = await _reply(api, fay_chat.id, len(api.messages(fay_chat.id)) + 1)
    api.send_text(fay_chat, fay, "/forget_me")
    second = await _reply(api, fay_chat.id, len(api.messages(fay_chat.id)) + 1)
    press = api.press_button(fay_chat, fay, "Yes, delete everything", first.message_id)
    await api.wait_for(lambda: api.callback_queries[press.query_id].answered, timeout=15)
    assert api.callback_queries[press.query_id].text == "Deleted."
    done = api.message(fay_chat.id, first.message_id)
    await api.wait_for(lambda: "is deleted (2 reviews" in (done.text or ""), timeout=15)
    assert done.button_texts == []
    fay_rows = "SELECT count(*) FROM users WHERE telegram_id = 6006"
    assert bot.rows(fay_rows) == [(0,)]
    assert _learner_rows(bot) == {
        "users": 1,
        "cards": 1,
        "reviews": 1,
        "study_sessions": 0,
        "group_ratings": 1,
    }
    assert bot.rows(
        "SELECT u.first_name, r.item_id, r.rating FROM reviews r JOIN users u ON u.id = r.user_id"
    ) == [("Gus", "q001", 2)]
    assert bot.rows("SELECT count(*) FROM group_posts") == [(1,)]
    assert bot.deps.chats.get(6006) is None
    assert bot.deps.chats.get(-6300) is not None
    assert bot.app.job_queue is not None
    assert not [j for j in bot.app.job_queue.get_jobs_by_name(job_name(6006)) if not j.removed]
    after = _learner_rows(bot)
    assert await _press(api, fay_chat, fay, "Yes, delete everything", second.message_id) == (
        "Already done: nothing about you is stored."
    )
    answered = len(api.calls_of("answerCallbackQuery"))
    api.replay(press.update_id)
    await api.wait_for(lambda: len(api.calls_of("answerCallbackQuery")) > answered, timeout=15)
    assert _learner_rows(bot) == after
    # Her name leaves the tally at its next refresh.
    await _press(api, group, gus, "3 · Got it", rated.message_id)
    await api.wait_for(
        lambda: "Rated by 1" in (api.message(group.id, rated.message_id).text or ""), timeout=15
    )
    tally = api.message(group.id, rated.message_id).text or ""
    assert "Fay" not in tally and "Gus" in tally and "Got it 1" in tally


# The terminal ----------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, content_dir: Path) -> dict[str, str]:
    write_item(content_dir, "concepts", "c013", title="Rotary positional embeddings (RoPE)")
    write_item(content_dir, "concepts", "c014", title="Positional encodings [sinusoidal]")
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'term.db'}",
        "STUDYBOT_CONTENT_DIR": str(content_dir),
        "STUDYBOT_FUZZING": "off",
    }


def _db(env: dict[str, str], sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as conn:
        return list(conn.execute(sql))


def test_terminal_find_study_item_and_export(env: dict[str, str], tmp_path: Path) -> None:
    found = studybot(["find", "positional"], env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        "c013  Rotary positional embeddings (RoPE)",
        "c014  Positional encodings [sinusoidal]",
    ]
    done = studybot(["study", "--item", "C013", "--user", "ann"], env, stdin="\n2\n")
    assert done.returncode == 0, done.stderr
    assert "1/1 · concept" in done.stdout and "Rated 1 item:" in done.stdout
    studybot(["study", "--item", "c002", "--user", "bob"], env, stdin="\n3\n")
    assert _db(env, "SELECT item_id, rating FROM reviews ORDER BY id") == [("c013", 2), ("c002", 3)]
    target = tmp_path / "ann.csv"
    exported = studybot(["export", "--user", "ann", str(target)], env)
    assert exported.returncode == 0, exported.stderr
    assert "Wrote 1 review of 'ann'" in exported.stdout
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == ["item_id", "title", "rating", "reviewed_at_utc", "interval_days"]
    assert [r[:3] for r in rows[1:]] == [["c013", "Rotary positional embeddings (RoPE)", "2"]]


TERMINAL_BAD_INPUT = [
    (["find"], 2, "give words to find"),
    (["find", "  "], 2, "give words to find"),
    (["find", "zebra"], 1, "nothing found for 'zebra'"),
    (["study", "--item", "nope"], 2, "there is no item 'nope'"),
    (["export", "--user", "nobody", "out.csv"], 1, "'nobody' has no reviews to export"),
    (["export", "--user", "ann", "/nonexistent/dir/out.csv"], 1, "cannot write"),
]


def test_terminal_bad_input_gets_one_line_and_changes_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    studybot(["study", "--item", "c001", "--user", "ann"], env, stdin="\n3\n")
    counts = "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM reviews)"
    before = _db(env, counts)
    for args, code, message in TERMINAL_BAD_INPUT:
        done = studybot(args, env, cwd=tmp_path)
        assert done.returncode == code, args
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, args
        assert "Traceback" not in done.stderr and not (tmp_path / "out.csv").exists()
        assert _db(env, counts) == before, args
