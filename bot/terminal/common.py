"""What every terminal command shares: its environment, the learner's name, the services."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, TextIO

from bot.config import Settings
from bot.services.container import Services
from bot.services.container import open_services as open_services_of

# rich (console, markdown with pygments, table) is imported by the terminal commands that print
# with it: `studybot bot` never does, and its start-up is timed (bench/run.py, "startup").
if TYPE_CHECKING:
    from rich.console import Console

USER_NAME_MAX = 64  # the users.local_name column


class UsageError(Exception):
    """A mistake on the command line: one line for the user, exit code 2."""


@dataclass
class Env:
    """What a command needs from outside: settings, clock, streams."""

    settings: Settings
    stdin: TextIO
    clock: Callable[[], datetime]
    tz: tzinfo
    console: Console | None = field(default=None, repr=False)

    @property
    def out(self) -> Console:
        """The terminal output, made on first use (``console``, when one was given)."""
        if self.console is None:
            from rich.console import Console

            self.console = Console(highlight=False)
        return self.console


def user_name(env: Env, args: argparse.Namespace) -> str:
    """The terminal learner: --user, else STUDYBOT_USER, else "local" (1-64 characters)."""
    name = (getattr(args, "user", None) or env.settings.user).strip()
    if not 1 <= len(name) <= USER_NAME_MAX:
        raise UsageError(f"--user must be 1 to {USER_NAME_MAX} characters")
    return name


def open_services(env: Env) -> Services:
    """The services over the configured content and database."""
    return open_services_of(env.settings)


def read_line(env: Env, prompt: str) -> str | None:
    """One line of input, or None at the end of input."""
    env.out.print(prompt, end="")
    line = env.stdin.readline()
    if not line:
        env.out.print()
        return None
    if not env.stdin.isatty():
        env.out.print()  # piped input is not echoed: keep the transcript readable
    return line.strip().lower()
