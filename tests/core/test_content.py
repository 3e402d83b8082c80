"""Content catalog: both header styles, every validation error, reload from disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.content import (
    Catalog,
    Choice,
    ContentError,
    answer_markdown,
    load_catalog,
    parse_item,
    validate_dirs,
)
from tests.conftest import write_item
from tests.harness import REPO_CONTENT

OLD_STYLE = """# Rotary positional embeddings (RoPE)

**Category:** transformers
**Difficulty:** 3
**Tags:** positional-encoding, attention

## Question
What does RoPE do?

## Answer
It rotates query and key pairs by position-dependent angles.

## Follow-up Questions
- How does it extend to longer contexts?
"""


def test_yaml_style_item_parses(tmp_path: Path) -> None:
    path = write_item(
        tmp_path,
        "concepts",
        "c007",
        category="transformers",
        difficulty=3,
        title="Multi-head attention",
    )
    item, problems = parse_item(path)
    assert problems == []
    assert item is not None
    assert (item.id, item.type, item.category, item.difficulty) == (
        "c007",
        "concept",
        "transformers",
        3,
    )
    assert item.title == "Multi-head attention"
    assert item.question == "What is it?"
    assert item.followups == ("Why?", "How?")


def test_old_bold_header_style_takes_id_and_type_from_path(tmp_path: Path) -> None:
    path = tmp_path / "concepts" / "c014_rope.md"
    path.parent.mkdir()
    path.write_text(OLD_STYLE, encoding="utf-8")
    item, problems = parse_item(path)
    assert problems == []
    assert item is not None
    assert (item.id, item.type, item.title) == (
        "c014",
        "concept",
        "Rotary positional embeddings (RoPE)",
    )
    assert (item.category, item.difficulty) == ("transformers", 3)
    assert item.tags == ("positional-encoding", "attention")
    assert item.followups == ("How does it extend to longer contexts?",)


VALID = (
    "---\nid: c001\ntitle: T\ntype: concept\ncategory: foundations\ndifficulty: 2\n"
    "tags: [a]\n---\n# T\n\n## Question\nQ?\n\n## Answer\nA.\n"
)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (VALID.replace("tags: [a]", "tags: [a"), 7, "bad YAML front matter"),
        (VALID.replace("tags: [a]\n", "tags: [a]\nauthor: me\n"), 8, "unknown field 'author'"),
        (VALID.replace("category: foundations\n", ""), 1, "missing field 'category'"),
        (VALID.replace("title: T\n", ""), 1, "missing field 'title'"),
        (VALID.replace("type: concept", "type: essay"), 4, "unknown type 'essay'"),
        (
            VALID.replace("category: foundations", "category: cooking"),
            5,
            "unknown category 'cooking'",
        ),
        (VALID.replace("difficulty: 2", "difficulty: 9"), 6, "difficulty 9 is outside 1-5"),
        (
            VALID.replace("difficulty: 2", "difficulty: hard"),
            6,
            "difficulty 'hard' is not a number",
        ),
        (VALID.replace("id: c001", "id: c002"), 2, "id 'c002' does not match the file name"),
        (VALID.replace("## Question\nQ?\n\n", ""), 11, "missing '## Question' section"),
        (VALID.replace("## Answer\nA.\n", "## Answer\n\n"), 14, "empty '## Answer' section"),
        (VALID.replace("## Answer\nA.\n", ""), 13, "missing '## Answer' section"),
    ],
)
def test_every_validation_error_has_path_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "concepts" / "c001_x.md"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    item, problems = parse_item(path)
    assert item is None
    assert any(p.startswith(f"{path}:{line}: {message}") for p in problems), problems


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "concepts" / "c001_x.md"
    path.parent.mkdir()
    path.write_bytes(VALID.replace("Q?", "caf\xe9?").encode("latin-1"))
    item, problems = parse_item(path)
    assert item is None
    assert problems[0].startswith(f"{path}:1: not UTF-8")


def test_duplicate_ids_and_all_problems_are_collected(tmp_path: Path) -> None:
    write_item(tmp_path, "concepts", "c001")
    dup = tmp_path / "quiz" / "c001_again.md"
    dup.parent.mkdir()
    dup.write_text(VALID.replace("type: concept", "type: quiz"), encoding="utf-8")
    bad = tmp_path / "concepts" / "c002_bad.md"
    bad.write_text(
        VALID.replace("id: c001", "id: c002").replace("difficulty: 2", "difficulty: 0"),
        encoding="utf-8",
    )
    items, problems = validate_dirs([tmp_path])
    assert [i.id for i in items] == ["c001"]
    assert len(problems) == 2
    assert any("duplicate id 'c001'" in p for p in problems)
    assert any("difficulty 0 is outside 1-5" in p for p in problems)


def test_missing_or_empty_content_dir(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="does not exist"):
        load_catalog([tmp_path / "nope"])
    with pytest.raises(ContentError, match="no valid items"):
        load_catalog([tmp_path])


def test_several_directories_keep_user_items_apart(tmp_path: Path) -> None:
    write_item(tmp_path / "a", "concepts", "c001")
    write_item(tmp_path / "mine", "quiz", "u001", type_="quiz")
    catalog = load_catalog([tmp_path / "a", tmp_path / "mine"])
    assert sorted(i.id for i in catalog.in_curriculum_order()) == ["c001", "u001"]


def test_invalid_file_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_item(tmp_path, "concepts", "c001")
    (tmp_path / "concepts" / "c002_broken.md").write_text("no header at all", encoding="utf-8")
    catalog = load_catalog([tmp_path])
    assert len(catalog) == 1
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "c002_broken.md" in warnings[0].getMessage()


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_reload_notices_added_changed_and_removed_files(tmp_path: Path) -> None:
    first = write_item(tmp_path, "concepts", "c001", title="First")
    catalog = Catalog([tmp_path])
    assert catalog.refresh() is True
    assert catalog.refresh() is False  # nothing changed: nothing re-parsed
    write_item(tmp_path, "concepts", "c002")
    assert catalog.refresh() is True
    assert "c002" in catalog
    write_item(tmp_path, "concepts", "c001", title="Renamed")
    _bump_mtime(first)
    assert catalog.refresh() is True
    item = catalog.get("c001")
    assert item is not None and item.title == "Renamed"
    first.unlink()
    assert catalog.refresh() is True
    assert "c001" not in catalog and len(catalog) == 1


def test_curriculum_order_is_category_then_difficulty(tmp_path: Path) -> None:
    write_item(tmp_path, "concepts", "c001", category="advanced", difficulty=1)
    write_item(tmp_path, "concepts", "c002", category="foundations", difficulty=3)
    write_item(tmp_path, "concepts", "c003", category="foundations", difficulty=1)
    write_item(tmp_path, "concepts", "c004", category="transformers", difficulty=1)
    catalog = load_catalog([tmp_path])
    assert [i.id for i in catalog.in_curriculum_order()] == ["c003", "c002", "c004", "c001"]


def test_id_longer_than_the_column_is_refused(tmp_path: Path) -> None:
    long_id = "u" + "1" * 32
    path = tmp_path / "concepts" / f"{long_id}_x.md"
    path.parent.mkdir()
    path.write_text(VALID.replace("id: c001", f"id: {long_id}"), encoding="utf-8")
    item, problems = parse_item(path)
    assert item is None
    assert problems == [
        f"{path}:2: id {long_id!r} must be letters, digits and '-' only, at most 32 characters"
    ]


# The short forms (issue 15): short answer, key points, choices; strict (check-content) and lenient
# (the catalog the bot and the terminal load) levels; the lints of what renders differently.

BODIES = {
    "Question": "What is it?",
    "Short answer": "It is a thing. It has a use.",
    "Key points": "- The first point\n- The second point\n- The third point",
    "Choices": "- [x] The right one\n- [ ] A wrong one\n- [ ] Another wrong one\n- [ ] A third",
    "Answer": "It is a thing, with $x^2$.",
    "Follow-up Questions": "- Why?",
}


def item_text(type_: str = "concept", front: str = "", **changes: str | None) -> str:
    """A full item; ``Short_answer="..."`` replaces a section's text, ``None`` drops it."""
    bodies = dict(BODIES)
    if type_ != "quiz":
        del bodies["Choices"]
    for key, body in changes.items():
        name = key.replace("_", " ").replace("Follow up", "Follow-up")
        if body is None:
            del bodies[name]
        else:
            bodies[name] = body
    sections = "".join(f"## {name}\n{body}\n\n" for name, body in bodies.items())
    return (
        f"---\nid: x001\ntitle: T\ntype: {type_}\ncategory: foundations\ndifficulty: 2\n"
        f"tags: [a]\n{front}---\n# T\n\n{sections}"
    )


