"""The study items: parsing, validation and a catalog that follows the files on disk.

An item is one markdown file, either with YAML front matter (the current format) or with the
older bold-header lines (``**Category:** transformers``) written for the original study script.
Validation collects every problem as ``path:line: message`` so that ``check-content`` can list
them all at once; at run time an invalid file is skipped with one warning and the rest loads.

Two levels: ``check-content`` validates strictly (every item has its short answer and key points,
every quiz item its choices, nothing renders differently from what the author meant), while the
catalog that the bot and the terminal load also accepts an item without the short forms (a
learner's own item, one written for the original study script) and shows its full answer alone.
A short form that is present but malformed is an error at both levels.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from bot.core.render import outline, render_problems

logger = logging.getLogger(__name__)

ITEM_TYPES = ("concept", "quiz", "deep", "derive")
# What learners may type for a type: `-t concepts`, `/study 5 quiz`, singular or plural.
TYPE_ALIASES = {
    "concept": "concept",
    "concepts": "concept",
    "quiz": "quiz",
    "deep": "deep",
    "derive": "derive",
    "derivation": "derive",
    "derivations": "derive",
}
FOLDER_TYPES = {
    "concepts": "concept",
    "concept": "concept",
    "quiz": "quiz",
    "deep": "deep",
    "derive": "derive",
    "derivations": "derive",
}
ID_PREFIX_TYPES = {"c": "concept", "q": "quiz", "d": "deep", "v": "derive"}
# Curriculum order: the order in which new items are introduced (ORIGIN.md's study plan).
CATEGORIES = (
    "foundations",
    "transformers",
    "llm_architecture",
    "training",
    "rlhf",
    "distributed",
    "evaluation",
    "advanced",
)
CATEGORY_RANK = {name: rank for rank, name in enumerate(CATEGORIES)}
ALLOWED_FIELDS = {"id", "title", "type", "category", "difficulty", "tags", "poll", "source"}
REQUIRED_FIELDS = ("title", "category", "difficulty")
# The sections an item may have, in this order; a learner's item may add sections of its own
# (shown nowhere), check-content refuses them because their text would be lost.
SECTIONS = ("Question", "Short answer", "Key points", "Choices", "Answer", "Follow-up Questions")
SHORT_ANSWER_CHARS = 400
SHORT_ANSWER_SENTENCES = 3
KEY_POINTS = (3, 6)
KEY_POINT_CHARS = 140
# Telegram's poll limits, from telegram.constants.PollLimit (the core does not import telegram).
POLL_QUESTION_CHARS = 300  # PollLimit.MAX_QUESTION_LENGTH: the question, or the `poll:` wording
POLL_OPTION_CHARS = 100  # PollLimit.MAX_OPTION_LENGTH: each choice
POLL_EXPLANATION_CHARS = 200  # PollLimit.MAX_EXPLANATION_LENGTH: a quiz item's short answer
QUIZ_CHOICES = 4  # ours: Telegram allows 2 to PollLimit.MAX_OPTION_NUMBER (12)
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")  # 32 characters: the item_id columns
BOLD_HEADER_RE = re.compile(r"^\*\*(?P<key>[A-Za-z -]+):\*\*\s*(?P<value>.*?)\s*$")
SECTION_RE = re.compile(r"^##\s+(?P<name>.+?)\s*#*\s*$")
CHOICE_RE = re.compile(r"^\[(?P<mark>[ xX])\]\s+(?P<text>\S.*)$")
# Sentence ends: . ! or ? (and a closing bracket or quote) before a space and a word that does not
# start in lower case, or at the end. Cheap on purpose; abbreviations are taken out first.
SENTENCE_END_RE = re.compile(r"[.!?][)\]\"']*(?:\s+(?=[^a-z\s])|\s*$)")
ABBREVIATION_RE = re.compile(r"\b(?:e\.g|i\.e|et al|vs|cf|approx|resp|Eq|Fig)\.")
INLINE_MATH_RE = re.compile(r"\$[^$\n]+\$")


class ContentError(Exception):
    """Raised when content cannot be used at all; ``problems`` holds every line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Choice:
    """One option of a quiz item's poll, as written (markdown, inline math allowed)."""

    text: str
    correct: bool


