"""The study items: parsing, validation and a catalog that follows the files on disk.

An item is one markdown file, either with YAML front matter (the current format) or with the
older bold-header lines (``**Category:** transformers``) written for the original study script.
Validation collects every problem as ``path:line: message`` so that ``check-content`` can list
them all at once; at run time an invalid file is skipped with one warning and the rest loads.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml

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
ALLOWED_FIELDS = {"id", "title", "type", "category", "difficulty", "tags"}
REQUIRED_FIELDS = ("title", "category", "difficulty")
ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")  # 32 characters: the item_id columns
BOLD_HEADER_RE = re.compile(r"^\*\*(?P<key>[A-Za-z -]+):\*\*\s*(?P<value>.*?)\s*$")
SECTION_RE = re.compile(r"^##\s+(?P<name>.+?)\s*#*\s*$")


class ContentError(Exception):
    """Raised when content cannot be used at all; ``problems`` holds every line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Item:
    """One study item, parsed and validated."""

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

    @property
    def curriculum_key(self) -> tuple[int, int, str]:
        """Sort key for introducing new items: category order, then easier first, then id."""
        return (CATEGORY_RANK.get(self.category, len(CATEGORIES)), self.difficulty, self.id)


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


def _split_sections(body_lines: list[str], first_line: int) -> dict[str, tuple[int, str]]:
    """Map lowercased ``##`` section names to (line number, text), ignoring code fences."""
    sections: dict[str, tuple[int, list[str]]] = {}
    current: list[str] | None = None
    in_fence = False
    for offset, text in enumerate(body_lines):
        if text.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else SECTION_RE.match(text)
        if match:
            name = match.group("name").strip().lower()
            current = []
            sections.setdefault(name, (first_line + offset, current))
        elif current is not None:
            current.append(text)
    return {name: (line, "\n".join(body).strip()) for name, (line, body) in sections.items()}


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


def parse_item(path: Path, text: str | None = None) -> tuple[Item | None, list[str]]:
    """Parse and validate one item file.

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

    sections = _split_sections(lines[body_start:], body_start + 1)
    end_line = len(lines) - 1 if text.endswith("\n") else len(lines)
    texts: dict[str, str] = {}
    for name in ("question", "answer"):
        if name not in sections:
            problems.add(end_line, f"missing '## {name.title()}' section")
        elif not sections[name][1]:
            problems.add(sections[name][0], f"empty '## {name.title()}' section")
        else:
            texts[name] = sections[name][1]
    follow = next((v for k, v in sections.items() if k.startswith("follow")), None)
    followups = _followups(follow[1]) if follow else ()

    if problems.items:
        return None, problems.items
    return Item(
        id=item_id,
        title=title,
        type=item_type,
        category=category,
        difficulty=difficulty,
        tags=tags,
        question=texts["question"],
        answer=texts["answer"],
        followups=followups,
        path=path,
    ), []


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


def validate_dirs(dirs: Iterable[Path]) -> tuple[list[Item], list[str]]:
    """Parse every item below ``dirs``; return the valid items and every problem found."""
    dirs = list(dirs)
    problems: list[str] = []
    for root in dirs:
        if not root.is_dir():
            problems.append(f"{root}:0: content directory does not exist")
    items: list[Item] = []
    seen: dict[str, Path] = {}
    for path in iter_item_files(d for d in dirs if d.is_dir()):
        item, found = parse_item(path)
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

    def refresh(self) -> bool:
        """Re-scan the directories; return True when anything was added, changed or removed."""
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
