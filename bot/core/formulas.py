"""Display formulas drawn with matplotlib's mathtext (Agg, no display), and the check of whether
mathtext can draw one.

Drawing is CPU work; the Telegram edge calls it in a worker thread, off the event loop. The
object-oriented Figure API is used (not pyplot), so drawing is safe from several threads.
matplotlib is imported on the first drawing, not with this module: the import takes most of a
second, and a bot that starts in half a second answers sooner after every restart.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import Any


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
def formula_png(latex: str, boxed: bool = False, dpi: int = 200) -> bytes:
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
