"""The performance benchmark of issue 8: one command, its own data, every figure beside its goal.

    python -m bench.run            # the full run (a few minutes), writes bench/results.json
    python -m bench.run --quick    # tiny sizes: a smoke run that checks the machinery works

(from the repository's root, in its virtual environment: ``bench`` imports ``bot`` and the
tests' stand-in, ``tests.botapi``, as packages of the checkout).

It builds SQLite databases in a temporary folder (bulk inserts straight into the schema that
``bot.storage.db.open_database`` creates), runs the real bot (``python -m bot bot``) as a subprocess
against the local Bot API stand-in of the tests, and reads the bot's CPU time and memory from
``/proc/<pid>``. The push is the bot's own start-up catch-up: every seeded chat is subscribed
with a push time that has passed today and no claim, so ``jobs.restore_jobs`` sends them all.

This is a measurement, not a test: it is not collected by pytest (``tests/`` only) and it
asserts nothing; figures that miss their goal are printed as such.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table

from bot.config import REPO_CONTENT_DIR, load_settings
from bot.core.content import load_catalog
from bot.core.srs import CardSnapshot, Grade, grade, make_scheduler
from bot.services.progress import ProgressService
from bot.services.study import Scheduling, StudyService
from bot.storage.db import open_database
from bot.storage.models import CardState, Chat, Review, StudySession, User
from bot.storage.repo.cards import CARD_FIELDS
from tests.botapi import BotApiStandIn, RateLimits

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("PTB_TIMEDELTA", "1")  # as the bot process does (bot/cli.py)

CLK_TCK = os.sysconf("SC_CLK_TCK")
TELEGRAM_PER_SECOND = 30  # Telegram's broadcast ceiling, enforced by the stand-in
SESSION_SIZE = 10
FIRST_USER = 10_000_001  # Telegram ids (= private chat ids) of the seeded learners


@dataclass(frozen=True)
class Sizes:
    push_chats: int = 10_000  # push ceiling and footprint
    limit_chats: int = 1_000  # the push at Telegram's limits
    cards: int = 130  # card states per learner (127 catalog items + 3 retired ones)
    reviews: int = 300  # reviews per learner
    heavy_reviews: int = 5_000  # the learner of the selection and /stats figures
    live_users: int = 10  # people studying during the push at Telegram's limits
    cost_users: int = 20  # people acting at once for the cost per interaction
    cost_seconds: float = 15.0  # closed-loop measuring window
    warmup_items: int = 250  # items one learner goes through first: every one of 227 is shown
    # The push during which people study: the daily jobs of a push time a minute or so ahead,
    # after the warm-up (as in production); or, quicker, the catch-up at start-up (cold).
    latency_daily: bool = True
    lockstep_rounds: int = 30  # rounds of 20 ratings for the CPU per rating
    selection_runs: int = 300
    chart_runs: int = 5
    templates: int = 24  # distinct simulated histories, shared round-robin by the learners


FULL = Sizes()
# Every figure, in the order of the table; the JSON has each (value null when its run failed).
FIGURES = (
    "push_rate",
    "push_cpu",
    "push_wall",
    "limits_wall",
    "limits_429",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "interaction_cpu",
    "interaction_rate",
    "press_cpu",
    "selection_p50",
    "selection_p95",
    "peak_rss",
    "startup",
    "startup_empty",
    "stats_chart",
)
RUNS = ("startup", "ceiling", "selection", "limits", "latency")
QUICK = Sizes(
    push_chats=300,
    limit_chats=60,
    heavy_reviews=600,
    live_users=3,
    cost_users=4,
    cost_seconds=2.0,
    warmup_items=10,
    latency_daily=False,
    lockstep_rounds=2,
    selection_runs=20,
    chart_runs=1,
    templates=4,
)


# --------------------------------------------------------------------------------------------
# Figures and the machine
# --------------------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    goal: str | None = None  # "<= 150", ">= 300", "== 0"; None: reported without a goal
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.value is None:
            return False
        op, _, bound = self.goal.partition(" ")
        limit = float(bound)
        return {
            "<=": self.value <= limit,
            "<": self.value < limit,
            ">=": self.value >= limit,
            "==": self.value == limit,
        }[op]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
            "note": self.note,
        }


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gb = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_speed() -> float:
    """CPU seconds of a fixed pure-Python loop in this thread (best of three).

    A shared virtual machine runs at different speeds from one minute to the next (this one by
    up to 2x, in spells of minutes); the loop's time, taken before, between and after the runs
    (Context.checkpoint), says how fast the machine was around each figure: 0.30 s on the
    machine of the README's table at its usual speed, 0.55-0.6 s in its slow spells.
    """
    best = math.inf
    for _ in range(3):
        started = time.thread_time()
        sum(i * i for i in range(5_000_000))
        best = min(best, time.thread_time() - started)
    return round(best, 3)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


# --------------------------------------------------------------------------------------------
# Seeding: simulated learner histories, bulk-inserted into the real schema
# --------------------------------------------------------------------------------------------


def _ts(moment: datetime) -> str:
    # What SQLAlchemy's SQLite DateTime stores (UTC, naive, microseconds always present), so
    # that the bot's comparisons on these columns see the same text it writes itself.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class History:
    """One simulated learner's past: card states, finished sessions and their reviews."""

    cards: list[tuple[Any, ...]]  # CARD_COLUMNS without user_id
    sessions: list[tuple[str, int, str, str]]  # queue, size, started_at, finished_at
    reviews: list[tuple[Any, ...]]  # session index, position, item, rating, at, seconds, days


