"""``python -m bench.run --quick`` runs to the end and writes every figure: a smoke test of the
benchmark's machinery at tiny sizes. Whether the figures meet their goals is the benchmark's
business, not the tests'."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.run import FIGURES

REPO = Path(__file__).resolve().parent.parent
TINY = {
    "push_chats": 40,
    "limit_chats": 30,
    "heavy_reviews": 200,
    "live_users": 2,
    "cost_users": 3,
    "cost_seconds": 1,
    "warmup_items": 2,
    "lockstep_rounds": 1,
    "selection_runs": 5,
    "templates": 2,
}


def test_quick_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    sizes = [arg for name, value in TINY.items() for arg in ("--size", f"{name}={value}")]
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out), *sizes],
        cwd=REPO,  # as bench/README.md runs it: from the root, bench and bot as packages
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["quick"] is True
    assert set(result["figures"]) == set(FIGURES)
    for key, figure in result["figures"].items():
        assert isinstance(figure["value"], int | float), (key, figure)
        assert isinstance(figure["unit"], str) and isinstance(figure["label"], str)
        if figure["goal"] is None:
            assert figure["met"] is None, key
        else:
            assert isinstance(figure["met"], bool), key
    machine = result["machine"]
    assert machine["cpu"] and machine["python"] and machine["date"]
    assert isinstance(machine["cores"], int) and machine["cores"] >= 1
    assert "| Figure" in done.stdout  # the table was printed