@dataclass(frozen=True)
class Item:
    """One study item, parsed and validated.

    ``short_answer``, ``key_points`` and ``choices`` are empty for an item without those sections;
    ``poll`` is a shorter wording of the question for a Telegram poll ("" when the question fits),
    ``source`` the item it was mined from or "new" ("" when not said).
    """

    id: str
    title: str
    type: str
    category: str
    difficulty: int
    tags: tuple[str, ...]
    question: str
    answer: str
    followups: tuple[str, ...]
    path: Path
    short_answer: str = ""
    key_points: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()
    poll: str = ""
    source: str = ""

    @property
    def curriculum_key(self) -> tuple[int, int, str]:
        """Sort key for introducing new items: category order, then easier first, then id."""
        return (CATEGORY_RANK.get(self.category, len(CATEGORIES)), self.difficulty, self.id)


def answer_markdown(item: Item) -> str:
    """What a learner sees when they reveal an item, as markdown (math still LaTeX).

    The short answer and key points come first, then the full answer and the follow-up
    questions; a part the item does not have is left out. The choices are for polls, not here.
    """
    parts = []
    if item.short_answer:
        parts.append(f"**Short answer**\n\n{item.short_answer}")
    if item.key_points:
        parts.append("**Key points**\n\n" + "\n".join(f"- {p}" for p in item.key_points))
    parts.append(full_answer_markdown(item, "**Answer**"))
    return "\n\n".join(parts)


def full_answer_markdown(item: Item, heading: str) -> str:
    """The full answer under ``heading`` (markdown), then the follow-up questions."""
    text = f"{heading}\n\n{item.answer}"
    if item.followups:
        text += "\n\n**Follow-up questions**\n\n" + "\n".join(f"- {f}" for f in item.followups)
    return text


@dataclass
class _Problems:
    path: Path
    items: list[str] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.items.append(f"{self.path}:{line}: {message}")


def _line_of(lines: list[str], pattern: str, default: int) -> int:
    rx = re.compile(pattern)
    for number, text in enumerate(lines, start=1):
        if rx.search(text):
            return number
    return default


@dataclass(frozen=True)
class _Section:
    name: str  # as written
    line: int  # of the heading
    first: int  # of the text's first line
    text: str  # stripped


def _section_key(name: str) -> str:
    """The canonical name: case-insensitive, and any "Follow..." is the follow-up section."""
    key = name.strip().lower()
    return "follow-up questions" if key.startswith("follow") else key


SECTION_KEYS = {_section_key(name): name for name in SECTIONS}


def _split_sections(body_lines: list[str], first_line: int) -> list[_Section]:
    """The ``##`` sections in file order, ignoring headings inside code fences."""
    found: list[tuple[str, int, list[str]]] = []
    in_fence = False
    for offset, text in enumerate(body_lines):
        if text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else SECTION_RE.match(text)
        if match:
            found.append((match.group("name"), first_line + offset, []))
        elif found:
            found[-1][2].append(text)
    sections = []
    for name, line, body in found:
        blank = next((k for k, text in enumerate(body) if text.strip()), len(body))
        sections.append(_Section(name.strip(), line, line + 1 + blank, "\n".join(body).strip()))
    return sections


def _sentences(text: str) -> int:
    """Roughly how many sentences ``text`` has (math and common abbreviations do not end one)."""
    text = ABBREVIATION_RE.sub("abbr", INLINE_MATH_RE.sub("x", text)).strip()
    return len(SENTENCE_END_RE.findall(text)) + (not re.search(r"[.!?][)\]\"']*$", text))


def _bullets(section: _Section, what: str, problems: _Problems) -> list[tuple[int, str | None]]:
    """The items of a section that must be one ``-`` list of one-paragraph items: (line, text).

    An item that is not one paragraph is reported here and comes back with text None.
    """
    blocks = outline(section.text)
    first_list = next((b for b in blocks if b.kind == "bullet_list"), None)
    extra = [b for b in blocks if b is not first_list]
    if extra:
        problems.add(
            section.first + extra[0].line,
            f"'## {section.name}' must be one '- ' list and nothing else",
        )
    if first_list is None:
        return []
    for line, text in first_list.items:
        if text is None:
            problems.add(section.first + line, f"a {what} must be one paragraph, with no sub-list")
    return [(section.first + line, text) for line, text in first_list.items]


def _followups(text: str) -> tuple[str, ...]:
    bullets = [
        re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", line).strip()
        for line in text.splitlines()
        if re.match(r"^\s*(?:[-*+]|\d+[.)])\s+", line)
    ]
    return tuple(b for b in bullets if b)