CARD_COLUMNS = ("user_id", "item_id", *CARD_FIELDS, "suspended")


def simulate(item_ids: Sequence[str], n_reviews: int, now: datetime, seed: int) -> History:
    """Sessions of ten on random past days: due items first, new ones in order, then ahead.

    Real FSRS states (``bot.core.srs.grade``), ratings 15% no idea / 30% partial / 55% got it. The
    last sessions stop a day before ``now`` so that every learner has items due today.
    """
    rng = random.Random(seed)
    scheduler = make_scheduler(fuzzing=False)
    n_sessions = math.ceil(n_reviews / SESSION_SIZE)
    span = max(40.0, n_sessions * 0.7)
    starts = sorted(now - timedelta(days=rng.uniform(1.0, span)) for _ in range(n_sessions))
    cards: dict[str, CardSnapshot] = {}
    unseen = deque(item_ids)
    sessions: list[tuple[str, int, str, str]] = []
    reviews: list[tuple[Any, ...]] = []
    left = n_reviews
    for k, start in enumerate(starts):
        size = min(SESSION_SIZE, left)
        due = sorted((c for c in cards.values() if c.due <= start), key=lambda c: c.due)
        # Enough new items in every session that the whole catalog is seen by the end.
        new_quota = max(size - len(due), math.ceil(len(unseen) / (n_sessions - k)))
        chosen = [unseen.popleft() for _ in range(min(new_quota, len(unseen), size))]
        chosen += [c.item_id for c in due[: size - len(chosen)]]
        if len(chosen) < size:
            ahead = sorted(
                (c for c in cards.values() if c.item_id not in chosen), key=lambda c: c.due
            )
            chosen += [c.item_id for c in ahead[: size - len(chosen)]]
        for position, item_id in enumerate(chosen):
            at = start + timedelta(seconds=45 * position)
            rating = Grade(rng.choices((1, 2, 3), (0.15, 0.3, 0.55))[0])
            card, interval = grade(scheduler, cards.get(item_id), item_id, rating, at)
            cards[item_id] = card
            reviews.append((k, position, item_id, int(rating), _ts(at), 45.0, interval))
        end = start + timedelta(seconds=45 * len(chosen))
        sessions.append((",".join(chosen), len(chosen), _ts(start), _ts(end)))
        left -= size
    rows = [
        (
            c.item_id,
            c.state,
            c.step,
            c.stability,
            c.difficulty,
            _ts(c.due),
            _ts(c.last_review) if c.last_review else None,
            _ts(c.first_seen),
            c.reps,
            c.lapses,
            c.streak,
            False,
        )
        for c in cards.values()
    ]
    return History(rows, sessions, reviews)


def _insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """One executemany into the migrated schema.

    Columns the seed does not set get the model's scalar default; columns the schema does not
    have (the models and migrations move on) are left out.
    """
    if not rows:
        return
    present = {r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table.name})")}
    keep = [k for k, name in enumerate(columns) if name in present]
    defaults = {
        c.name: c.default.arg  # type: ignore[attr-defined]
        for c in table.columns
        if c.name in present
        and c.name not in columns
        and c.default is not None
        and c.default.is_scalar
    }
    names = [*(columns[k] for k in keep), *defaults]
    tail = tuple(defaults.values())
    if len(keep) < len(columns):
        rows = [tuple(row[k] for k in keep) for row in rows]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.exec_driver_sql(sql, [row + tail for row in rows] if tail else rows)


@dataclass
class Seeded:
    url: str
    path: Path
    pushed: list[int]  # chat ids whose push is owed
    quiet: list[int]  # learners with the same history, not subscribed
    heavy: list[int]  # learners with the heavy history (not subscribed)
    seconds: float = 0.0


def seed(
    path: Path,
    sizes: Sizes,
    *,
    pushed: int,
    quiet: int,
    heavy: int,
    now: datetime,
    templates: list[History],
    heavy_history: History | None,
) -> Seeded:
    """Create the schema (migrations) and bulk-insert learners, chats, cards, sessions, reviews."""
    started = time.perf_counter()
    url = f"sqlite:///{path}"
    engine, _sessions = open_database(url)
    ids = [FIRST_USER + k for k in range(pushed + quiet + heavy)]
    result = Seeded(url, path, ids[:pushed], ids[pushed : pushed + quiet], ids[pushed + quiet :])
    created = _ts(now - timedelta(days=400))
    subscribed_since = _ts(now - timedelta(days=2))
    session_id = 0
    chunk = 500
    for lo in range(0, len(ids), chunk):
        users: list[tuple[Any, ...]] = []
        chats: list[tuple[Any, ...]] = []
        cards: list[tuple[Any, ...]] = []
        sessions: list[tuple[Any, ...]] = []
        reviews: list[tuple[Any, ...]] = []
        for k, telegram_id in enumerate(ids[lo : lo + chunk], start=lo):
            user_id = k + 1
            is_pushed = k < pushed
            history = (
                heavy_history
                if k >= pushed + quiet and heavy_history is not None
                else templates[k % len(templates)]
            )
            users.append((user_id, telegram_id, None, f"L{telegram_id}", "UTC", created))
            chats.append(
                (
                    telegram_id,
                    "private",
                    f"L{telegram_id}",
                    True,
                    is_pushed,
                    "00:00",  # today's push time has passed: the push is owed at start-up
                    "UTC",
                    SESSION_SIZE,
                    3,
                    subscribed_since,
                    created,
                )
            )
            cards.extend((user_id, *row) for row in history.cards)
            first = session_id + 1
            for queue, size, start, end in history.sessions:
                session_id += 1
                sessions.append(
                    (
                        *(session_id, user_id, telegram_id, "study", None, "finished", queue),
                        *(size, size, "", size - 1, end, start, end),  # retry_from .. finished_at
                    )
                )
            reviews.extend(
                (user_id, item, telegram_id, first + s, pos, rating, at, secs, days)
                for s, pos, item, rating, at, secs, days in history.reviews
            )
        with engine.begin() as conn:
            _insert(
                conn,
                User.__table__,  # type: ignore[arg-type]
                ("id", "telegram_id", "local_name", "first_name", "timezone", "created_at"),
                users,
            )
            _insert(
                conn,
                Chat.__table__,  # type: ignore[arg-type]
                (
                    "id",
                    "type",
                    "title",
                    "active",
                    "subscribed",
                    "push_time",
                    "timezone",
                    "daily_size",
                    "group_items",
                    "schedule_from",
                    "created_at",
                ),
                chats,
            )
            _insert(conn, CardState.__table__, CARD_COLUMNS, cards)  # type: ignore[arg-type]
            _insert(
                conn,
                StudySession.__table__,  # type: ignore[arg-type]
                (
                    "id",
                    "user_id",
                    "chat_id",
                    "kind",
                    "item_type",
                    "status",
                    "queue",
                    "retry_from",
                    "position",
                    "notice",
                    "revealed",
                    "shown_at",
                    "started_at",
                    "finished_at",
                ),
                sessions,
            )
            _insert(
                conn,
                Review.__table__,  # type: ignore[arg-type]
                (
                    "user_id",
                    "item_id",
                    "chat_id",
                    "session_id",
                    "position",
                    "rating",
                    "reviewed_at",
                    "seconds",
                    "interval_days",
                ),
                reviews,
            )
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


