"""`studybot reset` and `studybot export`: a learner's data."""

from __future__ import annotations

import argparse
import sys

from bot.core.text import plural
from bot.services import privacy
from bot.terminal.common import Env, open_services, read_line, user_name


def cmd_reset(env: Env, args: argparse.Namespace) -> int:
    """Delete one user's progress, after a confirmation."""
    name = user_name(env, args)
    if not args.yes:
        answer = read_line(env, f"Delete all study progress of {name!r}? Type 'yes' to confirm > ")
        if answer != "yes":
            env.out.print("Nothing deleted.")
            return 1
    services = open_services(env)
    sessions = services.study.sessions
    deleted = privacy.reset(sessions, services.study.local_user(name, env.clock()))
    env.out.print(f"Progress of {name!r} deleted ({plural(deleted, 'review')}).")
    return 0


def cmd_export(env: Env, args: argparse.Namespace) -> int:
    """Write one user's review history as CSV: a row per review, times in UTC."""
    name = user_name(env, args)
    study = open_services(env).study
    user_id = privacy.find_user(study.sessions, local_name=name)
    rows = [] if user_id is None else privacy.export_rows(study.sessions, study.catalog, user_id)
    if not rows:
        print(f"studybot: {name!r} has no reviews to export", file=sys.stderr)
        return 1
    try:
        with open(args.file, "w", encoding="utf-8", newline="") as out:
            out.write(privacy.export_csv(rows))
    except OSError as exc:
        print(f"studybot: cannot write {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    env.out.print(f"Wrote {plural(len(rows), 'review')} of {name!r} to {args.file}.", markup=False)
    return 0
