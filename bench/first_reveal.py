"""The first reveal after a restart (issue 17, point 7): how long "Show answer", and then
"Full answer", take for items with display formulas in a bot process that has just started.

    python -m bench.first_reveal              # every item with formulas, 2-3 minutes
    python -m bench.first_reveal --items 5    # a smoke run

(from the repository's root, in its virtual environment, as ``python -m bench.run``). It runs the
real bot (``python -m bot bot``) against the tests' Bot API stand-in twice on one SQLite
database: first with an empty formula cache (``cache`` beside the database, the folder the bot
chooses itself), then, after the first process has drawn every formula in the background and
stopped, in a new process that finds them on disk. Each run starts measuring at the bot's first
getUpdates: for each item with formulas in its answer (a seeded shuffle of them), a new learner
sends ``/item ID`` and presses "Show answer", then "Full answer" when the answer has that
button. A press is answered when its chat has been quiet for 0.3 s after the rating buttons
reached its newest message; the figure is the time from the press to the bot's last message or
edit in that chat (a chat action does not count; the time to the first thing the chat shows,
chat action included, is in the JSON with each press). Every reveal is the first of its item in that
process, so no formula of it was sent before, apart from formulas two items share.

A measurement, not a test: it asserts nothing. It prints the figures beside the goal (p95 of
the first Show answer <= 500 ms) and writes them to ``bench/first_reveal.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import functools
import json
import random
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.run import REPO, BenchStandIn, BotProcess, machine, machine_speed, percentile
from bot.config import REPO_CONTENT_DIR
from bot.core.content import answer_markdown, load_catalog
from bot.core.render import Formula, split_display
from bot.storage.db import open_database
from tests.botapi.state import StoredMessage

GOAL_MS = 500.0  # issue 17: p95 of the first Show answer of items with formulas
QUIET = 0.3  # seconds without a call to a chat after which its answer is complete
TIMEOUT = 60.0
FIRST_USER = 20_000_001
# The calls that change what the chat shows (a chat action does not)
CONTENT = {
    "sendMessage",
    "sendPhoto",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
}
DRAWN_LOG = re.compile(r"formula drawings: (\d+) drawn in the background")


class RevealStandIn(BenchStandIn):
    """bench/run.py's stand-in (its first getUpdates) with the time of each call to a chat."""

    def __init__(self) -> None:
        super().__init__()
        self.activity: dict[int, list[tuple[float, str]]] = {}

    def _note(self, params: dict[str, Any], method: str) -> None:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            self.activity.setdefault(chat_id, []).append((time.monotonic(), method))

    def _send_message(self, params: dict[str, Any]) -> Any:
        self._note(params, "sendMessage")
        return super()._send_message(params)

    def _send_photo(self, params: dict[str, Any]) -> Any:
        self._note(params, "sendPhoto")
        return super()._send_photo(params)

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        self._note(params, "editMessageText")
        return super()._edit_message_text(params)

    def _edit_message_caption(self, params: dict[str, Any]) -> Any:
        self._note(params, "editMessageCaption")
        return super()._edit_message_caption(params)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        self._note(params, "editMessageReplyMarkup")
        return super()._edit_message_reply_markup(params)

    def _send_chat_action(self, params: dict[str, Any]) -> Any:
        self._note(params, f"sendChatAction:{params.get('action')}")
        return super()._send_chat_action(params)


@dataclass
class Press:
    """One measured press: from the press to the last content call, and to the first call."""

    item: str
    button: str
    answer_ms: float
    first_ms: float
    chat_action: bool  # the bot sent a chat action before this answer


@dataclass
class Run:
    name: str  # "cold" or "warm": the formula cache at the start
    startup_s: float = 0.0
    presses: list[Press] = field(default_factory=list)
    drawn: int | None = None  # formulas the background drawing drew (from the bot's log)
    drawing_s: float | None = None  # from the first getUpdates to the end of that drawing
    cache_files: int = 0

    def times(self, button: str) -> list[float]:
        return [p.answer_ms for p in self.presses if p.button == button]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "startup_s": round(self.startup_s, 2),
            "background_drawn": self.drawn,
            "background_drawing_s": self.drawing_s,
            "cache_files": self.cache_files,
        }
        for button in ("Show answer", "Full answer"):
            times = self.times(button)
            key = button.split()[0].lower()
            out[key] = (
                {
                    "items": len(times),
                    "first_ms": round(times[0], 1),
                    "p50_ms": round(percentile(times, 50), 1),
                    "p95_ms": round(percentile(times, 95), 1),
                    "max_ms": round(max(times), 1),
                    "chat_actions": sum(
                        1 for p in self.presses if p.button == button and p.chat_action
                    ),
                }
                if times
                else None
            )
        return out


