"""Item markdown with LaTeX -> what a terminal shows (and, in render_html, what Telegram shows).

Math is found outside code only: fenced blocks and inline code spans are left exactly as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.latex import latex_to_unicode

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"(`+)(?:.+?)\1", re.S)
_DISPLAY = re.compile(r"^[ \t]*\$\$(?P<body>.+?)\$\$[ \t]*$", re.M | re.S)
_INLINE = re.compile(r"(?<![\\$])\$(?=\S)(?P<body>[^$\n]+?)(?<=\S)\$(?!\$)")
_BOXED = re.compile(r"^\\boxed\{(?P<body>.*)\}$", re.S)


@dataclass(frozen=True)
class Formula:
    """A display formula: its LaTeX (without ``\\boxed``), whether boxed, and its Unicode form."""

    latex: str
    boxed: bool
    text: str


def display_formula(source: str) -> Formula:
    """Parse the inside of a ``$$...$$`` block."""
    latex = " ".join(source.split())
    match = _BOXED.match(latex)
    boxed = bool(match)
    if match:
        latex = match.group("body").strip()
    return Formula(latex=latex, boxed=boxed, text=latex_to_unicode(latex))


def _outside_code(text: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to the parts of markdown ``text`` that are not code."""
    out: list[str] = []
    last = 0
    for match in _FENCE.finditer(text):
        out.append(_outside_inline_code(text[last : match.start()], fn))
        out.append(match.group(0))
        last = match.end()
    out.append(_outside_inline_code(text[last:], fn))
    return "".join(out)


def _outside_inline_code(text: str, fn: Callable[[str], str]) -> str:
    out: list[str] = []
    last = 0
    for match in _INLINE_CODE.finditer(text):
        out.append(fn(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(fn(text[last:]))
    return "".join(out)


def inline_math_to_unicode(text: str, wrap: Callable[[str], str] = lambda s: s) -> str:
    """Replace each inline ``$...$`` with its Unicode form (passed through ``wrap``)."""
    return _INLINE.sub(lambda m: wrap(latex_to_unicode(m.group("body"))), text)


def split_display(text: str) -> list[str | Formula]:
    """Split markdown into text parts and display formulas, in order (code left alone)."""
    parts: list[str | Formula] = []
    buffer: list[str] = []
    last = 0
    fences = [(m.start(), m.end()) for m in _FENCE.finditer(text)]
    for match in _DISPLAY.finditer(text):
        if any(a <= match.start() < b for a, b in fences):
            continue
        buffer.append(text[last : match.start()])
        parts.append("".join(buffer))
        buffer = []
        parts.append(display_formula(match.group("body")))
        last = match.end()
    buffer.append(text[last:])
    parts.append("".join(buffer))
    return [p for p in parts if not (isinstance(p, str) and not p.strip())]


def to_terminal_markdown(text: str) -> str:
    """Markdown for rich: inline math as Unicode, display math as an indented formula line."""
    out: list[str] = []
    for part in split_display(text):
        if isinstance(part, Formula):
            shown = f"[ {part.text} ]" if part.boxed else part.text
            out.append(f"\n```text\n{shown}\n```\n")
        else:
            out.append(_outside_code(part, inline_math_to_unicode))
    return "\n".join(out)
