"""The one place that reads the environment and argv: `studybot <command>` and terminal study."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from bot import account
from bot.config import ConfigError, Settings, Webhook, load_settings
from bot.content import (
    CATEGORIES,
    ITEM_TYPES,
    TYPE_ALIASES,
    ContentError,
    Item,
    load_catalog,
    validate_dirs,
)
from bot.db import StorageError, open_database
from bot.plan import countdown, parse_date
from bot.render import to_terminal_markdown
from bot.services import MAX_SESSION_ITEMS, Scheduling, StudyService
from bot.srs import GRADE_LABELS, Grade

# rich (console, markdown with pygments, table) is imported by the terminal commands that print
# with it: `studybot bot` never does, and its start-up is timed (bench/run.py, "startup").
if TYPE_CHECKING:
    from rich.console import Console

logger = logging.getLogger(__name__)


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


def _now() -> datetime:
    return datetime.now(UTC)


def _local_tz() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def user_name(env: Env, args: argparse.Namespace) -> str:
    """The terminal learner: --user, else STUDYBOT_USER, else "local" (1-64 characters)."""
    name = (getattr(args, "user", None) or env.settings.user).strip()
    if not 1 <= len(name) <= USER_NAME_MAX:
        raise UsageError(f"--user must be 1 to {USER_NAME_MAX} characters")
    return name


def parse_count(raw: str, out: Console) -> int:
    """Validate -n: a whole number from 1; above the maximum it is clamped with a notice."""
    try:
        n = int(raw)
    except ValueError:
        raise UsageError(f"-n {raw!r} is not a number of items; try -n 20") from None
    if n < 1:
        raise UsageError(f"-n {n}: ask for at least 1 item, e.g. -n 10")
    if n > MAX_SESSION_ITEMS:
        out.print(
            f"Note: -n {n} is more than {MAX_SESSION_ITEMS}; studying {MAX_SESSION_ITEMS} items."
        )
        n = MAX_SESSION_ITEMS
    return n


def parse_type(raw: str | None) -> str | None:
    """Validate -t: concepts, quiz, deep or derive (singular forms accepted)."""
    if raw is None:
        return None
    item_type = TYPE_ALIASES.get(raw.strip().lower())
    if item_type is None:
        raise UsageError(f"unknown type {raw!r}; use one of: concepts, quiz, deep, derive")
    return item_type


def _service(env: Env) -> StudyService:
    catalog = load_catalog(env.settings.content_dirs)
    _engine, sessions = open_database(env.settings.database_url)
    return StudyService(sessions, catalog, Scheduling.from_settings(env.settings))


def _read(env: Env, prompt: str) -> str | None:
    """One line of input, or None at the end of input."""
    env.out.print(prompt, end="")
    line = env.stdin.readline()
    if not line:
        env.out.print()
        return None
    if not env.stdin.isatty():
        env.out.print()  # piped input is not echoed: keep the transcript readable
    return line.strip().lower()


def _show_item_header(env: Env, number: int, total: int, item: Item, retry: bool) -> None:
    from rich.markdown import Markdown

    again = " · once more" if retry else ""
    env.out.rule(
        f"{number}/{total} · {item.type} · {item.category} · difficulty {item.difficulty}/5{again}"
    )
    env.out.print(Markdown(f"# {item.title}\n\n" + to_terminal_markdown(item.question)))


def _show_answer(env: Env, item: Item) -> None:
    from rich.markdown import Markdown

    env.out.print(Markdown("## Answer\n\n" + to_terminal_markdown(item.answer)))
    if item.followups:
        follow = "\n".join(f"- {to_terminal_markdown(f)}" for f in item.followups)
        env.out.print(Markdown("## Follow-up questions\n\n" + follow))


def cmd_study(env: Env, args: argparse.Namespace) -> int:
    """Terminal study session: question, Enter to reveal, then 1/2/3 (s skip, q quit)."""
    n = parse_count(args.n, env.out)
    item_type = parse_type(args.type)
    service = _service(env)
    name = user_name(env, args)
    if args.item is None:
        user_id = service.local_user(name, env.clock())
        started = service.start_session(user_id, n, env.clock(), env.tz, item_type=item_type)
    else:
        item = service.item(args.item)
        if item is None:  # before the user is created: an unknown id stores nothing
            raise UsageError(f"there is no item {args.item!r}; `studybot find WORDS` shows the ids")
        user_id = service.local_user(name, env.clock())
        started = service.start_item_session(user_id, item.id, env.clock())
    if started.notice:
        env.out.print(f"Note: {started.notice}.")
    if not started.session_id:
        env.out.print(
            "Nothing to study right now: no items are due and no new items are left."
            " Come back tomorrow, or try another type with -t."
        )
        return 0
    while (current := service.current(started.session_id)) is not None:
        _show_item_header(env, current.number, current.total, current.item, current.retry)
        shown_at = time.monotonic()
        key = _read(env, "[Enter] show answer · s skip · q quit > ")
        if key is None or key == "q":
            break
        if key == "s":
            service.skip(current.session_id, current.position, env.clock())
            continue
        service.reveal(current.session_id, current.position)
        _show_answer(env, current.item)
        rating: int | None = None
        while rating is None:
            key = _read(env, "Rate: 1 no idea · 2 partial · 3 got it · s skip · q quit > ")
            if key is None or key in ("q", "s"):
                break
            if key in ("1", "2", "3"):
                rating = int(key)
            else:
                env.out.print("Please type 1, 2 or 3 (or s to skip, q to quit).")
        if rating is None:
            if key == "s":
                service.skip(current.session_id, current.position, env.clock())
                continue
            break
        result = service.answer(
            current.session_id,
            current.position,
            rating,
            env.clock(),
            seconds=round(time.monotonic() - shown_at, 1),
        )
        label = GRADE_LABELS[Grade(rating)]
        when = (
            "again at the end of this session, then from tomorrow"
            if result.retry_added
            else f"next review in {_days(result.interval_days)}"
        )
        env.out.print(f"Recorded: {rating} · {label} — {when}.")
    service.close(started.session_id, env.clock())
    summary = service.summary(started.session_id, env.clock(), env.tz)
    env.out.rule("Session summary")
    counts = " · ".join(f"{GRADE_LABELS[Grade(g)]} {summary.ratings[g]}" for g in (1, 2, 3))
    env.out.print(f"Rated {summary.reviewed} item(s): {counts}")
    env.out.print(
        f"Time spent: {_duration(summary.seconds)} · due tomorrow: "
        f"{summary.due_tomorrow} · streak: {summary.streak_days} day(s)"
    )
    return 0


def _days(days: float) -> str:
    whole = max(1, round(days))
    return "1 day" if whole == 1 else f"{whole} days"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def cmd_exam(env: Env, args: argparse.Namespace) -> int:
    """Interview-date mode: no interval past the day, the daily mix follows the countdown."""
    exam = None
    if args.date.lower() != "off":
        try:
            exam = parse_date(args.date)
        except ValueError as exc:
            raise UsageError(f"{exc}; use YYYY-MM-DD, or 'off'") from None
    service = _service(env)
    user_id = service.local_user(user_name(env, args), env.clock())
    try:
        service.set_exam(user_id, exam, env.clock(), env.tz)
    except ValueError as exc:
        raise UsageError(f"{args.date}: {exc}; give the day of your interview") from None
    if exam is None:
        env.out.print("Interview date cleared: new items follow the six-week plan.")
        return 0
    progress = service.progress(user_id, env.clock(), env.tz)
    assert progress.phase is not None
    env.out.print(f"Interview on {exam:%A %d %B %Y}: {countdown(progress.phase)}.")
    return 0


def cmd_stats(env: Env, args: argparse.Namespace) -> int:
    """Progress: items studied, reviews, sessions, recent results, due counts, categories."""
    service = _service(env)
    user_id = service.local_user(user_name(env, args), env.clock())
    st = service.stats(user_id, env.clock(), env.tz)
    out = env.out
    out.rule(f"Progress of {user_name(env, args)}")
    out.print(
        f"Items studied: {st.studied} of {st.total_items} · reviews: {st.reviews} · "
        f"sessions completed: {st.sessions}"
    )
    out.print(
        f"Streak: {st.streak.current} day(s) in a row · active {st.streak.active_last_14} "
        f"of the last 14 days"
    )
    out.print(f"Due now: {st.due.now} · tomorrow: {st.due.tomorrow} · next 7 days: {st.due.week}")
    progress = service.progress(user_id, env.clock(), env.tz)
    if progress.exam is not None and progress.phase is not None:
        out.print(f"{countdown(progress.phase)} (interview {progress.exam:%Y-%m-%d})")
    elif progress.phase is not None:
        out.print(f"Plan: {progress.phase.label}")
    out.print(
        f"Seen {progress.seen} of {progress.total} items · estimated recall of the whole "
        f"catalog {progress.mean_recall:.0%}"
    )
    if progress.leeches:
        out.print(
            "Leeches (keep slipping): "
            + ", ".join(f"{i.id} {i.title} ({n}×)" for i, n in progress.leeches)
        )
    from rich.table import Table

    if st.recent:
        table = Table(title="Last sessions", show_edge=False)
        for col in ("started", "rated", "no idea", "partial", "got it"):
            table.add_column(col, justify="right" if col != "started" else "left")
        for r in st.recent:
            table.add_row(
                r.started_at.astimezone(env.tz).strftime("%Y-%m-%d %H:%M"),
                str(r.size),
                *(str(r.ratings[g]) for g in (1, 2, 3)),
            )
        out.print(table)
    table = Table(title="Progress per category", show_edge=False)
    for col in ("category", "studied", "mastered", "total"):
        table.add_column(col, justify="left" if col == "category" else "right")
    for c in st.categories:
        table.add_row(c.category, str(c.studied), str(c.mastered), str(c.total))
    out.print(table)
    return 0


def cmd_reset(env: Env, args: argparse.Namespace) -> int:
    """Delete one user's progress, after a confirmation."""
    name = user_name(env, args)
    if not args.yes:
        answer = _read(env, f"Delete all study progress of {name!r}? Type 'yes' to confirm > ")
        if answer != "yes":
            env.out.print("Nothing deleted.")
            return 1
    service = _service(env)
    deleted = service.reset(service.local_user(name, env.clock()))
    env.out.print(f"Progress of {name!r} deleted ({deleted} reviews).")
    return 0