def _yaml_problem(lines: list[str], exc: yaml.YAMLError) -> tuple[int, str]:
    """The file line and message of a front-matter YAML error."""
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
    try:  # re-parse the exact block so that the error's lines map onto file lines (+2)
        yaml.safe_load("\n".join(lines[1:closing]))
    except yaml.YAMLError as exact:
        exc = exact
    # The context mark points at where the broken construct began (an unclosed bracket),
    # which is where the author must look; fall back to the problem mark.
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = mark.line + 2 if mark is not None else 1
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return line, f"bad YAML front matter: {problem}"


def _id_from_filename(path: Path) -> str:
    return path.stem.split("_", 1)[0]


def _type_from_path(path: Path, item_id: str) -> str | None:
    for parent in path.parents:
        if parent.name.lower() in FOLDER_TYPES:
            return FOLDER_TYPES[parent.name.lower()]
    return ID_PREFIX_TYPES.get(item_id[:1].lower())


def parse_item(
    path: Path, text: str | None = None, *, strict: bool = False
) -> tuple[Item | None, list[str]]:
    """Parse and validate one item file.

    Args:
        path: the file (also read from, unless ``text`` is given).
        text: the file's text, when already read.
        strict: check-content's level: the short answer, key points and (quiz) choices are
            required, no unknown section is allowed, and nothing may render differently from what
            the author meant. Otherwise an item without them loads (a malformed one still fails).

    Returns:
        The item (None when invalid) and the list of problems as ``path:line: message``.
    """
    problems = _Problems(path)
    if text is None:
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(1, f"not UTF-8 (byte {exc.start}): save the file as UTF-8")
            return None, problems.items
        except OSError as exc:
            problems.add(1, f"cannot read: {exc.strerror}")
            return None, problems.items
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    lines = text.split("\n")
    meta: dict[str, Any] = {}
    body_start = 0  # index into lines where the markdown body begins
    if text.startswith("---\n"):
        try:
            post = frontmatter.loads(text)
        except yaml.YAMLError as exc:
            problems.add(*_yaml_problem(lines, exc))
            return None, problems.items
        if not isinstance(post.metadata, dict):
            problems.add(1, "front matter must be a mapping of key: value lines")
            return None, problems.items
        meta = dict(post.metadata)
        closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        body_start = closing + 1
        for key in meta:
            if key not in ALLOWED_FIELDS:
                problems.add(
                    _line_of(lines[:closing], rf"^{re.escape(str(key))}\s*:", 1),
                    f"unknown field {key!r} (allowed: {', '.join(sorted(ALLOWED_FIELDS))})",
                )
        header_lines = lines[:closing]
    else:
        # Older style: bold "**Key:** value" lines before the first section.
        header_lines = []
        for number, raw in enumerate(lines):
            if SECTION_RE.match(raw):
                break
            match = BOLD_HEADER_RE.match(raw.strip())
            if match:
                key = match.group("key").strip().lower()
                value: Any = match.group("value")
                if key == "tags":
                    value = [t.strip() for t in value.split(",") if t.strip()]
                if key not in ALLOWED_FIELDS:
                    problems.add(number + 1, f"unknown field {key!r}")
                    continue
                meta[key] = value
                header_lines.append(raw)
        heading = next((ln for ln in lines if ln.startswith("# ")), None)
        if heading and "title" not in meta:
            meta["title"] = heading[2:].strip()

    def line_for(key: str) -> int:
        if text.startswith("---\n"):
            return _line_of(header_lines, rf"^{key}\s*:", 1)
        return _line_of(lines, rf"^\*\*{key}:\*\*", 1)

    # Identity: from the header, else from the file name and folder.
    file_id = _id_from_filename(path)
    item_id = str(meta.get("id", file_id)).strip()
    if not ID_RE.match(item_id):
        problems.add(
            line_for("id"),
            f"id {item_id!r} must be letters, digits and '-' only, at most 32 characters",
        )
    elif item_id != file_id:
        problems.add(
            line_for("id"),
            f"id {item_id!r} does not match the file name (expected {item_id}_<slug>.md)",
        )
    item_type = str(meta.get("type") or _type_from_path(path, item_id) or "").strip().lower()
    if item_type not in ITEM_TYPES:
        problems.add(
            line_for("type"),
            f"unknown type {item_type or '(none)'!r} "
            f"(use one of {', '.join(ITEM_TYPES)}, or put the file in a type folder)",
        )
    for key in REQUIRED_FIELDS:
        if meta.get(key) in (None, ""):
            problems.add(1, f"missing field {key!r}")
    title = str(meta.get("title") or "").strip()
    category = str(meta.get("category") or "").strip().lower()
    if category and category not in CATEGORY_RANK:
        problems.add(
            line_for("category"),
            f"unknown category {category!r} (use one of {', '.join(CATEGORIES)})",
        )
    difficulty = 0
    raw_difficulty = meta.get("difficulty")
    if raw_difficulty not in (None, ""):
        try:
            difficulty = int(str(raw_difficulty).strip())
        except ValueError:
            problems.add(line_for("difficulty"), f"difficulty {raw_difficulty!r} is not a number")
        else:
            if not 1 <= difficulty <= 5:
                problems.add(line_for("difficulty"), f"difficulty {difficulty} is outside 1-5")
    raw_tags = meta.get("tags", [])
    if isinstance(raw_tags, str):
        raw_tags = [t.strip() for t in raw_tags.split(",")]
    if not isinstance(raw_tags, list):
        problems.add(line_for("tags"), "tags must be a list, e.g. [attention, long-context]")
        raw_tags = []
    tags = tuple(str(t).strip() for t in raw_tags if str(t).strip())

    poll = _text_field(meta, "poll", line_for, problems)
    if len(poll) > POLL_QUESTION_CHARS:
        problems.add(
            line_for("poll"),
            f"poll is {len(poll)} characters (a Telegram poll question has at most "
            f"{POLL_QUESTION_CHARS})",
        )
    source = _text_field(meta, "source", line_for, problems)
    if source and source != "new" and not ID_RE.match(source):
        problems.add(line_for("source"), f"source {source!r} must be an item id (c003) or 'new'")

    body = "\n".join(lines[body_start:])
    end_line = len(lines) - 1 if text.endswith("\n") else len(lines)
    parts = _parse_body(
        _split_sections(lines[body_start:], body_start + 1),
        item_type,
        poll,
        end_line,
        strict,
        problems,
    )
    if strict:
        for line, message in render_problems(body):
            problems.add(body_start + 1 + line, message)

    if problems.items or parts is None:
        problems.items.sort(key=_line_number)
        return None, problems.items
    return Item(
        id=item_id,
        title=title,
        type=item_type,
        category=category,
        difficulty=difficulty,
        tags=tags,
        question=parts.question,
        answer=parts.answer,
        followups=parts.followups,
        path=path,
        short_answer=parts.short_answer,
        key_points=parts.key_points,
        choices=parts.choices,
        poll=poll,
        source=source,
    ), []


