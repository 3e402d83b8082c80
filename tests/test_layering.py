"""The core never imports telegram: parse every core module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
CORE = [
    "config",
    "content",
    "srs",
    "models",
    "db",
    "repo",
    "services",
    "render",
    "latex",
    "stats",
    "charts",
    "chats",
    "plan",
    "search",
    "account",
    "cli",
]


@pytest.mark.parametrize("name", CORE)
def test_core_module_does_not_import_telegram(name: str) -> None:
    path = BOT / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{name}.py not present")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {node for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for module in names:
            assert not module.startswith("telegram"), f"{path.name} imports {module}"
            # The CLI may reach the Telegram edge, but only lazily inside `studybot bot`.
            if module.startswith(("bot.app", "bot.handlers", "bot.jobs", "bot.keyboards")):
                assert name == "cli" and node not in top_level, f"{path.name} imports {module}"