def copy_database(src: Seeded, path: Path) -> Seeded:
    """A copy of a seeded (checkpointed, closed) database, for a run that changes it."""
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)  # another database's log would be replayed into it
    shutil.copyfile(src.path, path)
    return replace(src, url=f"sqlite:///{path}", path=path)


# --------------------------------------------------------------------------------------------
# The stand-in, instrumented: when each push and each answer reached it
# --------------------------------------------------------------------------------------------


class BenchStandIn(BotApiStandIn):
    """The tests' stand-in (record=False) plus timestamps the figures need.

    ``watch(chat_ids, on_first, on_done)`` follows a push: a chat's push is complete when the
    message with its "Show answer" button arrived (a question may come in several parts).
    Latency samples: ``expect_reply`` after a user's message (answered by the bot's first
    message to that chat), ``expect_answer`` after a button press (answerCallbackQuery).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(record=False, **kwargs)
        self.first_get_updates: float | None = None
        self.push_chats: set[int] = set()
        self.push_messages = 0
        self.push_done: set[int] = set()
        self.push_first: float | None = None
        self.push_last: float | None = None
        self.on_push_first: Callable[[], None] | None = None
        self.on_push_done: Callable[[], None] | None = None
        self.waiting_reply: dict[int, tuple[float, str]] = {}
        self.waiting_answer: dict[str, tuple[float, str]] = {}
        self.answered = 0
        self.samples: list[tuple[str, float]] = []
        self.recording = False
        self.changed: dict[int, asyncio.Event] = {}

    def watch(self, chat_ids: Iterable[int]) -> None:
        self.push_chats = set(chat_ids)
        self.push_messages = 0
        self.push_done = set()
        self.push_first = self.push_last = None

    # ---- driving, timed
    def send_timed(self, chat_id: int, user: Any, text: str, kind: str) -> None:
        self.send_text(chat_id, user, text)
        self.waiting_reply[chat_id] = (time.monotonic(), kind)

    def press_timed(self, chat_id: int, user: Any, message_id: int, data: str, kind: str) -> None:
        press = self.press(chat_id, user, message_id, data)
        self.waiting_answer[press.query_id] = (time.monotonic(), kind)

    def event(self, chat_id: int) -> asyncio.Event:
        found = self.changed.get(chat_id)
        if found is None:
            found = self.changed[chat_id] = asyncio.Event()
        return found

    # ---- hooks on the stand-in's methods
    def _outgoing(self, params: dict[str, Any], sent: bool) -> None:
        now = time.monotonic()
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            return
        waiting = self.waiting_reply.pop(chat_id, None)
        if waiting is not None and self.recording:
            self.samples.append((waiting[1], now - waiting[0]))
        if sent and chat_id in self.push_chats:
            self.push_messages += 1
            if self.push_first is None:
                self.push_first = now
                if self.on_push_first:
                    self.on_push_first()
            markup = params.get("reply_markup")
            if chat_id not in self.push_done and markup and '"a:' in json.dumps(markup):
                self.push_done.add(chat_id)
                self.push_last = now
                if len(self.push_done) == len(self.push_chats) and self.on_push_done:
                    self.on_push_done()
        event = self.changed.get(chat_id)
        if event is not None:
            event.set()

    def _send_message(self, params: dict[str, Any]) -> Any:
        result = super()._send_message(params)
        self._outgoing(params, True)
        return result

    def _send_photo(self, params: dict[str, Any]) -> Any:
        result = super()._send_photo(params)
        self._outgoing(params, True)
        return result

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        result = super()._edit_message_text(params)
        self._outgoing(params, False)
        return result

    def _edit_message_caption(self, params: dict[str, Any]) -> Any:
        result = super()._edit_message_caption(params)
        self._outgoing(params, False)
        return result

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        result = super()._edit_message_reply_markup(params)
        self._outgoing(params, False)
        return result

    def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        result = super()._answer_callback_query(params)
        self.answered += 1
        waiting = self.waiting_answer.pop(str(params.get("callback_query_id")), None)
        if waiting is not None and self.recording:
            self.samples.append((waiting[1], time.monotonic() - waiting[0]))
        return result

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        if self.first_get_updates is None:
            self.first_get_updates = time.monotonic()
        return await super()._get_updates(params)


# --------------------------------------------------------------------------------------------
# The bot process
# --------------------------------------------------------------------------------------------


class BotProcess:
    """``python -m bot bot`` against the stand-in, with its CPU time and memory from /proc."""

    profile_dir: Path | None = None  # --profile: sample every bot process with py-spy

    def __init__(self, proc: asyncio.subprocess.Process, spawned: float, log: Path) -> None:
        self.proc = proc
        self.spawned = spawned
        self.log = log
        self.spy: asyncio.subprocess.Process | None = None

    @classmethod
    async def start(
        cls, api: BenchStandIn, db: str, workdir: Path, *, limiter: bool, name: str
    ) -> BotProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
        env.update(api.env())
        env["DATABASE_URL"] = db
        env["STUDYBOT_RATE_LIMITER"] = "on" if limiter else "off"
        env.pop("LOG_LEVEL", None)  # production's INFO
        env.pop("DATABASE_URL_TEST", None)
        log = workdir / f"{name}.log"
        with log.open("ab") as out:
            spawned = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "bot",
                env=env,
                cwd=workdir,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
            )
        bot = cls(proc, spawned, log)
        bot.spy = await bot.sample(name)
        return bot

    async def sample(self, name: str) -> asyncio.subprocess.Process | None:
        """With --profile: py-spy samples this process until it ends (or is interrupted)."""
        if self.profile_dir is None:
            return None
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        return await asyncio.create_subprocess_exec(
            *(spy, "record", "--gil", "--nonblocking", "--pid", str(self.pid)),
            *("-f", "raw", "-r", "200"),
            *("-o", str(self.profile_dir / f"{name}.txt")),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu(self) -> float:
        """User + system CPU seconds of the whole process (every thread, living or ended)."""
        raw = Path(f"/proc/{self.pid}/stat").read_text()
        fields = raw[raw.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    async def stop(self) -> int | None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.spy is not None:
            await self.spy.wait()
        return self.proc.returncode

    def check(self, api: BenchStandIn) -> None:
        """After waiting for a push: it was delivered, or say why not."""
        if self.proc.returncode is not None:
            raise RuntimeError(f"the bot exited with {self.proc.returncode}:\n{self.tail()}")
        if api.push_first is None or api.push_last is None:
            raise RuntimeError(f"no push arrived:\n{self.tail()}")

    def tail(self, n: int = 15) -> str:
        lines = self.log.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])


async def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------------------------
# A simulated learner: /study, Show answer, a rating, the next item
# --------------------------------------------------------------------------------------------


class Learner:
    def __init__(self, api: BenchStandIn, telegram_id: int, seed: int) -> None:
        self.api = api
        self.user = api.user(telegram_id, f"L{telegram_id}")
        self.chat = api.private_chat(self.user)
        self.id = telegram_id
        self.rng = random.Random(seed)
        self.session = 0
        self.position = 0
        self.message_id = 0
        self.finished = True

    def _find(self, data: str, since: int = 0) -> int:
        """The newest bot message (at index >= since) with a button carrying ``data``."""
        messages = self.api.messages(self.id)
        for message in reversed(messages[since:]):
            if not message.deleted and message.label_for(data) is not None:
                return message.message_id
        return 0

    def _question(self, since: int) -> tuple[int, int, int] | None:
        for message in reversed(self.api.messages(self.id)[since:]):
            for row in message.keyboard:
                for button in row:
                    data = str(button.get("callback_data", ""))
                    if data.startswith("a:"):
                        _a, session, position = data.split(":")
                        return int(session), int(position), message.message_id
        return None

    async def _wait(self, check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
        event = self.api.event(self.id)
        deadline = time.monotonic() + timeout
        while True:
            found = check()
            if found:
                return found
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"learner {self.id}: {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 1.0))

    async def study(self, n: int = 50) -> None:
        since = len(self.api.messages(self.id))
        self.api.send_timed(self.id, self.user, f"/study {n}", "/study")
        self.session, self.position, self.message_id = await self._wait(
            lambda: self._question(since), "no question after /study"
        )
        self.finished = False

    async def reveal(self) -> None:
        self.api.press_timed(
            self.id, self.user, self.message_id, f"a:{self.session}:{self.position}", "Show answer"
        )
        data = f"r:{self.session}:{self.position}:3"
        self.message_id = await self._wait(lambda: self._find(data), "no rating buttons")

    async def rate(self) -> None:
        since = len(self.api.messages(self.id))
        rating = self.rng.choices((1, 2, 3), (0.1, 0.3, 0.6))[0]
        self.api.press_timed(
            self.id,
            self.user,
            self.message_id,
            f"r:{self.session}:{self.position}:{rating}",
            "rating",
        )
        nxt = f"a:{self.session}:{self.position + 1}"

        def done() -> bool:
            found = self._find(nxt, since)
            if found:
                self.message_id, self.position = found, self.position + 1
                return True
            tail = self.api.messages(self.id)[since:]
            if any("Session complete" in (m.text or "") for m in tail):
                self.finished = True
                return True
            return False

        await self._wait(done, "no next item after a rating")

    async def step(self) -> None:
        """One item: (a new session when needed,) Show answer, a rating."""
        if self.finished:
            await self.study()
        await self.reveal()
        await self.rate()


# --------------------------------------------------------------------------------------------
# The runs
# --------------------------------------------------------------------------------------------


@dataclass
class Context:
    sizes: Sizes
    work: Path
    now: datetime
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The reference loop (machine_speed) at points between the runs, in order: a figure
    # measured between two slow readings was measured in a slow spell.
    speeds: dict[str, float] = field(default_factory=dict)

    def checkpoint(self, name: str) -> None:
        self.speeds[name] = machine_speed()

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)
        for f in figures:
            mark = {True: "met", False: "MISSED", None: "-"}[f.met]
            value = "n/a" if f.value is None else f"{f.value:g}"
            print(f"  {f.label}: {value} {f.unit} (goal {f.goal or '-'}) {mark}", flush=True)


async def run_push_ceiling(ctx: Context, db: Seeded) -> None:
    """10,000 owed pushes, no rate limit anywhere; then, on the same process, the cost of
    interactions with 20 people at once; footprint and start-up along the way."""
    sizes = ctx.sizes
    print(f"push ceiling: {len(db.pushed)} chats, rate limiter off", flush=True)
    async with BenchStandIn() as api:
        for chat_id in db.pushed:
            api.private_chat(api.user(chat_id, f"L{chat_id}"))
        api.watch(db.pushed)
        bot = await BotProcess.start(api, db.url, ctx.work, limiter=False, name="ceiling")
        cpu_marks: dict[str, float] = {}

        def push_done() -> None:
            cpu_marks["done"] = bot.cpu()

        api.on_push_done = push_done
        try:
            await wait_until(lambda: api.first_get_updates, 120, "first getUpdates")
            assert api.first_get_updates is not None
            cpu_marks["polling"] = bot.cpu()
            startup = api.first_get_updates - bot.spawned
            await wait_until(
                lambda: len(api.push_done) == len(db.pushed) or bot.proc.returncode is not None,
                60 + len(db.pushed) / 20,
                "every push",
            )
            bot.check(api)
            assert api.push_first is not None and api.push_last is not None
            span = max(api.push_last - api.push_first, 1e-9)
            from_start = api.push_last - api.first_get_updates
            cpu = cpu_marks["done"] - cpu_marks["polling"]
            n = len(db.pushed)
            ctx.add(
                Figure(
                    "push_rate",
                    f"Push ceiling: {n:,} chats, no rate limit",
                    round(api.push_messages / span, 1),
                    "msg/s",
                    ">= 300",
                    f"{api.push_messages} messages from the first to the last sendMessage, "
                    f"{span:.2f} s",
                ),
                Figure(
                    "push_cpu",
                    "Push ceiling: bot CPU per pushed message",
                    round(cpu / api.push_messages * 1000, 2),
                    "ms",
                    None,
                    "bot process user+system CPU from its first getUpdates to the last push "
                    f"({cpu:.2f} s), whole catch-up included",
                ),
                Figure(
                    "push_wall",
                    "Push ceiling: from first getUpdates to the last push",
                    round(from_start, 2),
                    "s",
                    None,
                    "includes the 0.5 s catch-up delay of jobs.restore_jobs",
                ),
                Figure(
                    "startup",
                    f"Start-up to first getUpdates ({n:,} subscribed chats)",
                    round(startup, 2),
                    "s",
                    "<= 1.5",
                    "process spawn to the first getUpdates at the stand-in: imports, catalog, "
                    "migrations check, push jobs restored",
                ),
            )
            ctx.checkpoint("after the push")
            await run_cost(ctx, api, bot, db.quiet[: sizes.cost_users])
            ctx.add(
                Figure(
                    "peak_rss",
                    f"Peak RSS with {n:,} learners loaded",
                    round(bot.status_kb("VmHWM") / 1024, 1),
                    "MB",
                    "<= 200",
                    "VmHWM of the bot process after the push and the interaction runs",
                )
            )
        finally:
            code = await bot.stop()
            if code not in (0, None):
                ctx.notes.append(f"ceiling bot exited with {code}: {bot.tail()}")


async def warm_up(ctx: Context, api: BenchStandIn, before: str) -> None:
    """Steady state: a bot that has run for a while has drawn each formula once and sends the
    image again by its Telegram file id. One learner goes through the whole catalog first."""
    items = ctx.sizes.warmup_items
    print(f"warm-up: one learner through {items} items", flush=True)
    learner = Learner(api, FIRST_USER - 1, seed=-1)
    started = time.monotonic()
    for _ in range(items):
        await learner.step()
    ctx.notes.append(
        f"warm-up before {before}: {items} items in {time.monotonic() - started:.1f} s"
    )


async def closed_loop(
    api: BenchStandIn,
    bot: BotProcess,
    learners: list[Learner],
    seconds: float,
    profile: str | None = None,
    settle: float = 1.0,
) -> tuple[int, float, float]:
    """Every learner studies as fast as the bot answers; after ``settle`` seconds, count for
    ``seconds``: (presses answered, bot CPU seconds, wall seconds). ``profile``: the py-spy
    sample's name, with --profile."""
    stop = False

    async def loop(learner: Learner) -> None:
        while not stop:
            await learner.step()

    tasks = [asyncio.create_task(loop(lr)) for lr in learners]
    await asyncio.sleep(settle)
    spy = await bot.sample(profile) if profile else None
    answered0, cpu0, t0 = api.answered, bot.cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    answered1, cpu1, t1 = api.answered, bot.cpu(), time.monotonic()
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        await spy.wait()
    stop = True
    await asyncio.gather(*tasks)
    return answered1 - answered0, cpu1 - cpu0, t1 - t0


