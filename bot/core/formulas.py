"""Display formulas drawn with matplotlib's mathtext (Agg, no display), the check of whether
mathtext can draw one, and the cache of the drawings in memory and on disk.

Drawing is CPU work (about 50 ms a formula, after a second to import matplotlib): the Telegram
edge has it done in a worker process at low priority (``draw_into``), or in a worker thread when
there is no cache folder. The object-oriented Figure API is used (not pyplot), so drawing is
safe from several threads. matplotlib is imported on the first drawing, not with this module:
a bot that starts in half a second answers sooner after every restart.

``FormulaCache`` keeps one PNG file per formula, named by a hash of all that decides the
picture: the LaTeX, the box, the resolution, matplotlib's version and ``RENDERER_VERSION``. A
restarted bot reads the files instead of drawing again; a newer matplotlib or drawing code
names new files, and the old ones are not read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import multiprocessing
import multiprocessing.process
import os
import signal
import tempfile
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
# Raise it whenever the same formula would be drawn differently (font, size, padding, colours):
# the files of the earlier drawing code are then left unread.
RENDERER_VERSION = 1
DPI = 200
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"  # the last chunk: a file cut short does not end with it
# The drawing process yields to the bot: at nice 10 it gets about a tenth of a core they share.
WORKER_NICENESS = 10


class FormulaError(ValueError):
    """mathtext cannot draw this formula; show its Unicode form instead."""


@lru_cache(maxsize=1)
def figure_class() -> Any:
    """matplotlib's Figure, set up (Agg, Computer Modern) on first use."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["mathtext.fontset"] = "cm"  # Computer Modern: formulas look like LaTeX
    from matplotlib.figure import Figure

    return Figure


@lru_cache(maxsize=512)
def formula_png(latex: str, boxed: bool = False, dpi: int = DPI) -> bytes:
    """Draw one display formula (matplotlib mathtext) as a PNG on white, cached by formula.

    Raises:
        FormulaError: when mathtext cannot parse or draw it.
    """
    fig = figure_class()(figsize=(0.01, 0.01), dpi=dpi, facecolor="white")
    box = {"boxstyle": "square,pad=0.4", "fill": False, "linewidth": 1.2} if boxed else None
    fig.text(0.5, 0.5, f"${latex}$", fontsize=15, ha="center", va="center", bbox=box)
    buffer = io.BytesIO()
    try:
        fig.savefig(
            buffer, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.18, facecolor="white"
        )
    except ValueError as exc:  # mathtext parse errors are ValueErrors
        raise FormulaError(str(exc).splitlines()[0] if str(exc) else "cannot draw") from exc
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _mathtext_parser() -> Any:
    figure_class()  # the same fonts as the drawings
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("path")


def formula_problem(latex: str) -> str:
    """Why mathtext cannot draw this display formula (``formula_png`` would fail), or ""."""
    try:
        _mathtext_parser().parse(f"${latex}$", dpi=72)
    except ValueError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return lines[-1] if lines else "mathtext cannot draw it"
    return ""


@lru_cache(maxsize=1)
def matplotlib_version() -> str:
    """The installed matplotlib's version, read from its metadata (without importing it)."""
    from importlib import metadata  # 10 ms to import: only where a cache file is named

    try:
        return metadata.version("matplotlib")
    except metadata.PackageNotFoundError:
        return "unknown"


def is_png(data: bytes) -> bool:
    """True when ``data`` looks like a whole PNG file (its signature first, its end chunk last)."""
    return data.startswith(PNG_SIGNATURE) and data.endswith(PNG_END)


