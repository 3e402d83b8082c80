"""Content catalog: both header styles, every validation error, reload from disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.content import Catalog, ContentError, load_catalog, parse_item, validate_dirs
from tests.conftest import write_item

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
        (VALID.replace("## Question\nQ?\n\n", ""), 12, "missing '## Question' section"),
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