async def lockstep(
    bot: BotProcess, learners: list[Learner], rounds: int, pause: float = 0.1
) -> tuple[float, int]:
    """Rounds where every learner reveals, then every learner rates: (bot CPU seconds counted
    from all ratings pressed to all next items sent, ratings)."""
    for learner in learners:
        if learner.finished:
            await learner.study()
    cpu = 0.0
    ratings = 0
    for _round in range(rounds):
        await asyncio.gather(*(lr.reveal() for lr in learners))
        await asyncio.sleep(pause)
        before = bot.cpu()
        await asyncio.gather(*(lr.rate() for lr in learners))
        await asyncio.sleep(pause)
        cpu += bot.cpu() - before
        ratings += len(learners)
        await asyncio.gather(*(lr.study() for lr in learners if lr.finished))
    return cpu, ratings


async def run_cost(ctx: Context, api: BenchStandIn, bot: BotProcess, ids: list[int]) -> None:
    """20 people at once, as fast as the bot answers: interactions/s; then lockstep rounds
    where only the CPU spent between all ratings pressed and all next items sent is counted."""
    sizes = ctx.sizes
    await warm_up(ctx, api, "the interaction runs")
    print(f"cost per interaction: {len(ids)} people at once, rate limiter off", flush=True)
    learners = [Learner(api, telegram_id, seed=k) for k, telegram_id in enumerate(ids)]
    await asyncio.gather(*(lr.study() for lr in learners))
    presses, cpu, seconds = await closed_loop(
        api, bot, learners, sizes.cost_seconds, "interactions"
    )
    rating_cpu, ratings = await lockstep(bot, learners, sizes.lockstep_rounds)
    ctx.add(
        Figure(
            "interaction_cpu",
            "Cost per interaction: bot CPU per rating -> next item",
            round(rating_cpu / ratings * 1000, 2),
            "ms",
            "<= 3",
            f"{ratings} ratings in lockstep rounds of {len(learners)}: the rating's answer, the "
            "finished item's buttons, the next question",
        ),
        Figure(
            "interaction_rate",
            f"Interactions/s, {len(learners)} people at once",
            round(presses / seconds, 1),
            "/s",
            ">= 250",
            f"button presses answered in {seconds:.1f} s (Show answer and ratings, each "
            "followed by the next press as soon as the bot's answer arrived)",
        ),
        Figure(
            "press_cpu",
            "Cost per interaction: bot CPU per press, closed loop",
            round(cpu / max(presses, 1) * 1000, 2),
            "ms",
            None,
            "Show answer and ratings alike",
        ),
    )


