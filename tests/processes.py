"""The real `studybot` as a subprocess: the terminal command, and the bot against the stand-in."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.botapi import BotApiStandIn


def studybot(
    args: list[str], env_extra: dict[str, str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
    env.update({"COLUMNS": "100", "LOG_LEVEL": "WARNING", **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


async def start_bot_process(
    api: BotApiStandIn,
    tmp_path: Path,
    log_name: str = "bot.log",
    args: tuple[str, ...] = (),
    **extra: str,
) -> asyncio.subprocess.Process:
    """Start `python -m bot bot [args]`; its output goes to a file (a full pipe would block)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDYBOT_", "TELEGRAM_"))}
    env.update(api.env())
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'proc.db'}",
            "LOG_LEVEL": "DEBUG",
            "STUDYBOT_FUZZING": "off",
            **extra,
        }
    )
    log = (tmp_path / log_name).open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "bot",
            *args,
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    finally:
        log.close()


def memory_bytes(pid: int, figure: str = "VmRSS") -> int:
    """A figure of /proc/<pid>/status in bytes: VmRSS (resident now), VmHWM (at its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{figure}:"):
            return int(line.split()[1]) * 1024  # the kernel says "kB" and means KiB
    raise RuntimeError(f"no {figure} for process {pid}")


def reset_peak_memory(pid: int) -> None:
    """Start VmHWM afresh from VmRSS, so that it shows the peak from now on (Linux 4.0+)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