class FormulaCache:
    """Drawn formulas: the latest ones in memory, all of them on disk when there is a folder.

    The disk is an optimisation, never a condition: a file that cannot be read, or is not a
    whole PNG, counts as missing (and is drawn again and replaced); a folder that cannot be
    written is logged once and the drawings stay in memory. Files are written whole (a
    temporary file, then ``os.replace``), so a reader never sees half of one, whichever process
    or thread wrote it.
    """

    def __init__(self, directory: Path | None, memory: int = 128) -> None:
        self.directory = directory
        self._memory: OrderedDict[tuple[str, bool], bytes] = OrderedDict()
        self._size = memory
        self._lock = threading.Lock()  # get/put run in worker threads
        self._write_failed = False

    def path(self, latex: str, boxed: bool) -> Path | None:
        """The file of this formula's drawing (None without a folder)."""
        if self.directory is None:
            return None
        what = [RENDERER_VERSION, matplotlib_version(), DPI, boxed, latex]
        name = hashlib.sha256(json.dumps(what).encode()).hexdigest()
        return self.directory / f"{name}.png"

    def in_memory(self, latex: str, boxed: bool) -> bytes | None:
        """The drawing if it is in memory (no disk access: safe on the event loop)."""
        with self._lock:
            png = self._memory.get((latex, boxed))
            if png is not None:
                self._memory.move_to_end((latex, boxed))
            return png

    def get(self, latex: str, boxed: bool) -> bytes | None:
        """The drawing from memory or disk, or None when it has to be drawn."""
        png = self.in_memory(latex, boxed)
        if png is None:
            png = self._read(latex, boxed)
            if png is not None:
                self._remember(latex, boxed, png)
        return png

    def on_disk(self, latex: str, boxed: bool) -> bool:
        """True when the formula's file holds a whole PNG (it is read, not kept in memory)."""
        return self._read(latex, boxed) is not None

    def _read(self, latex: str, boxed: bool) -> bytes | None:
        path = self.path(latex, boxed)
        if path is None:
            return None
        try:
            png = path.read_bytes()
        except OSError:  # not drawn yet, or unreadable: drawn again
            return None
        if not is_png(png):
            logger.warning("formula cache: %s is not a whole PNG; it is drawn again", path.name)
            return None
        return png

    def put(self, latex: str, boxed: bool, png: bytes, *, disk: bool = True) -> None:
        """Keep a drawing in memory and, with ``disk``, in its file."""
        self._remember(latex, boxed, png)
        path = self.path(latex, boxed) if disk else None
        if path is not None:
            self._write(path, png)

    def draw(self, latex: str, boxed: bool) -> bytes:
        """The drawing, from the cache or drawn now (and kept).

        Raises:
            FormulaError: when mathtext cannot draw it.
        """
        png = self.get(latex, boxed)
        if png is None:
            png = formula_png(latex, boxed)
            self.put(latex, boxed, png)
        return png

    def _remember(self, latex: str, boxed: bool, png: bytes) -> None:
        with self._lock:
            self._memory[(latex, boxed)] = png
            self._memory.move_to_end((latex, boxed))
            while len(self._memory) > self._size:
                self._memory.popitem(last=False)

    def _write(self, path: Path, png: bytes) -> None:
        temp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(png)
            os.replace(temp, path)
        except OSError as exc:
            if temp is not None:
                Path(temp).unlink(missing_ok=True)
            if not self._write_failed:  # once: every formula would fail alike
                self._write_failed = True
                logger.warning("formula cache: cannot write in %s (%s)", path.parent, exc)


# ---- in the drawing process ----------------------------------------------------------------


def worker_started() -> None:
    """Set up a drawing process: low priority, Ctrl-C left to the bot (which stops it), and an
    end of its own when the bot is gone.

    A bot that is killed (SIGKILL, out of memory) cannot stop it, and a worker of a process pool
    then waits for work forever: it holds both ends of the queue's pipe, so it never reads an
    end of file. A thread waits for the bot's end instead (the sentinel that multiprocessing
    gives every child).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # not allowed here: it draws at the bot's priority
        os.nice(WORKER_NICENESS)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), name="bot-gone", daemon=True).start()


def _end_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)  # at once: whatever it was drawing, nobody waits for it now


@lru_cache(maxsize=4)
def _worker_cache(directory: str) -> FormulaCache:
    return FormulaCache(Path(directory))


def draw_into(directory: str, latex: str, boxed: bool) -> bytes:
    """Draw a formula into the cache folder (if its file is not there yet) and return it.

    Runs in the drawing process: the cache of that process, its matplotlib and its memory.

    Raises:
        FormulaError: when mathtext cannot draw it.
    """
    return _worker_cache(directory).draw(latex, boxed)