def formula_items() -> list[str]:
    """The ids of the items whose answer has display formulas, in curriculum order."""
    catalog = load_catalog([REPO_CONTENT_DIR])
    return [
        item.id
        for item in catalog.in_curriculum_order()
        if any(isinstance(p, Formula) for p in split_display(answer_markdown(item)))
    ]


def _button(message: StoredMessage, label: str) -> str | None:
    """The callback data of the button whose text contains ``label``."""
    for row in message.keyboard:
        for button in row:
            if label in str(button.get("text", "")) and "callback_data" in button:
                return str(button["callback_data"])
    return None


def _question_shown(api: RevealStandIn, chat_id: int) -> bool:
    newest = api.last_message(chat_id)
    return newest is not None and _button(newest, "Show answer") is not None


async def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {TIMEOUT:.0f} s")
        await asyncio.sleep(0.005)


async def _press(
    api: RevealStandIn, chat_id: int, user: Any, item: str, label: str, *, new_message: bool
) -> Press | None:
    """Press the newest button labelled ``label`` in the chat and time the answer; None when
    no message has that button."""
    target = None
    for message in reversed(api.messages(chat_id)):
        if not message.deleted and _button(message, label) is not None:
            target = message
            break
    if target is None:
        return None
    data = _button(target, label)
    assert data is not None
    calls = api.activity.setdefault(chat_id, [])
    seen, sent_before = len(calls), len(api.messages(chat_id))
    pressed = time.monotonic()
    api.press(chat_id, user, target.message_id, data)

    def answered() -> bool:
        content = [ts for ts, method in calls[seen:] if method in CONTENT]
        if not content or time.monotonic() - calls[-1][0] < QUIET:
            return False
        if new_message and len(api.messages(chat_id)) == sent_before:
            return False
        newest = api.last_message(chat_id)
        return newest is not None and _button(newest, "Got it") is not None

    await _until(answered, f"{item}: the answer to {label}")
    content = [ts for ts, method in calls[seen:] if method in CONTENT]
    return Press(
        item,
        label,
        answer_ms=(content[-1] - pressed) * 1000,
        first_ms=(calls[seen][0] - pressed) * 1000,
        chat_action=any(method.startswith("sendChatAction") for _ts, method in calls[seen:]),
    )


async def run_once(
    name: str, folder: Path, items: Sequence[str], first_user: int, *, wait_for_drawing: bool
) -> Run:
    """One fresh bot process on the database (and formula cache) in ``folder``."""
    run = Run(name)
    async with RevealStandIn() as api:
        url = f"sqlite:///{folder / 'bot.db'}"
        bot = await BotProcess.start(api, url, folder, limiter=True, name=name)
        try:
            await _until(lambda: api.first_get_updates, "first getUpdates")
            assert api.first_get_updates is not None
            run.startup_s = api.first_get_updates - bot.spawned
            for k, item in enumerate(items):
                if bot.proc.returncode is not None:
                    raise RuntimeError(f"the bot exited:\n{bot.tail()}")
                user = api.user(first_user + k, f"R{k}")
                chat = api.private_chat(user)
                api.send_text(chat.id, user, f"/item {item}")
                question_sent = functools.partial(_question_shown, api, chat.id)
                await _until(question_sent, f"{item}: its question")
                shown = await _press(api, chat.id, user, item, "Show answer", new_message=False)
                assert shown is not None
                run.presses.append(shown)
                full = await _press(api, chat.id, user, item, "Full answer", new_message=True)
                if full is not None:
                    run.presses.append(full)
                print(
                    f"  {name} {item}: Show answer {shown.answer_ms:.0f} ms"
                    + (f", Full answer {full.answer_ms:.0f} ms" if full else ""),
                    flush=True,
                )
            if wait_for_drawing:
                await _until(lambda: DRAWN_LOG.search(bot.log.read_text()), "background drawing")
                run.drawing_s = round(time.monotonic() - api.first_get_updates, 1)
        finally:
            await bot.stop()
    found = DRAWN_LOG.search(bot.log.read_text())
    run.drawn = int(found.group(1)) if found else 0
    run.cache_files = len(list((folder / "cache" / "formulas").glob("*.png")))
    return run