async def run_at_limits(ctx: Context, db: Seeded) -> None:
    """1,000 owed pushes at Telegram's limits, the bot as in production (rate limiter on)."""
    n = len(db.pushed)
    ideal = n / TELEGRAM_PER_SECOND
    print(f"at Telegram's limits: {n} chats, rate limiter on", flush=True)
    limits = RateLimits(global_per_second=30, group_per_minute=20)
    async with BenchStandIn(rate_limits=limits) as api:
        for chat_id in db.pushed:
            api.private_chat(api.user(chat_id, f"L{chat_id}"))
        api.watch(db.pushed)
        bot = await BotProcess.start(api, db.url, ctx.work, limiter=True, name="limits")
        try:
            await wait_until(
                lambda: len(api.push_done) == n or bot.proc.returncode is not None,
                60 + 3 * ideal,
                "every push",
            )
            bot.check(api)
            assert api.push_first is not None and api.push_last is not None
            wall = api.push_last - api.push_first
            ctx.add(
                Figure(
                    "limits_wall",
                    f"At Telegram's limits: push to {n:,} chats, wall time",
                    round(wall, 2),
                    "s",
                    f"<= {1.1 * ideal:.2f}",
                    f"first to last sendMessage; ideal {ideal:.1f} s at 30 msg/s, "
                    f"{wall / ideal:.3f}x",
                ),
                Figure(
                    "limits_429",
                    "At Telegram's limits: 429 answers",
                    api.rate_limited_count,
                    "",
                    "== 0",
                ),
            )
        finally:
            await bot.stop()