def _parse(tmp_path: Path, text: str, strict: bool) -> tuple[Path, list[str]]:
    path = tmp_path / "items" / "x001_item.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, parse_item(path, strict=strict)[1]


def _line(text: str, where: str) -> int:
    return next(n for n, line in enumerate(text.split("\n"), start=1) if where in line)


def _points(n: int, size: int = 20) -> str:
    return "\n".join(f"- {k}{'p' * (size - len(str(k)))}" for k in range(n))


def _choices(*marks: str, size: int = 20) -> str:
    return "\n".join(f"- [{m}] {k}{'c' * (size - len(str(k)))}" for k, m in enumerate(marks))


# (a failing item, the text on the line reported, the message); in both levels.
MALFORMED = [
    (item_text(Short_answer="A" * 400 + "."), "## Short answer", "short answer is 401 characters"),
    (
        item_text("quiz", Short_answer="A" * 200 + "."),
        "## Short answer",
        "short answer is 201 characters (at most 200 for a quiz item",
    ),
    (item_text(Short_answer="One. Two. Three. Four."), "## Short answer", "short answer has 4"),
    (item_text(Short_answer="It is\n\n- a list"), "- a list", "short answer must be one paragraph"),
    (item_text(Short_answer="It is:\n- a list"), "- a list", "short answer must be one paragraph"),
    (item_text(Short_answer="One.\n\nTwo."), "Two.", "short answer must be one paragraph"),
    (item_text(Short_answer="It is\n\n```\ncode\n```"), "```", "short answer must be one"),
    (item_text(Short_answer="It is\n$$\nx^2\n$$"), "$$", "short answer must be one paragraph"),
    (item_text(Short_answer=""), "## Short answer", "empty '## Short answer' section"),
    (item_text(Key_points=_points(2)), "## Key points", "2 key points (write 3 to 6)"),
    (item_text(Key_points=_points(7)), "## Key points", "7 key points (write 3 to 6)"),
    (item_text(Key_points=_points(3, 141)), "- 0ppp", "key point is 141 characters"),
    (
        item_text(Key_points="Intro\n\n" + _points(3)),
        "Intro",
        "'## Key points' must be one '- ' list and nothing else",
    ),
    (
        item_text(Key_points="- a\n  - sub\n- b\n- c"),
        "- a",
        "a key point must be one paragraph, with no sub-list",
    ),
    (
        item_text("quiz", Choices=_choices("x", " ", " ")),
        "## Choices",
        "3 choices (a quiz item has 4)",
    ),
    (item_text("quiz", Choices=_choices("x", " ", " ", " ", " ")), "## Choices", "5 choices"),
    (item_text("quiz", Choices=_choices(" ", " ", " ", " ")), "## Choices", "0 choices marked [x]"),
    (item_text("quiz", Choices=_choices("x", "x", " ", " ")), "## Choices", "2 choices marked [x]"),
    (
        item_text("quiz", Choices=_choices("x", " ", " ") + "\n- no mark"),
        "- no mark",
        "a choice starts with [x]",
    ),
    (
        item_text("quiz", Choices=_choices("x", " ", " ", " ", size=101)),
        "- [x] 0cc",
        "choice is 101 characters (a poll option has at most 100)",
    ),
    (
        item_text("quiz", Question="Q" * 301),
        "## Question",
        "the question is 301 characters, more than a poll allows (300): add 'poll:",
    ),
    (item_text("quiz", front=f"poll: {'P' * 301}\n"), "poll:", "poll is 301 characters"),
    (item_text(front="poll: [a, b]\n"), "poll:", "poll must be text"),
    (item_text(Choices=_choices("x", " ", " ", " ")), "## Choices", "'## Choices' is for quiz"),
    (
        item_text(front="source: c 3\n"),
        "source:",
        "source 'c 3' must be an item id (c003) or 'new'",
    ),
    (
        item_text(Key_points=None, Answer=None, Follow_up_Questions=None)
        + f"## Answer\nA.\n\n## Key points\n{_points(3)}\n",
        "## Key points",
        "'## Key points' is out of order",
    ),
    (item_text() + "## answer\nAgain.\n", "## answer", "second '## answer' section"),
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@pytest.mark.parametrize(("text", "where", "message"), MALFORMED)
def test_a_malformed_short_form_fails_at_both_levels(
    tmp_path: Path, strict: bool, text: str, where: str, message: str
) -> None:
    path, problems = _parse(tmp_path, text, strict)
    assert any(p.startswith(f"{path}:{_line(text, where)}: {message}") for p in problems), problems


# The passing side of each rule, at its limit.
WELL_FORMED = [
    item_text(Short_answer="A" * 399 + "."),
    item_text("quiz", Short_answer="A" * 199 + "."),
    item_text(Short_answer=r"Use e.g. Adam with $\beta_1 = 0.9$. See Xu et al. 2020. Done at 0.5."),
    item_text(Short_answer="It is one\nparagraph over two lines, with `code` inline."),
    item_text(Key_points=_points(3, 140)),
    item_text(Key_points=_points(6)),
    item_text(Key_points="- A point written\n  over two lines\n- Two\n- Three"),
    item_text("quiz", Choices=_choices(" ", " ", "X", " ", size=100)),
    item_text("quiz", Question="Q" * 300),
    item_text("quiz", Question="Q" * 301, front=f"poll: {'P' * 300}\n"),
    item_text(front="poll: A shorter wording?\n"),
    item_text(front="source: new\n"),
    item_text(front="source: c003\n"),
    item_text(Follow_up_Questions=None),
]


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
@pytest.mark.parametrize("text", WELL_FORMED)
def test_a_well_formed_item_passes_at_both_levels(tmp_path: Path, strict: bool, text: str) -> None:
    assert _parse(tmp_path, text, strict)[1] == []


# Failing check-content (strict) only: the catalog still loads these.
STRICT_ONLY = [
    (item_text(Short_answer=None), "## Key points", "missing '## Short answer' section"),
    (item_text(Key_points=None), "## Answer", "missing '## Key points' section"),
    (item_text("quiz", Choices=None), "## Answer", "missing '## Choices' section"),
    (item_text(Answer="A.\n\n## Notes\nMore."), "## Notes", "unknown section '## Notes'"),
    (
        item_text(Answer="First a paragraph\n5. Substitute."),
        "5. Substitute",
        '"5. Substitute." runs on from the line before',
    ),
    (item_text(Answer="It costs $5 a month."), "It costs", "unmatched $"),
    (item_text(Answer="So $$x^2$$ here."), "So $$", "display math shows as text"),
    (item_text(Answer="Intro.\n\n##Details\nMore."), "##Details", "not a heading"),
    (item_text(Answer="It is $a \\foo b$."), "It is $", 'math $a \\foo b$: \\foo shows as "foo"'),
    (item_text(Answer="It is $\\frac{a}{b$."), "It is $", "math $\\frac{a}{b$: unbalanced braces"),
    (item_text(Answer="Intro.\n\n    indented"), "    indented", "indented 4 spaces"),
    (
        item_text(Answer="Bound:\n\n$$\na \\le b\n$$\n"),
        "$$",
        "math $$ a \\le b $$: cannot be drawn: ParseFatalException: Unknown symbol: \\le",
    ),
]


def test_strict_only_rules_fail_check_content_but_the_item_loads(tmp_path: Path) -> None:
    for text, where, message in STRICT_ONLY:
        path, problems = _parse(tmp_path, text, strict=True)
        expected = f"{path}:{_line(text, where)}: {message}"
        assert any(p.startswith(expected) for p in problems), (expected, problems)
        assert _parse(tmp_path, text, strict=False)[1] == [], text


# What renders as the author meant: the passing side of the lints.
RENDERS_AS_MEANT = [
    "First a paragraph\n\n5. Substitute.",
    "1. One\n2. Two\n\nA paragraph\n1. starts a list at 1",
    "It costs \\$5 a month.",
    "So\n\n$$\nx^2\n$$\n\nhere.",
    "### Details",
    r"$y_w \succ y_l$ at $k_*$ with $\alpha > 1$",
    "Run `echo $HOME` and\n\n```bash\necho $PATH \\foo $x$\n```",
    "- a list item\n\n    with a second paragraph",
]


@pytest.mark.parametrize("answer", RENDERS_AS_MEANT)
def test_what_renders_as_meant_passes_the_lints(tmp_path: Path, answer: str) -> None:
    assert _parse(tmp_path, item_text(Answer=answer), strict=True)[1] == []


def test_the_short_forms_are_parsed(tmp_path: Path) -> None:
    text = item_text("quiz", front="poll: Shorter?\nsource: c003\n")
    path = tmp_path / "quiz" / "x001_item.md"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    item, problems = parse_item(path, strict=True)
    assert problems == [] and item is not None
    assert item.short_answer == "It is a thing. It has a use."
    assert item.key_points == ("The first point", "The second point", "The third point")
    assert item.choices == (
        Choice("The right one", True),
        Choice("A wrong one", False),
        Choice("Another wrong one", False),
        Choice("A third", False),
    )
    assert (item.poll, item.source) == ("Shorter?", "c003")


def test_an_item_without_the_short_forms_loads_with_the_full_answer_alone(tmp_path: Path) -> None:
    write_item(tmp_path, "quiz", "u001", answer="Full.")
    [item] = load_catalog([tmp_path]).in_curriculum_order()
    assert (item.short_answer, item.key_points, item.choices) == ("", (), ())
    assert (
        answer_markdown(item) == "**Answer**\n\nFull.\n\n**Follow-up questions**\n\n- Why?\n- How?"
    )


def test_answer_markdown_puts_the_short_forms_first(tmp_path: Path) -> None:
    path, _ = _parse(tmp_path, item_text("quiz"), strict=True)
    item, _ = parse_item(path)
    assert item is not None
    assert answer_markdown(item) == (
        "**Short answer**\n\nIt is a thing. It has a use.\n\n"
        "**Key points**\n\n- The first point\n- The second point\n- The third point\n\n"
        "**Answer**\n\nIt is a thing, with $x^2$.\n\n"
        "**Follow-up questions**\n\n- Why?"
    )
    assert "right one" not in answer_markdown(item)  # the choices are for polls


def test_the_real_catalog_passes_check_content() -> None:
    items, problems = validate_dirs([REPO_CONTENT], strict=True)
    assert problems == []
    assert all(i.short_answer and i.key_points for i in items)
    assert sum(1 for i in items if i.choices) == sum(1 for i in items if i.type == "quiz")