def table(runs: Sequence[Run], restarts: Sequence[float]) -> str:
    rows = [("Figure", "Value", "Goal", "Met")]
    if restarts:
        median = statistics.median(restarts)
        rows.append(
            (
                f"Start-up to first getUpdates, median of {len(restarts)} restarts",
                f"{median:.2f} s",
                "<= 1.5 s",
                "yes" if median <= 1.5 else "**no**",
            )
        )
    for run in runs:
        s = run.summary()
        who = f"{run.name.capitalize()} cache"
        rows.append((f"{who}: start-up to first getUpdates", f"{s['startup_s']} s", "-", "-"))
        for key, label in (("show", "Show answer"), ("full", "Full answer")):
            fig = s[key]
            if fig is None:
                continue
            n = fig["items"]
            met = "yes" if fig["p95_ms"] <= GOAL_MS else "**no**"
            rows += [
                (f"{who}: first {label} after start", f"{fig['first_ms']:g} ms", "-", "-"),
                (f"{who}: {label}, p50 of {n} items", f"{fig['p50_ms']:g} ms", "-", "-"),
                (
                    f"{who}: {label}, p95 of {n} items",
                    f"{fig['p95_ms']:g} ms",
                    f"<= {GOAL_MS:g} ms" if key == "show" else "-",
                    met if key == "show" else "-",
                ),
            ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


async def start_up(folder: Path, k: int) -> float:
    """Seconds from starting the bot on ``folder``'s database to its first getUpdates."""
    async with RevealStandIn() as api:
        url = f"sqlite:///{folder / 'bot.db'}"
        bot = await BotProcess.start(api, url, folder, limiter=True, name=f"restart{k}")
        try:
            await _until(lambda: api.first_get_updates, "first getUpdates")
            assert api.first_get_updates is not None
            return round(api.first_get_updates - bot.spawned, 2)
        finally:
            await bot.stop()


async def main_async(n_items: int | None, seed: int, out: Path, keep: bool, n_restarts: int) -> int:
    started = time.monotonic()
    info = machine()
    speed_before = machine_speed()
    items = formula_items()
    random.Random(seed).shuffle(items)  # not the order of the background drawing
    items = items[:n_items] if n_items else items
    print(
        f"{len(items)} items with formulas; machine: {info['cpu']}, {info['cores']} cores",
        flush=True,
    )
    # As an installed package has it (see bench/run.py): no compiling at start-up.
    compileall.compile_dir(REPO / "bot", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="studybot-reveal-"))
    # The schema first: the start-up figures are those of a restart, not of a first start.
    engine, _sessions = open_database(f"sqlite:///{work / 'bot.db'}")
    engine.dispose()
    try:
        cold = await run_once("cold", work, items, FIRST_USER, wait_for_drawing=True)
        warm = await run_once("warm", work, items, FIRST_USER + 10_000, wait_for_drawing=False)
        restarts = [await start_up(work, k) for k in range(n_restarts)]
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    info["reference_loop_s"] = [speed_before, machine_speed()]
    result = {
        "machine": info,
        "seconds": round(time.monotonic() - started, 1),
        "items": len(items),
        "seed": seed,
        "goal": f"Show answer p95 <= {GOAL_MS:g} ms",
        "runs": {run.name: run.summary() for run in (cold, warm)},
        "restarts_s": restarts,
        "presses": {run.name: [p.__dict__ for p in run.presses] for run in (cold, warm)},
    }
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table([cold, warm], restarts))
    print()
    print(
        f"cold run: {cold.drawn} formulas drawn in the background, done "
        f"{cold.drawing_s} s after the first getUpdates; {cold.cache_files} files in the cache"
    )
    print(f"reference loop (CPU s, see bench/run.py machine_speed): {info['reference_loop_s']}")
    print(f"{result['seconds']} s; written to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None, help="measure only this many items")
    parser.add_argument("--seed", type=int, default=17, help="the shuffle of the items")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "first_reveal.json", help="the JSON file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--restarts", type=int, default=5, help="restarts timed to the first getUpdates"
    )
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args.items, args.seed, args.out, args.keep, args.restarts))


if __name__ == "__main__":
    raise SystemExit(main())