async def run_latency(ctx: Context, db: Seeded) -> None:
    """People study while a push runs at Telegram's limits (the bot as in production)."""
    sizes = ctx.sizes
    n = len(db.pushed)
    people = db.quiet[: sizes.live_users]
    print(f"interactive latency: {len(people)} people during a push to {n} chats", flush=True)
    if sizes.latency_daily:
        # The push time: a whole minute at least 45 s ahead, time enough for the warm-up.
        at = (datetime.now(UTC) + timedelta(seconds=105)).replace(second=0, microsecond=0)
        with sqlite3.connect(db.path) as conn:
            conn.execute("UPDATE chats SET push_time = ? WHERE subscribed", (f"{at:%H:%M}",))
        print(f"  the daily push is at {at:%H:%M:%S} UTC", flush=True)
    limits = RateLimits(global_per_second=30, group_per_minute=20)
    async with BenchStandIn(rate_limits=limits) as api:
        for chat_id in db.pushed:
            api.private_chat(api.user(chat_id, f"L{chat_id}"))
        api.watch(db.pushed)
        learners = [Learner(api, telegram_id, seed=100 + k) for k, telegram_id in enumerate(people)]
        started = asyncio.Event()
        api.on_push_first = started.set
        bot = await BotProcess.start(api, db.url, ctx.work, limiter=True, name="latency")
        stop = False

        async def loop(learner: Learner) -> None:
            await asyncio.sleep(learner.rng.uniform(0, 1))
            while not stop:
                if learner.finished:
                    await learner.study()
                    continue
                await asyncio.sleep(learner.rng.uniform(0.5, 1.5))  # reading the question
                await learner.reveal()
                await asyncio.sleep(learner.rng.uniform(0.5, 1.5))  # thinking
                await learner.rate()

        try:
            tasks: list[asyncio.Task[None]] = []
            if sizes.latency_daily:
                await wait_until(lambda: api.first_get_updates, 120, "first getUpdates")
                await warm_up(ctx, api, "the latency run")
                tasks = [asyncio.create_task(loop(lr)) for lr in learners]
            await asyncio.wait_for(started.wait(), 180)
            api.recording = True
            if not tasks:
                tasks = [asyncio.create_task(loop(lr)) for lr in learners]
            await wait_until(
                lambda: len(api.push_done) == n or bot.proc.returncode is not None,
                60 + 4 * n / TELEGRAM_PER_SECOND,
                "every push",
            )
            api.recording = False
            stop = True
            await asyncio.gather(*tasks)
            ms = [s * 1000 for _kind, s in api.samples]
            bot.check(api)
            assert api.push_first is not None and api.push_last is not None
            kinds = sorted({kind for kind, _s in api.samples})
            by_kind = ", ".join(
                f"{kind} {percentile([s * 1000 for k, s in api.samples if k == kind], 95):.0f}"
                for kind in kinds
            )
            trigger = "daily jobs" if sizes.latency_daily else "catch-up at start-up"
            note = (
                f"{len(ms)} answers during a {api.push_last - api.push_first:.1f} s push "
                f"({trigger}) to {n:,} chats at Telegram's limits, {api.rate_limited_count} "
                f"429s; p95 in ms by kind: {by_kind}"
            )
            ctx.add(
                Figure(
                    "latency_p50",
                    "Interactive latency during a push, p50",
                    round(percentile(ms, 50), 1),
                    "ms",
                    None,
                    note,
                ),
                Figure(
                    "latency_p95",
                    "Interactive latency during a push, p95",
                    round(percentile(ms, 95), 1),
                    "ms",
                    "<= 150",
                ),
                Figure(
                    "latency_p99",
                    "Interactive latency during a push, p99",
                    round(percentile(ms, 99), 1),
                    "ms",
                    None,
                ),
            )
        finally:
            stop = True
            await bot.stop()


