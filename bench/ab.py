"""Interleaved A/B of the bot's CPU per button press and per rating, for comparing two versions.

The shared machine's speed drifts by up to 1.8x within minutes, so two benchmark runs one after
the other compare the machine as much as the code. Here both versions run at once, each a bot
process with its own stand-in and copy of the data, and their measuring windows alternate
(A B, B A, A B, ...): a slow spell hits both alike, and the median of the per-window ratios is
the comparison. Each window is a closed loop of 20 learners (CPU per press) followed by
lockstep rounds of ratings (CPU per rating -> next item), as in bench/run.py.

    python -m bench.ab base=/path/to/other/checkout new=
    python -m bench.ab base= variant=,SOME_SETTING=1

Each argument is LABEL=PYTHONPATH[,NAME=VALUE...]: the folder whose ``bot`` package the bot
process imports (empty: this checkout) and environment variables for that process. The first
is the baseline of the ratios. Run it from this checkout's root: the benchmark itself (the
seeding, the stand-in, the learners) is always this checkout's; only the bot processes differ.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import run
from bot.core.content import load_catalog


async def start(label: str, spec: str, db: run.Seeded, ctx: run.Context) -> dict[str, Any]:
    path, *settings = spec.split(",")
    saved = dict(os.environ)
    if path:
        os.environ["PYTHONPATH"] = path
    for setting in settings:
        name, _, value = setting.partition("=")
        os.environ[name] = value
    api = run.BenchStandIn()
    await api.__aenter__()
    for chat_id in db.pushed:
        api.private_chat(api.user(chat_id, f"L{chat_id}"))
    api.watch(db.pushed)
    copy = run.copy_database(db, ctx.work / f"{label}.db")
    try:
        bot = await run.BotProcess.start(api, copy.url, ctx.work, limiter=False, name=label)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    await run.wait_until(lambda: len(api.push_done) == len(db.pushed), 60, f"{label}: push")
    await run.warm_up(ctx, api, label)
    learners = [run.Learner(api, t, seed=k) for k, t in enumerate(db.quiet)]
    await asyncio.gather(*(learner.study() for learner in learners))
    return {"label": label, "api": api, "bot": bot, "learners": learners, "press": [], "rate": []}


async def window(v: dict[str, Any], seconds: float, rounds: int) -> None:
    presses, cpu, _wall = await run.closed_loop(
        v["api"], v["bot"], v["learners"], seconds, settle=0.3
    )
    v["press"].append(cpu / max(presses, 1) * 1000)
    cpu, ratings = await run.lockstep(v["bot"], v["learners"], rounds, pause=0.05)
    v["rate"].append(cpu / ratings * 1000)


async def main(specs: list[tuple[str, str]], windows: int = 8) -> None:
    now = datetime.now(UTC)
    sizes = run.Sizes(push_chats=40, cost_users=20)
    ctx = run.Context(sizes, Path(tempfile.mkdtemp(prefix="studybot-ab-")), now)
    catalog = load_catalog([run.REPO_CONTENT_DIR])
    ids = [item.id for item in catalog.in_curriculum_order()][: sizes.cards]
    templates = [run.simulate(ids, sizes.reviews, now, seed=k) for k in range(4)]
    db = run.seed(
        ctx.work / "ab.db",
        sizes,
        pushed=40,
        quiet=20,
        heavy=0,
        now=now,
        templates=templates,
        heavy_history=None,
    )
    versions = [await start(label, spec, db, ctx) for label, spec in specs]
    try:
        for k in range(windows):
            for v in versions if k % 2 == 0 else versions[::-1]:
                await window(v, seconds=3.0, rounds=3)
    finally:
        for v in versions:
            await v["bot"].stop()
            await v["api"].__aexit__(None, None, None)
    base = versions[0]
    for v in versions:
        press = statistics.median(a / b for a, b in zip(v["press"], base["press"], strict=True))
        rate = statistics.median(a / b for a, b in zip(v["rate"], base["rate"], strict=True))
        print(
            f"{v['label']:>12}: per press {statistics.median(v['press']):.2f} ms (x{press:.3f}),"
            f" per rating {statistics.median(v['rate']):.2f} ms (x{rate:.3f});"
            f" windows {[round(x, 2) for x in v['press']]}"
        )
    print(f"reference loop now: {run.machine_speed()} s")


if __name__ == "__main__":
    asyncio.run(main([tuple(arg.split("=", 1)) for arg in sys.argv[1:]]))  # type: ignore[misc]
