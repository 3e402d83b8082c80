"""The formula cache: files named by all that decides the picture, written whole, and never an
error when the disk is not what it should be; the drawing process's priority; the setting."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.core import formulas
from bot.core.formulas import (
    WORKER_NICENESS,
    FormulaCache,
    FormulaError,
    draw_into,
    formula_png,
    is_png,
    worker_started,
)

SOFTMAX = r"\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}"


def _files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def test_a_drawing_is_kept_in_its_file_and_read_back_by_another_cache(tmp_path: Path) -> None:
    first = FormulaCache(tmp_path)
    assert first.get(SOFTMAX, False) is None  # get never draws
    png = first.draw(SOFTMAX, False)
    assert is_png(png) and png == formula_png(SOFTMAX, False)
    [path] = _files(tmp_path)  # one file, no temporary file left beside it
    assert path == first.path(SOFTMAX, False) and path.read_bytes() == png
    restarted = FormulaCache(tmp_path)  # a new process: nothing in memory
    assert restarted.in_memory(SOFTMAX, False) is None
    assert restarted.get(SOFTMAX, False) == png
    assert restarted.in_memory(SOFTMAX, False) == png


def test_the_file_name_depends_on_all_that_decides_the_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = FormulaCache(tmp_path)
    plain, boxed = cache.path("x^2", False), cache.path("x^2", True)
    assert plain is not None and plain.parent == tmp_path and plain.suffix == ".png"
    assert len({plain, boxed, cache.path("x^3", False)}) == 3
    monkeypatch.setattr(formulas, "RENDERER_VERSION", formulas.RENDERER_VERSION + 1)
    assert cache.path("x^2", False) != plain
    monkeypatch.undo()
    monkeypatch.setattr(formulas, "matplotlib_version", lambda: "99.0")
    assert cache.path("x^2", False) != plain
    monkeypatch.undo()
    assert cache.path("x^2", False) == plain
    assert FormulaCache(None).path("x^2", False) is None


@pytest.mark.parametrize(
    "content",
    [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40],  # empty, garbage, cut short
    ids=["empty", "garbage", "truncated"],
)
def test_a_corrupt_file_is_drawn_again_and_replaced(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FormulaCache(tmp_path)
    path = cache.path(SOFTMAX, True)
    assert path is not None
    path.write_bytes(content)
    assert cache.get(SOFTMAX, True) is None
    assert not cache.on_disk(SOFTMAX, True)
    png = cache.draw(SOFTMAX, True)
    assert is_png(png) and path.read_bytes() == png
    assert FormulaCache(tmp_path).on_disk(SOFTMAX, True)
    assert "not a whole PNG" in caplog.text


def test_an_unreadable_or_unwritable_cache_still_gives_the_drawing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cache = FormulaCache(tmp_path)
    path = cache.path("a+b", False)
    assert path is not None
    path.mkdir()  # a folder where the file should be: it can be neither read nor replaced
    assert cache.get("a+b", False) is None
    assert is_png(cache.draw("a+b", False))
    assert path.is_dir() and [p.name for p in _files(tmp_path)] == [path.name]  # no temp file
    assert cache.get("a+b", False) is not None  # kept in memory instead
    # A cache folder that is a file: every write fails, logged once.
    blocked = tmp_path / "blocked"
    blocked.write_bytes(b"")
    cache = FormulaCache(blocked)
    assert is_png(cache.draw("a-b", False)) and is_png(cache.draw("a*b", False))
    assert caplog.text.count("cannot write") == 2  # once per cache: the first one's and this


def test_a_formula_mathtext_cannot_draw_raises_and_leaves_no_file(tmp_path: Path) -> None:
    cache = FormulaCache(tmp_path)
    with pytest.raises(FormulaError):
        cache.draw(r"\frac{1}{", False)
    assert _files(tmp_path) == []


def test_memory_keeps_the_latest_drawings(tmp_path: Path) -> None:
    cache = FormulaCache(None, memory=2)
    for latex in ("a", "b", "c"):
        cache.put(latex, False, b"png of " + latex.encode())
    assert cache.in_memory("a", False) is None
    assert cache.in_memory("b", False) == b"png of b"
    cache.put("d", False, b"png of d")  # "b" was used last: "c" goes
    assert cache.in_memory("c", False) is None and cache.in_memory("b", False) is not None
    assert _files(tmp_path) == []  # no folder: memory only


def test_the_drawing_process_writes_the_file_and_runs_at_low_priority(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=worker_started) as worker:
        niceness = worker.submit(os.nice, 0).result()
        png = worker.submit(draw_into, str(tmp_path), "e^{i\\pi}+1=0", False).result()
        with pytest.raises(FormulaError):  # it crosses the process boundary as itself
            worker.submit(draw_into, str(tmp_path), r"\frac{1}{", False).result()
    assert niceness >= min(19, os.nice(0) + WORKER_NICENESS)
    assert FormulaCache(tmp_path).get("e^{i\\pi}+1=0", False) == png


# ---- the setting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, Path("data/cache")),  # beside the default database, data/studybot.db
        ({"DATABASE_URL": "sqlite:////data/studybot.db"}, Path("/data/cache")),  # Docker's
        ({"DATABASE_URL": "sqlite+pysqlite:///db/x.db?timeout=5"}, Path("db/cache")),
        (
            {"DATABASE_URL": "postgresql+psycopg://u:p@h/db", "XDG_CACHE_HOME": "/c"},
            Path("/c/studybot"),
        ),
        ({"DATABASE_URL": "sqlite://", "XDG_CACHE_HOME": "/c"}, Path("/c/studybot")),  # in memory
        (
            {"STUDYBOT_CACHE_DIR": "/var/cache/sb", "DATABASE_URL": "sqlite:///x.db"},
            Path("/var/cache/sb"),
        ),
    ],
)
def test_the_cache_folder_setting(env: dict[str, str], expected: Path) -> None:
    assert load_settings(env).cache_dir == expected


def test_the_cache_folder_without_xdg_is_under_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    settings = load_settings({"DATABASE_URL": "postgresql+psycopg://u:p@h/db"})
    assert settings.cache_dir == Path("/home/u/.cache/studybot")


def test_a_cache_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigError, match=r"STUDYBOT_CACHE_DIR: .* is a file, not a folder"):
        load_settings({"STUDYBOT_CACHE_DIR": str(a_file)})


def test_the_drawing_process_ends_when_the_bot_is_killed(tmp_path: Path) -> None:
    # A "bot" that starts a drawing process the way the bot does, then dies by SIGKILL.
    script = (
        "import multiprocessing, os, signal\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from bot.core.formulas import worker_started\n"
        "spawn = multiprocessing.get_context('spawn')\n"
        "pool = ProcessPoolExecutor(1, mp_context=spawn, initializer=worker_started)\n"
        "print(pool.submit(os.getpid).result(), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    bot = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert bot.returncode == -signal.SIGKILL, bot.stderr
    drawer = int(bot.stdout)
    deadline = time.monotonic() + 10
    while _alive(drawer) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(drawer)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (an orphan is reaped by init once it ends)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
