"""The handlers' and jobs' dependencies: services, settings, clock, where database work runs,
and the formula-drawing process."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ParamSpec, TypeVar

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.core.formulas import FormulaCache, FormulaError, draw_into, worker_started
from bot.core.schedule import ChatSettings
from bot.services.chats import ChatService
from bot.services.groups import GroupService
from bot.services.progress import ProgressService
from bot.services.push import PushService
from bot.services.study import StudyService

P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger(__name__)
# The background drawing waits this long after the last drawing that a reply waited for: the
# formulas of one answer are asked for one after the other, as its photos go out, and each
# would otherwise wait for a background one (about 50 ms) in the single drawing process.
PREDRAW_PAUSE = 0.5
# It starts this long after post_init: listing the formulas holds the GIL for 25-50 ms, and the
# drawing process's interpreter shares the CPU until it lowers its priority; the bot's first
# getUpdates, and so its start-up figure, come before. A reply that needs a drawing sooner
# starts the process itself.
PREDRAW_DELAY = 1.0


@dataclass
class Deps:
    """Services and state the handlers use; stored in ``application.bot_data["deps"]``."""

    study: StudyService
    progress: ProgressService
    chats: ChatService
    pushes: PushService
    groups: GroupService
    settings: Settings
    close_services: Callable[[], None] = lambda: None  # at shutdown
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    photo_ids: dict[tuple[str, bool], str] = field(default_factory=dict)
    stats_asked: dict[int, float] = field(default_factory=dict)
    zones: dict[int, tzinfo] = field(default_factory=dict)  # chats seen active, with their zone
    formulas: FormulaCache = field(default_factory=lambda: FormulaCache(None))

    _db_threads: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _drawer: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)
    _drawing: dict[tuple[str, bool], asyncio.Future[bytes]] = field(
        default_factory=dict, init=False, repr=False
    )
    _undrawable: set[tuple[str, bool]] = field(default_factory=set, init=False, repr=False)
    _wanted: int = field(default=0, init=False, repr=False)  # drawings replies wait for
    _wanted_at: float = field(default=0.0, init=False, repr=False)  # monotonic, the last one
    _predraw: asyncio.Task[int] | None = field(default=None, init=False, repr=False)

    @property
    def _sqlite(self) -> bool:
        return self.settings.database_url.startswith("sqlite")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run database work: with SQLite right here, on the event loop; with PostgreSQL in
        one of four database threads.

        A press's SQLite transaction takes well under a millisecond of CPU, and the hand-off to
        a thread cost more than the work: waking the thread, the GIL passed back and forth while
        both threads want it, waking the loop through its self-pipe. On the event loop, a press
        costs a quarter less CPU and a rating a third less (``bench/ab.py``, 2026-12-07). The
        thread bought little concurrency either: SQLAlchemy's Python code is most of a
        transaction's time, and the thread held the GIL while it ran. The loop is also the one
        SQLite writer of this process, as the single thread was (a second writer would only
        sleep on the database lock). The longest calls, a push batch of PUSH_BATCH chats, hold
        the loop for some tens of milliseconds; longer reads go to a thread (``read``). A write
        that finds the database locked by another process (the terminal mode) waits for that
        transaction, as short as the bot's own.

        PostgreSQL's calls wait on the network, during which the loop must go on: they run in
        threads, each with its own connection.
        """
        if self._sqlite:
            return fn(*args, **kwargs)
        if self._db_threads is None:
            self._db_threads = ThreadPoolExecutor(4, thread_name_prefix="db")
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._db_threads, call)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a long read-only database call (every subscribed chat at start-up, a learner's
        whole history for /stats or /export: tens to hundreds of milliseconds) in a thread,
        so that the event loop answers others meanwhile. With SQLite in WAL mode a read waits
        for no writer and keeps none waiting. With PostgreSQL, as ``run``."""
        if self._sqlite:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await self.run(fn, *args, **kwargs)

    def shutdown(self) -> None:
        """Stop the drawing and the database threads (PostgreSQL's); close the database's
        connections."""
        if self._predraw is not None:
            self._predraw.cancel()
            self._predraw = None
        self._stop_drawer(wait=True)
        if self._db_threads is not None:
            self._db_threads.shutdown(wait=True)
            self._db_threads = None
        self.close_services()

    async def draw(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run slow work that is not the database's (drawing) in a worker thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def cached_formula(self, latex: str, boxed: bool) -> bytes | None:
        """A display formula's drawing if it needs no drawing: from memory, else from its file.

        Raises:
            FormulaError: the formula failed to draw before (it would fail again).
        """
        if (latex, boxed) in self._undrawable:
            raise FormulaError("mathtext cannot draw it")
        png = self.formulas.in_memory(latex, boxed)
        if png is None and self.formulas.directory is not None:
            png = await asyncio.to_thread(self.formulas.get, latex, boxed)
        return png

    async def draw_formula(self, latex: str, boxed: bool, *, background: bool = False) -> bytes:
        """Draw a display formula (and cache it); callers who ask for a formula that is being
        drawn wait for that drawing.

        With a cache folder it is drawn in the drawing process (``_draw``), else in a thread.
        A drawing that a reply waits for (not ``background``) pauses the background drawing.

        Raises:
            FormulaError: when mathtext cannot draw it.
        """
        key = (latex, boxed)
        if key in self._undrawable:
            raise FormulaError("mathtext cannot draw it")
        drawing = self._drawing.get(key)
        if drawing is None:
            drawing = self._drawing[key] = asyncio.create_task(self._draw(latex, boxed))
            drawing.add_done_callback(lambda _: self._drawing.pop(key, None))
        if not background:
            self._wanted += 1
        try:
            # Shielded: one caller that gives up (a cancelled update) leaves it to the others.
            return await asyncio.shield(drawing)
        except FormulaError:
            self._undrawable.add(key)
            raise
        finally:
            if not background:
                self._wanted -= 1
                self._wanted_at = time.monotonic()

    async def _draw(self, latex: str, boxed: bool) -> bytes:
        """In a process of its own when there is a cache folder: the bot's process then never
        imports matplotlib (a second of CPU, with the GIL held) for formulas, and the drawing
        runs at low priority; the process writes the file, the bot keeps the PNG in memory."""
        directory = self.formulas.directory
        if directory is not None:
            loop = asyncio.get_running_loop()
            try:
                png = await loop.run_in_executor(
                    self._drawing_process(), draw_into, str(directory), latex, boxed
                )
            except BrokenProcessPool:  # the process died (killed, out of memory): a new one next
                logger.warning("the formula-drawing process died; drawing in a thread")
                self._stop_drawer(wait=False)
            else:
                self.formulas.put(latex, boxed, png, disk=False)
                return png
        return await self.draw(self.formulas.draw, latex, boxed)

    def _drawing_process(self) -> ProcessPoolExecutor:
        if self._drawer is None:
            # "spawn": a fresh interpreter; forking the bot's threads (the database threads,
            # aiohttp's resolver) could copy a lock that one of them holds.
            self._drawer = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=worker_started
            )
        return self._drawer

    def _stop_drawer(self, *, wait: bool) -> None:
        """Let the drawing process end (after the drawings queued, unless ``wait``: then the
        queued ones are dropped, as the bot is stopping); a later drawing starts another."""
        drawer, self._drawer = self._drawer, None
        if drawer is not None:
            drawer.shutdown(wait=wait, cancel_futures=wait)

    def start_predraw(self, formulas: Callable[[], Sequence[tuple[str, bool]]]) -> None:
        """Draw in the background the formulas (``formulas()``, listed in a thread) that have no
        file yet, so that the first reveal of each finds its drawing (with a cache folder)."""
        if self.formulas.directory is not None and self._predraw is None:
            self._predraw = asyncio.create_task(self._predraw_all(formulas), name="predraw")

    async def _predraw_all(self, formulas: Callable[[], Sequence[tuple[str, bool]]]) -> int:
        """One formula at a time: one that somebody waits for then waits for the drawing in hand
        (about 50 ms), not for the whole list. Returns how many were drawn."""
        cache = self.formulas

        def missing() -> tuple[int, list[tuple[str, bool]]]:
            listed = formulas()
            return len(listed), [f for f in listed if not cache.on_disk(*f)]

        await asyncio.sleep(PREDRAW_DELAY)
        drawn = 0
        try:
            listed, todo = await asyncio.to_thread(missing)
            for latex, boxed in todo:
                while self._wanted or time.monotonic() - self._wanted_at < PREDRAW_PAUSE:
                    await asyncio.sleep(PREDRAW_PAUSE / 5)
                if cache.in_memory(latex, boxed) is not None:  # a reply had it drawn meanwhile
                    continue
                try:
                    await self.draw_formula(latex, boxed, background=True)
                    drawn += 1
                except FormulaError as exc:  # check-content reports it; it is shown as text
                    logger.warning("formula %r cannot be drawn: %s", latex[:60], exc)
        except Exception:  # a task of its own: nothing else would report it
            logger.exception("the background drawing of formulas failed")
            return drawn
        if todo:
            self._stop_drawer(wait=False)  # its memory back; a formula added later starts one
        logger.info(
            "formula drawings: %d drawn in the background, %d already in %s",
            drawn,
            listed - len(todo),
            cache.directory,
        )
        return drawn

    def tz(self, chat_id: int) -> tzinfo:
        """The chat's time zone (UTC until the chat sets one)."""
        return self.zones.get(chat_id, UTC)

    def remember(self, chat: ChatSettings) -> None:
        if chat.active:
            self.zones[chat.chat_id] = chat.tz
        else:
            self.zones.pop(chat.chat_id, None)


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    """The dependencies of a handler or job."""
    return deps_of(context.application)


def deps_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Deps:
    """The dependencies stored in an application's ``bot_data``."""
    found = app.bot_data["deps"]
    assert isinstance(found, Deps)
    return found


async def user_id_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The learner id of whoever sent this update (registered on first contact)."""
    user = update.effective_user
    assert user is not None
    d = deps(context)
    return await d.run(d.study.telegram_user, user.id, user.first_name or "", d.clock())