def _line_number(problem: str) -> int:
    """The line of a ``path:line: message`` problem (the path may itself hold colons)."""
    match = re.search(r":(\d+): ", problem)
    return int(match.group(1)) if match else 0


def _text_field(
    meta: dict[str, Any], key: str, line_for: Callable[[str], int], problems: _Problems
) -> str:
    """An optional one-line text field of the front matter ("" when absent)."""
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        problems.add(line_for(key), f"{key} must be text, not a list or mapping")
        return ""
    return str(value).strip()


@dataclass(frozen=True)
class _Body:
    question: str
    answer: str
    followups: tuple[str, ...]
    short_answer: str
    key_points: tuple[str, ...]
    choices: tuple[Choice, ...]


def _parse_body(
    sections: list[_Section],
    item_type: str,
    poll: str,
    end_line: int,
    strict: bool,
    problems: _Problems,
) -> _Body | None:
    """Check the sections' names, order and contents; None when a required one is missing."""
    order = list(SECTION_KEYS)
    found: dict[str, _Section] = {}
    rank = -1
    for section in sections:
        key = _section_key(section.name)
        if key not in SECTION_KEYS:
            if strict:
                problems.add(
                    section.line,
                    f"unknown section '## {section.name}': its text is shown nowhere (inside the "
                    f"answer use '### {section.name}'; the sections are {', '.join(SECTIONS)})",
                )
            continue
        if key in found:
            problems.add(
                section.line,
                f"second '## {section.name}' section (the first is at line {found[key].line})",
            )
            continue
        if order.index(key) < rank:
            problems.add(
                section.line,
                f"'## {section.name}' is out of order (the order is {', '.join(SECTIONS)})",
            )
        rank = max(rank, order.index(key))
        found[key] = section

    required = ["question", "answer"]
    if strict:
        required += ["short answer", "key points"] + (["choices"] if item_type == "quiz" else [])
    for key in required:
        if key not in found:
            # Where it belongs: before the next section that is there.
            later = [found[k].line for k in order[order.index(key) + 1 :] if k in found]
            problems.add(min(later, default=end_line), f"missing '## {SECTION_KEYS[key]}' section")
    for key, present in found.items():
        if not present.text and not key.startswith("follow"):
            problems.add(present.line, f"empty '## {present.name}' section")

    short = found.get("short answer")
    short_answer = _short_answer(short, item_type, problems) if short and short.text else ""
    key_points: list[str] = []
    points = found.get("key points")
    if points and points.text:
        bullets = _bullets(points, "key point", problems)
        low, high = KEY_POINTS
        if not low <= len(bullets) <= high:
            problems.add(points.line, f"{len(bullets)} key points (write {low} to {high})")
        for line, point in bullets:
            if point is not None and len(point) > KEY_POINT_CHARS:
                problems.add(
                    line, f"key point is {len(point)} characters (at most {KEY_POINT_CHARS})"
                )
            key_points.append(point or "")
    choices: tuple[Choice, ...] = ()
    options = found.get("choices")
    question = found.get("question")
    if options and item_type != "quiz":
        problems.add(options.line, "'## Choices' is for quiz items only (they become a poll)")
    elif options and options.text:
        choices = _choices(options, problems)
        # A `poll:` wording that is too long was reported with the front matter.
        if question and not poll and len(question.text) > POLL_QUESTION_CHARS:
            problems.add(
                question.line,
                f"the question is {len(question.text)} characters, more than a poll allows "
                f"({POLL_QUESTION_CHARS}): add 'poll: <shorter wording>' to the front matter",
            )

    answer = found.get("answer")
    if question is None or answer is None:
        return None
    follow = found.get("follow-up questions")
    return _Body(
        question=question.text,
        answer=answer.text,
        followups=_followups(follow.text) if follow else (),
        short_answer=short_answer,
        key_points=tuple(key_points),
        choices=choices,
    )