async def run_startup_empty(ctx: Context) -> None:
    """A first start: an empty database, whose schema the bot creates."""
    async with BenchStandIn() as api:
        url = f"sqlite:///{ctx.work / 'empty.db'}"
        bot = await BotProcess.start(api, url, ctx.work, limiter=True, name="empty")
        try:
            await wait_until(lambda: api.first_get_updates, 120, "first getUpdates")
            assert api.first_get_updates is not None
            ctx.add(
                Figure(
                    "startup_empty",
                    "Start-up to first getUpdates (empty database: its schema created)",
                    round(api.first_get_updates - bot.spawned, 2),
                    "s",
                    "<= 1.5",
                )
            )
        finally:
            await bot.stop()


def run_selection_and_chart(ctx: Context, db: Seeded) -> None:
    """In-process, on the seeded database: StudyService as the bot builds it."""
    sizes = ctx.sizes
    settings = load_settings({})
    catalog = load_catalog([REPO_CONTENT_DIR])
    engine, sessions = open_database(db.url)
    service = StudyService(sessions, catalog, Scheduling.from_settings(settings))
    heavy = db.heavy[0]
    with engine.connect() as conn:
        user_id = conn.exec_driver_sql(
            "SELECT id FROM users WHERE telegram_id = ?", (heavy,)
        ).scalar_one()
        reviews = conn.exec_driver_sql(
            "SELECT count(*) FROM reviews WHERE user_id = ?", (user_id,)
        ).scalar_one()
        cards = conn.exec_driver_sql(
            "SELECT count(*) FROM cards WHERE user_id = ?", (user_id,)
        ).scalar_one()
    print(f"selection: a learner with {cards} items and {reviews} reviews", flush=True)
    now = datetime.now(UTC)
    for _ in range(5):  # warm-up
        service.start_session(user_id, SESSION_SIZE, now, UTC, chat_id=heavy)
    times = []
    for _ in range(sizes.selection_runs):
        t = time.perf_counter()
        started = service.start_session(user_id, SESSION_SIZE, now, UTC, chat_id=heavy)
        times.append((time.perf_counter() - t) * 1000)
        assert started.size == SESSION_SIZE
    note = f"StudyService.start_session, {cards} items, {reviews} reviews, {len(times)} runs"
    ctx.add(
        Figure(
            "selection_p50",
            "Selection: a 10-item session, p50",
            round(percentile(times, 50), 2),
            "ms",
            None,
            note,
        ),
        Figure(
            "selection_p95",
            "Selection: a 10-item session, p95",
            round(percentile(times, 95), 2),
            "ms",
            "<= 5",
        ),
    )
    t = time.perf_counter()
    from bot.core.charts import stats_chart_png

    progress = ProgressService(service.sessions, service.catalog, service.scheduler)
    stats = progress.stats(user_id, now, UTC)
    png = stats_chart_png(stats)
    cold = time.perf_counter() - t
    warm = []
    for _ in range(sizes.chart_runs):
        t = time.perf_counter()
        png = stats_chart_png(progress.stats(user_id, now, UTC))
        warm.append(time.perf_counter() - t)
    ctx.add(
        Figure(
            "stats_chart",
            f"/stats chart, {reviews} reviews",
            round(statistics.median(warm), 3),
            "s",
            "< 1",
            f"ProgressService.stats + charts.stats_chart_png, median of {len(warm)}; the first "
            f"call, which imports matplotlib, took {cold:.2f} s; PNG {len(png) // 1024} KB",
        )
    )
    engine.dispose()


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def table(figures: list[Figure]) -> str:
    """A Markdown table: figure, value, goal, met."""
    rows = [("Figure", "Value", "Goal", "Met")]
    for f in figures:
        value = "n/a" if f.value is None else f"{f.value:,g} {f.unit}".strip()
        goal = "-" if f.goal is None else f"{f.goal.replace('==', '=')} {f.unit}".strip()
        rows.append((f.label, value, goal, {True: "yes", False: "**no**", None: "-"}[f.met]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


async def main_async(
    sizes: Sizes, out: Path, keep: bool, *, quick: bool, runs: Sequence[str] = RUNS
) -> int:
    started = time.monotonic()
    now = datetime.now(UTC)
    work = Path(tempfile.mkdtemp(prefix="studybot-bench-"))
    ctx = Context(sizes, work, now)
    info = machine()
    ctx.checkpoint("start")
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}", flush=True)
    try:
        catalog = load_catalog([REPO_CONTENT_DIR])
        ids = [i.id for i in catalog.in_curriculum_order()]
        ids += [f"retired-{k}" for k in range(max(sizes.cards - len(ids), 0))]
        ids = ids[: sizes.cards]
        t = time.perf_counter()
        templates = [simulate(ids, sizes.reviews, now, seed=k) for k in range(sizes.templates)]
        heavy = simulate(ids, sizes.heavy_reviews, now, seed=999)
        print(f"histories simulated in {time.perf_counter() - t:.1f} s", flush=True)
        quiet = max(sizes.cost_users, sizes.live_users)
        big = seed(
            work / "ceiling.db",
            sizes,
            pushed=sizes.push_chats,
            quiet=quiet,
            heavy=1,
            now=now,
            templates=templates,
            heavy_history=heavy,
        )
        print(
            f"seeded {sizes.push_chats:,} learners ({sizes.cards} cards, {sizes.reviews} reviews "
            f"each) in {big.seconds:.1f} s",
            flush=True,
        )
        small = seed(
            work / "limits-template.db",
            sizes,
            pushed=sizes.limit_chats,
            quiet=quiet,
            heavy=0,
            now=now,
            templates=templates,
            heavy_history=None,
        )
        plan: dict[str, Callable[[], Any]] = {
            "startup": lambda: run_startup_empty(ctx),
            "ceiling": lambda: run_push_ceiling(ctx, big),
            "selection": lambda: run_selection_and_chart(ctx, big),
            "limits": lambda: run_at_limits(ctx, copy_database(small, work / "limits.db")),
            "latency": lambda: run_latency(ctx, copy_database(small, work / "latency.db")),
        }
        # The bot's bytecode, as an installed package (pip install, the Docker image) has it:
        # with PYTHONDONTWRITEBYTECODE set, an editable checkout would compile bot/ at every
        # start, about 0.1 s of the start-up figures that a deployment never pays.
        compileall.compile_dir(REPO / "bot", quiet=1)
        for name in runs:
            try:
                done = plan[name]()
                if asyncio.iscoroutine(done):
                    await done
            except Exception as exc:  # one run failing leaves the others' figures
                ctx.notes.append(f"the {name} run failed: {exc!r}")
                print(f"  the {name} run failed: {exc!r}", flush=True)
            ctx.checkpoint(f"after {name}")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    measured = {f.key: f for f in ctx.figures}
    figures = [
        measured.get(key) or Figure(key, key, None, "", None, "not measured: its run failed")
        for key in FIGURES
    ]
    # Before and after all runs, and at each point between (see Context.speeds).
    info["reference_loop_s"] = [ctx.speeds["start"], list(ctx.speeds.values())[-1]]
    info["reference_loop_checkpoints_s"] = ctx.speeds
    result = {
        "machine": info,
        "quick": quick,
        "sizes": sizes.__dict__,
        "seconds": round(time.monotonic() - started, 1),
        "figures": {f.key: f.to_json() for f in figures},
        "notes": ctx.notes,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(figures))
    print()
    print(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, "
        f"Python {info['python']}, SQLite {info['sqlite']}, {info['date']}; reference loop "
        "(CPU s, see machine_speed): "
        + ", ".join(f"{name} {value}" for name, value in ctx.speeds.items())
    )
    for note in ctx.notes:
        print("note:", note)
    print(f"{len(figures)} figures in {result['seconds']} s; written to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke run")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results.json", help="the JSON file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample every bot process with py-spy, the thread holding the GIL (raw collapsed "
        "stacks in DIR)",
    )
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one size, e.g. --size push_chats=2000 (see Sizes)",
    )
    parser.add_argument(
        "--only",
        default=",".join(RUNS),
        help=f"comma-separated runs, for development (default: all of {','.join(RUNS)})",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for item in args.size:
        name, _, value = item.partition("=")
        kind = type(getattr(sizes, name))
        parsed = value.lower() in ("1", "true", "yes", "on") if kind is bool else kind(value)
        sizes = replace(sizes, **{name: parsed})
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        BotProcess.profile_dir = args.profile
    runs = [r.strip() for r in args.only.split(",") if r.strip()]
    unknown = set(runs) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs {sorted(unknown)}; choose from {RUNS}")
    return asyncio.run(main_async(sizes, args.out, args.keep, quick=args.quick, runs=runs))


if __name__ == "__main__":
    raise SystemExit(main())
