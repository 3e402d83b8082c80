"""A typed answer checked against an item's key points, offline.

Each key point is reduced to its terms: English word stems (Snowball), numbers and math symbols,
with inline LaTeX read as its Unicode form and Greek letters as their names, so "sigma" in a
typed answer meets $\\sigma$ in a key point. A point counts as covered when the answer has at
least 40% of its terms: enough that a short, correct sentence counts, not so little that a
single shared word ("gradient") does. It is a hint for the learner's own rating, not a grade.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.core.render import inline_math_to_unicode

COVERED_SHARE = 1 / 3
_RAISED = re.compile("([⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ⁿ₀₁₂₃₄₅₆₇₈₉ᵢⱼₖ]+)")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|[^\W\d_]+|[^\w\s]", re.UNICODE)
# Function words, and words every explanation uses: they carry no part of the answer.
_STOP = frozenset(
    """a an and are as at be been but by can do does for from has have how if in into is it its
    of on or so such than that the their them then there these they this to too was we were what
    when where which while who why will with without you your not no only also more most less
    very same both each every any all one two via about because between over under up down out
    thus hence i it's isn't don't use used uses using""".split()  # noqa: SIM905
)
_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi",
    "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "φ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega", "Σ": "sigma", "Π": "pi", "Δ": "delta", "Θ": "theta", "Ω": "omega",
}  # fmt: skip
# Symbols that mean something in an answer (others, like punctuation, are dropped).
_SYMBOLS = frozenset("√∑∏∫∂∇≈≠≤≥∞→←↔⊙⊗×÷±∝∈∀∃")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer  # type: ignore[import-untyped]  # 20 ms: imported on first use

    return snowballstemmer.stemmer("english")


def terms(text: str) -> frozenset[str]:
    """The terms of a text: stems, numbers and meaningful symbols, lower-cased."""
    text = inline_math_to_unicode(text)
    for letter, name in _GREEK.items():
        text = text.replace(letter, f" {name} ")
    text = _RAISED.sub(r" \1", text)  # "0.25¹⁰" is 0.25 and 10, not 0.2510
    text = unicodedata.normalize("NFKC", text).lower().replace("`", " ").replace("*", " ")
    out: set[str] = set()
    words: list[str] = []
    for token in _TOKEN.findall(text):
        if token[0].isdigit():
            out.add(token.replace(",", "."))
        elif token.isalpha():
            if token not in _STOP and (len(token) > 2 or token in _GREEK.values()):
                words.append(token)
        elif token in _SYMBOLS:
            out.add(token)
    out.update(_stemmer().stemWords(words))
    return frozenset(out)


@dataclass(frozen=True)
class Attempt:
    """Which key points a typed answer covered, in the items' order."""

    covered: tuple[bool, ...]

    @property
    def count(self) -> int:
        return sum(self.covered)

    @property
    def suggested(self) -> int:
        """The rating the coverage suggests: all points 3, at least half 2, else 1."""
        return suggested_rating(self.count, len(self.covered))


def suggested_rating(ticked: int, total: int) -> int:
    """A rating from the key points recalled: all of them 3, at least half 2, else 1."""
    if total and ticked >= total:
        return 3
    if total and 2 * ticked >= total:
        return 2
    return 1


def check_attempt(key_points: Sequence[str], answer: str) -> Attempt:
    """Which of ``key_points`` the typed ``answer`` covers."""
    said = terms(answer)
    covered = []
    for point in key_points:
        wanted = terms(point)
        hits = len(wanted & said)
        covered.append(bool(wanted) and hits >= max(1, math.ceil(COVERED_SHARE * len(wanted))))
    return Attempt(tuple(covered))
