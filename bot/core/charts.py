"""The /stats chart, drawn with matplotlib (Agg, no display).

It is CPU work; the Telegram edge calls them in a worker thread, off the event loop. The
object-oriented Figure API is used (not pyplot), so drawing is safe from several threads.
matplotlib is imported on the first drawing, not with this module: the import takes most of a
second, and a bot that starts in half a second answers sooner after every restart.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from bot.core.formulas import figure_class

if TYPE_CHECKING:
    from bot.core.stats import Stats

RATING_COLORS = {1: "#d9534f", 2: "#f0ad4e", 3: "#5cb85c"}
RATING_NAMES = {1: "No idea", 2: "Partial", 3: "Got it"}


def stats_chart_png(stats: Stats, dpi: int = 110) -> bytes:
    """Reviews per day (stacked by rating), the 14-day due forecast, and mastery per category."""
    fig = stats_figure(stats, dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def counts_axis(ax: Any, which: str, peak: int) -> None:
    """Make the x or y axis of ``ax`` one of counts up to ``peak``: whole-number ticks only
    (never 2.5 items), from 0 with a little room above the highest bar, and 0..1 when every
    count is 0 (matplotlib would otherwise span -0.04..0.04)."""
    from matplotlib.ticker import MaxNLocator

    axis, set_lim = (ax.yaxis, ax.set_ylim) if which == "y" else (ax.xaxis, ax.set_xlim)
    axis.set_major_locator(MaxNLocator(integer=True))
    set_lim(0, peak * 1.05 if peak else 1)


def stats_figure(stats: Stats, dpi: int = 110) -> Any:
    """The /stats chart as a matplotlib Figure (``stats_chart_png`` draws it)."""
    fig = figure_class()(figsize=(8, 8.6), dpi=dpi, facecolor="white")
    top, middle, bottom = fig.subplots(3, 1, height_ratios=[1.1, 0.9, 1.2])
    # Fixed margins (room for the category names) rather than layout="constrained", whose
    # solver measures every label and took a third of the drawing time.
    fig.subplots_adjust(left=0.16, right=0.98, top=0.965, bottom=0.035, hspace=0.28)

    days = list(stats.daily)
    labels = [d.strftime("%d.%m") for d in days]
    base = [0] * len(days)
    for rating in (1, 2, 3):
        values = [stats.daily[d][rating] for d in days]
        top.bar(
            range(len(days)),
            values,
            bottom=base,
            color=RATING_COLORS[rating],
            label=RATING_NAMES[rating],
            width=0.8,
        )
        base = [b + v for b, v in zip(base, values, strict=True)]
    top.set_title("Reviews per day, last 30 days")
    top.set_xticks(range(0, len(days), 5), labels[::5])
    top.legend(loc="upper left", fontsize=8, frameon=False)
    counts_axis(top, "y", max(base, default=0))
    top.spines[["top", "right"]].set_visible(False)

    forecast = stats.forecast
    middle.bar(range(len(forecast)), forecast, color="#428bca", width=0.8)
    middle.set_title("Due in the next 14 days (day 0 = today, with overdue)")
    middle.set_xticks(range(len(forecast)))
    counts_axis(middle, "y", max(forecast, default=0))
    middle.spines[["top", "right"]].set_visible(False)

    cats = stats.categories
    names = [c.category for c in cats]
    y = range(len(cats))
    bottom.barh(y, [c.total for c in cats], color="#eeeeee", label="total")
    bottom.barh(y, [c.studied for c in cats], color="#9ecae1", label="studied")
    bottom.barh(y, [c.mastered for c in cats], color="#3182bd", label="mastered (≥ 21 days)")
    bottom.set_yticks(list(y), names)
    bottom.invert_yaxis()
    bottom.set_title("Mastery per category")
    bottom.legend(loc="lower right", fontsize=8, frameon=False)
    bottom.spines[["top", "right"]].set_visible(False)
    counts_axis(bottom, "x", max((c.total for c in cats), default=0))
    return fig
