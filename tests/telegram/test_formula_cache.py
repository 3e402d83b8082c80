"""Formula images through the real bot: "sending a photo..." before a formula that has to be
drawn, the drawings kept on disk and reused by a restarted bot, a broken file drawn again."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.core.formulas import FormulaCache, is_png
from bot.core.render import Formula, split_display
from bot.telegram import deps as deps_module
from tests.botapi import BotApiStandIn, StoredMessage, User
from tests.conftest import write_item
from tests.harness import RunningBot, running_bot

ANSWER = (
    "Softmax turns scores into probabilities:\n\n"
    "$$\\mathrm{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$$\n\n"
    "With cross-entropy its gradient is simple:\n\n"
    "$$\\boxed{\\frac{\\partial L}{\\partial z_i} = p_i - y_i}$$\n"
)
FORMULAS = [p for p in split_display(ANSWER) if isinstance(p, Formula)]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    write_item(root, "concepts", "c001", title="Softmax", answer=ANSWER)
    return root


@asynccontextmanager
async def bot_running(
    api: BotApiStandIn, tmp_path: Path, content: Path, **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The bot, its drawing process stopped afterwards (the harness leaves that to
    post_shutdown, which it does not call)."""
    running: RunningBot | None = None
    try:
        async with running_bot(api, tmp_path, content=content, **overrides) as running:
            yield running
    finally:
        if running is not None:
            running.deps.shutdown()


def _has_button(message: StoredMessage | None, prefix: str) -> bool:
    return message is not None and any(
        b.startswith(prefix) for row in message.button_texts for b in row
    )


async def full_answer(api: BotApiStandIn, user: User) -> list[StoredMessage]:
    """/item c001, Show answer, Full answer: the photos the full answer brought."""
    chat = api.private_chat(user)
    api.send_text(chat, user, "/item c001")
    await api.wait_for(lambda: _has_button(api.last_message(chat), "Show answer"), timeout=15)
    question = api.last_message(chat)
    assert question is not None
    api.press_button(chat, user, "Show answer", question.message_id)
    await api.wait_for(
        lambda: _has_button(api.message(chat, question.message_id), "Full answer"), timeout=15
    )
    api.press_button(chat, user, "Full answer", question.message_id)
    await api.wait_for(
        lambda: (
            api.messages(chat)[-1].message_id != question.message_id
            and _has_button(api.messages(chat)[-1], "3 · Got it")
        ),
        timeout=30,
    )
    return [m for m in api.messages(chat) if m.kind == "photo"]


def _calls_in(api: BotApiStandIn, chat_id: int) -> list[str]:
    """The chat's sendChatAction and sendPhoto calls, in order ("upload_photo", "photo")."""
    return [
        str(c.params.get("action")) if c.method == "sendChatAction" else "photo"
        for c in api.calls
        if c.method in ("sendChatAction", "sendPhoto") and c.params.get("chat_id") == chat_id
    ]


def _uploaded(api: BotApiStandIn, photo: StoredMessage) -> bytes:
    assert photo.photo is not None
    upload = api.files[photo.photo[-1]["file_id"]]
    assert upload is not None
    return bytes(upload.data)


async def test_a_formula_that_must_be_drawn_shows_sending_a_photo_first(
    api: BotApiStandIn, tmp_path: Path, content: Path
) -> None:
    async with bot_running(api, tmp_path, content) as running:
        assert running.deps.formulas.directory is None  # Settings(): memory only, no process
        ann = api.user(1001, "Ann")
        photos = await full_answer(api, ann)
        assert len(photos) == 2
        assert _calls_in(api, ann.id) == ["upload_photo", "photo", "upload_photo", "photo"]
        # Another learner: Telegram has the photos (file_id), nothing is drawn, no action.
        bob = api.user(1002, "Bob")
        assert len(await full_answer(api, bob)) == 2
        assert _calls_in(api, bob.id) == ["photo", "photo"]


async def test_a_cold_formula_is_drawn_into_the_cache_by_the_drawing_process(
    api: BotApiStandIn, tmp_path: Path, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deps_module, "PREDRAW_DELAY", 3600)  # no background drawing here
    cache_dir = tmp_path / "cache"
    files = FormulaCache(cache_dir / "formulas")
    broken = files.path(FORMULAS[1].latex, FORMULAS[1].boxed)
    assert broken is not None
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n cut short")  # as a full disk might leave it
    others = set(multiprocessing.active_children())
    async with bot_running(api, tmp_path, content, cache_dir=cache_dir):
        ann = api.user(1001, "Ann")
        photos = await full_answer(api, ann)
        assert _calls_in(api, ann.id) == ["upload_photo", "photo", "upload_photo", "photo"]
        for formula, photo in zip(FORMULAS, photos, strict=True):
            on_disk = files.get(formula.latex, formula.boxed)
            assert on_disk is not None and is_png(on_disk)  # written, the broken one replaced
            assert _uploaded(api, photo) == on_disk
            assert photo.caption == formula.text
        # Drawn in a process of its own, at a lower priority than the bot's.
        [drawer] = set(multiprocessing.active_children()) - others
        niceness = os.getpriority(os.PRIO_PROCESS, drawer.pid or 0)
        assert niceness > os.nice(0) or niceness == 19


async def test_a_restarted_bot_sends_the_drawings_it_finds_on_disk(
    api: BotApiStandIn,
    tmp_path: Path,
    content: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.deps")
    monkeypatch.setattr(deps_module, "PREDRAW_DELAY", 0)
    cache_dir = tmp_path / "cache"
    files = FormulaCache(cache_dir / "formulas")
    paths = [files.path(f.latex, f.boxed) for f in FORMULAS]
    async with bot_running(api, tmp_path, content, cache_dir=cache_dir):
        # Nobody asks: the background drawing draws the catalog's formulas after start-up.
        await api.wait_for(
            lambda: all(files.on_disk(f.latex, f.boxed) for f in FORMULAS), timeout=30
        )
    drawn = {p: p.stat() for p in paths if p is not None}
    async with bot_running(api, tmp_path, content, cache_dir=cache_dir):
        ann = api.user(1001, "Ann")
        photos = await full_answer(api, ann)
        assert _calls_in(api, ann.id) == ["photo", "photo"]  # nothing to draw: no action
        for path, photo in zip(paths, photos, strict=True):
            assert path is not None and _uploaded(api, photo) == path.read_bytes()
        # The background drawing of the restarted bot found both files and drew nothing.
        done = "formula drawings: 0 drawn in the background, 2 already in"
        await api.wait_for(lambda: done in caplog.text, timeout=15)
    for path, before in drawn.items():
        after = path.stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
