"""What people type to /exam and /drill, read as a person means it (pure).

An interview date may be written many ways ("2027-01-20", "20 Jan", "in 3 weeks", "next
friday"); dateparser reads them (imported when first needed: it takes about 0.1 s to import),
relative to today in the learner's zone. A category may be named by its words ("LLM
architecture", "transformer", "eval").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from bot.core.text import long_day

# How categories read in a sentence, where the plain name would not ("llm_architecture").
_ACRONYMS = {"llm": "LLM", "rlhf": "RLHF"}


def parse_exam_date(text: str, now: datetime, tz: tzinfo) -> date:
    """The day ``text`` names, read in the learner's zone ``tz`` on ``now``'s date there.

    A day without a year is the next one to come ("20 Jan" in December is next January's);
    numeric days are read day first ("03/02/2027" is 3 February).

    Raises:
        ValueError: when ``text`` names no day, or a day before today; the message says which,
            in words fit to show the learner.
    """
    import dateparser  # here, not at the top: see the module's docstring

    local = now.astimezone(tz)
    found = dateparser.parse(
        text.strip(),
        languages=["en"],
        settings={
            "RELATIVE_BASE": local.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
        },
    )
    if found is None:
        raise ValueError(f"I can't read “{text.strip()}” as a date")
    day = found.date()
    if day < local.date():
        raise ValueError(f"{long_day(day)} is in the past")
    return day


def category_label(name: str) -> str:
    """A category as a sentence shows it: "LLM architecture", "RLHF", "transformers"."""
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    return " ".join(words)


def parse_category(text: str, categories: Sequence[str]) -> str:
    """The category ``text`` names: its name in any case or spacing ("LLM architecture"), the
    start of its words ("llm", "eval"), a singular ("transformer"), or a close misspelling.

    Raises:
        ValueError: when it names none, or several (the message lists them).
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    if not words:
        raise ValueError("No category given")
    found = [c for c in categories if _names(words, c.split("_"))]
    if not found:
        spaced = {c.replace("_", " "): c for c in categories}
        found = [spaced[c] for c in difflib.get_close_matches(" ".join(words), spaced, n=1)]
    if len(found) == 1:
        return found[0]
    if found:
        raise ValueError("That may be " + " or ".join(category_label(c) for c in found))
    raise ValueError(f"There is no category “{text.strip()}”")


def _names(words: Sequence[str], category: Sequence[str]) -> bool:
    """Does every typed word name one of the category's words (in their order)?"""
    rest = list(category)
    for word in words:
        hit = next((k for k, part in enumerate(rest) if _same_word(word, part)), None)
        if hit is None:
            return False
        del rest[: hit + 1]
    return True


def _same_word(typed: str, word: str) -> bool:
    """The word, its start ("arch"), or its singular or plural ("transformer")."""
    return (len(typed) >= 2 and word.startswith(typed)) or typed.rstrip("s") == word.rstrip("s")
