"""`studybot <command>`: argument parsing and dispatch; the commands live in bot.terminal."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from bot.config import (
    ConfigError,
    Webhook,
    load_settings,
    token_is_wellformed,
    webhook_secret_is_wellformed,
)
from bot.core.content import ContentError
from bot.storage.db import StorageError
from bot.terminal.account import cmd_export, cmd_reset
from bot.terminal.common import Env, UsageError
from bot.terminal.content import cmd_check_content
from bot.terminal.progress import cmd_exam, cmd_stats
from bot.terminal.study import cmd_find, cmd_study

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _local_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


NO_TOKEN_HELP = (
    "No TELEGRAM_BOT_TOKEN set: create a bot with @BotFather in Telegram (/newbot), then run "
    "TELEGRAM_BOT_TOKEN=<token> studybot bot\n"
    "Meanwhile, study right here in the terminal: studybot study -n 10   (progress: studybot stats)"
)


def webhook_options(env: Env, args: argparse.Namespace) -> Webhook | None:
    """Validate the webhook flags and TELEGRAM_WEBHOOK_SECRET; None for long polling."""
    if not args.webhook_url:
        if args.listen or args.port:
            raise UsageError("--listen and --port only apply with --webhook-url")
        return None
    url = urlsplit(args.webhook_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise UsageError(
            f"--webhook-url {args.webhook_url!r} must be an http(s) URL, "
            "e.g. https://bot.example.com/telegram"
        )
    secret = env.settings.webhook_secret
    if not webhook_secret_is_wellformed(secret):
        # The value given is not echoed (it may be the real secret with a typo): a new one is.
        raise UsageError(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET: 32-256 characters of A-Z, a-z, 0-9, _ "
            f"and -, for example TELEGRAM_WEBHOOK_SECRET={secrets.token_urlsafe(32)}"
        )
    port = args.port if args.port is not None else 8080
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port")
    return Webhook(
        url=args.webhook_url,
        path=url.path.strip("/"),
        # Behind a reverse proxy on the same machine; 0.0.0.0 only when asked for.
        listen=args.listen or "127.0.0.1",
        port=port,
        secret=secret,
    )


def cmd_bot(env: Env, args: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook with --webhook-url)."""
    token = env.settings.token
    if not token:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return 2
    if not token_is_wellformed(token):
        print(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<letters>',"
            " as @BotFather gives it); check for quotes or spaces.",
            file=sys.stderr,
        )
        return 2
    webhook = webhook_options(env, args)
    # PTB 22 opts in to timedelta values (RetryAfter.retry_after) with this variable.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    from bot.telegram.app import run_bot  # the Telegram edge is imported only when it is needed

    return run_bot(env.settings, webhook)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studybot",
        description="Spaced-repetition study for ML/LLM interviews: "
        "a Telegram bot and a terminal mode on the same engine.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("study", help="study in the terminal")
    p.add_argument("-n", default="10", metavar="N", help="number of items (default 10, max 100)")
    p.add_argument("-t", "--type", metavar="TYPE", help="concepts, quiz, deep or derive")
    p.add_argument("--user", metavar="NAME", help="whose progress (default: local)")
    p.add_argument("--item", metavar="ID", help="study this one item (see `studybot find`)")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("find", help="find items by words in title, tags or question")
    p.add_argument("words", nargs="*", metavar="WORD")
    p.set_defaults(func=cmd_find)
    p = sub.add_parser("export", help="write a user's review history as CSV")
    p.add_argument("--user", metavar="NAME")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser(
        "exam", help="set the interview date (2027-01-20, 20 Jan, in 3 weeks) or 'off'"
    )
    p.add_argument("date", metavar="DATE", nargs="+")
    p.add_argument("--user", metavar="NAME")
    p.set_defaults(func=cmd_exam)
    p = sub.add_parser("stats", help="show progress")
    p.add_argument("--user", metavar="NAME")
    p.set_defaults(func=cmd_stats)
    p = sub.add_parser("reset", help="delete a user's progress")
    p.add_argument("--user", metavar="NAME")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("check-content", help="validate study items")
    p.add_argument("dirs", nargs="*", metavar="DIR")
    p.set_defaults(func=cmd_check_content)
    p = sub.add_parser("bot", help="run the Telegram bot")
    p.add_argument(
        "--webhook-url",
        metavar="URL",
        help="receive updates by webhook at this public URL (needs "
        "TELEGRAM_WEBHOOK_SECRET); default: long polling",
    )
    p.add_argument(
        "--listen",
        metavar="ADDR",
        help="webhook listen address (default 127.0.0.1, for a reverse proxy on this machine)",
    )
    p.add_argument("--port", type=int, metavar="P", help="webhook listen port (default 8080)")
    p.set_defaults(func=cmd_bot)
    return parser


def _load_dotenv() -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # optional convenience
        return
    load_dotenv(Path.cwd() / ".env", override=False)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    clock: Callable[[], datetime] = _now,
    tz: tzinfo | None = None,
) -> int:
    """Entry point of `studybot` and `python -m bot`; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _load_dotenv()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"studybot: configuration problem:\n{exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Third-party chatter that says nothing about the bot (font matching, migration context).
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.getLogger("PIL").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(
        max(logging.WARNING, logging.getLevelName(settings.log_level))
    )
    env = Env(
        settings=settings,
        stdin=stdin or sys.stdin,
        clock=clock,
        tz=tz or _local_tz(),
    )
    try:
        code: int = args.func(env, args)
        return code
    except UsageError as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print(
            f"studybot: {exc.problems[0]}. Set STUDYBOT_CONTENT_DIR to a folder of items "
            "(see `studybot check-content`).",
            file=sys.stderr,
        )
        return 2
    except StorageError as exc:
        print(f"studybot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted; every rating given so far is saved.", file=sys.stderr)
        return 130
