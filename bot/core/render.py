"""Item markdown with LaTeX -> what a terminal shows (and, in render_html, what Telegram shows).

Math is found outside code only: fenced blocks and inline code spans are left exactly as written.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bot.core.formulas import formula_problem
from bot.core.latex import latex_problems, latex_to_unicode

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


# Telegram HTML ----------------------------------------------------------------------------------
#
# Markdown is parsed with markdown-it-py (CommonMark + tables + strikethrough) and written out with
# only the tags Telegram accepts. Each top-level block (a paragraph, one list item, a code block)
# is rendered closed on itself, so a message can be split between any two blocks without ever
# cutting a tag or a code block in half.

_MD = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# The same parser without its inline pass, for ``outline``: the blocks and each paragraph's text
# as written come out the same, in half the time (the catalog is outlined at every start-up).
_BLOCKS = (
    MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("inline")
)
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


@dataclass(frozen=True)
class Block:
    """One self-contained piece of Telegram HTML and the separator that goes before it."""

    html: str
    sep: str = "\n\n"
    plain: str = ""  # the text without markup, used to split a block that is too long alone

    @cached_property
    def size(self) -> int:
        """``html_length(self.html)``, measured once (blocks of items are cached)."""
        return html_length(self.html)


def _protect_inline_math(text: str) -> tuple[str, list[str]]:
    """Swap inline math for placeholders so that ``_`` and ``*`` in formulas are not markdown."""
    formulas: list[str] = []

    def stash(body: str) -> str:
        formulas.append(latex_to_unicode(body))
        return f"\ue000{len(formulas) - 1}\ue001"

    return _outside_code(
        text, lambda part: _INLINE.sub(lambda m: stash(m.group("body")), part)
    ), formulas


class _HtmlWriter:
    def __init__(self, formulas: list[str]) -> None:
        self.formulas = formulas

    def text(self, raw: str) -> str:
        escaped = html.escape(raw, quote=False)
        return _PLACEHOLDER.sub(
            lambda m: html.escape(self.formulas[int(m.group(1))], quote=False), escaped
        )

    def inline(self, node: SyntaxTreeNode) -> str:
        out: list[str] = []
        for child in node.children:
            kind = child.type
            if kind == "text":
                out.append(self.text(child.content))
            elif kind == "softbreak":
                out.append(" ")
            elif kind == "hardbreak":
                out.append("\n")
            elif kind == "code_inline":
                out.append(f"<code>{html.escape(child.content, quote=False)}</code>")
            elif kind in ("strong", "em", "s"):
                tag = {"strong": "b", "em": "i", "s": "s"}[kind]
                out.append(f"<{tag}>{self.inline(child)}</{tag}>")
            elif kind == "link":
                href = str(child.attrs.get("href", ""))
                inner = self.inline(child)
                if href.startswith(("http://", "https://")):
                    out.append(f'<a href="{html.escape(href)}">{inner}</a>')
                else:
                    out.append(inner)
            elif kind == "image":
                out.append(self.text(child.content or str(child.attrs.get("alt", ""))))
            elif kind in ("html_inline",):
                out.append(self.text(child.content))
            else:
                out.append(self.inline(child) if child.children else self.text(child.content))
        return "".join(out)

    def plain(self, node: SyntaxTreeNode) -> str:
        return re.sub(r"<[^>]+>", "", self.inline(node))

    def blocks(self, node: SyntaxTreeNode, depth: int = 0) -> list[Block]:
        out: list[Block] = []
        for child in node.children:
            out.extend(self.block(child, depth))
        return out

    def block(self, node: SyntaxTreeNode, depth: int) -> list[Block]:
        kind = node.type
        if kind == "paragraph":
            inline = node.children[0] if node.children else node
            rendered = self.inline(inline)
            return [Block(rendered, plain=html.unescape(re.sub(r"<[^>]+>", "", rendered)))]
        if kind == "heading":
            inline = node.children[0] if node.children else node
            return [Block(f"<b>{self.inline(inline)}</b>")]
        if kind in ("fence", "code_block"):
            code = node.content.rstrip("\n")
            lang = (node.info or "").split()[0] if node.info else ""
            return [self.pre(code, lang)]
        if kind in ("bullet_list", "ordered_list"):
            return self.list_items(node, depth)
        if kind == "blockquote":
            inner = "\n".join(b.html for b in self.blocks(node, depth))
            return [
                Block(
                    f"<blockquote>{inner}</blockquote>",
                    plain=html.unescape(re.sub(r"<[^>]+>", "", inner)),
                )
            ]
        if kind == "table":
            return [self.table(node)]
        if kind == "hr":
            return [Block("———")]
        if kind == "html_block":
            return [Block(self.text(node.content.strip()))]
        return self.blocks(node, depth)

    def pre(self, code: str, lang: str) -> Block:
        escaped = html.escape(code, quote=False)
        if lang and re.fullmatch(r"[\w+#-]+", lang):
            return Block(f'<pre><code class="language-{lang}">{escaped}</code></pre>', plain=code)
        return Block(f"<pre>{escaped}</pre>", plain=code)

    def list_items(self, node: SyntaxTreeNode, depth: int) -> list[Block]:
        out: list[Block] = []
        ordered = node.type == "ordered_list"
        start = int(str(node.attrs.get("start", 1))) if ordered else 1
        indent = "    " * depth
        for number, item in enumerate(node.children, start=start):
            marker = f"{number}." if ordered else ("•" if depth == 0 else "◦")
            parts: list[str] = []
            nested: list[Block] = []
            for child in item.children:
                if child.type in ("bullet_list", "ordered_list"):
                    nested.extend(self.list_items(child, depth + 1))
                else:
                    parts.extend(b.html for b in self.block(child, depth + 1))
            body = "\n".join(parts)
            first = Block(
                f"{indent}{marker} {body}",
                sep="\n" if out or depth else "\n\n",
                plain=html.unescape(re.sub(r"<[^>]+>", "", body)),
            )
            out.append(first)
            out.extend(Block(b.html, sep="\n", plain=b.plain) for b in nested)
        return out

    def table(self, node: SyntaxTreeNode) -> Block:
        rows: list[list[str]] = []
        for section in node.children:
            for tr in section.children:
                rows.append(
                    [
                        html.unescape(self.plain(cell.children[0]) if cell.children else "")
                        for cell in tr.children
                    ]
                )
        widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(len(rows[0]))]
        lines = []
        for k, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        text = "\n".join(lines)
        return Block(f"<pre>{html.escape(text, quote=False)}</pre>", plain=text)


def markdown_blocks(text: str) -> list[Block]:
    """Render markdown (no display math) to self-contained Telegram HTML blocks."""
    protected, formulas = _protect_inline_math(text)
    tree = SyntaxTreeNode(_MD.parse(protected))
    return _HtmlWriter(formulas).blocks(tree)


def html_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text without tags."""
    return _u16(html.unescape(re.sub(r"<[^>]+>", "", text)))


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_lines(text: str, budget: int) -> list[str]:
    """Cut plain text into pieces of at most ``budget`` at line breaks, else at spaces."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while _u16(line) > budget:  # one line longer than a message: cut it at a space
            cut = line.rfind(" ", budget // 2, budget)
            cut = cut if cut > 0 else budget
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip(" ")
        if current and _u16(current) + 1 + _u16(line) > budget:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


def _split_long_block(block: Block, limit: int) -> list[Block]:
    """Cut one block that alone exceeds ``limit``, keeping a code block a code block."""
    lang = re.match(r'<pre><code class="language-([\w+#-]+)">', block.html)
    is_pre = block.html.startswith("<pre>")
    out = []
    for k, piece in enumerate(_cut_lines(block.plain, limit - 2)):
        escaped = html.escape(piece, quote=False)
        if lang:
            body = f'<pre><code class="language-{lang.group(1)}">{escaped}</code></pre>'
        else:
            body = f"<pre>{escaped}</pre>" if is_pre else escaped
        out.append(Block(body, sep=block.sep if k == 0 else "\n", plain=piece))
    return out


def pack(blocks: Sequence[Block], limit: int, first_prefix: str = "") -> list[str]:
    """Join blocks into messages of at most ``limit`` characters (Telegram's count)."""
    messages: list[str] = []
    current = first_prefix
    # Lengths add up: every block is self-contained (no tag or entity spans two of them).
    size = html_length(current)
    for block in blocks:
        parts = [block] if block.size <= limit - 1 else _split_long_block(block, limit)
        for part in parts:
            part_size = part.size
            joined = size + _u16(part.sep) + part_size if current else part_size
            if joined <= limit:
                current = f"{current}{part.sep}{part.html}" if current else part.html
                size = joined
            else:
                if current:
                    messages.append(current)
                current, size = part.html, part_size
    if current:
        messages.append(current)
    return messages


@lru_cache(maxsize=1024)
def _rendered(text: str) -> tuple[Formula | tuple[Block, ...], ...]:
    """The display formulas and HTML blocks of a text, in order: every item is rendered once
    per process, not once per message."""
    return tuple(
        part if isinstance(part, Formula) else tuple(markdown_blocks(part))
        for part in split_display(text)
    )


def render_html(text: str, limit: int, prefix: str = "") -> list[str | Formula]:
    """Markdown with LaTeX -> Telegram messages (HTML strings) and formulas (sent as photos).

    Args:
        text: item markdown.
        limit: the longest message allowed (Telegram's MessageLimit.MAX_TEXT_LENGTH).
        prefix: HTML that opens the first message (e.g. the question already shown).
    """
    out: list[str | Formula] = []
    pending_prefix = prefix
    for part in _rendered(text):
        if isinstance(part, Formula):
            if pending_prefix:
                out.append(pending_prefix)
                pending_prefix = ""
            out.append(part)
            continue
        messages = pack(part, limit, pending_prefix)
        pending_prefix = ""
        out.extend(messages)
    if pending_prefix:
        out.append(pending_prefix)
    return out


def render_compact(text: str) -> str:
    """Markdown with LaTeX -> one Telegram HTML text, display formulas as their Unicode form
    in ``<code>`` (for a reveal that must stay one message: no formula images)."""
    out: list[str] = []
    for part in _rendered(text):
        if isinstance(part, Formula):
            out.append(f"<code>{html.escape(part.text, quote=False)}</code>")
        else:
            out.append("".join(f"{b.sep}{b.html}" if k else b.html for k, b in enumerate(part)))
    return "\n".join(out)


@dataclass(frozen=True)
class Outline:
    """One top-level block of markdown as the renderers parse it."""

    kind: str  # markdown-it's name: "paragraph", "bullet_list", "ordered_list", "fence", ...
    line: int  # from 0 within the text
    # A list's items: (line, text), the text None when the item is not exactly one paragraph.
    items: tuple[tuple[int, str | None], ...] = ()


def outline(text: str) -> list[Outline]:
    """The top-level blocks of ``text``; for lists, their items and each item's text."""
    tokens = _BLOCKS.parse(text)
    out: list[Outline] = []
    k = 0
    while k < len(tokens):
        token = tokens[k]
        line = token.map[0] if token.map else 0
        if not token.type.endswith("_open"):
            out.append(Outline(token.type, line))
            k += 1
            continue
        end = next(j for j in range(k + 1, len(tokens)) if tokens[j].level == 0)
        items: list[tuple[int, str | None]] = []
        for j in range(k + 1, end):
            if tokens[j].type == "list_item_open" and tokens[j].level == 1:
                close = next(i for i in range(j + 1, end) if tokens[i].level == 1)
                inner = [t.type for t in tokens[j + 1 : close] if t.level == 2]
                one_paragraph = inner == ["paragraph_open", "paragraph_close"]
                body = " ".join(tokens[j + 2].content.split("\n")) if one_paragraph else None
                item_map = tokens[j].map
                items.append((item_map[0] if item_map else line, body))
        out.append(Outline(token.type.removesuffix("_open"), line, tuple(items)))
        k = end + 1
    return out


# Lints: what renders differently from what the author meant -----------------------------------

_NUMBERED_LINE = re.compile(r"^\d{1,9}[.)][ \t]")
_HASH_NO_SPACE = re.compile(r"^#{1,6}[A-Za-z]")
_LONE_DOLLAR = re.compile(r"(?<!\\)\$")


def _clip(text: str, size: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 3] + "..."


def _blank(text: str) -> str:
    """``text`` with everything but line breaks turned into spaces: positions and lines stay."""
    return re.sub(r"[^\n]", " ", text)


def render_problems(text: str) -> list[tuple[int, str]]:
    """Constructs in item markdown that render differently from what the author meant.

    Math is found as the renderers find it (never inside code), and every formula is converted to
    see what the Unicode converter cannot show. The paragraph checks use the same markdown parser
    as the renderers, so they are exact.

    Returns:
        (line, message) pairs, the line counted from 0 within ``text``, in line order.
    """
    problems: list[tuple[int, str]] = []
    masked = _FENCE.sub(lambda m: _blank(m.group(0)), text)
    masked = _INLINE_CODE.sub(lambda m: _blank(m.group(0)), masked)

    def check(match: re.Match[str], latex: str) -> str:
        line = masked.count("\n", 0, match.start())
        shown = _clip(match.group(0), 60)
        problems.extend((line, f"math {shown}: {message}") for message in latex_problems(latex))
        return _blank(match.group(0))

    def check_display(match: re.Match[str]) -> str:
        latex = display_formula(match.group("body")).latex
        problem = formula_problem(latex)  # Telegram shows a display formula as a drawing
        if problem:
            line = masked.count("\n", 0, match.start())
            problems.append((line, f"math {_clip(match.group(0), 60)}: cannot be drawn: {problem}"))
        return check(match, latex)

    masked = _DISPLAY.sub(check_display, masked)
    masked = _INLINE.sub(lambda m: check(m, m.group("body")), masked)
    for number, line in enumerate(masked.split("\n")):
        if "$$" in line:
            problems.append((number, "display math shows as text: put each $$ on its own line"))
        elif _LONE_DOLLAR.search(line):
            problems.append(
                (number, "unmatched $ (math is $...$ with no space inside; write \\$ for a dollar)")
            )
    tokens = _MD.parse(text)
    for previous, token in itertools.pairwise(tokens):
        if token.type == "code_block" and token.map:
            problems.append((token.map[0], "indented 4 spaces, so it shows as code: indent less"))
        if previous.type != "paragraph_open" or token.map is None:
            continue
        for k, line in enumerate(token.content.split("\n")):
            if _HASH_NO_SPACE.match(line):
                problems.append(
                    (token.map[0] + k, f'not a heading: put a space after # in "{_clip(line)}"')
                )
            elif k and _NUMBERED_LINE.match(line):
                problems.append(
                    (
                        token.map[0] + k,
                        f'"{_clip(line)}" runs on from the line before (a numbered list starts'
                        " after a paragraph line only at 1): put a blank line before it",
                    )
                )
    return sorted(problems)
