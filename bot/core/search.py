"""Finding items by words in their title, tags and question (``/find``, ``studybot find``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.content import Catalog, Item

FIND_LIMIT = 10


def _pattern(word: str) -> re.Pattern[str]:
    # A word matches where a word of the text starts: "rope" finds "(RoPE)" but not "Europe",
    # "attention" finds "self-attention".
    return re.compile(r"(?<!\w)" + re.escape(word), re.IGNORECASE)


def find_items(catalog: Catalog, words: Iterable[str], limit: int = FIND_LIMIT) -> list[Item]:
    """Items whose title, tags or question contain every word (case-insensitive).

    Args:
        catalog: the items to search.
        words: what to look for; each must occur at the start of a word of the item's title,
            a tag or the question.
        limit: the most items to return.

    Returns:
        Up to ``limit`` items, those with more words in the title first, then more words in
        the tags, then in curriculum order. No words finds nothing.
    """
    patterns = [_pattern(w) for w in dict.fromkeys(w.strip().lower() for w in words) if w]
    if not patterns:
        return []
    ranked: list[tuple[tuple[int, int, tuple[int, int, str]], Item]] = []
    for item in catalog.in_curriculum_order():
        fields = (item.title, " ".join(item.tags), item.question)
        hits = [[bool(p.search(text)) for text in fields] for p in patterns]
        if all(any(found) for found in hits):
            in_title, in_tags = sum(h[0] for h in hits), sum(h[1] for h in hits)
            ranked.append(((-in_title, -in_tags, item.curriculum_key), item))
    ranked.sort(key=lambda entry: entry[0])
    return [item for _key, item in ranked[: max(limit, 0)]]


def item_by_id(catalog: Catalog, item_id: str) -> Item | None:
    """The item with this id, ignoring case and surrounding spaces; None when there is none."""
    wanted = item_id.strip()
    found = catalog.get(wanted)
    if found is None:
        found = next(
            (i for i in catalog.in_curriculum_order() if i.id.lower() == wanted.lower()), None
        )
    return found