def cmd_find(env: Env, args: argparse.Namespace) -> int:
    """Items whose title, tags or question contain every word: their ids and titles."""
    words = [w for w in args.words if w.strip()]
    if not words:
        raise UsageError("give words to find, e.g. studybot find rotary embeddings")
    items = _service(env).find(words)
    if not items:
        print(f"studybot: nothing found for {' '.join(words)!r}", file=sys.stderr)
        return 1
    width = max(len(i.id) for i in items)
    for item in items:
        env.out.print(f"{item.id:<{width}}  {item.title}", markup=False)
    return 0


def cmd_export(env: Env, args: argparse.Namespace) -> int:
    """Write one user's review history as CSV: a row per review, times in UTC."""
    name = user_name(env, args)
    service = _service(env)
    user_id = account.find_user(service.sessions, local_name=name)
    rows = (
        [] if user_id is None else account.export_rows(service.sessions, service.catalog, user_id)
    )
    if not rows:
        print(f"studybot: {name!r} has no reviews to export", file=sys.stderr)
        return 1
    try:
        with open(args.file, "w", encoding="utf-8", newline="") as out:
            out.write(account.export_csv(rows))
    except OSError as exc:
        print(f"studybot: cannot write {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    env.out.print(f"Wrote {len(rows)} review(s) of {name!r} to {args.file}.", markup=False)
    return 0


def cmd_check_content(env: Env, args: argparse.Namespace) -> int:
    """Validate items; list every problem, or print counts per type and category."""
    dirs = tuple(Path(d) for d in args.dirs) or env.settings.content_dirs
    items, problems = validate_dirs(dirs)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {', '.join(map(str, dirs))}", file=sys.stderr)
        return 1
    from rich.table import Table

    table = Table(title=f"{len(items)} items", show_edge=False)
    table.add_column("category")
    for t in ITEM_TYPES:
        table.add_column(t, justify="right")
    table.add_column("total", justify="right")
    categories = [c for c in CATEGORIES if any(i.category == c for i in items)]
    for c in categories:
        row = [sum(1 for i in items if i.category == c and i.type == t) for t in ITEM_TYPES]
        table.add_row(c, *map(str, row), str(sum(row)))
    totals = [sum(1 for i in items if i.type == t) for t in ITEM_TYPES]
    table.add_row("total", *map(str, totals), str(len(items)))
    env.out.print(table)
    return 0


NO_TOKEN_HELP = (
    "No TELEGRAM_BOT_TOKEN set: create a bot with @BotFather in Telegram (/newbot), then run "
    "TELEGRAM_BOT_TOKEN=<token> studybot bot\n"
    "Meanwhile, study right here in the terminal: studybot study -n 10   (progress: studybot stats)"
)


WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


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
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if not WEBHOOK_SECRET_RE.match(secret):
        raise UsageError(
            "webhook mode needs TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    port = args.port if args.port is not None else 8080
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port} is not a TCP port")
    return Webhook(
        url=args.webhook_url,
        path=url.path.strip("/"),
        listen=args.listen or "0.0.0.0",
        port=port,
        secret=secret,
    )


def cmd_bot(env: Env, args: argparse.Namespace) -> int:
    """Run the Telegram bot (long polling, or a webhook with --webhook-url)."""
    from bot.config import token_is_wellformed

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
    from bot.app import run_bot  # the Telegram edge is imported only when it is needed

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
    p = sub.add_parser("exam", help="set the interview date (YYYY-MM-DD) or 'off'")
    p.add_argument("date", metavar="DATE")
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
    p.add_argument("--listen", metavar="ADDR", help="webhook listen address (default 0.0.0.0)")
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