_BLOCK_NAMES = {
    "paragraph": "a second paragraph",
    "bullet_list": "a list",
    "ordered_list": "a list",
    "fence": "code",
    "code_block": "code",
    "heading": "a heading",
    "blockquote": "a quote",
    "table": "a table",
    "hr": "a rule",
}


def _short_answer(section: _Section, item_type: str, problems: _Problems) -> str:
    text = section.text
    limit = POLL_EXPLANATION_CHARS if item_type == "quiz" else SHORT_ANSWER_CHARS
    if len(text) > limit:
        why = " for a quiz item: it is the poll's explanation" if item_type == "quiz" else ""
        problems.add(section.line, f"short answer is {len(text)} characters (at most {limit}{why})")
    sentences = _sentences(text)
    if sentences > SHORT_ANSWER_SENTENCES:
        problems.add(
            section.line,
            f"short answer has {sentences} sentences (at most {SHORT_ANSWER_SENTENCES})",
        )
    blocks = outline(text)
    extra = blocks[1:] if blocks and blocks[0].kind == "paragraph" else blocks
    if extra:
        kind = _BLOCK_NAMES.get(extra[0].kind, extra[0].kind)
        problems.add(
            section.first + extra[0].line,
            f"short answer must be one paragraph of prose; this is {kind}",
        )
    elif "$$" in text:
        line = next(k for k, ln in enumerate(text.split("\n")) if "$$" in ln)
        problems.add(
            section.first + line, "short answer must be one paragraph of prose: no display math"
        )
    return text


def _choices(section: _Section, problems: _Problems) -> tuple[Choice, ...]:
    choices = []
    for line, text in _bullets(section, "choice", problems):
        match = CHOICE_RE.match(text or "")
        if match is None:
            if text is not None:
                problems.add(
                    line, "a choice starts with [x] (the correct one) or [ ] (a wrong one)"
                )
            continue
        choice = Choice(match.group("text").strip(), match.group("mark") != " ")
        if len(choice.text) > POLL_OPTION_CHARS:
            problems.add(
                line,
                f"choice is {len(choice.text)} characters (a poll option has at most "
                f"{POLL_OPTION_CHARS})",
            )
        choices.append(choice)
    if len(choices) != QUIZ_CHOICES:
        problems.add(section.line, f"{len(choices)} choices (a quiz item has {QUIZ_CHOICES})")
    correct = sum(c.correct for c in choices)
    if correct != 1:
        problems.add(section.line, f"{correct} choices marked [x] (exactly one is correct)")
    return tuple(choices)


def iter_item_files(dirs: Iterable[Path]) -> Iterator[Path]:
    """Every ``*.md`` file below the given directories, in a stable order."""
    for root in dirs:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if (
                    name.endswith(".md")
                    and not name.startswith(".")
                    and name.upper() != "README.MD"
                ):
                    yield Path(dirpath) / name


def validate_dirs(dirs: Iterable[Path], *, strict: bool = False) -> tuple[list[Item], list[str]]:
    """Parse every item below ``dirs``; return the valid items and every problem found.

    ``strict`` is check-content's level (see ``parse_item``).
    """
    dirs = list(dirs)
    problems: list[str] = []
    for root in dirs:
        if not root.is_dir():
            problems.append(f"{root}:0: content directory does not exist")
    items: list[Item] = []
    seen: dict[str, Path] = {}
    for path in iter_item_files(d for d in dirs if d.is_dir()):
        item, found = parse_item(path, strict=strict)
        problems.extend(found)
        if item is None:
            continue
        if item.id in seen:
            problems.append(f"{path}:1: duplicate id {item.id!r} (also in {seen[item.id]})")
            continue
        seen[item.id] = path
        items.append(item)
    if not problems and not items:
        problems.append(f"{', '.join(map(str, dirs))}:0: no items found (expected *.md files)")
    return items, problems


class Catalog:
    """All valid items, kept in step with the files on disk.

    ``refresh()`` is cheap: it compares every file's modification time and size with what it
    saw last time and re-parses only what changed, so callers may invoke it before each session.
    """

    def __init__(self, dirs: Iterable[Path]) -> None:
        self.dirs = tuple(dirs)
        self._files: dict[Path, tuple[int, int]] = {}
        self._by_path: dict[Path, Item] = {}
        self._items: dict[str, Item] = {}
        self._ordered: list[Item] = []
        self._checked = -math.inf  # time.monotonic() of the last scan

    def refresh(self, max_age: float = 0.0) -> bool:
        """Re-scan the directories; return True when anything was added, changed or removed.

        Args:
            max_age: skip the scan (it stats every item file) when the last one is younger
                than this many seconds.
        """
        now = time.monotonic()
        if now - self._checked < max_age:
            return False
        self._checked = now
        current: dict[Path, tuple[int, int]] = {}
        for path in iter_item_files(d for d in self.dirs if d.is_dir()):
            try:
                st = path.stat()
            except OSError:
                continue
            current[path] = (st.st_mtime_ns, st.st_size)
        if current == self._files:
            return False
        for path in self._files.keys() - current.keys():
            self._by_path.pop(path, None)
        for path, signature in current.items():
            if self._files.get(path) == signature:
                continue
            item, problems = parse_item(path)
            if item is None:
                self._by_path.pop(path, None)
                logger.warning(
                    "skipping invalid item %s (%s)",
                    path,
                    problems[0].split(": ", 1)[-1] if problems else "unreadable",
                )
            else:
                self._by_path[path] = item
        self._files = current
        items: dict[str, Item] = {}
        for path in sorted(self._by_path):
            item = self._by_path[path]
            if item.id in items:
                logger.warning(
                    "skipping %s: duplicate id %s (also in %s)", path, item.id, items[item.id].path
                )
                continue
            items[item.id] = item
        self._items = items
        self._ordered = sorted(items.values(), key=lambda i: i.curriculum_key)
        return True

    def get(self, item_id: str) -> Item | None:
        """The item with this id, or None when it does not exist (or was removed)."""
        return self._items.get(item_id)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def __len__(self) -> int:
        return len(self._items)

    def in_curriculum_order(self) -> list[Item]:
        """All items, in the order new items are introduced."""
        return list(self._ordered)


def load_catalog(dirs: Iterable[Path]) -> Catalog:
    """Load a catalog; raise ContentError when a directory is missing or nothing loads."""
    dirs = tuple(dirs)
    missing = [f"{d}: content directory does not exist" for d in dirs if not d.is_dir()]
    if missing:
        raise ContentError(missing)
    catalog = Catalog(dirs)
    catalog.refresh()
    if not len(catalog):
        raise ContentError([f"{', '.join(map(str, dirs))}: no valid items found (*.md files)"])
    return catalog
